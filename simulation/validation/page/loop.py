"""Part 5 of docs/validation.md: the vicious circle (the loop diagnostic), and its figures."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulation.experiments.files import atomic_write_bytes
from simulation.experiments.loop import GAIN_LINK, HEADLINE_QUANTITIES, LINK_INDEX, LINKS, UNCUT
from simulation.experiments.loop import QUANTITIES as Q
from simulation.experiments.loop_results import RULE_SHARE
from simulation.plots.loop import loop_figure

LOOP_TEXT = f"""## Part 5: the vicious circle

The article's argument is a circle: recruitment, attacks, a "thermostatic"
rise in repression, grievance, and recruitment again. `khorasan loop`
(`simulation/experiments/loop.py`) measures it. Each link of the circle is an
entry of a registry, with the parameters that cut it (the link set to zero,
everything else equal). Each link is cut in turn and run on the same seeds as
the intact scenario. The table gives the cut's mean paired effect (cut minus
intact) on the link's target and on the headline outputs, with a paired BCa
bootstrap 90% CI (the one `khorasan compare` uses) and as a % of the intact
value. An effect **passes** the issue's rule when it is at least
{100 * RULE_SHARE:g}% of the intact value and its CI excludes zero.

**The loop gain.** A pulse of extra ISIS-K fighters is added at one week (a
scenario event). It is given once with the loop closed and once with the loop
opened at the thermostat (perceived threat → repression,
`repression.gain = 0`), each against a run without the pulse on the same
seeds. With Δ_closed and Δ_open the responses of the mean number of ISIS-K
fighters from the pulse on, **G = 1 − Δ_open / Δ_closed**. This is the
classic control-theory measurement: a single loop of gain L answers
Δ_open / (1 − L) when closed, so G = L. G > 0 means that what goes round the
circle through repression feeds the pulse (self-reinforcing); G < 0 means it
damps it. The CI is the paired BCa bootstrap over seeds. When the closed
response's own CI includes zero, G is undefined. `repression_fixed` has the
thermostat off, so opening it changes nothing there and G = 0 exactly: the
estimator's check on the model itself. Links that no parameter cuts today,
drawn dashed: {"; ".join(f"{a} → {b} ({why})" for a, b, why in UNCUT)}.
"""


def _pct(row: Any) -> str:
    if not np.isfinite(row["effect_pct"]):
        return "n/a"
    mark = "**" if row["passes_rule"] else ""
    return (
        f"{mark}{row['effect_pct']:+.1f}%{mark} "
        f"({row['ci_low_pct']:+.1f}, {row['ci_high_pct']:+.1f})"
    )


def _num(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.3g}"


def _target_table(effects: pd.DataFrame) -> list[str]:
    t = [
        "| link | cut | target | intact | effect (90% CI) | % of intact (90% CI) | rule |",
        "|---|---|---|---|---|---|---|",
    ]
    for _, r in effects[effects["role"] == "to"].iterrows():
        link = LINK_INDEX[r["link"]]
        t.append(
            f"| {link.label} | `{link.cut_text}` | {r['label']} | {_num(r['intact_mean'])} | "
            f"{_num(r['effect'])} ({_num(r['ci_low'])}, {_num(r['ci_high'])}) | {_pct(r)} | "
            f"{'passes' if r['passes_rule'] else 'no'} |"
        )
    return t


def _headline_table(effects: pd.DataFrame) -> list[str]:
    head = effects[effects["quantity"].isin(HEADLINE_QUANTITIES)]
    t = [
        "| link cut | " + " | ".join(Q[q].label for q in HEADLINE_QUANTITIES) + " |",
        "|---|" + "---|" * len(HEADLINE_QUANTITIES),
    ]
    for link in LINKS:
        rows = head[head["link"] == link.name].set_index("quantity")
        t.append(
            f"| {link.label} | " + " | ".join(_pct(rows.loc[q]) for q in HEADLINE_QUANTITIES) + " |"
        )
    intact = head.drop_duplicates("quantity").set_index("quantity")["intact_mean"]
    t.append(
        "| *intact value* | " + " | ".join(_num(intact[q]) for q in HEADLINE_QUANTITIES) + " |"
    )
    return t


def _gain_lines(gain: Mapping[str, Any], responses: pd.DataFrame) -> list[str]:
    g, lo, hi = gain["gain"], gain["ci_low"], gain["ci_high"]
    if not gain["gain_defined"]:
        verdict = "undefined: the closed loop's response to the pulse is not significant"
    elif gain["ci_excludes_zero"]:
        verdict = "self-reinforcing" if g > 0 else "self-damping"
        verdict += " (the CI excludes zero)"
    else:
        verdict = "not distinguishable from zero (the CI includes it)"
    t = [
        f"**Loop gain** (pulse of {gain['pulse_fighters']:,} fighters at week "
        f"{gain['pulse_week']}, opened at {gain['opened_label']}): "
        f"G = {g:+.3f} (90% CI {lo:+.3f} to {hi:+.3f}): {verdict}.",
        "",
        "| response to the pulse | loop closed (90% CI) | loop opened (90% CI) |",
        "|---|---|---|",
    ]
    for _, r in responses.iterrows():
        t.append(
            f"| {r['label']} | {_num(r['closed'])} ({_num(r['closed_ci_low'])}, "
            f"{_num(r['closed_ci_high'])}) | {_num(r['open'])} ({_num(r['open_ci_low'])}, "
            f"{_num(r['open_ci_high'])}) |"
        )
    return t


def _scenario(res: Mapping[str, Any], sfx: str) -> list[str]:
    effects = res["effects"]
    to = effects[effects["role"] == "to"]
    return [
        f"### `{res['name']}`",
        "",
        f"{int(to['passes_rule'].sum())} of {len(to)} links pass the rule on their target.",
        "",
        *_target_table(effects),
        "",
        "Effects of each cut on the headline outputs (% of intact, 90% CI; bold: passes):",
        "",
        *_headline_table(effects),
        "",
        *_gain_lines(res["gain"], res["responses"]),
        "",
        f"![The vicious circle in {res['name']}](figures/validation_loop_{res['name']}{sfx}.png)",
        "",
    ]


def _contrast_table(rows: list[Mapping[str, Any]]) -> list[str]:
    t = [
        "| quantity | baseline | repression fixed | paired difference (90% CI) | % | rule |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        t.append(
            f"| {r['label']} | {_num(r['intact_mean'])} | {_num(r['cut_mean'])} | "
            f"{_num(r['effect'])} ({_num(r['ci_low'])}, {_num(r['ci_high'])}) | {_pct(r)} | "
            f"{'passes' if r['passes_rule'] else 'no'} |"
        )
    return t


def render_loop(loop: Mapping[str, Any], sfx: str) -> list[str]:
    """Part 5 of validation.md."""
    seeds = loop["seeds"]
    t = [*LOOP_TEXT.splitlines(), ""]
    t += [
        f"{len(seeds)} paired seeds ({seeds[0]}–{seeds[-1]}), {loop['steps']} weeks; "
        f"the gain opens the loop at `{GAIN_LINK}`.",
        "",
    ]
    if "contrast" in loop:
        t += [
            "### `baseline` against `repression_fixed` (the thermostat off)",
            "",
            "The issue's measurement, redone on the model with the circle's links: the "
            "intact arms of the two scenarios on the same seeds, paired. 'Rule': the "
            "difference is at least 5% of the baseline's value and its CI excludes zero.",
            "",
            *_contrast_table(loop["contrast"]),
            "",
        ]
    for name in ("baseline", "repression_fixed"):
        t += _scenario(loop[name], sfx)
    return t


def figure_loop(res: Mapping[str, Any], path: Path) -> None:
    """``loop.png`` of one scenario of part 5."""
    png = loop_figure(res["name"], LINKS, res["effects"], res["gain"], res["steps"])
    atomic_write_bytes(path, png)
