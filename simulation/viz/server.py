"""Start and stop the browser app's server (``solara run simulation.viz.page``), offline and local.

``khorasan viz`` calls :func:`run_viz`; the browser tests use
:func:`start_server` and :func:`stop_server`. Either way the server

- listens on 127.0.0.1 unless told otherwise;
- serves the page's JavaScript from the folder filled by
  :func:`simulation.viz.assets.ensure_assets` (no CDN);
- sends no telemetry, shows no "runs on Solara" banner and does not ask PyPI
  for a newer Solara;
- runs in production mode (no file watcher, minified JavaScript);
- answers only its own page: a request or WebSocket whose ``Host`` is not the
  server's own name (DNS rebinding) or whose ``Origin`` is another site's is
  refused with 403 (:class:`OriginGuard`), so a script on another web page
  cannot open a kernel and drive the app;
- serves ``/_solara/cdn/...`` from the local asset folder only: anything not
  there is a 404 and nothing is fetched while the app runs (:class:`OfflineCdn`).

The server is ``solara run`` started through :func:`serve` (``python -m
simulation.viz.server run ...``, the arguments of ``solara run``), which puts
those two ASGI middlewares around Solara's Starlette app before uvicorn loads it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from simulation.scenario.shipped import shipped_dir
from simulation.viz.assets import AssetsError, ensure_assets
from simulation.viz.guard import OfflineCdn, OriginGuard, no_fetch

__all__ = [
    "APP_MODULE",
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "Server",
    "VizError",
    "default_save_dir",
    "free_port",
    "initial_scenario",
    "run_viz",
    "scenarios_dir",
    "serve",
    "server_env",
    "solara_command",
    "start_server",
    "stop_server",
]

APP_MODULE = "simulation.viz.page"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8521
PACKAGE_PARENT = Path(__file__).resolve().parents[2]  # the folder that holds simulation/
REPO_SCENARIOS = PACKAGE_PARENT / "scenarios"
DEFAULT_SCENARIO = "baseline.toml"

# How `khorasan viz` tells the app (another process) what to show.
ENV_SCENARIO = "KHORASAN_VIZ_SCENARIO"  # the scenario shown first
ENV_SCENARIOS_DIR = "KHORASAN_VIZ_SCENARIOS_DIR"  # the folder the selector lists
ENV_SAVE_DIR = "KHORASAN_VIZ_SAVE_DIR"  # where "Save as scenario" writes


def scenarios_dir() -> Path:
    """``$KHORASAN_VIZ_SCENARIOS_DIR``, else ``./scenarios``, else the shipped scenarios."""
    env = os.environ.get(ENV_SCENARIOS_DIR)
    if env:
        return Path(env)
    here = Path("scenarios")
    return here if here.is_dir() else shipped_dir()


def _installed_copy(folder: Path) -> bool:
    """Whether ``folder`` is the shipped scenarios' copy inside an installed package."""
    return not REPO_SCENARIOS.is_dir() and folder.resolve() == shipped_dir().resolve()


def default_save_dir(folder: Path | None = None) -> Path:
    """``$KHORASAN_VIZ_SAVE_DIR``, else ``user/`` inside the scenarios folder.

    The package's own copy (after ``pip install .``) is never written to: then
    it is ``./scenarios/user``.
    """
    env = os.environ.get(ENV_SAVE_DIR)
    if env:
        return Path(env)
    base = folder or scenarios_dir()
    return Path("scenarios") / "user" if _installed_copy(base) else base / "user"


def initial_scenario() -> Path:
    """``$KHORASAN_VIZ_SCENARIO``, else ``baseline.toml`` in the scenarios folder."""
    env = os.environ.get(ENV_SCENARIO)
    return Path(env) if env else scenarios_dir() / DEFAULT_SCENARIO


class VizError(Exception):
    """The app could not be started; the message is one line."""


def free_port(host: str = DEFAULT_HOST) -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _check_port(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise VizError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}; "
                f"choose another port with --port"
            ) from None


