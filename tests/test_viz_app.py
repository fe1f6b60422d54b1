"""The browser app without a browser: settings, model factory, saving, drawing, assets, CLI."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import tomllib
from html import escape as html_escape
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("solara", reason="the [viz] extra is not installed")
pytest.importorskip("mesa.visualization", reason="the [viz] extra is not installed")

from typer.testing import CliRunner

from simulation.cli import app as cli_app
from simulation.scenario import params as ptable
from simulation.scenario.loader import load_scenario
from simulation.viz import assets as viz_assets
from simulation.viz import cards, charts, live, page, saving, settings
from simulation.viz import server as viz_server
from simulation.viz.map import MapFigure

REPO = Path(__file__).resolve().parent.parent
BASELINE = REPO / "scenarios" / "baseline.toml"
SMALL = {"world__width": 24, "world__height": 24, "civilians__vision": 3, "taliban__vision": 3}
runner = CliRunner()

REQUIRED_SLIDERS = (
    "isisk.defector_recruitment",
    "isisk.civilian_recruitment",
    "surveillance.us_level",
    "surveillance.withdrawal_week",
    "repression.baseline",
    "repression.gain",
    "legitimacy.initial",
    "civilians.hardship_shift",
    "isisk.initial_fighters",
)


# --- settings ----------------------------------------------------------------------


def test_sliders_are_generated_from_the_parameter_table() -> None:
    names = [s.name for s in settings.SLIDERS]
    assert names[:-1] == [p.name for p in ptable.SLIDER_PARAMS]
    assert names[-1] == "seed"
    for required in REQUIRED_SLIDERS:
        assert required in names
    for s in settings.SLIDERS[:-1]:
        p = ptable.get(s.name)
        assert s.kwarg == s.name.replace(".", "__")
        assert settings.dotted_name(s.kwarg) == s.name
        assert s.label == p.label
        assert p.min is None or s.min >= p.min
        assert p.max is None or s.max <= p.max
        assert s.min <= p.default <= s.max, s.name
        assert s.step > 0 and (s.max - s.min) / s.step <= 2000, s.name
    # every shipped scenario is shown exactly: in range and on the slider's grid
    for path in sorted((REPO / "scenarios").glob("*.toml")):
        sc = load_scenario(path)
        for s in settings.SLIDERS:
            value = s.value_of(sc)
            lo, hi, step = s.fit(value)
            assert lo <= value <= hi and step <= s.step, (path.name, s.name)
            k = (value - lo) / step
            assert abs(k - round(k)) < 1e-6, (path.name, s.name, value, step)
            assert float(s.text(value)) == value, (path.name, s.name)


def test_sliders_fit_values_off_their_range_or_grid() -> None:
    spec = settings.SLIDER_INDEX["surveillance__us_level"]  # [0, 1] by 0.01
    assert spec.fit(0.6) == (0.0, 1.0, 0.01)
    lo, hi, step = spec.fit(0.8181)
    assert (lo, hi) == (0.0, 1.0) and step == pytest.approx(0.0001)
    assert spec.text(0.8181) == "0.8181" and spec.text(0.6) == "0.60"
    fighters = settings.SLIDER_INDEX["isisk__initial_fighters"]  # [0, 10000] by 100
    assert fighters.fit(2000) == (0, 10_000, 100)
    assert fighters.fit(1750) == (0, 10_000, 10)
    assert fighters.fit(25_000) == (0, 25_000, 100)
    assert fighters.fit(1234) == (0, 10_000, 1)


def test_every_parameter_name_survives_the_keyword_mapping() -> None:
    for p in ptable.PARAMS:
        assert "__" not in p.name
        assert settings.dotted_name(settings.kwarg_name(p.name)) == p.name


def test_captions_show_values_and_units() -> None:
    spec = settings.SLIDER_INDEX["isisk__defector_recruitment"]
    assert spec.caption(0.3) == f"{spec.label}: 0.30 per week per 10k Taliban"
    assert settings.SLIDER_INDEX["legitimacy__initial"].caption(0.85) == "Legitimacy: 0.85"
    assert (
        settings.SLIDER_INDEX["isisk__initial_fighters"].caption(2000.0)
        == "Initial ISIS-K fighters: 2000"
    )
    assert settings.SLIDER_INDEX["seed"].clean(3.0) == 3
    assert settings.SLIDER_INDEX["legitimacy__initial"].clean(0.8600000000000001) == 0.86


def test_changes_lists_only_what_differs() -> None:
    base = load_scenario(BASELINE)
    values = settings.slider_values(base)
    assert settings.changes(base, values) == {}
    values.update(legitimacy__initial=0.8, seed=7)
    assert settings.changes(base, values) == {"legitimacy.initial": 0.8, "scenario.seed": 7}


def test_model_params_bind_mesa_sliders_to_the_session_state() -> None:
    from mesa.visualization import Slider

    params = page.model_params()
    assert params[live.SCENARIO_FILE] is page.scenario_choice
    for s in settings.SLIDERS:
        slider = params[s.kwarg]
        assert isinstance(slider, Slider)
        assert slider.value is page.slider_state[s.kwarg]
        assert slider.is_float_slider == (s.kind is float)


# --- the model factory ---------------------------------------------------------------


def test_viz_model_takes_flat_keyword_arguments() -> None:
    import solara

    m = live.VizModel(
        scenario_file=str(BASELINE),
        seed=5,
        isisk__defector_recruitment=1.25,
        legitimacy__initial=solara.Reactive(0.7),
        **SMALL,
    )
    assert m.seed == 5 and m.config.seed == 5
    assert m.config.params["isisk.defector_recruitment"] == 1.25
    assert m.config.params["legitimacy.initial"] == 0.7
    assert m.config.params["world.width"] == 24
    assert m.config.events  # the scenario's events are kept
    assert m.scenario_path == BASELINE.resolve()
    m.step()
    assert m.steps == 1
    with pytest.raises(KeyError):
        live.VizModel(scenario_file=str(BASELINE), isisk__no_such_thing=1)


def test_play_stops_at_the_scenarios_last_week(tmp_path) -> None:
    short = tmp_path / "short.toml"
    short.write_text(
        f'[scenario]\nextends = "{BASELINE}"\nname = "short"\nsteps = 12\n', encoding="utf-8"
    )
    m = live.VizModel(scenario_file=str(short), **SMALL)
    for _ in range(11):
        m.step()
        assert m.running
    m.step()
    assert m.steps == 12 and not m.running  # Mesa's controls disable Play and Step


def test_mesa_reset_rebuilds_the_model_with_new_values() -> None:
    """Mesa's ModelController does exactly this on Reset."""
    from mesa.visualization.solara_viz import _build_model_init_kwargs

    m = live.VizModel(scenario_file=str(BASELINE), **SMALL)
    params = {live.SCENARIO_FILE: str(BASELINE), **SMALL, "legitimacy__initial": 0.6, "seed": 11}
    kwargs = _build_model_init_kwargs(
        m, params, add_scenario_when_empty=True, require_model_accepts_scenario=True
    )
    assert "scenario" in kwargs  # Mesa's own scenario object, ignored by VizModel
    rebuilt = type(m)(**kwargs)
    assert rebuilt.config.params["legitimacy.initial"] == 0.6
    assert rebuilt.seed == 11


