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
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulation.viz.assets import AssetsError, ensure_assets

__all__ = [
    "APP_MODULE",
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "OfflineCdn",
    "OriginGuard",
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
    """``$KHORASAN_VIZ_SCENARIOS_DIR``, else ``./scenarios``, else the repository's."""
    env = os.environ.get(ENV_SCENARIOS_DIR)
    if env:
        return Path(env)
    here = Path("scenarios")
    return here if here.is_dir() else REPO_SCENARIOS


def default_save_dir(folder: Path | None = None) -> Path:
    """``$KHORASAN_VIZ_SAVE_DIR``, else ``user/`` inside the scenarios folder."""
    env = os.environ.get(ENV_SAVE_DIR)
    return Path(env) if env else (folder or scenarios_dir()) / "user"


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
            raise VizError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; "
                           f"choose another port with --port") from None


def server_env(assets_dir: Path, *, scenario: Path | None = None,
               scenarios_dir: Path | None = None, save_dir: Path | None = None,
               base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for ``solara run``: local assets, no telemetry, the app's settings."""
    env = dict(os.environ if base is None else base)
    env.update({
        "SOLARA_ASSETS_PROXY": "True",
        "SOLARA_ASSETS_PROXY_CACHE_DIR": str(assets_dir),
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
        "SOLARA_THEME_SHOW_BANNER": "False",  # no "runs on Solara" over the page's corner
        "MPLBACKEND": "Agg",
        "PYTHONUNBUFFERED": "1",
    })
    # importable even when the package is not installed (a plain checkout)
    paths = [str(PACKAGE_PARENT), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    for name, value in ((ENV_SCENARIO, scenario), (ENV_SCENARIOS_DIR, scenarios_dir),
                        (ENV_SAVE_DIR, save_dir)):
        if value is not None:
            env[name] = str(Path(value).resolve())
    return env


def solara_command(host: str, port: int) -> list[str]:
    """``solara run simulation.viz.page`` via :func:`serve`, with the flags that keep it local."""
    return [sys.executable, "-m", "simulation.viz.server", "run", APP_MODULE, "--host", host,
            "--port", str(port), "--production", "--no-open", "--no-check-version"]


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
            raise VizError(f"the server exited with status {server.proc.returncode}; "
                           f"see {server.log_path}")
        try:
            with urllib.request.urlopen(server.url + "/readyz", timeout=2) as r:
                if r.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.2)
    raise VizError(f"{server.url}/readyz not ready after {timeout:.0f} s; see {server.log_path}")


def start_server(env: dict[str, str], log_path: Path, *, host: str = DEFAULT_HOST,
                 port: int | None = None, ready_timeout: float = 90.0) -> Server:
    """Start the app in its own process group and wait until ``/readyz`` answers.

    Always pair with :func:`stop_server` (it is called here if start-up fails).
    """
    port = port or free_port(host)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(solara_command(host, port), env=env, stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
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


def run_viz(scenario: Path | None, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
            save_dir: Path | None = None, assets_dir: Path | None = None,
            echo=print) -> int:
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
    env = server_env(assets, scenario=scenario, scenarios_dir=folder,
                     save_dir=save_dir if save_dir is not None else default_save_dir(folder))
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


# --- only the app's own page, only the local assets ------------------------------------

CDN_PATH = "/_solara/cdn"  # where Solara's page asks for its JavaScript (see viz.assets)
_WILDCARD = {"", "0.0.0.0", "::"}
_MAX_NOTES = 100  # different refusals noted in the log; a flood of new ones is not

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class _Notes:
    """Says each refusal once (by key), and stops after ``_MAX_NOTES`` different ones."""

    def __init__(self, log: Callable[[str], None]) -> None:
        self.log = log
        self.seen: set[str] = set()

    def once(self, key: str, message: str) -> None:
        if key in self.seen or len(self.seen) > _MAX_NOTES:
            return
        self.seen.add(key)
        if len(self.seen) > _MAX_NOTES:
            message = (f"khorasan viz: more than {_MAX_NOTES} different requests refused; "
                       f"no more are noted")
        self.log(message)


def _header(scope: Scope, name: bytes) -> str | None:
    """The header's value; None if it is missing or given more than once."""
    values = [v for k, v in scope.get("headers", ()) if k.lower() == name]
    return values[0].decode("latin-1") if len(values) == 1 else None


def _authority(host: str, port: int) -> str:
    """``host:port`` as a Host header writes it (IPv6 in brackets, lower case)."""
    host = host.strip("[]").lower()
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _split_authority(value: str) -> tuple[str, int | None]:
    """``(name, port)`` of ``name:port``, ``[v6]:port`` or ``name`` (port 80), or ``("", None)``."""
    if value.startswith("["):
        name, sep, rest = value[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            return "", None
        port = rest[1:] if rest else "80"
    else:
        name, sep, port = value.partition(":")
        port = port if sep else "80"
    if not (port.isascii() and port.isdigit()):  # also an IPv6 address without brackets
        return "", None
    return name.lower(), int(port)


def _shown(value: str | None) -> str:
    """A header's value for the log: quoted (no line breaks get through), at most 120 chars."""
    return repr(value if value is None or len(value) <= 120 else value[:120] + "...")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


async def _plain(send: Send, status: int, text: str) -> None:
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()),
                            (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": body})


class OriginGuard:
    """ASGI middleware: only this server's own page may talk to it.

    A request (HTTP or WebSocket) is refused with 403 when

    - its ``Host`` header is not one of this server's names with its port:
      ``127.0.0.1``, ``localhost``, ``[::1]`` and the address it listens on
      (listening on every interface: also the machine's host name and the
      address the connection arrived at). A web page that makes its own domain
      name point at 127.0.0.1 (DNS rebinding) sends that name, and is refused;
    - or it has an ``Origin`` header that is not ``http://`` and one of those
      names: a script on another web page (another site, another port, a file,
      ``null``). A browser sends ``Origin`` with every WebSocket and every POST,
      so another page can neither open a kernel nor call the app's HTTP API.

    Requests without ``Origin`` (the page itself, its scripts and images,
    ``curl``) pass when their ``Host`` does. Each refused Host or Origin is
    noted in the log once.
    """

    def __init__(self, app: ASGIApp, host: str, port: int, *,
                 log: Callable[[str], None] = _stderr) -> None:
        self.app = app
        self.port = port
        self.wildcard = host.strip("[]") in _WILDCARD
        names = {"127.0.0.1", "localhost", "::1"}
        if self.wildcard:
            names |= {socket.gethostname(), socket.getfqdn()}
        else:
            names.add(host)
        self.hosts = {_authority(n, port) for n in names if n}
        self.home = f"http://{_authority('127.0.0.1' if self.wildcard else host, port)}"
        self.notes = _Notes(log)

    def _own_host(self, value: str, scope: Scope) -> bool:
        """Whether ``value`` (a Host header, or an Origin without ``http://``) names us."""
        name, port = _split_authority(value)
        if port != self.port or not name:
            return False
        if _authority(name, port) in self.hosts:
            return True
        # listening on every interface: the address this connection reached is ours too
        server = scope.get("server")
        return bool(self.wildcard and server and _is_ip(str(server[0]))
                    and _authority(name, port) == _authority(str(server[0]), self.port))

    def refusal(self, scope: Scope) -> tuple[str, str] | None:
        """``(key, line for the log)`` if the request is refused, else None."""
        what = "a WebSocket" if scope["type"] == "websocket" else scope.get("method", "HTTP")
        path = scope.get("path", "")
        host = _header(scope, b"host")
        if host is None or not self._own_host(host, scope):
            return (f"host {host}",
                    f"khorasan viz: refused {what} {_shown(path)} for Host {_shown(host)}: "
                    f"not this server's name ({self.home}); other requests for that Host "
                    f"are refused without a note")
        origin = _header(scope, b"origin")
        if origin is None and any(k.lower() == b"origin" for k, _ in scope.get("headers", ())):
            origin = "(several)"
        if origin is not None:
            scheme, sep, rest = origin.partition("://")
            if not (sep and scheme.lower() == "http" and self._own_host(rest, scope)):
                return (f"origin {origin}",
                        f"khorasan viz: refused {what} {_shown(path)} from Origin "
                        f"{_shown(origin)}: not this app's page ({self.home}); other requests "
                        f"from that Origin are refused without a note")
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refused = self.refusal(scope) if scope["type"] in ("http", "websocket") else None
        if refused is None:  # also the lifespan messages
            await self.app(scope, receive, send)
            return
        self.notes.once(*refused)
        if scope["type"] == "websocket":
            # closing before accepting: the server answers the handshake with 403
            await send({"type": "websocket.close", "code": 1008})
        else:
            await _plain(send, 403, "403 Forbidden: this server answers only its own page\n")


class OfflineCdn:
    """ASGI middleware: ``/_solara/cdn/<file>`` only from the local asset folder.

    Solara's proxy fetches from a public CDN whatever its cache folder lacks
    (and replaces a folder asked for as a file). Here a request whose file is
    not in ``cache_dir`` gets a 404, noted in the log once per path, and never
    reaches Solara; the files that are there are served by Solara as before.
    """

    def __init__(self, app: ASGIApp, cache_dir: Path, *,
                 log: Callable[[str], None] = _stderr) -> None:
        self.app = app
        self.cache_dir = Path(os.path.realpath(cache_dir))
        self.notes = _Notes(log)

    def cached(self, rel: str) -> bool:
        """Whether ``rel`` (the part after ``/_solara/cdn/``) is a file in the folder."""
        # as Starlette's StaticFiles and solara.server.cdn_helper.get_path map it
        norm = os.path.normpath(os.path.join(*rel.split("/"))) if rel else "."
        if norm.startswith("..") or os.path.isabs(norm) or "\0" in norm:
            return False
        store = norm if "/" in norm.replace("\\", "/") else os.path.join(norm, "__main.js")
        path = os.path.realpath(self.cache_dir / store)
        return Path(path).is_relative_to(self.cache_dir) and os.path.isfile(path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path != CDN_PATH and not path.startswith(CDN_PATH + "/"):
            await self.app(scope, receive, send)
            return
        if self.cached(path[len(CDN_PATH) + 1:]):
            await self.app(scope, receive, send)
            return
        self.notes.once(path, f"khorasan viz: 404 for {_shown(path)}: not in the local asset "
                              f"folder {self.cache_dir}; nothing is fetched while the app runs")
        await _plain(send, 404, "404 Not Found: not in the local asset folder\n")


def _no_fetch(url: str) -> bytes:
    raise RuntimeError(f"not fetching {url}: the app serves only its local asset folder")


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
            raise SystemExit(f"khorasan viz: cannot use the asset folder "
                             f"{settings.assets.proxy_cache_dir} (SOLARA_ASSETS_PROXY is off)")
        # belt and braces: should a request get past OfflineCdn, Solara's proxy fetches
        # nothing (its StaticCdn turns the error into a 404)
        cdn_helper.fetch_from_cdn = _no_fetch
        config.loaded_app = OriginGuard(
            OfflineCdn(config.loaded_app, settings.assets.proxy_cache_dir), host, int(port))

    uvicorn.Config.load = load_guarded  # type: ignore[method-assign]
    cli(argv, prog_name="khorasan viz")


if __name__ == "__main__":  # the middlewares from the module the app imports, not __main__
    from simulation.viz.server import serve as _serve

    _serve(sys.argv[1:])
