"""``plot`` and ``compare`` on damaged run directories: one line naming the file, exit 2.

One good tiny run is made once; every case copies it, damages the copy in
one way and runs ``khorasan plot`` and ``khorasan compare`` on it. Each must
refuse with exactly one stderr line that starts with the damaged file (and
names the key where there is one) and exit status 2: never a traceback,
never exit 1, never accepted. Damage to a CSV is made twice: once as it
is (the manifest's sha256 then no longer matches) and once with the
manifest's hash updated to the damaged bytes, so the table checks
themselves are exercised too.

With ``--resume``, damaged saved work is never used: a replicate file that
does not match its check file is run again, and a finished run directory
whose files do not match the manifest is kept aside and run again.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from simulation.experiments.files import ResultsError
from simulation.experiments.jobs import FAIL_SEED_ENV
from simulation.experiments.store import ReplicateStore
from simulation.experiments.workspace import partial_dir_for
from simulation.scenario.core import make_scenario
from tests.tiny_runs import TINY_RUN_STEPS, invoke

STEPS = TINY_RUN_STEPS


@pytest.fixture
def good_run(tiny_run: Path) -> Path:
    """The saved tiny run (read only: the tests damage copies of it)."""
    return tiny_run


# --- ways of damaging a run directory ----------------------------------------------


def _manifest(run: Path) -> dict:
    return json.loads((run / "manifest.json").read_text(encoding="utf-8"))


def _set_manifest(run: Path, manifest: object) -> None:
    (run / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")


def _edit_manifest(edit: Callable[[dict], object]) -> Callable[[Path], None]:
    """Damage the manifest by ``edit`` (which changes it in place or returns a new value)."""

    def damage(run: Path) -> None:
        manifest = _manifest(run)
        new = edit(manifest)
        _set_manifest(run, manifest if new is None else new)

    return damage


def _drop(*keys: str) -> Callable[[Path], None]:
    """Remove ``keys[-1]`` from the manifest's table at ``keys[:-1]``."""

    def edit(m: dict) -> None:
        for key in keys[:-1]:
            m = m[key]
        del m[keys[-1]]

    return _edit_manifest(edit)