# --- saving ------------------------------------------------------------------------


def test_save_as_scenario_writes_a_child_that_run_and_validate_accept(tmp_path: Path) -> None:
    base = load_scenario(BASELINE)
    values = settings.slider_values(base)
    values.update(legitimacy__initial=0.8, isisk__defector_recruitment=1.0, seed=4)
    out = saving.save_scenario(BASELINE, values, tmp_path / "user")
    assert out == tmp_path / "user" / "baseline_custom1.toml"
    data = tomllib.loads(out.read_text())
    assert data["scenario"]["extends"] == os.path.relpath(BASELINE, tmp_path / "user")
    assert data["scenario"]["name"] == "baseline_custom1"
    assert data["scenario"]["seed"] == 4
    assert data["legitimacy"] == {"initial": 0.8}
    assert data["isisk"] == {"defector_recruitment": 1.0}
    assert set(data) == {"scenario", "legitimacy", "isisk"}  # only what changed
    sc = load_scenario(out)
    assert sc.params["legitimacy.initial"] == 0.8
    assert sc.events == base.events and sc.regions == base.regions

    result = runner.invoke(cli_app, ["validate", str(out)])
    assert result.exit_code == 0 and f"OK {out}" in result.output
    result = runner.invoke(
        cli_app,
        [
            "run",
            str(out),
            "--out",
            str(tmp_path / "results"),
            "--steps",
            "3",
            "--replicates",
            "1",
            "--workers",
            "1",
            "--no-plots",
            "--quiet",
            "--set",
            "world.width=20",
            "--set",
            "world.height=20",
            "--set",
            "civilians.vision=3",
            "--set",
            "taliban.vision=3",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "results" / "baseline_custom1").is_dir()

    again = saving.save_scenario(BASELINE, settings.slider_values(base), tmp_path / "user")
    assert again.name == "baseline_custom2.toml"  # never overwrites
    assert "[legitimacy]" not in again.read_text()  # nothing changed
    assert load_scenario(again).params == base.params


@pytest.mark.parametrize("name", ["../../evil", "/etc/evil", ".."])
def test_save_as_scenario_stays_in_its_folder(tmp_path: Path, name: str) -> None:
    base = tmp_path / "in" / "odd.toml"
    base.parent.mkdir()
    base.write_text(f'[scenario]\nname = "{name}"\nextends = "{BASELINE}"\n')
    folder = tmp_path / "user"
    out = saving.save_scenario(base, settings.slider_values(load_scenario(base)), folder)
    assert out.parent == folder and out.name.endswith("_custom1.toml")
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p != base]
    assert written == [out]  # nothing else, nowhere else


