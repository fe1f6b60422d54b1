"""Never lose a user's files: --force, compare outputs, resume checks, seeds, a full disk.

Issue #14, items 1-4, 6 (plots after a kill), 7 and 18. The kills themselves
(SIGKILL, SIGTERM, pool workers) are in tests/test_kill.py.
"""

from __future__ import annotations

import errno
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from simulation.experiments import files, rundir, store, workspace
from simulation.experiments.fingerprint import code_fingerprint, fingerprint_files
from simulation.experiments.jobs import FAIL_SEED_ENV
from simulation.experiments.workspace import partial_dir_for
from simulation.scenario.core import MAX_SEED
from tests.tiny_runs import invoke, tiny_scenario, write

REPO = Path(__file__).resolve().parent.parent
FAST = ["--quiet", "--no-plots", "--workers", "1"]


def one_line(result, code: int = 2) -> str:
    """The single stderr line of a refused command (and no traceback)."""
    assert result.exit_code == code, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return write(tmp_path, "tiny.toml", tiny_scenario(steps=4, seed=7, replicates=3))


# --- 1. --force replaces only what khorasan wrote ------------------------------------


def test_force_refuses_a_users_folder_in_the_way(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write(home / "Documents", "thesis.txt", "years of work")
    path = write(tmp_path, "docs.toml", tiny_scenario("Documents", steps=2, replicates=1))
    line = one_line(invoke("run", path, "--out", home, "--force", *FAST))
    assert line.startswith(f"{home / 'Documents'}: not a directory khorasan wrote")
    assert "--force" in line
    assert (home / "Documents" / "thesis.txt").read_text() == "years of work"
    assert sorted(p.name for p in home.iterdir()) == ["Documents"]  # no workspace left


def test_force_refuses_a_run_directory_with_the_users_files(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert invoke("run", tiny, "--out", out, *FAST).exit_code == 0
    run_dir = out / "tiny"
    write(run_dir, "notes.txt", "my notes")
    write(run_dir / "plots", "annotated.pdf", "mine")
    before = snapshot(run_dir)
    line = one_line(invoke("run", tiny, "--out", out, "--force", "--seed", "1", *FAST))
    assert line.startswith(f"{run_dir}: holds files khorasan did not write")
    assert "notes.txt" in line and "plots/annotated.pdf" in line
    assert snapshot(run_dir) == before

    # once only khorasan's files are left, --force replaces the run
    (run_dir / "notes.txt").unlink()
    (run_dir / "plots" / "annotated.pdf").unlink()
    result = invoke("run", tiny, "--out", out, "--force", "--seed", "1", *FAST)
    assert result.exit_code == 0, result.output
    assert json.loads((run_dir / "manifest.json").read_text())["seeds"] == [1, 2, 3]


def test_force_refuses_a_link_or_a_fake_manifest(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    elsewhere = tmp_path / "elsewhere"
    write(elsewhere, "keep.txt", "x")
    out.mkdir()
    (out / "tiny").symlink_to(elsewhere)
    line = one_line(invoke("run", tiny, "--out", out, "--force", *FAST))
    assert line.startswith(f"{out / 'tiny'}: is a symbolic link")
    (out / "tiny").unlink()
    write(out / "tiny", "manifest.json", '{"format": "something-else"}')
    line = one_line(invoke("run", tiny, "--out", out, "--force", *FAST))
    assert "not a directory khorasan wrote" in line
    assert (elsewhere / "keep.txt").read_text() == "x"


def test_sweep_force_refuses_the_working_directory(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj = tmp_path / "proj"
    write(proj / "src", "main.py", "print('hello')\n")
    monkeypatch.chdir(proj)
    for out in (proj, Path.cwd()):
        line = one_line(
            invoke(
                "sweep",
                tiny,
                "-p",
                "isisk.attack_rate=1,2",
                "--out",
                out,
                "--force",
                "--quiet",
                "--workers",
                "1",
            )
        )
        assert line.startswith(f"{out}: not a directory khorasan wrote")
    assert (proj / "src" / "main.py").read_text() == "print('hello')\n"
    assert sorted(p.name for p in proj.iterdir()) == ["src"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proj", "tiny.toml"]


def test_sweep_force_replaces_its_own_directory(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "sw"
    args = ["sweep", tiny, "-p", "isisk.attack_rate=1,2", "--out", out, "--quiet", "--workers", "1"]
    assert invoke(*args).exit_code == 0
    result = invoke(*args, "--force", "--replicates", "1")
    assert result.exit_code == 0, result.output
    assert json.loads((out / "sweep.json").read_text())["replicates"] == 1
    write(out, "mine.csv", "a,b\n")
    line = one_line(invoke(*args, "--force"))
    assert line.startswith(f"{out}: holds files khorasan did not write (mine.csv)")


def test_compare_force_refuses_a_users_folder_under_out(tmp_path: Path) -> None:
    a = write(tmp_path, "a.toml", tiny_scenario("base", steps=3, replicates=1))
    b = write(
        tmp_path,
        "b.toml",
        tiny_scenario("other", steps=3, replicates=1, extra="\n[isisk]\nattack_rate = 2.0\n"),
    )
    out = tmp_path / "cmp"
    write(out / "other", "draft.md", "mine")
    line = one_line(invoke("compare", a, b, "--out", out, "--force", "--quiet", "--workers", "1"))
    assert line.startswith(f"{out / 'other'}: not a directory khorasan wrote")
    assert (out / "other" / "draft.md").read_text() == "mine"


def test_force_discards_only_khorasans_saved_replicates(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    monkeypatch.setenv(FAIL_SEED_ENV, "8")
    assert invoke("run", tiny, "--out", out, *FAST).exit_code == 1
    monkeypatch.delenv(FAIL_SEED_ENV)
    partial = partial_dir_for(out / "tiny")
    write(partial, "mine.txt", "x")
    line = one_line(invoke("run", tiny, "--out", out, "--force", *FAST))
    assert line.startswith(f"{partial}: holds files khorasan did not write (mine.txt)")
    assert len(list(partial.glob("*/seed-*.csv"))) == 2


# --- 2. compare never overwrites what it did not write -------------------------------


@pytest.fixture
def two_runs(tmp_path: Path) -> tuple[Path, Path]:
    a = write(tmp_path, "a.toml", tiny_scenario("base", steps=3, replicates=2))
    b = write(
        tmp_path,
        "b.toml",
        tiny_scenario("other", steps=3, replicates=2, extra="\n[isisk]\nattack_rate = 2.0\n"),
    )
    runs = tmp_path / "runs"
    assert invoke("run", a, b, "--out", runs, *FAST).exit_code == 0
    return runs / "base", runs / "other"


def test_compare_does_not_overwrite_comparison_files(
    two_runs: tuple[Path, Path], tmp_path: Path
) -> None:
    out = tmp_path / "cmp"
    write(out, "comparison.csv", "my own table\n")
    line = one_line(invoke("compare", *two_runs, "--out", out))
    assert line.startswith(f"{out / 'comparison.csv'}: already exists")
    # --force does not replace a file khorasan did not write either
    line = one_line(invoke("compare", *two_runs, "--out", out, "--force"))
    assert line.startswith(f"{out / 'comparison.csv'}: was not written by khorasan")
    assert (out / "comparison.csv").read_text() == "my own table\n"
    assert sorted(p.name for p in out.iterdir()) == ["comparison.csv"]

    (out / "comparison.csv").unlink()
    assert invoke("compare", *two_runs, "--out", out).exit_code == 0
    written = snapshot(out)
    assert set(written) == {"comparison.png", "difference.png", "comparison.csv", "comparison.json"}
    # a second compare: refused without --force; --resume keeps the same files
    line = one_line(invoke("compare", *two_runs, "--out", out))
    assert line.startswith(f"{out}/comparison.") and "already exists" in line
    assert invoke("compare", *two_runs, "--out", out, "--resume").exit_code == 0
    assert snapshot(out) == written
    # other metrics make another difference.png: --resume refuses to overwrite it
    line = one_line(invoke("compare", *two_runs, "--out", out, "--resume", "--metrics", "arrests"))
    assert "comparison.png: already exists" in line
    assert snapshot(out) == written
    # khorasan's own files are replaced with --force ...
    result = invoke("compare", *two_runs, "--out", out, "--force", "--metrics", "arrests")
    assert result.exit_code == 0, result.output
    assert snapshot(out)["comparison.png"] != written["comparison.png"]
    # ... unless they were changed since
    (out / "difference.png").write_bytes(b"edited by hand")
    line = one_line(invoke("compare", *two_runs, "--out", out, "--force"))
    assert line.startswith(f"{out / 'difference.png'}: was not written by khorasan")
    assert (out / "difference.png").read_bytes() == b"edited by hand"


def test_compare_out_may_not_be_a_compared_run_directory(two_runs: tuple[Path, Path]) -> None:
    base, other = two_runs
    before = snapshot(base.parent)
    for out, how in [
        (base, "is the compared"),
        (base / "plots", "is inside the compared"),
        (other / "sub" / "deeper", "is inside the compared"),
    ]:
        for extra in ([], ["--force"]):
            line = one_line(invoke("compare", base, other, "--out", out, *extra))
            assert line.startswith(f"{out}: {how} run directory"), line
    assert snapshot(base.parent) == before
    assert not (other / "sub").exists()


# --- 3. and 4. resume refuses other settings and other code ------------------------------


def _interrupted(tiny: Path, out: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """A run whose seed 8 failed: seeds 7 and 9 are saved; returns the workspace's files."""
    monkeypatch.setenv(FAIL_SEED_ENV, "8")
    assert invoke("run", tiny, "--out", out, *FAST).exit_code == 1
    monkeypatch.delenv(FAIL_SEED_ENV)
    partial = partial_dir_for(out / "tiny")
    assert len(list(partial.glob("*/seed-*.csv"))) == 2
    return snapshot(partial)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (["--set", "isisk.attack_rate=3"], "isisk.attack_rate 2.2 -> 3.0"),
        (["--seed", "1"], "scenario.seed 7 -> 1"),
        (["--replicates", "2"], "scenario.replicates 3 -> 2"),
        (["--steps", "3"], "scenario.steps 4 -> 3"),
    ],
)
def test_resume_with_other_settings_refuses_and_keeps_the_work(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: list[str], says: str
) -> None:
    out = tmp_path / "out"
    saved = _interrupted(tiny, out, monkeypatch)
    partial = partial_dir_for(out / "tiny")
    line = one_line(invoke("run", tiny, "--out", out, "--resume", *change, *FAST))
    assert line.startswith(f"{partial}: its 2 saved replicates were made with other settings")
    assert says in line and "--force" in line
    assert snapshot(partial) == saved
    assert not (out / "tiny").exists()

    # the same settings resume (the saved seeds are not run again) ...
    monkeypatch.setenv(FAIL_SEED_ENV, "7,9")
    assert invoke("run", tiny, "--out", out, "--resume", *FAST).exit_code == 0
    monkeypatch.delenv(FAIL_SEED_ENV)
    assert (
        json.loads((out / "tiny" / "manifest.json").read_text())["timings"]["replicates_reused"]
        == 2
    )


def test_resume_force_with_other_settings_starts_over(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    _interrupted(tiny, out, monkeypatch)
    result = invoke(
        "run", tiny, "--out", out, "--resume", "--force", "--set", "isisk.attack_rate=3", *FAST
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "tiny" / "manifest.json").read_text())
    assert manifest["params"]["isisk.attack_rate"] == 3
    assert manifest["timings"]["replicates_reused"] == 0
    assert not partial_dir_for(out / "tiny").exists()


def test_sweep_resume_with_other_values_refuses(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "sw"
    args = ["sweep", tiny, "--out", out, "--quiet", "--workers", "1"]
    monkeypatch.setenv(FAIL_SEED_ENV, "8")
    assert invoke(*args, "-p", "isisk.attack_rate=1,2").exit_code == 1
    monkeypatch.delenv(FAIL_SEED_ENV)
    partial = partial_dir_for(out)
    saved = snapshot(partial)
    line = one_line(invoke(*args, "-p", "isisk.attack_rate=1,3", "--resume"))
    assert line.startswith(f"{partial}: its 4 saved replicates were made with other settings")
    assert "sweep.axes" in line
    assert snapshot(partial) == saved
    assert invoke(*args, "-p", "isisk.attack_rate=1,2", "--resume").exit_code == 0


def test_resume_with_other_code_refuses(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    saved = _interrupted(tiny, out, monkeypatch)
    partial = partial_dir_for(out / "tiny")
    ours = code_fingerprint()
    recorded = json.loads((partial / "settings.json").read_text())
    assert recorded["code"] == ours and recorded["scenario.seed"] == 7

    monkeypatch.setattr(workspace, "code_fingerprint", lambda: "0123456789ab")
    line = one_line(invoke("run", tiny, "--out", out, "--resume", *FAST))
    assert line.startswith(
        f"{partial}: its 2 saved replicates were made by other khorasan "
        f"code (fingerprint {ours}, now 0123456789ab)"
    )
    assert "--force" in line
    assert snapshot(partial) == saved
    result = invoke("run", tiny, "--out", out, "--resume", "--force", *FAST)
    assert result.exit_code == 0, result.output
    assert (
        json.loads((out / "tiny" / "manifest.json").read_text())["timings"]["replicates_reused"]
        == 0
    )


def test_resume_refuses_saved_replicates_without_a_record(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    _interrupted(tiny, out, monkeypatch)
    partial = partial_dir_for(out / "tiny")
    (partial / "settings.json").unlink()  # as an older khorasan left it
    line = one_line(invoke("run", tiny, "--out", out, "--resume", *FAST))
    assert line.startswith(f"{partial}: its 2 saved replicates have no record")
    assert len(list(partial.glob("*/seed-*.csv"))) == 2


def test_fingerprint_covers_the_maps_data(tmp_path: Path) -> None:
    copy = tmp_path / "simulation"
    shutil.copytree(REPO / "simulation", copy, ignore=shutil.ignore_patterns("__pycache__"))
    data = copy / "model" / "data" / "afghanistan.json"
    text = data.read_bytes()
    assert b'"population":1720000' in text  # Badakhshan's people
    data.write_bytes(text.replace(b'"population":1720000', b'"population":1720001', 1))
    assert code_fingerprint(copy) != code_fingerprint()


def test_fingerprint_covers_the_kernel_and_the_loader(tmp_path: Path) -> None:
    copy = tmp_path / "simulation"
    shutil.copytree(REPO / "simulation", copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert code_fingerprint(copy) == code_fingerprint()
    for mod in (
        "model/kernel",
        "scenario/loader",
        "scenario/core",
        "scenario/params",
        "model/model",
        "experiments/jobs",
        "experiments/store",
    ):
        source = copy / f"{mod}.py"
        original = source.read_bytes()
        source.write_bytes(original + b"\n# edited\n")
        assert code_fingerprint(copy) != code_fingerprint(), mod
        source.write_bytes(original)
    (copy / "cli" / "main.py").write_bytes(b"# the command line decides no result\n")
    assert code_fingerprint(copy) == code_fingerprint()


def test_fingerprint_lists_every_module_a_replicate_runs(tiny: Path) -> None:
    code = (
        "import sys\n"
        "from simulation.experiments.jobs import make_jobs, run_job\n"
        "from simulation.experiments.store import ReplicateStore\n"
        "from simulation.scenario.loader import load_scenario\n"
        f"run_job(make_jobs(load_scenario({str(tiny)!r}))[0])\n"
        "print(' '.join(sorted(m.split('.', 1)[1] for m in sys.modules\n"
        "                      if m.startswith('simulation.'))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout.split()
    assert "model.kernel" in out and "scenario.loader" in out
    covered = {
        str(p.relative_to(REPO / "simulation").with_suffix("")).replace("/", ".")
        for p in fingerprint_files()
    }
    covered = {c.removesuffix(".__init__") for c in covered}
    assert sorted(set(out) - covered) == []


# --- 6. a run killed while plotting gets its plots on --resume -------------------------


def test_resume_draws_missing_plots(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["run", tiny, "--out", out, "--quiet", "--workers", "1"]
    assert invoke(*args).exit_code == 0
    plots = out / "tiny" / "plots"
    whole = snapshot(plots)
    assert sorted(whole) == ["overview.png", "repression.png", "violence.png"]
    (plots / "repression.png").unlink()
    (plots / "overview.png").unlink()
    (plots / ".overview.png.x1y2z3.partial").write_bytes(b"half a png")  # a killed write
    data = {n: (out / "tiny" / n).read_bytes() for n in ("timeseries.csv", "manifest.json")}

    result = invoke(*args, "--resume")
    assert result.exit_code == 0, result.output
    assert "drawing its missing plots" in result.stdout
    assert {n: b for n, b in snapshot(plots).items() if not n.startswith(".")} == whole
    assert {n: (out / "tiny" / n).read_bytes() for n in data} == data  # the run is untouched
    result = invoke(*args, "--resume")
    assert result.exit_code == 0 and "already complete" in result.stdout
    # the leftover temporary file does not stop --force from replacing the run
    assert invoke(*args, "--force", "--seed", "2").exit_code == 0


# --- 7. seeds the result files cannot hold --------------------------------------------


def test_seeds_past_int64_are_refused(tiny: Path, tmp_path: Path) -> None:
    top = str(MAX_SEED)
    line = one_line(
        invoke("run", tiny, "--out", tmp_path / "out", "--seed", top, "--replicates", "2", *FAST)
    )
    assert line.startswith(
        f"{tiny}: scenario.seed: {top} with 2 replicates needs seeds up to {MAX_SEED + 1}"
    )
    assert f"at most {MAX_SEED - 1}" in line
    assert not (tmp_path / "out").exists()
    # the file's header gets the same check, in validate, sweep and compare too
    big = write(tmp_path, "big.toml", tiny_scenario("big", seed=MAX_SEED - 1, replicates=3))
    for args in (
        ["validate", big],
        ["sweep", big, "-p", "isisk.attack_rate=1,2", "--out", tmp_path / "sw"],
        ["compare", big, tiny, "--out", tmp_path / "cmp"],
        ["compare", tiny, tiny, "--seed", top, "--out", tmp_path / "cmp"],
    ):
        line = one_line(invoke(*args))
        assert ": scenario.seed: " in line and "past the largest" in line, args
    assert one_line(invoke("validate", big, "--set", "scenario.seed=-1")).endswith(
        "must be at least 0, got -1"
    )
    # the largest seeds that fit run, and are written exactly
    result = invoke(
        "run", big, "--out", tmp_path / "out", "--replicates", "2", "--steps", "1", *FAST
    )
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "out" / "big" / "manifest.json").read_text())["seeds"] == [
        MAX_SEED - 1,
        MAX_SEED,
    ]
    rows = (tmp_path / "out" / "big" / "timeseries.csv").read_text().splitlines()
    assert rows[-1].startswith(f"1,{MAX_SEED},1,")


def test_python_api_refuses_seeds_past_int64() -> None:
    from simulation.experiments.jobs import make_jobs
    from simulation.scenario.core import make_scenario

    with pytest.raises(ValueError, match="past the largest"):
        make_scenario(seed=MAX_SEED, replicates=2)
    sc = make_scenario(seed=MAX_SEED, replicates=1)
    with pytest.raises(ValueError, match="past the largest"):
        make_jobs(sc, replicates=2)


# --- 18. a full disk --------------------------------------------------------------------


def _full_disk_at(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Make the atomic writer fail with ENOSPC (naming no file) when writing ``name``."""
    real = files.atomic_write_bytes

    def full(path, data):
        if Path(path).name == name:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, data)

    for module in (files, rundir, store):  # every caller of the atomic writer
        monkeypatch.setattr(module, "atomic_write_bytes", full)


@pytest.mark.parametrize(
    ("name", "saved"), [("seed-8.csv", "1 of 3"), ("timeseries.csv", "3 of 3")]
)
def test_full_disk_names_the_file_and_says_how_to_resume(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, saved: str
) -> None:
    out = tmp_path / "out"
    partial = partial_dir_for(out / "tiny")
    _full_disk_at(monkeypatch, name)
    line = one_line(invoke("run", tiny, "--out", out, *FAST))
    where = (next(partial.glob("*/")) / name) if name.startswith("seed") else out / "tiny" / name
    assert line.startswith(
        f"{where}: No space left on device; {saved} replicates are saved "
        f"in {partial}; free some space, then run the same command with "
        "--resume to finish"
    ), line
    assert not (out / "tiny").exists()
    assert not [p for p in out.rglob("*.partial") if p.is_file()]  # no half-written files
    monkeypatch.undo()

    result = invoke("run", tiny, "--out", out, "--resume", *FAST)
    assert result.exit_code == 0, result.output
    assert invoke("run", tiny, "--out", tmp_path / "whole", *FAST).exit_code == 0
    for f in ("timeseries.csv", "summary.csv"):
        assert (out / "tiny" / f).read_bytes() == (tmp_path / "whole" / "tiny" / f).read_bytes()


def test_full_disk_in_a_sweep_says_how_to_resume(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "sw"
    _full_disk_at(monkeypatch, "sweep.csv")
    line = one_line(
        invoke(
            "sweep", tiny, "-p", "isisk.attack_rate=1,2", "--out", out, "--quiet", "--workers", "1"
        )
    )
    assert line.startswith(f"{out / 'sweep.csv'}: No space left on device; 6 of 6 replicates")
    assert "--resume" in line
    monkeypatch.undo()
    assert (
        invoke(
            "sweep",
            tiny,
            "-p",
            "isisk.attack_rate=1,2",
            "--out",
            out,
            "--quiet",
            "--workers",
            "1",
            "--resume",
        ).exit_code
        == 0
    )


def test_leftovers_of_a_kill_while_publishing_are_cleared(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    # killed after the run directory was written, before its workspace was dropped
    monkeypatch.setattr(workspace.Workspace, "remove", workspace.Workspace.close)
    assert invoke("run", tiny, "--out", out, *FAST).exit_code == 0
    monkeypatch.undo()
    partial = partial_dir_for(out / "tiny")
    assert len(list(partial.glob("*/seed-*.csv"))) == 3
    result = invoke("run", tiny, "--out", out, "--resume", *FAST)
    assert result.exit_code == 0 and "already complete" in result.stdout
    assert not partial.exists()
    # killed half-way through publishing: hidden copies; a look-alike of the user's stays
    write(out / ".tiny.partial-0badc0de", "timeseries.csv", "half")
    write(out / ".tiny.old-0badc0de", "timeseries.csv", "the run replaced")
    write(out / ".tiny.partial-notes", "mine.txt", "mine")
    assert invoke("run", tiny, "--out", out, "--force", "--seed", "1", *FAST).exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == [".tiny.partial-notes", "tiny"]


# --- a run in use, and names that would leave --out ------------------------------------


def test_a_run_locked_by_another_process_is_refused(tiny: Path, tmp_path: Path) -> None:
    import fcntl
    import os

    out = tmp_path / "out"
    partial = partial_dir_for(out / "tiny")
    partial.mkdir(parents=True)
    fd = os.open(partial / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a running khorasan holds it
        for extra in ([], ["--resume"], ["--force"]):
            line = one_line(invoke("run", tiny, "--out", out, *extra, *FAST))
            assert line == f"{partial}: in use by another khorasan process", line
        assert not (out / "tiny").exists()
    finally:
        os.close(fd)
    assert invoke("run", tiny, "--out", out, *FAST).exit_code == 0  # free again: it runs


@pytest.mark.parametrize("name", ["../../evil", "/etc/evil", "..", ".", "a/../../b", "~"])
def test_scenario_names_cannot_lead_out_of_out(tmp_path: Path, name: str) -> None:
    path = write(tmp_path / "in", "s.toml", tiny_scenario(name, steps=2, replicates=1))
    out = tmp_path / "deep" / "out"
    assert invoke("run", path, "--out", out, *FAST).exit_code == 0
    written = [p for p in tmp_path.rglob("*") if not p.is_relative_to(tmp_path / "in")]
    outside = [p for p in written if not p.is_relative_to(out) and p not in out.parents]
    assert not outside, outside
    (run,) = [p for p in out.iterdir() if p.is_dir()]
    assert (run / "manifest.json").is_file()
