"""Number formats of the validation page."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def fmt(x: float, digits: int = 3) -> str:
    """A table number: thousands with commas, else ``digits`` significant digits."""
    if abs(x) >= 100 or (float(x).is_integer() and abs(x) >= 10):
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def fmt_p(x: float) -> str:
    """A p-value: 1, three decimals, or scientific below 0.001."""
    return "1" if x >= 0.9995 else (f"{x:.3f}" if x >= 0.001 else f"{x:.1e}")


def stats_line(x: Sequence[float]) -> str:
    """mean ± sd, median, n."""
    x = np.asarray(x, float)
    if len(x) == 0:
        return "none"
    sd = x.std(ddof=1) if len(x) > 1 else 0.0
    return f"{x.mean():.0f} ± {sd:.0f} (median {np.median(x):.0f}, n = {len(x)})"