def test_catalogue_lists_shipped_then_saved_scenarios(tmp_path: Path) -> None:
    saved = tmp_path / "user"
    saving.save_scenario(BASELINE, {"legitimacy__initial": 0.8}, saved)
    cat = saving.scenario_catalogue(REPO / "scenarios", saved, BASELINE)
    assert cat["baseline"] == BASELINE.resolve()
    assert cat["user/baseline_custom1"] == (saved / "baseline_custom1.toml").resolve()
    labels = list(cat)
    assert labels.index("user/baseline_custom1") == len(labels) - 1  # after the shipped ones
    assert str(BASELINE) not in cat  # already listed


# --- drawing -----------------------------------------------------------------------


def _png_pixels(png: bytes):
    import io

    import numpy as np
    import PIL.Image

    return np.asarray(PIL.Image.open(io.BytesIO(png)).convert("RGBA"))


@pytest.mark.parametrize("mode", ["state", "grievance"])
def test_map_and_plots_draw_svg_that_changes_with_the_model(mode: str) -> None:
    m = live.VizModel(scenario_file=str(BASELINE), **SMALL)
    mapf = MapFigure(m, mode)
    plots = [charts.PlotFigure(m, spec) for spec in charts.PLOTS]
    first = [mapf.svg(m), *(p.render(m) for p in plots)]
    assert first[0].startswith("<svg") and first[0].endswith("</svg>")
    assert "data:image/png;base64," in first[0]
    for html, spec in zip(first[1:], charts.PLOTS, strict=True):
        assert html_escape(spec.title) in html and "<svg" in html and "<path" in html
    for _ in range(3):
        m.step()
    later = [mapf.svg(m), *(p.render(m) for p in plots)]
    assert all(a != b for a, b in zip(first, later, strict=True))
    legend = mapf.legend_html(m)
    assert "Taliban unit" in legend and "ISIS-K cell" in legend and "east" in legend
    assert ("grievance" in legend) == (mode == "grievance")


def test_map_civilians_image_has_a_pixel_per_cell_north_up() -> None:
    from simulation.model.civilians import JAILED

    m = live.VizModel(scenario_file=str(BASELINE), **SMALL)
    m.step()
    px = _png_pixels(MapFigure(m, "state").civilians_png(m))
    assert px.shape == (m.height, m.width, 4)
    pop = m.population
    free = pop.state != JAILED
    rows = m.height - 1 - pop.y[free]  # row 0 of the image is the top (north)
    colours = px[rows, pop.x[free]]
    assert (colours[:, 3] == 255).all()
    expected = MapFigure(m, "state").palette[pop.state[free]]
    assert (colours == expected).all()
    occupied = np.zeros((m.height, m.width), dtype=bool)
    occupied[m.height - 1 - pop.y, pop.x] = True
    assert (px[~occupied][:, 3] == 0).all()  # empty cells are transparent


