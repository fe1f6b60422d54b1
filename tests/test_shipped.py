"""The shipped scenarios work after a plain ``pip install .`` (a wheel, not a checkout).

A wheel is built from a copy of the source and installed into a fresh venv
whose only other packages are this venv's dependencies (through a ``.pth``
file); ``khorasan`` then runs from an empty folder, where no ``scenarios/``
and no source of the package can be found.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from simulation.scenario import shipped

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

REPO = Path(__file__).resolve().parent.parent
#: What the wheel is built from (the rest of the checkout is not needed).
SOURCE = ("pyproject.toml", "README.md", "simulation", "scenarios")


def _run(
    args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result


def _build_wheel(tmp: Path) -> Path:
    """A wheel built from a copy of the source (the checkout gets no build/ folder)."""
    src = tmp / "src"
    src.mkdir()
    for name in SOURCE:
        if (REPO / name).is_dir():
            shutil.copytree(
                REPO / name,
                src / name,
                symlinks=True,
                ignore=shutil.ignore_patterns("__pycache__", "user"),
            )
        else:
            shutil.copy2(REPO / name, src / name)
    # without isolation when setuptools is at hand (faster, and no index needed)
    isolation = ["--no-build-isolation"] if importlib.util.find_spec("setuptools") else []
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            *isolation,
            "-w",
            str(tmp / "dist"),
            str(src),
        ],
        cwd=tmp,
    )
    (wheel,) = (tmp / "dist").glob("khorasan-*.whl")
    return wheel


def _install(wheel: Path, tmp: Path) -> tuple[Path, dict[str, str]]:
    """A fresh venv holding the wheel; this venv's site-packages give the dependencies."""
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp)
    python = venv / "bin" / "python"
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-deps",
            str(wheel),
        ],
        cwd=tmp,
    )
    site = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], cwd=tmp
        ).stdout.strip()
    )
    deps = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (site / "_khorasan_test_deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")
    }
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["COLUMNS"] = "200"
    return venv, env


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], Path]:
    """The venv, its environment, and an empty folder to run in."""
    tmp = tmp_path_factory.mktemp("shipped")
    venv, env = _install(_build_wheel(tmp), tmp)
    empty = tmp / "empty"
    empty.mkdir()
    return venv, env, empty


def test_the_installed_package_is_the_wheel(installed: tuple[Path, dict[str, str], Path]) -> None:
    venv, env, empty = installed
    code = (
        "import simulation, simulation.scenario.shipped as s; "
        "print(simulation.__file__); print(s.shipped_dir())"
    )
    out = _run([str(venv / "bin" / "python"), "-c", code], cwd=empty, env=env).stdout.split()
    assert all(Path(line).resolve().is_relative_to(venv.resolve()) for line in out), out
    assert not any(str(REPO) in line for line in out), out
    assert (Path(out[1]) / "baseline.toml").is_file()  # the wheel's copy


def test_list_shows_the_shipped_scenarios(installed: tuple[Path, dict[str, str], Path]) -> None:
    venv, env, empty = installed
    out = _run([str(venv / "bin" / "khorasan"), "list"], cwd=empty, env=env).stdout
    assert "Shipped scenarios" in out
    names = shipped.shipped_names()
    assert "baseline" in names and len(names) >= 5
    for name in names:
        assert name in out
    assert "invalid" not in out  # every shipped file loads, extends included


def test_run_a_shipped_scenario_by_name(installed: tuple[Path, dict[str, str], Path]) -> None:
    venv, env, empty = installed
    out = empty / "out"
    _run(
        [
            str(venv / "bin" / "khorasan"),
            "run",
            "baseline",
            "--replicates",
            "2",
            "--steps",
            "10",
            "--out",
            str(out),
            "--workers",
            "1",
            "--quiet",
        ],
        cwd=empty,
        env=env,
    )
    (run_dir,) = [p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert run_dir.name == "baseline"
    rows = (run_dir / "timeseries.csv").read_text().splitlines()
    header = rows[0].split(",")
    cells = [dict(zip(header, row.split(","), strict=False)) for row in rows[1:]]
    assert {c["replicate"] for c in cells} == {"0", "1"}
    assert max(int(c["step"]) for c in cells) == 10
    assert sorted(p.name for p in empty.iterdir()) == ["out"]  # nothing else written here


def test_extends_resolves_in_the_shipped_folder() -> None:
    child = shipped.resolve("defector_surge")
    assert child == shipped.shipped_dir() / "defector_surge.toml"
    from simulation.scenario.loader import load_scenario

    assert load_scenario(child).params != load_scenario(shipped.resolve("baseline")).params


def test_resolve_prefers_an_existing_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert shipped.resolve("baseline") == shipped.shipped_dir() / "baseline.toml"
    assert shipped.resolve("baseline.toml") == shipped.shipped_dir() / "baseline.toml"
    (tmp_path / "baseline.toml").write_text("[scenario]\n")
    assert shipped.resolve("baseline.toml") == Path("baseline.toml")
    assert shipped.resolve("nope") == Path("nope")
    assert shipped.resolve("sub/baseline.toml") == Path("sub/baseline.toml")


def test_the_browser_app_finds_the_shipped_scenarios_and_saves_outside_the_package(
    installed: tuple[Path, dict[str, str], Path],
) -> None:
    venv, env, empty = installed
    code = (
        "from simulation.viz.server import scenarios_dir, default_save_dir, "
        "initial_scenario; print(scenarios_dir()); print(default_save_dir()); "
        "print(initial_scenario())"
    )
    folder, save, first = _run(
        [str(venv / "bin" / "python"), "-c", code], cwd=empty, env=env
    ).stdout.split()
    assert Path(folder).resolve().is_relative_to(venv.resolve())  # the wheel's copy
    assert Path(first).is_file() and Path(first).name == "baseline.toml"
    assert Path(save) == Path("scenarios") / "user"  # relative to where it runs, not the venv
