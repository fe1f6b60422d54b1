"""Part 2 of docs/validation.md: Epstein (2002), in tables and words (verdicts follow numbers)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from simulation.experiments.summaries import QUANTILES
from simulation.plots.style import BAND_RANGE
from simulation.validation.epstein import (
    BURN_IN,
    CRISES,
    OUTBURST,
    PAPER_RUN2,
    explode_share,
)
from simulation.validation.page.epstein_crosscheck import replication_markdown, shapes_markdown
from simulation.validation.page.format import fmt_p as _p
from simulation.validation.page.format import stats_line
from simulation.validation.stats import fisher_p

LOW, HIGH = QUANTILES  # the band over replicates, as in every plot


def render_epstein(ep: Mapping[str, Any], sfx: str) -> list[str]:
    """Part 2 of validation.md."""
    r2 = ep["run2"]
    t = [
        "## 2. Epstein (2002): qualitative results",
        "",
        "All runs of this part use the scenario files as shipped, so the default schedule "
        "(random sequential activation, validated in part 1).",
        "",
        "### Run 2: punctuated equilibrium (`scenarios/epstein_2002.toml`)",
        "",
        f"{r2['seeds']} runs of {r2['steps']} cycles (the first {BURN_IN} dropped), "
        "floor rule, jailed agents leave the grid. An outburst starts when actives "
        f"exceed {OUTBURST} and ends when they fall below {OUTBURST}; its total "
        "activation is the sum of actives over its cycles; a waiting time runs from "
        "the end of one outburst to the start of the next (the paper's Figs. 5 and 7).",
        "",
        "| quantity | khorasan | Epstein (2002) | ndouglas replication (floor rule) |",
        "|---|---|---|---|",
        f"| waiting time between outbursts (cycles) | {stats_line(r2['waits'])} "
        f"| {PAPER_RUN2['wait_mean']} ± {PAPER_RUN2['wait_sd']} | about 20 (mean) |",
        f"| total activation per outburst (agent-cycles) | {stats_line(r2['totals'])} "
        f"| {PAPER_RUN2['total_mean']} ± {PAPER_RUN2['total_sd']} | about 830 (mean) |",
        f"| outburst duration (cycles) | {stats_line(r2['durations'])} | – | – |",
        f"| outbursts per 1,000 cycles | {r2['outbursts_per_1000']:.1f} | – "
        "| about 38 (114 per 3,000) |",
        f"| largest number of actives with the literal rule (`exact`), 2 runs of "
        f"1,000 cycles | {r2['exact_peak']} | – (no outbursts, NetLogo Info tab) "
        "| 34 (no outburst) |",
        "",
        f"![Run 2: actives over time and the distributions of waiting times and "
        f"activations](figures/validation_run2{sfx}.png)",
        "",
    ]
    t += [*run2_notes(r2), ""]
    t += _crises_table(ep)
    t += [
        "",
        f"![Legitimacy crises and cop reduction: actives and jailed per cycle]"
        f"(figures/validation_crises{sfx}.png)",
        "",
    ]
    t += [*crises_notes(*(ep[k] for k in CRISES), _cop_density_at_first_outburst(ep)), ""]
    t += replication_markdown(ep["replication"])
    t += shapes_markdown(ep["shapes"])
    return t


def _crises_table(ep: Mapping[str, Any]) -> list[str]:
    """The table of the three crisis scenarios."""
    t = [
        "### Legitimacy crises and cop reductions",
        "",
        "| scenario | runs with an outburst (> 50 actives) after the change "
        f"| peak actives, median ({BAND_RANGE}) | cycle of the first outburst, median "
        "| peak actives in cycles 77–97 (L 0.9 → 0.7 at once, or over these 20 cycles), "
        f"median ({BAND_RANGE}); share > 50 | jailed at the end, median ({BAND_RANGE}) |",
        "|---|---|---|---|---|---|",
    ]
    names = {
        "epstein_legitimacy_gradual": "gradual: L 0.9 → 0.2 at 1%/cycle from cycle 77",
        "epstein_legitimacy_sudden": "sudden: L 0.9 → 0.7 at cycle 77",
        "epstein_cop_reduction": "cops 0.074 → 0.01 over cycles 20–170, L 0.8",
    }
    for name, label in names.items():
        e = ep[name]
        pk, fj, fo = e["peak"], e["final_jailed"], e["first_outburst"]
        first = f"{np.median(fo[fo >= 0]):.0f}" if (fo >= 0).any() else "–"
        p7 = e.get("peak_same_loss")
        at07 = (
            f"| {np.median(p7):.0f} ({np.quantile(p7, LOW):.0f}–"
            f"{np.quantile(p7, HIGH):.0f}); {np.mean(p7 > OUTBURST):.0%} "
            if p7 is not None
            else "| – "
        )
        t.append(
            f"| `{name}.toml` ({label}) | {e['outburst_share']:.0%} of {len(pk)} "
            f"| {np.median(pk):.0f} ({np.quantile(pk, LOW):.0f}–"
            f"{np.quantile(pk, HIGH):.0f}) | {first} "
            + at07
            + f"| {np.median(fj):.0f} ({np.quantile(fj, LOW):.0f}–"
            f"{np.quantile(fj, HIGH):.0f}) |"
        )
    return t


def _cop_density_at_first_outburst(ep: Mapping[str, Any]) -> float:
    """The median cop density when the cop reduction first tips (nan if it never does)."""
    c = ep["epstein_cop_reduction"]
    cfo = c["first_outburst"][c["first_outburst"] >= 0]
    n_cells = 40 * 40  # the Epstein scenarios' world; cop density is cops per cell
    return (
        np.median([c["enforcers"][i, f] for i, f in enumerate(c["first_outburst"]) if f >= 0])
        / n_cells
        if len(cfo)
        else float("nan")
    )


def _near_paper(mean: float, paper_mean: float, paper_sd: float) -> str:
    """How a mean compares with the paper's mean and s.d., in words."""
    side = "below" if mean < paper_mean else "above"
    if abs(mean - paper_mean) <= paper_sd:
        return f"{side} the paper's mean but within one of its standard deviations"
    return f"{side} the paper's, by more than one of its standard deviations"