def test_metric_columns_follow_the_model_metrics() -> None:
    m = live.VizModel(scenario_file=str(BASELINE), **SMALL)
    for _ in range(70):  # past the first buffer
        m.step()
    columns, x = live.metric_columns(m)
    df = m.metrics()
    assert len(x) == len(df) == 71
    for name in live.SHOWN_METRICS:
        np.testing.assert_array_equal(columns[name], df[name].to_numpy(dtype=float))
    import matplotlib.dates as mdates
    import pandas as pd

    np.testing.assert_allclose(x, mdates.date2num(pd.to_datetime(df["date"]).to_numpy()))


def test_plot_axes_are_kept_until_a_limit_changes() -> None:
    m = live.VizModel(scenario_file=str(BASELINE), **SMALL)
    plot = charts.PlotFigure(m, charts.PLOTS[3])  # legitimacy and grievance: fixed 0-1
    plot.render(m)
    axes = plot.axes
    for _ in range(20):
        m.step()
        plot.render(m)
    assert plot.axes is axes  # the time axis covers the first year
    while m.steps < 40:
        m.step()
    plot.render(m)
    assert plot.axes is not axes and "2023" in plot.axes  # a second year
    assert charts._nice_top(17) == 20 and charts._nice_top(0) == 1.0


@pytest.mark.parametrize("path", sorted((REPO / "scenarios").glob("*.toml")), ids=lambda p: p.stem)
def test_every_shipped_scenario_draws(path: Path) -> None:
    m = live.VizModel(scenario_file=str(path), **SMALL)
    m.step()
    for mode in ("state", "grievance"):
        assert MapFigure(m, mode).svg(m).startswith("<svg")
    for spec in charts.PLOTS:
        assert "<svg" in charts.PlotFigure(m, spec).render(m)
    assert m.config.name in cards.status_html(m)
    assert m.config.name in cards.headline_html(m)


def test_step_waits_for_a_redraw_in_progress() -> None:
    """Mesa's Play thread must not step while another thread draws (VizModel.step)."""
    import threading

    m = live.VizModel(scenario_file=str(BASELINE), **SMALL)
    m.render_lock = threading.Lock()
    m.render_lock.acquire()
    done = threading.Event()
    worker = threading.Thread(target=lambda: (m.step(), done.set()))
    worker.start()
    assert not done.wait(0.3)  # waiting for the "redraw", before Mesa counts the week
    assert m.steps == 0 and m.frame == 0
    m.render_lock.release()
    assert done.wait(30) and m.steps == 1 and m.frame == 1
    worker.join()


def test_importing_the_page_starts_no_thread() -> None:
    """The kernel warm-up starts with the page's first render, not on import."""
    code = (
        "import threading, simulation.viz.page; "
        "print(sorted(t.name for t in threading.enumerate()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "KHORASAN_VIZ_SCENARIO": str(BASELINE)},
    )
    assert out.returncode == 0, out.stderr
    assert "khorasan-warm-up" not in out.stdout and "MainThread" in out.stdout


def test_kernel_warm_up_starts_once() -> None:
    small = load_scenario(BASELINE, {k.replace("__", "."): v for k, v in SMALL.items()})
    first = live.start_warm_up(small)
    assert first.name == "khorasan-warm-up" and first.daemon
    assert live.start_warm_up(small) is first  # once per process
    first.join(60)
    assert not first.is_alive()


def test_charts_take_their_colours_and_labels_from_the_shared_style() -> None:
    from simulation.model.record import METRIC_INDEX
    from simulation.plots.style import metric_colour

    m = live.VizModel(scenario_file=str(BASELINE), **SMALL)
    for spec in charts.PLOTS:
        lines = charts.PlotFigure(m, spec).lines
        assert [ln.metric for ln in lines] == [*spec.left, *spec.right]
        for ln in lines:
            assert ln.colour == metric_colour(ln.metric)
            assert ln.label == METRIC_INDEX[ln.metric].label
        assert len({ln.colour for ln in lines}) == len(lines), spec.key  # told apart
    head = cards.headline_html(m)
    for metric in ("attacks", "attack_deaths", "isisk_fighters", "taliban_fighters"):
        assert f"border-top-color:{metric_colour(metric)}" in head