def _rehash(run: Path, name: str) -> None:
    """Record ``name``'s current bytes in the manifest, as if it had been written so."""
    data = (run / name).read_bytes()
    manifest = _manifest(run)
    manifest["files"][name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    _set_manifest(run, manifest)


def _lines(name: str, edit: Callable[[list[str]], list[str]]) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        lines = (run / name).read_text(encoding="utf-8").splitlines(keepends=True)
        (run / name).write_text("".join(edit(lines)), encoding="utf-8")

    return damage


def _cells(name: str, column: str, value: Callable[[int, str], str]) -> Callable[[Path], None]:
    """Replace ``column``'s cell in every data row ``i`` by ``value(i, old)``."""

    def edit(lines: list[str]) -> list[str]:
        header = lines[0].rstrip("\n").split(",")
        k = header.index(column)
        out = [lines[0]]
        for i, line in enumerate(lines[1:]):
            cells = line.rstrip("\n").split(",")
            cells[k] = value(i, cells[k])
            out.append(",".join(cells) + "\n")
        return out

    return _lines(name, edit)


def _bytes(name: str, data: bytes) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        (run / name).write_bytes(data)

    return damage


def _flip_byte(run: Path) -> None:
    data = bytearray((run / "timeseries.csv").read_bytes())
    k = data.rindex(b",") + 1  # a digit of the last value: same length, other bytes
    data[k] = ord("7") if data[k] != ord("7") else ord("8")
    (run / "timeseries.csv").write_bytes(bytes(data))


def _truncate(fraction: float) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        data = (run / "timeseries.csv").read_bytes()
        (run / "timeseries.csv").write_bytes(data[: int(len(data) * fraction)])

    return damage


def _replace_by_dir(name: str) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        (run / name).unlink()
        (run / name).mkdir()

    return damage


def _drop_column(name: str, column: str) -> Callable[[Path], None]:
    def edit(lines: list[str]) -> list[str]:
        k = lines[0].rstrip("\n").split(",").index(column)
        return [
            ",".join(c for j, c in enumerate(line.rstrip("\n").split(",")) if j != k) + "\n"
            for line in lines
        ]

    return _lines(name, edit)


def _repeat_column(name: str, column: str) -> Callable[[Path], None]:
    def edit(lines: list[str]) -> list[str]:
        k = lines[0].rstrip("\n").split(",").index(column)
        return [line.rstrip("\n") + "," + line.rstrip("\n").split(",")[k] + "\n" for line in lines]

    return _lines(name, edit)


def _first_event_without_step(m: dict) -> None:
    m["events"] = [{"label": "x", "set": {}}]


#: (id, damage, file whose name starts the error line, text the line must hold)
MANIFEST_CASES = [
    ("manifest-missing", lambda run: (run / "manifest.json").unlink(), "manifest.json", "missing"),
    ("manifest-empty", _bytes("manifest.json", b""), "manifest.json", "not valid JSON"),
    (
        "manifest-not-utf8",
        _bytes("manifest.json", b'{"format": "khorasan-run\xff\xfe"}'),
        "manifest.json",
        "not UTF-8",
    ),
    (
        "manifest-truncated",
        lambda run: (run / "manifest.json").write_bytes((run / "manifest.json").read_bytes()[:200]),
        "manifest.json",
        "not valid JSON",
    ),
    ("manifest-is-dir", _replace_by_dir("manifest.json"), "manifest.json", "not a regular file"),
    ("manifest-list", _edit_manifest(lambda m: [m]), "manifest.json", "expected a JSON object"),
    (
        "manifest-str",
        _edit_manifest(lambda m: "khorasan-run"),
        "manifest.json",
        "expected a JSON object",
    ),
    (
        "manifest-null",
        lambda run: _set_manifest(run, None),
        "manifest.json",
        "expected a JSON object",
    ),
    (
        "format-other",
        _edit_manifest(lambda m: m.update(format="other")),
        "manifest.json",
        "format:",
    ),
    (
        "format-version-newer",
        _edit_manifest(lambda m: m.update(format_version=99)),
        "manifest.json",
        "format_version:",
    ),
    ("scenario-missing", _drop("scenario"), "manifest.json", "scenario: missing"),
    (
        "scenario-list",
        _edit_manifest(lambda m: m.update(scenario=[1, 2])),
        "manifest.json",
        "scenario: expected a JSON object",
    ),
    ("name-missing", _drop("scenario", "name"), "manifest.json", "scenario.name: missing"),
    (
        "start-date-bad",
        _edit_manifest(lambda m: m["scenario"].update(start_date="2021-13-45")),
        "manifest.json",
        "scenario.start_date:",
    ),
    (
        "start-date-number",
        _edit_manifest(lambda m: m["scenario"].update(start_date=2021)),
        "manifest.json",
        "scenario.start_date:",
    ),
    (
        "steps-text",
        _edit_manifest(lambda m: m["scenario"].update(steps="3")),
        "manifest.json",
        "scenario.steps: expected an integer",
    ),
    (
        "steps-past-9999",
        _edit_manifest(lambda m: m["scenario"].update(steps=10**6)),
        "manifest.json",
        "scenario.steps:",
    ),
    (
        "replicates-bool",
        _edit_manifest(lambda m: m.update(replicates=True)),
        "manifest.json",
        "replicates: expected an integer",
    ),
    ("seeds-missing", _drop("seeds"), "manifest.json", "seeds: missing"),
    (
        "seeds-str",
        _edit_manifest(lambda m: m.update(seeds="3,4")),
        "manifest.json",
        "seeds: expected a list",
    ),
    (
        "seeds-floats",
        _edit_manifest(lambda m: m.update(seeds=[3.5, 4])),
        "manifest.json",
        "seeds: expected a list of integers",
    ),
    (
        "seeds-too-few",
        _edit_manifest(lambda m: m.update(seeds=m["seeds"][:1])),
        "manifest.json",
        "seeds:",
    ),
    (
        "params-list",
        _edit_manifest(lambda m: m.update(params=[])),
        "manifest.json",
        "params: expected a JSON object",
    ),
    (
        "withdrawal-week-text",
        _edit_manifest(lambda m: m["params"].update({"surveillance.withdrawal_week": "soon"})),
        "manifest.json",
        "params.surveillance.withdrawal_week:",
    ),
    (
        "events-object",
        _edit_manifest(lambda m: m.update(events={"step": 1})),
        "manifest.json",
        "events: expected a list",
    ),
    (
        "event-without-step",
        _edit_manifest(_first_event_without_step),
        "manifest.json",
        "events[0].step: missing",
    ),
    ("metrics-missing", _drop("metrics"), "manifest.json", "metrics: missing"),
    ("files-missing", _drop("files"), "manifest.json", "files: missing"),
    (
        "hash-malformed",
        _edit_manifest(lambda m: m["files"]["timeseries.csv"].update(sha256="xyz")),
        "manifest.json",
        "files.timeseries.csv.sha256:",
    ),
]

#: Damage to the files, found by the hashes the manifest holds.
HASH_CASES = [
    (
        "timeseries-missing",
        lambda run: (run / "timeseries.csv").unlink(),
        "timeseries.csv",
        "missing",
    ),
    ("summary-missing", lambda run: (run / "summary.csv").unlink(), "summary.csv", "missing"),
    (
        "scenario-toml-missing",
        lambda run: (run / "scenario.toml").unlink(),
        "scenario.toml",
        "missing",
    ),
    (
        "timeseries-is-dir",
        _replace_by_dir("timeseries.csv"),
        "timeseries.csv",
        "not a regular file",
    ),
    ("timeseries-truncated", _truncate(0.5), "timeseries.csv", "manifest recorded"),
    ("timeseries-byte-changed", _flip_byte, "timeseries.csv", "sha256"),
    ("timeseries-empty", _bytes("timeseries.csv", b""), "timeseries.csv", "manifest recorded"),
    (
        "summary-header-only",
        _lines("summary.csv", lambda lines: lines[:1]),
        "summary.csv",
        "manifest recorded",
    ),
    (
        "scenario-toml-edited",
        lambda run: (run / "scenario.toml").write_text(
            (run / "scenario.toml").read_text().replace("steps = 3", "steps = 4")
        ),
        "scenario.toml",
        "damaged or was changed",
    ),
]

#: Damage to the tables' contents, with the manifest's hash updated to match.
CONTENT_CASES = [
    ("empty", "timeseries.csv", _bytes("timeseries.csv", b""), "empty"),
    ("header-only", "timeseries.csv", _lines("timeseries.csv", lambda lines: lines[:1]), "no rows"),
    ("truncated-mid-line", "timeseries.csv", _truncate(0.5), "rows, expected"),
    (
        "rows-missing",
        "timeseries.csv",
        _lines("timeseries.csv", lambda lines: lines[:-2]),
        "rows, expected",
    ),
    (
        "not-utf8",
        "timeseries.csv",
        lambda run: (run / "timeseries.csv").write_bytes(
            (run / "timeseries.csv").read_bytes().replace(b"2021", b"\xff021", 1)
        ),
        "not UTF-8",
    ),
    (
        "text-in-metric",
        "timeseries.csv",
        _cells("timeseries.csv", "attacks", lambda i, v: "many" if i == 2 else v),
        "attacks: expected numbers",
    ),
    (
        "fractional-step",
        "timeseries.csv",
        _cells("timeseries.csv", "step", lambda i, v: f"{v}.5" if i == 1 else v),
        "step: expected whole numbers",
    ),
    (
        "nan-only-metric",
        "timeseries.csv",
        _cells("timeseries.csv", "legitimacy", lambda i, v: "nan"),
        "legitimacy: no values",
    ),
    (
        "date-column-missing",
        "timeseries.csv",
        _drop_column("timeseries.csv", "date"),
        "date: column missing",
    ),
    (
        "metric-column-missing",
        "timeseries.csv",
        _drop_column("timeseries.csv", "arrests"),
        "arrests: column missing",
    ),
    (
        "column-repeated",
        "timeseries.csv",
        _repeat_column("timeseries.csv", "arrests"),
        "arrests: column repeated",
    ),
    (
        "bad-date",
        "timeseries.csv",
        _cells("timeseries.csv", "date", lambda i, v: "2021-02-30" if i == 3 else v),
        "date:",
    ),
    ("other-seed", "timeseries.csv", _cells("timeseries.csv", "seed", lambda i, v: "99"), "seed:"),
    (
        "summary-header-only",
        "summary.csv",
        _lines("summary.csv", lambda lines: lines[:1]),
        "no rows",
    ),
    (
        "summary-text-median",
        "summary.csv",
        _cells("summary.csv", "median", lambda i, v: "x" if i == 0 else v),
        "median: expected numbers",
    ),
]


def _content_damage(name: str, damage: Callable[[Path], None]) -> Callable[[Path], None]:
    def both(run: Path) -> None:
        damage(run)
        _rehash(run, name)

    return both


CASES = [
    pytest.param(damage, Path(file), text, id=case)
    for case, damage, file, text in [*MANIFEST_CASES, *HASH_CASES]
]
CASES += [
    pytest.param(_content_damage(file, damage), Path(file), text, id=f"rehashed-{case}")
    for case, file, damage, text in CONTENT_CASES
]


def _refused(result, path: Path, text: str) -> None:
    assert "Traceback" not in result.output
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{path}: "), lines[0]
    assert text in lines[0], lines[0]


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 34
    assert len({p.id for p in CASES}) == len(CASES)


@pytest.mark.parametrize(("damage", "file", "text"), CASES)
def test_plot_and_compare_refuse_a_damaged_run(
    good_run: Path, tmp_path: Path, damage: Callable[[Path], None], file: Path, text: str
) -> None:
    run = tmp_path / "run"
    shutil.copytree(good_run, run)
    damage(run)
    _refused(invoke("plot", run, catch_exceptions=True), run / file, text)
    assert not (run / "plots").exists()  # nothing drawn from it

    out = tmp_path / "cmp"
    _refused(
        invoke("compare", good_run, run, "--out", out, catch_exceptions=True), run / file, text
    )
    assert not out.exists()  # nothing compared


def test_the_undamaged_copy_is_accepted(good_run: Path, tmp_path: Path) -> None:
    # the control: the same copy, undamaged, plots and compares (and rehashing alone is
    # harmless), so the refusals above come from the damage
    run = tmp_path / "run"
    shutil.copytree(good_run, run)
    _rehash(run, "timeseries.csv")
    result = invoke("plot", run)
    assert result.exit_code == 0, result.output
    assert len(list((run / "plots").glob("*.png"))) == 3
    result = invoke("compare", good_run, run, "--out", tmp_path / "cmp")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "cmp" / "comparison.csv").is_file()