def run2_notes(r2: Mapping[str, Any]) -> list[str]:
    """Why Run 2's statistics differ from the paper's (the verdicts follow the numbers)."""
    wait = float(np.mean(r2["waits"])) if r2["waits"] else float("nan")
    total = float(np.mean(r2["totals"])) if r2["totals"] else float("nan")
    rate = r2["outbursts_per_1000"]
    return [
        "Why the numbers differ from the paper's:",
        "",
        "- The paper's figures come from one long run of its own implementation, whose "
        "arrest rule is not the one its text states (the literal rule gives no outbursts "
        "at all, as the last row shows; NetLogo's floor rule, used here, is the accepted "
        "reading). Details that the paper leaves open change the frequency and size of "
        "outbursts: how jailed agents return, whether an active agent counts itself twice "
        "(NetLogo does; tried once with experimental code not kept in the repository, it "
        "left both statistics where they are: waits 30 ± 20, activation 838 ± 442 in the "
        "same 8 runs) and the order of moving and acting. The vision is a Euclidean disc "
        "of 148 cells, as in NetLogo (with Mesa's von Neumann diamond of 112 cells the "
        "outbursts were about three times smaller and came more often, in a test of 8 runs).",
        "- The qualitative result, punctuated equilibrium, is reproduced: long quiet "
        "stretches broken by short outbursts (left panel).",
        f"- The waiting time (mean {wait:.0f} cycles; {rate:.0f} outbursts per 1,000 cycles, "
        f"where the paper's mean wait implies about 15 and the floor-rule replication has "
        f"~38) is {_near_paper(wait, PAPER_RUN2['wait_mean'], PAPER_RUN2['wait_sd'])} "
        f"({PAPER_RUN2['wait_mean']} ± {PAPER_RUN2['wait_sd']}). The activation per "
        f"outburst (mean {total:.0f} agent-cycles) is "
        f"{_near_paper(total, PAPER_RUN2['total_mean'], PAPER_RUN2['total_sd'])} "
        f"({PAPER_RUN2['total_mean']} ± {PAPER_RUN2['total_sd']}; the replication has "
        "~830). Both statistics depend on the threshold of 50 actives, which sits near "
        "the typical peak size: small differences split one outburst into two or merge "
        "two into one.",
    ]