def test_headline_and_status_show_date_numbers_events_and_settings() -> None:
    m = live.VizModel(scenario_file=str(BASELINE), legitimacy__initial=0.81, **SMALL)
    m.step()
    head = cards.headline_html(m)
    assert f'<div class="kh-date">{m.date:%d %B %Y}</div>' in head
    assert f"week 1 of {m.config.steps}" in head
    assert "ISIS-K fighters" in head and "killed this week" in head
    html = cards.status_html(m)
    assert "legitimacy.initial = 0.81" in html
    assert "seed = 1" in html
    assert "Prison releases" in html and "US withdrawal" in html  # the events
    assert "scenarios/baseline.toml" in html


def test_page_is_mesas_controls_and_sliders_without_solaraviz_furniture() -> None:
    """The page renders in-process; Step and Reset (Mesa's ModelController) drive it."""
    import contextlib
    import io

    import ipyvuetify as v
    import solara

    with contextlib.redirect_stdout(io.StringIO()):  # AppLayout prints the app bar's title
        _box, rc = solara.render(solara.AppLayout(children=[page.Page()]), handle_error=False)
    try:
        labels = [w.children for w in rc.find(v.Btn).widgets]
        for name in ("Reset", "▶", "Step"):
            assert [name] in labels
        assert not rc.find(v.Tab).widgets  # no "Page 0" tab
        texts = " ".join(str(w.label) for w in rc.find(v.Slider).widgets)
        assert "Legitimacy" in texts and "Play Interval" not in texts

        def headline() -> str:
            found = [
                w.unsafe_innerHTML
                for w in rc.find(solara.widgets.HTML).widgets
                if 'class="kh-head"' in (w.unsafe_innerHTML or "")
            ]
            assert len(found) == 1
            return found[0]

        assert "week 0 of" in headline()
        rc.find(v.Btn, children=["Step"]).widget.click()
        assert "week 1 of" in headline()
        rc.find(v.Btn, children=["Reset"]).widget.click()
        assert "week 0 of" in headline()
        assert all(
            "Time:" not in (w.unsafe_innerHTML or "") for w in rc.find(solara.widgets.HTML).widgets
        )
    finally:
        rc.close()


# --- assets --------------------------------------------------------------------------


def test_required_assets_are_the_versions_solara_asks_for() -> None:
    import solara

    pkgs = viz_assets.required_assets()
    names = [p.name for p in pkgs]
    assert names == ["@widgetti/solara-vuetify-app", "requirejs", "font-awesome"]
    template = (Path(solara.__file__).parent / "server/templates/solara.html.j2").read_text()
    assert f"/{pkgs[0].spec}/" in template and f"/{pkgs[1].spec}/" in template


def _fake_npm(folder: Path, log: Path) -> Path:
    """An ``npm`` that packs a tiny tarball per package and logs its calls."""
    script = folder / "npm"
    script.write_text(f"""#!{sys.executable}
import io, json, sys, tarfile
spec = sys.argv[2]
open({str(log)!r}, "a").write(spec + "\\n")
name = "pkg.tgz"
with tarfile.open(name, "w:gz") as tf:
    data = json.dumps({{"name": spec}}).encode()
    info = tarfile.TarInfo("package/package.json"); info.size = len(data)
    tf.addfile(info, io.BytesIO(data))
    info = tarfile.TarInfo("package/dist/x.js"); info.size = 2
    tf.addfile(info, io.BytesIO(b"1;"))
print(json.dumps([{{"filename": name, "version": "0"}}]))
""")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def test_ensure_assets_unpacks_missing_packages_once(tmp_path: Path) -> None:
    log = tmp_path / "calls.txt"
    npm = _fake_npm(tmp_path, log)
    cache = tmp_path / "cache"
    assert len(viz_assets.missing_assets(cache)) == 3
    out = viz_assets.ensure_assets(cache, npm=str(npm))
    assert out == cache.resolve()
    assert viz_assets.missing_assets(cache) == []
    for p in viz_assets.required_assets():
        assert (cache / p.spec / "dist" / "x.js").read_text() == "1;"
    assert len(log.read_text().splitlines()) == 3
    viz_assets.ensure_assets(cache, npm=str(npm))  # idempotent: npm not called again
    assert len(log.read_text().splitlines()) == 3
    assert not list(cache.glob(".fetch-*"))


