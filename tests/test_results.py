"""Run directories, plots and ensemble plumbing, on synthetic data (no model runs)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulation.experiments import files, rundir, summaries
from simulation.experiments.execution import execute
from simulation.experiments.files import ResultsError, RunExistsError, atomic_write_text
from simulation.experiments.jobs import concat_results, make_jobs
from simulation.experiments.loading import load_run
from simulation.experiments.manifest import write_run
from simulation.experiments.summaries import summarize
from simulation.model.record import METRIC_NAMES
from simulation.plots import FIGURES, plot_run
from simulation.plots.events import _dodge, event_marks, run_event_marks
from simulation.scenario.core import Event, make_scenario

STEPS = 6
REPLICATES = 3


def scenario(**header):
    header.setdefault("name", "synthetic")
    header.setdefault("steps", STEPS)
    header.setdefault("replicates", REPLICATES)
    header.setdefault("seed", 5)
    header.setdefault("events", (Event(step=2, label="Something happens"),))
    return make_scenario({"surveillance.withdrawal_week": 1}, **header)


def fake_timeseries(sc, replicates: int = REPLICATES) -> pd.DataFrame:
    """What run_ensemble returns, with random metric values."""
    frames = []
    for rep in range(replicates):
        rng = np.random.default_rng(rep)
        df = pd.DataFrame(
            {
                "step": range(sc.steps + 1),
                "date": [sc.date_of(s).isoformat() for s in range(sc.steps + 1)],
            }
        )
        for name in METRIC_NAMES:
            df[name] = rng.random(sc.steps + 1) * 3000
        df["attacks"] = rng.integers(0, 5, sc.steps + 1)
        df.insert(0, "seed", sc.seed + rep)
        df.insert(0, "replicate", rep)
        frames.append(df)
    return concat_results(reversed(frames))  # out of order on purpose


def test_write_run_layout_and_contents(tmp_path: Path) -> None:
    sc = scenario()
    ts = fake_timeseries(sc)
    run_dir = write_run(
        tmp_path, sc, ts, timings={"simulate_seconds": 1.5}, command=["khorasan", "run", "x.toml"]
    )
    assert run_dir == tmp_path / "synthetic"
    assert sorted(p.name for p in run_dir.iterdir()) == [
        "manifest.json",
        "scenario.toml",
        "summary.csv",
        "timeseries.csv",
    ]
    assert [p.name for p in tmp_path.iterdir()] == ["synthetic"]  # no temp left over

    saved = pd.read_csv(run_dir / "timeseries.csv")
    assert list(saved.columns) == ["replicate", "seed", "step", "date", *METRIC_NAMES]
    assert len(saved) == REPLICATES * (STEPS + 1)
    assert list(saved["replicate"]) == sorted(saved["replicate"])
    assert list(saved.loc[saved["replicate"] == 1, "seed"].unique()) == [6]

    summary = pd.read_csv(run_dir / "summary.csv")
    assert list(summary.columns) == ["step", "date", "metric", "median", "q10", "q90", "mean"]
    row = summary[(summary["metric"] == "legitimacy") & (summary["step"] == 3)].iloc[0]
    values = saved.loc[saved["step"] == 3, "legitimacy"].to_numpy()
    assert row["median"] == pytest.approx(np.median(values))
    assert row["q10"] == pytest.approx(np.quantile(values, 0.1))
    assert row["q90"] == pytest.approx(np.quantile(values, 0.9))

    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["scenario"]["name"] == "synthetic"
    assert manifest["seeds"] == [5, 6, 7]
    assert manifest["params"]["surveillance.withdrawal_week"] == 1
    assert manifest["events"][0] == {
        "step": 2,
        "date": sc.date_of(2).isoformat(),
        "label": "Something happens",
        "set": {},
        "add_isisk_fighters": 0,
        "region": None,
        "ramp_steps": 0,
    }
    assert set(manifest["versions"]) == {"khorasan", "mesa", "numpy", "pandas", "python"}
    assert "git" in manifest and manifest["command"] == ["khorasan", "run", "x.toml"]
    assert manifest["timings"] == {"simulate_seconds": 1.5}
    assert (
        manifest["files"]["timeseries.csv"]["bytes"] == (run_dir / "timeseries.csv").stat().st_size
    )


def test_timeseries_csv_is_deterministic(tmp_path: Path) -> None:
    sc = scenario()
    a = write_run(tmp_path / "a", sc, fake_timeseries(sc))
    b = write_run(tmp_path / "b", sc, fake_timeseries(sc).sample(frac=1, random_state=1))
    for name in ("timeseries.csv", "summary.csv", "scenario.toml"):
        assert (a / name).read_bytes() == (b / name).read_bytes()


def test_refuses_to_overwrite_unless_forced(tmp_path: Path) -> None:
    sc = scenario()
    run_dir = write_run(tmp_path, sc, fake_timeseries(sc))
    before = (run_dir / "timeseries.csv").read_bytes()
    with pytest.raises(RunExistsError) as info:
        write_run(tmp_path, sc, fake_timeseries(sc, replicates=2))
    assert "\n" not in str(info.value) and "--force" in str(info.value)
    assert (run_dir / "timeseries.csv").read_bytes() == before

    write_run(tmp_path, sc, fake_timeseries(sc, replicates=2), force=True)
    assert (run_dir / "timeseries.csv").read_bytes() != before
    assert [p.name for p in tmp_path.iterdir()] == ["synthetic"]


def test_failed_write_leaves_old_run_and_no_partial_files(tmp_path: Path, monkeypatch) -> None:
    sc = scenario()
    run_dir = write_run(tmp_path, sc, fake_timeseries(sc))
    before = {p.name: p.read_bytes() for p in run_dir.iterdir()}
    calls = {"n": 0}
    real = files.atomic_write_bytes

    def flaky(path, data):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        return real(path, data)

    monkeypatch.setattr(rundir, "atomic_write_bytes", flaky)  # what publish_dir calls
    with pytest.raises(OSError, match="disk full"):
        write_run(tmp_path, sc, fake_timeseries(sc, replicates=2), force=True)
    assert [p.name for p in tmp_path.iterdir()] == ["synthetic"]
    assert {p.name: p.read_bytes() for p in run_dir.iterdir()} == before

    with pytest.raises(OSError, match="disk full"):
        calls["n"] = 0
        write_run(tmp_path / "fresh", sc, fake_timeseries(sc))
    assert list((tmp_path / "fresh").iterdir()) == []


def test_atomic_write_text_replaces_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    atomic_write_text(path, "one\n")
    atomic_write_text(path, "two\n")
    assert path.read_text() == "two\n"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_load_run(tmp_path: Path) -> None:
    sc = scenario()
    run = load_run(write_run(tmp_path, sc, fake_timeseries(sc)))
    assert run.name == "synthetic" and run.replicates == REPLICATES
    assert run.events == sc.events
    assert run.params == dict(sc.params)
    assert run.date_of(2) == sc.date_of(2)
    assert len(run.metric("attacks")) == STEPS + 1
    assert len(run.timeseries) == REPLICATES * (STEPS + 1)


def test_load_run_refuses_other_directories(tmp_path: Path) -> None:
    with pytest.raises(ResultsError, match="no such run directory"):
        load_run(tmp_path / "nope")
    with pytest.raises(ResultsError, match=r"manifest\.json: missing"):
        load_run(tmp_path)


def test_summarize_handles_one_replicate() -> None:
    sc = scenario()
    summary = summarize(summaries.tidy_timeseries(fake_timeseries(sc, replicates=1)))
    assert (summary["median"] == summary["q10"]).all()


def test_plots_are_written_from_saved_files(tmp_path: Path) -> None:
    sc = scenario()
    run_dir = write_run(tmp_path, sc, fake_timeseries(sc))
    paths = plot_run(run_dir)
    assert [p.name for p in paths] == [f"{name}.png" for name in FIGURES]
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(q.name for q in (run_dir / "plots").iterdir()) == sorted(p.name for p in paths)


def test_event_marks_include_the_withdrawal_and_merge_same_week(tmp_path: Path) -> None:
    sc = scenario(
        events=(
            Event(step=1, label="Airport"),
            Event(step=4, label="Later"),
            Event(step=99, label="Outside"),
        )
    )
    run = load_run(write_run(tmp_path, sc, fake_timeseries(sc)))
    labels = [text for _, text in run_event_marks(run)]
    assert labels == ["US withdrawal; Airport", "Later"]
    # one rule for the plots of a saved run and the app's live scenario
    assert [(pd.Timestamp(d), t) for d, t in event_marks(sc, STEPS)] == run_event_marks(run)
    assert [t for _, t in event_marks(sc)] == [*labels, "Outside"]  # no end: the app's list


def test_dodge_spreads_badges() -> None:
    xs = _dodge([0.5, 0.5, 0.51, 0.99])
    assert all(b - a >= 0.045 - 1e-9 for a, b in itertools.pairwise(xs))
    assert max(xs) <= 1.0


def test_jobs_use_consecutive_seeds_and_execute_keeps_order() -> None:
    sc = scenario(seed=10, replicates=4)
    jobs = make_jobs(sc)
    assert [(j.seed, j.replicate) for j in jobs] == [(10, 0), (11, 1), (12, 2), (13, 3)]
    assert [j.seed for j in make_jobs(sc, replicates=2, seed=0)] == [0, 1]
    assert execute(jobs, workers=1, progress=False, fn=_seed_of) == [10, 11, 12, 13]


def _seed_of(job) -> int:
    return job.seed


def test_figure_legend_fits_many_long_event_labels(tmp_path: Path) -> None:
    """Eighteen long event labels: each is shortened, and the legend stays inside the figure."""
    from simulation.plots import EVENT_LABEL_MAX, render_figure

    long = "Law on the Propagation of Virtue and Prevention of Vice, 35 articles, 114 pages"
    sc = scenario(
        steps=40, events=tuple(Event(step=2 * k + 2, label=f"{long} #{k}") for k in range(18))
    )
    run = load_run(write_run(tmp_path, sc, fake_timeseries(sc)))
    title, panels = FIGURES["overview"]
    fig = render_figure(run, title, panels)
    fig.canvas.draw()
    (legend,) = fig.legends
    labels = [t.get_text() for t in legend.get_texts()]
    events = [lab for lab in labels if "Law on the" in lab]
    assert len(events) == 18  # (and the US withdrawal of the synthetic scenario)
    assert all(len(lab) <= EVENT_LABEL_MAX and lab.endswith("…") for lab in events)
    box, page = legend.get_window_extent(), fig.bbox
    assert page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0


def test_events_close_in_time_share_one_badge(tmp_path: Path) -> None:
    """Three events in the first weeks of a long run get one badge ``1–3``, not three."""
    from simulation.plots import render_figure
    from simulation.plots.events import badge_text, clusters

    assert clusters([0.0, 0.01, 0.03, 0.5, 0.52, 0.9]) == [[0, 1, 2], [3, 4], [5]]
    assert badge_text([1]) == "1" and badge_text([1, 2, 3]) == "1–3"
    sc = scenario(
        steps=200, events=(Event(step=1, label="A"), Event(step=3, label="B"), Event(150, "C"))
    )
    run = load_run(write_run(tmp_path, sc, fake_timeseries(sc)))
    title, panels = FIGURES["overview"]
    fig = render_figure(run, title, panels)
    badges = [t.get_text() for t in fig.axes[0].texts]
    marks = run_event_marks(run)
    assert len(marks) >= 3  # the US withdrawal and the events
    assert badges[0] == f"1–{len(marks) - 1}"  # the early ones share a badge
    assert badges[1:] == [str(len(marks))]  # the late event keeps its own


def test_mass_casualty_panel_is_cumulative_and_taliban_axis_fits_the_data(
    tmp_path: Path,
) -> None:
    from simulation.plots import render_figure

    title, panels = FIGURES["violence"]
    (mass,) = [p for p in panels if "mass_casualty_attacks" in {s.metric for s in p.series}]
    assert [s.transform for s in mass.series] == ["cumsum"]
    sc = scenario(steps=30)
    ts = fake_timeseries(sc)
    ts["taliban_fighters"] = 150_000 - ts["step"] * 10.0  # a level that barely moves
    run = load_run(write_run(tmp_path, sc, ts))
    title, panels = FIGURES["overview"]
    fig = render_figure(run, title, panels)
    (i,) = [k for k, p in enumerate(panels) if p.series[0].metric == "taliban_fighters"]
    low, high = fig.axes[i].get_ylim()
    assert 100_000 < low < 149_700 and 150_000 < high < 200_000  # not from zero, data inside
