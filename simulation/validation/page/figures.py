"""The figures of docs/validation.md (matplotlib, Agg), one function per figure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from simulation.experiments.summaries import QUANTILES
from simulation.plots.style import BAND_RANGE, band_text
from simulation.validation.agreement import VARIANT_LABELS
from simulation.validation.epstein import BURN_IN, OUTBURST, PAPER_RUN2
from simulation.validation.targets import CALIBRATION, CLAIMED_ATTACKS, HOLDOUT

LOW, HIGH = QUANTILES  # the band over replicates, as in every plot


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def moving_average(x: Sequence[float], w: int) -> np.ndarray:
    """Trailing moving average over ``w`` entries (the first ``w - 1`` are left as they are)."""
    x = np.asarray(x, float)
    if w <= 1:
        return x
    c = np.cumsum(np.concatenate([[0.0], x]))
    out = x.copy()
    out[w - 1 :] = (c[w:] - c[:-w]) / w
    return out


def figure_agreement(res: Mapping[str, Any], path: Path) -> None:
    """Mean active and jailed share per step: Mesa and each khorasan schedule."""
    plt = _plt()
    fig, axes = plt.subplots(2, 2, figsize=(11, 7), sharex=True)
    styles = {"sequential": ("tab:blue", "-"), "K=4": ("tab:orange", "--"), "K=1": ("tab:red", ":")}
    ref = "Mesa 3.5.1 example" if res["have_mesa"] else "(no Mesa cache: sequential)"
    for col, (point, entry) in enumerate(res["points"].items()):
        for row, s in enumerate(("active", "jailed")):
            ax = axes[row, col]
            # Mesa's activity at its own settings is tiny and spiky: smooth it.
            smooth = 20 if (point == "mesa_default" and s == "active") else 1
            m = moving_average(entry["mesa_paths"][s], smooth)
            se = moving_average(entry["mesa_se"][s], smooth)
            steps = np.arange(len(m))
            ax.fill_between(
                steps,
                m - 2 * se,
                m + 2 * se,
                color="black",
                alpha=0.12,
                lw=0,
                label=f"{ref}: mean ± 2 s.e.",
            )
            ax.plot(steps, m, color="black", lw=2, alpha=0.7, label=f"{ref}: mean")
            for label, variant in entry["variants"].items():
                color, ls = styles.get(label, ("grey", "-."))
                ax.plot(
                    moving_average(variant["paths"][s], smooth),
                    color=color,
                    ls=ls,
                    lw=1.3,
                    label=f"khorasan, {VARIANT_LABELS.get(label, label)}",
                )
            desc = "Mesa's settings" if point == "mesa_default" else "L 0.7, cops 0.04, jail 30"
            ax.set_title(
                f"{point} ({desc}): {s} citizens"
                + (f", {smooth}-step moving average" if smooth > 1 else ""),
                fontsize=10,
            )
            ax.axvline(BURN_IN, color="grey", lw=0.7, ls=":")
            ax.set_ylabel(f"{s} share of citizens")
            if row == 1:
                ax.set_xlabel("step (dotted line: end of the burn-in)")
            if smooth > 1:
                top = max(
                    np.max(ln.get_ydata()[BURN_IN:])
                    for ln in ax.get_lines()
                    if len(ln.get_ydata()) > BURN_IN
                )
                ax.set_ylim(0, 1.15 * max(top, 1e-6))
    axes[1, 1].legend(fontsize=8, loc="lower right")
    fig.suptitle(
        f"Agreement with Mesa's Epstein example: mean over {res['n_seeds']} seeds per side"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def figure_run2(run2: Mapping[str, Any], path: Path) -> None:
    """Run 2: an example series, the waiting times and the total activations."""
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    axes[0].plot(run2["example"], lw=0.7, label="actives")
    axes[0].axhline(OUTBURST, color="red", lw=0.8, label=f"outburst threshold ({OUTBURST})")
    axes[0].set(
        title="Run 2: active agents, seed 1 (first 1,000 cycles)",
        xlabel="cycle",
        ylabel="active agents",
    )
    axes[0].legend(fontsize=8, loc="upper right")
    for ax, key, paper, title, unit in (
        (axes[1], "waits", PAPER_RUN2["wait_mean"], "Waiting time between outbursts", "cycles"),
        (
            axes[2],
            "totals",
            PAPER_RUN2["total_mean"],
            "Total activation per outburst",
            "agent-cycles",
        ),
    ):
        x = run2[key]
        ax.hist(x, bins=30, color="tab:blue", alpha=0.8)
        ax.axvline(
            np.mean(x), color="tab:blue", ls="--", lw=1.5, label=f"khorasan mean {np.mean(x):.0f}"
        )
        ax.axvline(paper, color="black", lw=1.5, label=f"Epstein (2002) mean {paper}")
        ax.set(
            title=f"{title} (n = {len(x)}, {run2['seeds']} runs)", xlabel=unit, ylabel="outbursts"
        )
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def figure_crises(ep: Mapping[str, Any], path: Path) -> None:
    """Gradual vs sudden legitimacy loss, and the cop reduction: median and 10-90%."""
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.3))
    titles = {
        "epstein_legitimacy_gradual": "Gradual: legitimacy 0.9 → 0.2, 1% a cycle from 77",
        "epstein_legitimacy_sudden": "Sudden: legitimacy 0.9 → 0.7 at cycle 77",
        "epstein_cop_reduction": "Cops 0.074 → 0.01 over cycles 20–170 (L 0.8)",
    }
    for ax, (name, title) in zip(axes, titles.items(), strict=True):
        e = ep[name]
        n = e["active"].shape[0]
        for key, color in (("active", "tab:red"), ("jailed", "tab:blue")):
            x = e[key]
            ax.plot(np.median(x, axis=0), color=color, label=f"{key}, median of {n} runs")
            ax.fill_between(
                np.arange(x.shape[1]),
                np.quantile(x, LOW, axis=0),
                np.quantile(x, HIGH, axis=0),
                color=color,
                alpha=0.15,
                label=f"{key}, {BAND_RANGE}",
            )
        for i in range(min(3, n)):
            ax.plot(
                e["active"][i],
                color="darkred",
                lw=0.6,
                alpha=0.8,
                label="active, runs 1–3" if i == 0 else None,
            )
        if name == "epstein_legitimacy_sudden" and (e["peak"] > OUTBURST).any():
            _exploding_run(ax, e)
        ax.axhline(OUTBURST, color="grey", lw=0.6, ls="--")
        ax.axvline(e["event_step"], color="grey", lw=0.8, ls=":")
        ax.set(
            title=title,
            xlabel="cycle (dotted: the change starts)",
            ylabel="citizens (dashed: 50 actives)",
        )
        ax.title.set_fontsize(10)
        if name == "epstein_cop_reduction":
            ax2 = ax.twinx()
            ax2.plot(np.median(e["enforcers"], axis=0), color="black", lw=0.8)
            ax2.set_ylabel("cops (black line)")
    axes[0].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _exploding_run(ax: Any, e: Mapping[str, Any]) -> None:
    """What Epstein's Fig. 10 shows: a run that explodes (a minority here), the
    one with the median peak among those that do."""
    n = e["active"].shape[0]
    boom = np.flatnonzero(e["peak"] > OUTBURST)
    i = int(boom[np.argsort(e["peak"][boom])[len(boom) // 2]])
    lines = ax.plot(
        e["active"][i],
        color="purple",
        lw=1.0,
        label=f"active, run {i + 1}: the median peak of the {len(boom)} of {n} runs that explode",
    )
    lines += ax.plot(e["jailed"][i], color="purple", lw=1.0, ls="--", label=f"jailed, run {i + 1}")
    ax.legend(handles=lines, fontsize=7, loc="upper left")


def figure_historical(h: Mapping[str, Any], path: Path) -> None:
    """Strength, attacks per year and repression of the historical scenario."""
    plt = _plt()
    fig, axes = plt.subplots(3, 1, figsize=(10, 10))
    _strength_panel(axes[0], h)
    _attacks_panel(axes[1], h)
    _repression_panel(axes[2], h)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _strength_panel(ax: Any, h: Mapping[str, Any]) -> None:
    """ISIS-K fighters: the replicates' band and median, the forecast, the UN ranges."""
    import pandas as pd
    from matplotlib.patches import Patch

    d, data = h["dates"], h["data"]
    f = data["isisk_fighters"]
    ax.fill_between(
        d,
        np.quantile(f, LOW, axis=0),
        np.quantile(f, HIGH, axis=0),
        alpha=0.25,
        label=band_text(),
    )
    ax.plot(d, np.median(f, axis=0), label="median (scenario as shipped)")
    ax.plot(
        d,
        np.median(h["forecast_data"]["isisk_fighters"], axis=0),
        color="black",
        lw=1,
        ls="--",
        label="median, hold-out forecast (2015-21 calibration only)",
    )
    for group, color in ((CALIBRATION, "green"), (HOLDOUT, "purple")):
        for t in group:
            if t.kind == "attacks":
                continue
            if t.kind == "at":
                x0 = pd.Timestamp(t.start) - pd.Timedelta(days=45)
                x1 = pd.Timestamp(t.start) + pd.Timedelta(days=45)
            else:
                x0, x1 = pd.Timestamp(t.start), pd.Timestamp(t.end)
            ax.fill_between([x0, x1], t.lo, t.hi, color=color, alpha=0.3)
    handles, _ = ax.get_legend_handles_labels()
    handles += [
        Patch(color="green", alpha=0.3, label="UN/other range, calibration 2015–21"),
        Patch(color="purple", alpha=0.3, label="UN range, hold-out 2022–25"),
    ]
    ax.axvline(pd.Timestamp("2022-01-01"), color="grey", ls=":")
    ax.set(
        title=f"ISIS-K fighters, {len(h['seeds'])} replicates (dotted: end of the "
        "2015-21 calibration window)",
        ylabel="fighters",
    )
    ax.legend(handles=handles, fontsize=8, loc="lower center", ncols=2)