def test_ensure_assets_without_npm_is_one_clear_line(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(viz_assets.AssetsError) as err:
        viz_assets.ensure_assets(tmp_path / "cache")
    assert str(err.value).startswith("npm not found")
    assert "\n" not in str(err.value)


def test_default_cache_dir_honours_the_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("KHORASAN_ASSETS_DIR", str(tmp_path / "a"))
    assert viz_assets.default_cache_dir() == tmp_path / "a"
    monkeypatch.delenv("KHORASAN_ASSETS_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert viz_assets.default_cache_dir() == tmp_path / "xdg" / "khorasan" / "solara-cdn"


# --- server and CLI ------------------------------------------------------------------


def test_server_command_and_environment_keep_it_local(tmp_path: Path) -> None:
    cmd = viz_server.solara_command("127.0.0.1", 8600)
    # solara run, through serve(): only the app's own page, only the local assets
    assert cmd[:5] == [sys.executable, "-m", "simulation.viz.server", "run", "simulation.viz.page"]
    import importlib

    served = importlib.import_module(cmd[4])
    assert served.Page is page.Page  # the module served is the page
    for flag in ("--production", "--no-open", "--no-check-version"):
        assert flag in cmd
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1"
    env = viz_server.server_env(
        tmp_path, scenario=BASELINE, save_dir=tmp_path / "s", base={"PYTHONPATH": "/x"}
    )
    assert env["SOLARA_ASSETS_PROXY_CACHE_DIR"] == str(tmp_path)
    assert env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"
    assert env["SOLARA_THEME_SHOW_BANNER"] == "False"
    assert env["KHORASAN_VIZ_SCENARIO"] == str(BASELINE.resolve())
    assert env["KHORASAN_VIZ_SAVE_DIR"] == str((tmp_path / "s").resolve())
    assert env["PYTHONPATH"].split(os.pathsep) == [str(REPO), "/x"]


def test_cli_viz_reports_problems_in_one_line(tmp_path: Path, monkeypatch) -> None:
    result = runner.invoke(cli_app, ["viz", "--help"])
    assert result.exit_code == 0 and "--port" in result.output

    result = runner.invoke(cli_app, ["viz", str(tmp_path / "nope.toml")])
    assert result.exit_code == 2
    assert result.output.strip() == f"{tmp_path / 'nope.toml'}: file: no such file"

    monkeypatch.setenv("KHORASAN_ASSETS_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("PATH", str(tmp_path))
    result = runner.invoke(cli_app, ["viz", str(BASELINE)])
    assert result.exit_code == 2
    assert result.output.startswith("khorasan viz: npm not found")
    assert result.output.count("\n") == 1


def test_cli_viz_refuses_a_busy_port(tmp_path: Path, monkeypatch) -> None:
    log = tmp_path / "calls.txt"
    monkeypatch.setenv("KHORASAN_ASSETS_DIR", str(tmp_path / "cache"))
    viz_assets.ensure_assets(tmp_path / "cache", npm=str(_fake_npm(tmp_path, log)))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        result = runner.invoke(cli_app, ["viz", str(BASELINE), "--port", str(port)])
    assert result.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.output


def test_the_map_scenario_draws_afghanistan_not_the_grid() -> None:
    from simulation.model import ConflictModel

    model = ConflictModel(load_scenario(REPO / "scenarios" / "afghanistan.toml"), rng=1)
    model.step()
    figure = MapFigure(model, "state")
    svg = figure.svg(model)
    assert "Map of Afghanistan's provinces" in svg
    # the 34 provinces' outlines, one closed ring each at least, in grid coordinates
    outline = next(p for p in svg.split("<path ") if 'stroke="#6b6b6b"' in p)
    assert outline.count("z") >= 34
    assert "kabul (capital)" in svg  # the capital region, by its name in the scenario
    legend = figure.legend_html(model)
    assert "Sanctuary (Pakistan)" in legend and "34 provinces" in legend
    grid = ConflictModel(load_scenario(REPO / "scenarios" / "baseline.toml"), rng=1)
    assert "Sanctuary" not in MapFigure(grid, "state").legend_html(grid)