def server_env(
    assets_dir: Path,
    *,
    scenario: Path | None = None,
    scenarios_dir: Path | None = None,
    save_dir: Path | None = None,
    base: dict[str, str] | None = None,
) -> dict[str, str]:
    """The environment for ``solara run``: local assets, no telemetry, the app's settings."""
    env = dict(os.environ if base is None else base)
    env.update(
        {
            "SOLARA_ASSETS_PROXY": "True",
            "SOLARA_ASSETS_PROXY_CACHE_DIR": str(assets_dir),
            "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
            "SOLARA_THEME_SHOW_BANNER": "False",  # no "runs on Solara" over the page's corner
            "MPLBACKEND": "Agg",
            "PYTHONUNBUFFERED": "1",
        }
    )
    # importable even when the package is not installed (a plain checkout)
    paths = [str(PACKAGE_PARENT), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    for name, value in (
        (ENV_SCENARIO, scenario),
        (ENV_SCENARIOS_DIR, scenarios_dir),
        (ENV_SAVE_DIR, save_dir),
    ):
        if value is not None:
            env[name] = str(Path(value).resolve())
    return env


def solara_command(host: str, port: int) -> list[str]:
    """``solara run simulation.viz.page`` via :func:`serve`, with the flags that keep it local."""
    return [
        sys.executable,
        "-m",
        "simulation.viz.server",
        "run",
        APP_MODULE,
        "--host",
        host,
        "--port",
        str(port),
        "--production",
        "--no-open",
        "--no-check-version",
    ]


@dataclass
class Server:
    """A running app server (its own process group) and where its output goes."""

    proc: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def log(self) -> str:
        """What the server printed so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


def _wait_ready(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise VizError(
                f"the server exited with status {server.proc.returncode}; see {server.log_path}"
            )
        try:
            with urllib.request.urlopen(server.url + "/readyz", timeout=2) as r:
                if r.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.2)
    raise VizError(f"{server.url}/readyz not ready after {timeout:.0f} s; see {server.log_path}")


def start_server(
    env: dict[str, str],
    log_path: Path,
    *,
    host: str = DEFAULT_HOST,
    port: int | None = None,
    ready_timeout: float = 90.0,
) -> Server:
    """Start the app in its own process group and wait until ``/readyz`` answers.

    Always pair with :func:`stop_server` (it is called here if start-up fails).
    """
    port = port or free_port(host)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            solara_command(host, port),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    server = Server(proc, f"http://{host}:{port}", log_path)
    try:
        _wait_ready(server, ready_timeout)
    except BaseException:
        stop_server(server)
        raise
    return server


def stop_server(server: Server, timeout: float = 10.0) -> None:
    """Stop the server's whole process group: SIGTERM, then SIGKILL if it lingers."""
    proc = server.proc
    pgid = proc.pid  # start_new_session: the group is led by the server
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(wait)
            break
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(ProcessLookupError):  # anything the server left behind
        os.killpg(pgid, signal.SIGKILL)
    proc.wait()


def run_viz(
    scenario: Path | None,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    save_dir: Path | None = None,
    assets_dir: Path | None = None,
    echo=print,
) -> int:
    """``khorasan viz``: check the scenario, fetch the assets once, serve until Ctrl-C.

    Raises :class:`VizError` (one-line message) for problems found before the
    server starts; returns the server's exit status.
    """
    from simulation.scenario.loader import load_scenario

    folder = scenarios_dir()
    scenario = scenario if scenario is not None else folder / DEFAULT_SCENARIO
    load_scenario(scenario)  # ScenarioError: one line, before anything starts
    try:
        assets = ensure_assets(assets_dir, log=lambda m: echo(f"khorasan viz: {m}"))
    except AssetsError as exc:
        raise VizError(str(exc)) from None
    try:
        import mesa.visualization  # noqa: F401
        import solara  # noqa: F401
    except ImportError as exc:
        raise VizError(f"{exc.name} is missing: pip install -e '.[viz]'") from None
    _check_port(host, port)
    env = server_env(
        assets,
        scenario=scenario,
        scenarios_dir=folder,
        save_dir=save_dir if save_dir is not None else default_save_dir(folder),
    )
    shown = f"[{host}]" if ":" in host else host
    echo(f"khorasan viz: {scenario} at http://{shown}:{port}  (Ctrl-C to stop)")
    if host not in ("127.0.0.1", "localhost", "::1"):
        echo(f"khorasan viz: warning: listening on {host}, reachable from other machines")
    proc = subprocess.Popen(solara_command(host, port), env=env, stdin=subprocess.DEVNULL)

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)  # `kill` stops the server too
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)


def _option(argv: list[str], name: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def serve(argv: list[str]) -> None:
    """``solara run`` with :class:`OriginGuard` and :class:`OfflineCdn` around the app.

    ``argv`` are the arguments of ``solara run`` (``run simulation.viz.page --host H
    --port P ...``); ``--host`` and a ``--port`` other than 0 must be given.
    ``solara run`` sets itself up as usual and hands uvicorn the app
    ``solara.server.starlette:app``; the middlewares go around it as uvicorn
    loads it, which is the first moment the app exists in the form it is served.
    """
    host, port = _option(argv, "--host"), _option(argv, "--port")
    if host is None or port is None or not port.isdigit() or int(port) == 0:
        sys.exit("khorasan viz: serve needs --host and a --port other than 0")
    import uvicorn
    from solara.__main__ import cli

    load = uvicorn.Config.load

    def load_guarded(config: uvicorn.Config) -> None:
        load(config)
        import solara.settings
        from solara.server import cdn_helper, settings

        if not solara.settings.assets.proxy:  # the page would load its JavaScript from a CDN
            raise SystemExit(
                f"khorasan viz: cannot use the asset folder "
                f"{settings.assets.proxy_cache_dir} (SOLARA_ASSETS_PROXY is off)"
            )
        # belt and braces: should a request get past OfflineCdn, Solara's proxy fetches
        # nothing (its StaticCdn turns the error into a 404)
        cdn_helper.fetch_from_cdn = no_fetch
        config.loaded_app = OriginGuard(
            OfflineCdn(config.loaded_app, settings.assets.proxy_cache_dir), host, int(port)
        )

    uvicorn.Config.load = load_guarded  # type: ignore[method-assign]
    cli(argv, prog_name="khorasan viz")


if __name__ == "__main__":  # the middlewares from the module the app imports, not __main__
    from simulation.viz.server import serve as _serve

    _serve(sys.argv[1:])
