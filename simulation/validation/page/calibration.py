"""Part 3 of docs/validation.md: each calibration stage's provenance, run and knob table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from simulation.experiments.fingerprint import code_fingerprint


def calibration_seeds(calib: Mapping[str, Any] | None) -> list[int]:
    """The seeds a calibration stage ran its candidates on (none if it has not run)."""
    return calib["seeds_stage1"] + calib["seeds_stage2"] if calib else []


def _polish_text(calib: Mapping[str, Any]) -> str:
    """How stage 3 (the Nelder-Mead polish) of the calibration went, for the run line."""
    pol = calib.get("polish")
    if not pol:
        return ""
    seeds = calibration_seeds(calib)
    kept = calib["best"]["candidate"] == pol["candidate"]
    return (
        f", then a Nelder-Mead polish of the winner on seeds {seeds[0]}–{seeds[-1]} "
        f"({pol['evaluations']} evaluation{'s' if pol['evaluations'] != 1 else ''}, loss "
        f"{pol['start_loss']:.4f} → "
        f"{pol['loss']:.4f}{'' if kept else ', not kept'})"
    )


def calibration_run(
    calib: Mapping[str, Any] | None, hist: Mapping[str, Any], stage: str
) -> list[str]:
    """The provenance line, the run line and the knob table of one calibration stage."""
    if not calib:
        return [
            f"(Stage {stage} has not been run: `python -m simulation.validation.calibration"
            + (" --stage post2021" if stage == "B" else "")
            + "`.)",
            "",
        ]
    t: list[str] = []
    hashes = {calib.get("model_hash"), calib.get("model_hash_end")} - {None}
    if hashes == {code_fingerprint()}:
        t += [
            f"Stage {stage} ran on the same code as the replicates below (code fingerprint "
            f"`{code_fingerprint()}`); its own medians are given beside theirs.",
            "",
        ]
    else:
        t += [
            f"**Stage {stage} ran on code with another fingerprint** than the replicates "
            f"below (calibration: `{'`, `'.join(sorted(hashes)) or 'unknown'}`; now: "
            f"`{code_fingerprint()}`; the fingerprint changes with the code that decides "
            "results, and with what it covers). Its own medians are given beside the "
            "replicates'; re-running `python -m simulation.validation.calibration` on the "
            "current code may move the optimum.",
            "",
        ]
    best, s = calib["best"], calib["settings"]
    t += [
        f"Stage {stage} run: {len(calib['stage1'])} candidates × {s['reps']} replicates "
        f"(seeds {calib['seeds_stage1'][0]}–{calib['seeds_stage1'][-1]}), "
        f"then the best {s['top']} × {s['reps2']} more (seeds "
        f"{calib['seeds_stage2'][0]}–{calib['seeds_stage2'][-1]})"
        + _polish_text(calib)
        + f"; took {calib['elapsed_seconds'] / 60:.1f} min (generated "
        f"{calib['generated']}). Best loss {best['loss']:.4f} (0: every median "
        f"inside its range narrowed by 5% at each end).",
        "",
    ]
    prior = hist["a_priori"] if stage == "B" else {}
    t += [
        "| parameter | searched range |"
        + (" a priori (hold-out forecast) |" if prior else "")
        + " calibrated | in the scenario file |",
        "|---|---|" + ("---|" if prior else "") + "---|---|",
    ]
    knobs = {k["name"]: k for k in calib["knobs"]}
    for name, v in best["candidate"].items():
        k = knobs[name]
        cur = hist["scenario_values"].get(name, float("nan"))
        same = "" if np.isclose(cur, v, rtol=0.02) else " **(differs)**"
        pri = f" {prior[name]:.4g} |" if prior else ""
        t.append(f"| `{name}` | {k['lo']:g}–{k['hi']:g} |{pri} {v:.4g} | {cur:.4g}{same} |")
    return [*t, ""]