def crises_notes(
    g: Mapping[str, Any], s: Mapping[str, Any], c: Mapping[str, Any], cop_at: float
) -> list[str]:
    """The notes under the crises table (the verdicts follow the numbers)."""
    out = [_same_loss_bullet(g, s)]
    gfo = g["first_outburst"][g["first_outburst"] >= 0]
    if len(gfo):
        out.append(_gradual_bullet(g, s, gfo))
    out.append(_cops_bullet(g, c, cop_at))
    return out


def _same_loss_bullet(g: Mapping[str, Any], s: Mapping[str, Any]) -> str:
    """The same legitimacy loss at once or over 20 cycles: how often each explodes."""
    n = len(s["peak"])
    s07, g07 = explode_share(s), explode_share(g)
    out = [
        f"- **The same loss, at once or spread out.** After the sudden drop from 0.9 to "
        f"0.7, {s07:.0%} of {n} runs exceed {OUTBURST} actives within 20 cycles (median "
        f"peak {np.median(s['peak_same_loss']):.0f}); when the same loss is spread over "
        f"those 20 cycles (the gradual run, cycles 77–97), {g07:.0%} do (median peak "
        f"{np.median(g['peak_same_loss']):.0f}"
    ]
    n_g = len(g["peak_same_loss"])
    k_s, k_g = int(round(s07 * n)), int(round(g07 * n_g))
    p_more = fisher_p(k_s, n, k_g, n_g, alternative="greater")
    out[-1] += f"; one-sided Fisher's exact test p = {_p(p_more)})."
    if s07 >= 0.5 and p_more < 0.01:
        out[-1] += (
            " So the contrast is reproduced for equal losses: the sudden loss "
            "explodes in most runs, the same loss spread over 20 cycles mostly does not."
        )
    elif p_more < 0.01:
        out[-1] += (
            " So a sudden loss is more explosive than the same loss spread out, but "
            "it does not explode in most runs: Epstein's explosion (one run in his "
            "Fig. 10) is reproduced only as a tendency. Two details the paper leaves "
            "open were tried, each once with experimental code not kept in the "
            "repository: NetLogo's double count of an active agent in its own "
            "vision (the same 100 seeds: 23 explode, the very same runs, and 90 of "
            "the gradual runs avoid revolt) and moving before acting, the order of "
            "the paper and NetLogo (40 runs: 22% explode, and the gradual fall "
            "bursts more, 33%). Neither makes the explosion the rule. The vision "
            "shape matters more (the table below), and an independent replication "
            "measured the same tendency (the cross-check below)."
        )
    else:
        out[-1] += (
            " Epstein's contrast (the sudden drop explodes, the gradual fall does "
            "not) is **not** reproduced here."
        )
    out[-1] += (
        " The mechanism: after a sudden drop many agents cross the threshold at "
        "once, and where they outnumber the cops in view floor(C/A) = 0, so they are "
        "safe and the crowd feeds itself within the cycle; in a gradual fall the few "
        "who cross each cycle are isolated and picked off one by one."
    )
    return out[-1]


def _gradual_bullet(g: Mapping[str, Any], s: Mapping[str, Any], gfo: np.ndarray) -> str:
    """The gradual fall carried on to 0.2: whether and when it gives an outburst."""
    g_l = max(0.2, 0.9 - 0.01 * (float(np.median(gfo)) - 77))
    return (
        (
            "- **The gradual fall does not avoid revolt altogether.**"
            if g["outburst_share"] >= 0.5
            else "- **The gradual fall mostly avoids revolt.**"
        )
        + " Carried on towards "
        f"0.2, it gives an outburst in {g['outburst_share']:.0%} of runs, the first at "
        f"cycle {np.median(gfo):.0f} (median over the runs with one; legitimacy about "
        f"{g_l:.2f}), with a median peak of {np.median(g['peak']):.0f} actives over the "
        f"run against {np.median(s['peak']):.0f} after the sudden drop. Epstein's "
        "Fig. 9 (one run) shows no spike all the way down to 0.2"
        + (
            "; here the gradual path postpones the revolt "
            + ("and shrinks it " if np.median(g["peak"]) < 0.8 * np.median(s["peak"]) else "")
            + "but, in most runs, does not prevent it. This part of his result is **not "
            "reproduced**."
            if g["outburst_share"] >= 0.5
            else "; here the gradual path prevents it in most runs, as in the paper."
        )
        + " (The jailed counts at the end are compared with Epstein's in the "
        "cross-check below.)"
    )


