"""Part 1 of docs/validation.md: agreement with Mesa's Epstein example, in tables and words."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from simulation.validation.agreement import EPSTEIN_POINTS, FAST_TEST, VARIANT_LABELS
from simulation.validation.epstein import BURN_IN, OUTBURST
from simulation.validation.page.format import fmt as _f
from simulation.validation.page.format import fmt_p as _p

AGREE_TEXT = """\
## 1. Agreement with Mesa's Epstein example

Mesa's `epstein_civil_violence` example (unmodified, 3.5.1) was run by
`benchmarks/mesa_epstein.py` and cached in `docs/data/mesa_epstein_reference.json`.
khorasan runs `scenarios/epstein_mesa_reference.toml` at the same two points
(overriding `legitimacy.initial`, `taliban.enforcer_density` and
`taliban.max_jail_term`) for {n} seeds, with three schedules of the civilian
layer:

- **sequential** (the default, `world.activation = "sequential"`): citizens and
  cops, mixed, act one at a time in a fresh random order each step, each seeing
  the world as the agents before it left it. This is what Mesa's `shuffle_do`
  does; it runs in a compiled kernel (`simulation/model/kernel.py`).
- **K = 4** (`world.activation = "batched"`, `world.activation_batches = 4`, the
  default until this version): the random order is cut into 4 batches that
  each act at once, on counts refreshed between batches.
- **K = 1** (batched with one batch): a synchronous update, known to be biased;
  it is here to show that the tests can detect a schedule bias.

Per run, after a burn-in of {burn} steps: the mean fraction of citizens active,
jailed and quiet; the number of outbursts (maximal runs of steps with more than
{thr} actives); and the size of the largest outburst (active agent-steps),
exactly as `summary_stats` in `simulation/validation/mesa_reference.py` defines them. Each
statistic's distribution over seeds is compared with a two-sample
Kolmogorov-Smirnov test and a two-sided permutation test on the mean (20,000
permutations); the effect size is the standardized mean difference (SMD,
khorasan minus Mesa over the pooled sd).

**Multiple testing.** Each schedule is one family of {ntests} tests (2 points × 5
statistics × 2 tests); p-values are adjusted with Holm's step-down method, and
agreement is rejected if any adjusted p is below 0.05. (The tests within a
family are correlated, e.g. the active, jailed and quiet fractions add to one,
so Holm is conservative; the raw p-values are in the tables too.) With {n} of
our runs against {n_mesa} of Mesa's, a single test at 5% detects a shift of
{mde:.2f} sd with 80% power; after Holm's correction, {mde_holm:.2f} sd.

**Result.**"""

AGREE_NOTES = """\
Notes:

- **Why the batched schedules are biased.** In a batch, agents act on counts up
  to 1/K of a step old, so an agent that turns active is not yet seen by the
  others in its batch. That damps the within-step cascades through which crowds
  form (once the actives in view outnumber the cops, round(C/A) = 0 and joining
  is safe). Fewer crowds mean fewer actives, fewer arrests (jailed) and fewer
  outbursts: every significant SMD of K = 4 and K = 1 above is negative for
  actives, jailed and outbursts (positive for quiet), and K = 1 is further off
  than K = 4. The sequential schedule has no stale counts, which is why it was
  made the default.
- At `mesa_default` (Mesa's own settings: legitimacy 0.8, cops 0.074, jail
  1000) activity is almost nil after the first steps in all implementations:
  no run has an outburst, so those two rows compare zeros with zeros (p = 1).
  The jailed share there is set by the arrests of the first steps; its
  distribution in Mesa has a long right tail (sd 0.061 on a mean of 0.075)
  that a few seeds dominate.