# --- --resume on damaged saved work ---------------------------------------------------


def _run(tiny: Path, out: Path, *extra: str):
    return invoke(
        "run",
        tiny,
        "--out",
        out,
        "--workers",
        "1",
        "--quiet",
        "--no-plots",
        *extra,
        catch_exceptions=True,
    )


def test_resume_redoes_a_truncated_replicate_file(
    good_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tiny = good_run.parent.parent / "tiny.toml"
    seeds = _manifest(good_run)["seeds"]
    out = tmp_path / "out"
    monkeypatch.setenv(FAIL_SEED_ENV, str(seeds[1]))
    assert _run(tiny, out).exit_code == 1  # replicate 1 failed, replicate 0 is saved
    partial = partial_dir_for(out / "tiny")
    (saved,) = partial.glob(f"*/seed-{seeds[0]}.csv")
    lines = saved.read_text(encoding="utf-8").splitlines(keepends=True)
    assert len(lines) == STEPS + 2
    saved.write_text("".join(lines[:3]), encoding="utf-8")  # whole lines, rows missing

    monkeypatch.delenv(FAIL_SEED_ENV)
    result = _run(tiny, out, "--resume")
    assert result.exit_code == 0, result.output
    assert f"{saved}: " in result.stderr and "running that replicate again" in result.stderr
    # the replicate was run again: the run is what an uninterrupted run writes
    assert (out / "tiny" / "timeseries.csv").read_bytes() == (
        good_run / "timeseries.csv"
    ).read_bytes()
    assert not partial.exists()


def test_a_replicate_file_without_its_check_is_not_used(tmp_path: Path) -> None:
    # e.g. saved by an older khorasan, or copied in by hand
    sc = make_scenario({}, name="x", steps=2, replicates=1, seed=5)
    store = ReplicateStore(tmp_path)
    frame = pd.DataFrame({"step": [0, 1, 2], "value": [1.5, 2.5, 3.5]})
    store.save(sc, 5, frame)
    assert store.has(sc, 5)
    pd.testing.assert_frame_equal(store.load(sc, 5), frame)
    store.check_path(sc, 5).unlink()
    assert not store.has(sc, 5)
    assert "check file is missing" in store.redo[store.path(sc, 5)]
    with pytest.raises(ResultsError, match="check file is missing"):
        store.load(sc, 5)
    store.save(sc, 5, frame)
    store.path(sc, 5).write_text("step,value\n0,1.5\n", encoding="utf-8")
    assert not store.has(sc, 5)
    with pytest.raises(ResultsError, match="damaged"):
        store.load(sc, 5)


def test_resume_redoes_a_damaged_complete_run_and_keeps_the_damaged_one(
    good_run: Path, tmp_path: Path
) -> None:
    tiny = good_run.parent.parent / "tiny.toml"
    out = tmp_path / "out"
    shutil.copytree(good_run, out / "tiny")
    _truncate(0.6)(out / "tiny")
    damaged = (out / "tiny" / "timeseries.csv").read_bytes()

    result = _run(tiny, out, "--resume")
    assert result.exit_code == 0, result.output
    assert "already complete" not in result.stdout
    assert "running it again" in result.stderr
    assert (out / "tiny" / "timeseries.csv").read_bytes() == (
        good_run / "timeseries.csv"
    ).read_bytes()
    (kept,) = out.glob("tiny.damaged-*")  # nothing is deleted
    assert (kept / "timeseries.csv").read_bytes() == damaged
    assert str(kept) in result.stderr

    # now whole, the run is complete
    result = _run(tiny, out, "--resume")
    assert result.exit_code == 0 and "already complete" in result.stdout


def test_resume_still_refuses_a_damaged_run_of_other_settings(
    good_run: Path, tmp_path: Path
) -> None:
    tiny = good_run.parent.parent / "tiny.toml"
    out = tmp_path / "out"
    shutil.copytree(good_run, out / "tiny")
    _truncate(0.6)(out / "tiny")
    result = _run(tiny, out, "--resume", "--seed", "11")
    assert result.exit_code == 2
    assert not list(out.glob("tiny.damaged-*"))
    assert (out / "tiny" / "timeseries.csv").is_file()