def _cops_bullet(g: Mapping[str, Any], c: Mapping[str, Any], cop_at: float) -> str:
    """The cop reduction: whether it tips, and de Tocqueville's contrast."""
    cfo = c["first_outburst"][c["first_outburst"] >= 0]
    if len(cfo):
        return (
            f"- **Cop reduction** (`epstein_cop_reduction.toml`): walking the cop density down "
            f"at constant legitimacy 0.8 tips {c['outburst_share']:.0%} of runs into "
            f"outbursts; the first comes at cycle {np.median(cfo):.0f} (median), when the cop "
            f"density has fallen to about {cop_at:.3f} (from 0.074). Peaks reach a median "
            f"of {np.median(c['peak']):.0f} actives (90th percentile "
            f'{np.percentile(c["peak"], 90):.0f}): with jail terms "infinite", each '
            "outburst ends with its actives in jail, so the rebellion comes as repeated "
            "outbursts that drain the pool of aggrieved agents rather than one lasting "
            "uprising. Epstein's tipping is reproduced"
            + (
                ", but his de Tocqueville contrast (a gradual loss of cops destabilises where "
                "a gradual loss of legitimacy does not) is not: the gradual legitimacy fall "
                f"tips a similar share of runs ({g['outburst_share']:.0%})."
                if g["outburst_share"] >= c["outburst_share"] - 0.2
                else ", and so is his de Tocqueville contrast: far fewer runs tip in the gradual "
                f"legitimacy fall ({g['outburst_share']:.0%})."
            )
        )
    else:
        return (
            "- **Cop reduction** (`epstein_cop_reduction.toml`): no run tips into an "
            "outburst; Epstein's tipping is **not reproduced**."
        )


def limits_epstein(ep: Mapping[str, Any]) -> list[str]:
    """The Epstein bullets of "What the model does not reproduce"."""
    g = ep["epstein_legitimacy_gradual"]
    disc = ep["shapes"]["disc"]  # the scenarios as shipped
    wait, total, s07 = disc["wait"], disc["total"], disc["sudden"]
    m = ep["replication"]
    out = [
        "- **Epstein's Run 2 statistics exactly.** The pattern (punctuated equilibrium) "
        f"is there; the mean waiting time ({wait:.0f}) and activation per outburst "
        f"({total:.0f}) are compared with the paper's 60 ± 55 and 708 ± 230 (from one "
        "run) in part 2: "
        + (
            "both within one of the paper's standard deviations, the waits "
            f"{'shorter' if wait < 60 else 'longer'} on average."
            if disc["holds"]["run2"]
            else "at least one lies more than a standard deviation away."
        )
    ]
    if g["outburst_share"] >= 0.5 or s07 < 0.5:
        out.append(
            "- **Gradual versus sudden legitimacy loss, fully.** "
            + (
                f"The drop from 0.9 to 0.7 explodes (> {OUTBURST} actives within 20 cycles) "
                f"in only {s07:.0%} of runs, where Epstein's one run explodes. "
                if s07 < 0.5
                else ""
            )
            + (
                f"The gradual fall to 0.2 also produces outbursts, in "
                f"{g['outburst_share']:.0%} of runs, where Epstein's shows none. "
                if g["outburst_share"] >= 0.5
                else f"The gradual fall to 0.2 avoids them in {1 - g['outburst_share']:.0%} of "
                "runs, as in the paper. "
            )
            + (
                "No other reading of Epstein's vision (diamond, cross, square) gives all four "
                "of his results either. "
                if not any(all(r["holds"].values()) for r in ep["shapes"].values())
                else ""
            )
            + (
                f"Nor does the sudden drop end with more jailed than the gradual fall, as in "
                f"his Fig. 10: it does in {m['sudden_jail_larger'] / m['n']:.0%} of paired runs. "
                if m["sudden_jail_larger"] < m["n"] / 2
                else ""
            )
            + "An independent floor-rule replication (ndouglas/SugarScape) measured the "
            "same on these points. (Part 2.)"
        )
    return out