- Mesa's quirks, all matched by the reference scenario (ODD 7.10): every agent
  uses the cop vision (`civilians.vision` = `taliban.vision` = 7, von Neumann);
  jailed citizens stay on and block their cells (`civilians.jailed_block_cells`);
  a cop arrests one random active citizen in its vision and then moves to a
  random empty cell within vision, not to the arrestee's cell (`taliban.patrol`);
  jail terms are `randint(0, J)` inclusive, and a term counts down on the
  prisoner's own turns, so one arrested earlier in a step serves a turn less;
  `round(C/A)` rounds halves to even (`civilians.arrest_ratio_rule = "round"`);
  each cell holds a citizen (0.7) or a cop (0.074) independently, so counts
  vary by seed; and the order is random sequential over citizens and cops
  mixed (Mesa's `shuffle_do`, `world.activation = "sequential"`). Of Mesa's
  rules, none is known to differ; the random numbers do (other generators), so
  only distributions over seeds can be compared."""


def agreement_markdown(res: Mapping[str, Any]) -> str:
    """Tables of part 1."""
    lines = []
    for point, entry in res["points"].items():
        params = EPSTEIN_POINTS[point] or {"(the scenario as shipped)": ""}
        desc = ", ".join(f"`{k}` = {v}" for k, v in params.items() if v != "")
        lines += [
            f"### Point `{point}`" + (f": {desc}" if desc else ""),
            "",
            f"Mesa: {entry['mesa_seeds']} seeds; khorasan: {res['n_seeds']} seeds; "
            f"{entry['steps']} steps on 40×40; statistics over steps "
            f"{BURN_IN}–{entry['steps']}.",
            "",
            "| statistic | variant | khorasan mean ± sd | Mesa mean ± sd | SMD | KS p "
            "| perm. p | KS p (Holm) | perm. p (Holm) |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for k in entry["variants"]:
            for row in entry["variants"][k]["rows"]:
                lines.append(
                    f"| {row['stat']} | {k} | {_f(row['ours_mean'])} ± {_f(row['ours_sd'], 2)} "
                    f"| {_f(row['mesa_mean'])} ± {_f(row['mesa_sd'], 2)} | {row['smd']:+.2f} "
                    f"| {_p(row['ks_p'])} | {_p(row['perm_p'])} | {_p(row['ks_p_holm'])} "
                    f"| {_p(row['perm_p_holm'])} |"
                )
        lines.append("")
    return "\n".join(lines)


def _where(row: Mapping[str, Any], point: str) -> str:
    return f"`{row['stat']}` at `{point}` (SMD {row['smd']:+.2f})"


def _rejecting(agree: Mapping[str, Any], label: str) -> list[str]:
    """The statistics of a variant with a Holm-adjusted p below 0.05 (either test)."""
    out = []
    for point, entry in agree["points"].items():
        for row in entry["variants"][label]["rows"]:
            if min(row["ks_p_holm"], row["perm_p_holm"]) < 0.05:
                out.append(_where(row, point))
    return out


def _rel(agree: Mapping[str, Any], label: str, point: str, stat: str) -> float:
    """Relative difference of a variant's mean from Mesa's (ours / Mesa - 1)."""
    row = next(r for r in agree["points"][point]["variants"][label]["rows"] if r["stat"] == stat)
    return row["ours_mean"] / row["mesa_mean"] - 1 if row["mesa_mean"] else float("nan")


def _row(agree: Mapping[str, Any], label: str, point: str, stat: str) -> Mapping[str, Any]:
    return next(r for r in agree["points"][point]["variants"][label]["rows"] if r["stat"] == stat)


def render_agreement(agree: Mapping[str, Any], sfx: str) -> list[str]:
    """Part 1 of validation.md."""
    if not agree["have_mesa"]:
        return [
            "## 1. Agreement with Mesa's Epstein example: **pending**",
            "",
            "The Mesa side (`docs/data/mesa_epstein_reference.json`, written by "
            "`benchmarks/mesa_epstein.py`) was not available when this page was generated. "
            "The tables below only compare khorasan's batched schedules with its "
            "default sequential one, with the same statistics and tests as the agreement "
            'test; in them, the "Mesa" columns hold khorasan\'s sequential runs. Re-run '
            "`python -m simulation.validation` once the cache exists.",
            "",
            agreement_markdown(agree),
            "",
        ]
    t = _family_text(agree)
    t += _default_text(agree)
    t += _batched_text(agree)
    t += [
        "",
        agreement_markdown(agree),
        "",
        f"![Agreement: mean active and jailed shares per step](figures/"
        f"validation_agreement{sfx}.png)",
        "",
    ]
    if "fast_test" in agree:
        t += _fast_check_text(agree)
    t += [*AGREE_NOTES.splitlines(), ""]
    return t


def _family_text(agree: Mapping[str, Any]) -> list[str]:
    """The method in words and the table of each schedule's family of tests."""
    fam = agree["family"]
    t = AGREE_TEXT.format(
        n=agree["n_seeds"],
        burn=BURN_IN,
        thr=OUTBURST,
        ntests=fam["sequential"]["n_tests"],
        n_mesa=agree["n_mesa"],
        mde=agree["mde"]["raw"],
        mde_holm=agree["mde"]["holm"],
    ).splitlines()
    t += [
        "",
        "| schedule | tests rejecting after Holm (5%) | smallest Holm-adjusted p "
        "| smallest raw p | largest abs(SMD) | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for label, f in fam.items():
        verdict = "**rejected**" if f["rejected"] else "not rejected"
        t.append(
            f"| {VARIANT_LABELS[label]} | {f['n_rejecting']} of {f['n_tests']} "
            f"| {_p(f['min_holm'])} | {_p(f['min_raw'])} | {f['max_abs_smd']:.2f} "
            f"| {verdict} |"
        )
    t.append("")
    return t


def _default_text(agree: Mapping[str, Any]) -> list[str]:
    """The verdict on the default (sequential) schedule, and its residual difference."""
    fam = agree["family"]
    t: list[str] = []
    seq = fam["sequential"]
    w = seq["worst"]
    if not seq["rejected"]:
        t.append(
            f"**The default schedule (sequential) agrees with Mesa's example**: none of "
            f"its {seq['n_tests']} tests rejects at 5% after Holm's correction (smallest "
            f"adjusted p = {_p(seq['min_holm'])}; smallest raw p = {_p(seq['min_raw'])}, "
            f"{'KS test' if w['test'] == 'ks_p' else 'permutation test'} on "
            f"`{w['stat']}` at `{w['point']}`), and no effect size exceeds "
            f"{seq['max_abs_smd']:.2f} standard deviations."
        )
    else:
        t.append(
            "**The default schedule (sequential) is rejected**: "
            + "; ".join(_rejecting(agree, "sequential"))
            + f" (smallest Holm-adjusted p = {_p(seq['min_holm'])})."
        )
    smds = {
        (pt, st): _row(agree, "sequential", pt, st)["smd"]
        for pt in EPSTEIN_POINTS
        for st in ("mean_frac_active", "mean_frac_jailed")
    }
    if all(v < 0 for v in smds.values()) or all(v > 0 for v in smds.values()):
        side = "fewer" if next(iter(smds.values())) < 0 else "more"
        k4 = [abs(_row(agree, "K=4", pt, st)["smd"]) for pt, st in smds]
        share = np.mean([abs(v) for v in smds.values()]) / max(np.mean(k4), 1e-9)
        rels = ", ".join(
            f"{st.split('_')[-1]} {_rel(agree, 'sequential', pt, st):+.0%} at `{pt}`"
            for pt, st in smds
        )
        t += [
            "",
            f"One thing to keep in view: at both points the sequential runs have "
            f"slightly {side} actives and jailed than Mesa's ({rels}; SMDs from "
            f"{min(smds.values()):+.2f} to {max(smds.values()):+.2f}), the direction "
            f"of the batched schedules' bias, with about {share:.0%} of K = 4's "
            f"effect size on the same statistics. "
            f"With these sample sizes a test at 5% has 80% power only for "
            f"abs(SMD) ≥ {agree['mde']['raw']:.2f} (≥ {agree['mde']['holm']:.2f} after "
            f"Holm), so a residual difference of this size is neither shown nor excluded. "
            f"(The four statistics are not independent evidence: active, jailed and "
            f"quiet shares move together.)",
        ]
    return t


def _batched_text(agree: Mapping[str, Any]) -> list[str]:
    """The verdicts on the batched schedules, and what they show about power."""
    fam = agree["family"]
    seq = fam["sequential"]
    t: list[str] = []
    for label in ("K=4", "K=1"):
        f = fam[label]
        rej = _rejecting(agree, label)
        if f["rejected"]:
            t += [
                "",
                f"**{VARIANT_LABELS[label]}: rejected** ({f['n_rejecting']} of "
                f"{f['n_tests']} tests; smallest Holm-adjusted p = {_p(f['min_holm'])}). "
                f"The statistics that differ: " + "; ".join(rej) + ".",
            ]
        else:
            t += [
                "",
                f"**{VARIANT_LABELS[label]}: not rejected** (smallest Holm-adjusted "
                f"p = {_p(f['min_holm'])}, largest abs(SMD) {f['max_abs_smd']:.2f}).",
            ]
    if fam["K=1"]["rejected"] and not seq["rejected"]:
        t += [
            "",
            "That the synchronous update is rejected and the sequential one is not shows "
            "that the comparison has the power to detect a schedule bias of this kind.",
        ]
    return t


def _fast_check_text(agree: Mapping[str, Any]) -> list[str]:
    """The fast check of the test suite, on the cached runs."""
    fam = agree["family"]
    ft = FAST_TEST
    t = [
        "### The fast check in the test suite",
        "",
        f"`tests/test_validation.py` runs a cheap version of this comparison: "
        f"`{ft['stat']}` over steps {ft['burn_in']}–{ft['steps']} (the first wave of "
        f"arrests, the statistic most sensitive to the schedule) at `{ft['point']}`, "
        f"{ft['n_seeds']} of our seeds against Mesa's "
        f"{agree['points'][ft['point']]['mesa_seeds']}. "
        f"It passes if abs(SMD) < {ft['smd_bound']} and a permutation test on the means "
        f"gives p > {ft['p_bound']}. The default (sequential) must pass and the "
        "synchronous update (K = 1) must fail. On the same seeds (the first steps of "
        "the cached runs above):",
        "",
        "| schedule | SMD | permutation p | bound |",
        "|---|---|---|---|",
    ]
    for label, v in agree["fast_test"].items():
        t.append(
            f"| {VARIANT_LABELS[label]} | {v['smd']:+.2f} | {_p(v['p'])} "
            f"| {'passes' if v['passes'] else '**fails**'} |"
        )
    k4 = agree["fast_test"].get("K=4")
    if k4 is not None and k4["passes"] and fam["K=4"]["rejected"]:
        t += [
            "",
            "K = 4 passes this first-wave check although the full comparison "
            "rejects it: its bias (fewer actives, arrests and outbursts) builds up over "
            "the run, which 10 steps do not reach. The fast check guards against a "
            "gross schedule bias such as a synchronous update; the full comparison "
            "above is the validation.",
        ]
    t.append("")

    return t


def limits_agreement(agree: Mapping[str, Any]) -> list[str]:
    """The agreement bullet of "What the model does not reproduce"."""
    fam = agree["family"]
    if fam["sequential"]["rejected"]:
        return [
            "- **Statistical agreement with Mesa's example at the default schedule.** "
            "The sequential schedule is rejected at 5% after Holm's correction (part 1, "
            f"smallest adjusted p = {_p(fam['sequential']['min_holm'])})."
        ]
    out = [
        "- **Mesa agreement of the batched ablation.** The default (sequential) schedule "
        'agrees with Mesa\'s example, but `world.activation = "batched"` does not: '
        + ", ".join(
            f"{VARIANT_LABELS[k]} is rejected (Holm-adjusted p = {_p(fam[k]['min_holm'])})"
            for k in ("K=4", "K=1")
            if fam[k]["rejected"]
        )
        + "; it damps the cascades through which crowds form. Use it only as an "
        "ablation or for speed where that bias does not matter."
    ]
    return out
