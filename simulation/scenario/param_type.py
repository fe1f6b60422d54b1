"""The type of one model parameter, and the small helpers its checks use.

:class:`Param` holds one row of the parameter table (``params.py``): type,
default, unit, range and source, and checks a value against them. ``show``
and ``plain`` shape values for one-line error messages.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["SHOW_MAX", "Param", "did_you_mean", "plain", "show"]


@dataclass(frozen=True)
class Param:
    """One model parameter: the single source of truth for its metadata."""

    name: str
    kind: type
    default: Any
    unit: str
    description: str
    source: str
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] | None = None
    label: str | None = None
    slider: bool = False
    step: float | None = None
    #: The slider's ends in the browser app, when narrower than [min, max].
    slider_range: tuple[float, float] | None = None
    #: Read only when a run starts (the world, the initial population): an
    #: event's ``set`` cannot change it, so events that try are refused.
    start_only: bool = False

    @property
    def section(self) -> str:
        """The table (TOML section) this parameter belongs to."""
        return self.name.split(".", 1)[0]

    @property
    def key(self) -> str:
        """The key inside its section."""
        return self.name.split(".", 1)[1]

    @property
    def type_name(self) -> str:
        """A human name for the type."""
        return {float: "float", int: "int", bool: "bool", str: "str"}[self.kind]

    @property
    def range_text(self) -> str:
        """The valid range as text, e.g. ``[0, 1]`` or ``floor|round|exact``."""
        if self.choices:
            return "|".join(self.choices)
        if self.kind is bool:
            return "true|false"
        lo = "-inf" if self.min is None else _fmt(self.min)
        hi = "inf" if self.max is None else _fmt(self.max)
        return f"[{lo}, {hi}]"

    def check(self, value: Any) -> Any:
        """Return ``value`` coerced to this parameter's type, or raise ValueError.

        numpy scalars are taken as the Python value they hold; NaN and
        infinity are refused (they would pass every range check).
        """
        value = plain(value)
        if self.kind is bool:
            if not isinstance(value, bool):
                raise ValueError(f"expected true or false, got {show(value)}")
            return value
        if self.kind is int:
            if isinstance(value, bool) or not isinstance(value, int):
                if isinstance(value, float) and value.is_integer():
                    value = int(value)
                else:
                    raise ValueError(f"expected an integer, got {show(value)}")
        elif self.kind is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"expected a number, got {show(value)}")
            try:
                value = float(value)
            except OverflowError:  # an integer of more than 308 digits
                raise ValueError(f"{show(value)} is too large for a number") from None
            if not math.isfinite(value):
                raise ValueError(f"expected a finite number, got {show(value)}")
        elif self.kind is str:
            if not isinstance(value, str):
                raise ValueError(f"expected a string, got {show(value)}")
            if self.choices and value not in self.choices:
                hint = did_you_mean(value, self.choices)
                raise ValueError(
                    f"must be one of {', '.join(self.choices)}, got {show(value)}{hint}"
                )
            return value
        if self.min is not None and value < self.min:
            raise ValueError(
                f"{show(value)} is below the minimum {_fmt(self.min)} (range {self.range_text})"
            )
        if self.max is not None and value > self.max:
            raise ValueError(
                f"{show(value)} is above the maximum {_fmt(self.max)} (range {self.range_text})"
            )
        return value


#: Longest echo of a value in an error message, in characters.
SHOW_MAX = 40


def show(value: Any, limit: int = SHOW_MAX) -> str:
    """``repr(value)`` for an error message, cut to ``limit`` characters.

    Floats and integers are shown without quotes, as in a scenario file;
    a 309-digit number becomes its first digits and the digit count.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
        if len(text) > limit:
            digits = len(text.lstrip("-"))
            return f"{text[: limit - 20]}... ({digits} digits)"
        return text
    text = format(value) if isinstance(value, float) else repr(value)
    if len(text) > limit:
        return f"{text[: limit - 20]}... ({len(text)} characters)"
    return text


def plain(value: Any) -> Any:
    """A numpy scalar (``np.int64(40)``, ``np.float32(0.5)``, ``np.bool_``) as a Python value."""
    if type(value).__module__ == "numpy" and getattr(value, "shape", None) == ():
        try:
            return value.item()
        except (AttributeError, ValueError):
            return value
    return value


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)


def did_you_mean(name: str, options: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``options``, or ``""``."""
    match = difflib.get_close_matches(name, list(options), n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""