def _attacks_panel(ax: Any, h: Mapping[str, Any]) -> None:
    """Attacks per year: model, hold-out forecast and claims."""
    years = np.array(h["years"])
    att = h["attacks"]
    ax.bar(
        years - 0.27,
        np.median(att, axis=0),
        width=0.27,
        label="model, median",
        yerr=[
            np.median(att, axis=0) - np.quantile(att, LOW, axis=0),
            np.quantile(att, HIGH, axis=0) - np.median(att, axis=0),
        ],
        capsize=2,
    )
    ax.bar(
        years,
        np.median(h["forecast_attacks"], axis=0),
        width=0.27,
        color="white",
        edgecolor="black",
        hatch="//",
        lw=0.6,
        label="hold-out forecast, median",
    )
    ax.bar(
        np.array(list(CLAIMED_ATTACKS)) + 0.27,
        list(CLAIMED_ATTACKS.values()),
        width=0.27,
        color="black",
        label="claimed (ITIC; Afghan Witness; RSIS)",
    )
    ax.set(
        title=f"Successful attacks per year (2025: to March only); error bars: {BAND_RANGE}",
        ylabel="attacks",
        xticks=years,
    )
    ax.legend(fontsize=8)


def _repression_panel(ax: Any, h: Mapping[str, Any]) -> None:
    """Repression (median, 10-90%) and effective surveillance, with the edicts."""
    import pandas as pd

    d, data = h["dates"], h["data"]
    r = data["repression"]
    ax.fill_between(d, np.quantile(r, LOW, axis=0), np.quantile(r, HIGH, axis=0), alpha=0.25)
    ax.plot(d, np.median(r, axis=0), label="repression (median)")
    ax.plot(d, np.median(data["effective_surveillance"], axis=0), label="effective surveillance")
    for _label, when in h["edict_dates"]:
        ax.axvline(pd.Timestamp(when), color="grey", lw=0.5, ls=":")
    ax.set(
        title=f"Repression (median, {BAND_RANGE}) and effective surveillance (median); "
        "dotted: the edicts",
        ylim=(0, 1),
        ylabel="level (0–1)",
    )
    ax.legend(fontsize=8, loc="center left")
