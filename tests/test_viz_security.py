"""The browser app is closed to other web pages and never fetches from a CDN (issue 14, items 8-9).

First the two ASGI middlewares of simulation/viz/server.py on their own (no
server), then a real server (``solara run`` through ``python -m
simulation.viz.server``, as ``khorasan viz`` starts it) driven by raw HTTP and
WebSocket clients: a WebSocket or POST from another Origin, or any request
for another Host (DNS rebinding), gets 403; the app's own origin passes. The
server runs with HTTP(S)_PROXY pointing at a socket that records every
connection, so anything it tried to fetch from outside would show there. The
browser-side test (a page on another origin) is in tests/test_viz_browser.py.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

pytest.importorskip("solara", reason="the [viz] extra is not installed")
pytest.importorskip("mesa.visualization", reason="the [viz] extra is not installed")
ws_client = pytest.importorskip("websockets.sync.client", reason="websockets is not installed")
from websockets.exceptions import InvalidStatus  # noqa: E402

from simulation.viz import server as viz_server  # noqa: E402
from simulation.viz.guard import OfflineCdn, OriginGuard  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
EVIL = "http://evil.example.com"


# --- the middlewares on their own ------------------------------------------------------


def _call(app, scope: dict) -> tuple[list[dict], bool]:
    """Run one request through ``app``; what it sent, and whether the inner app saw it."""
    sent: list[dict] = []

    async def receive() -> dict:
        return (
            {"type": "websocket.connect"}
            if scope["type"] == "websocket"
            else {"type": "http.request", "body": b"", "more_body": False}
        )

    async def send(message: dict) -> None:
        sent.append(message)

    # in a thread of its own: a session's Playwright (the browser tests) keeps an event
    # loop running in this one, where asyncio.run refuses to start another
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, app(scope, receive, send)).result()
    return sent, any(m.get("inner") for m in sent)


async def _inner(scope, receive, send) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.accept", "inner": True})
    else:
        await send({"type": "http.response.start", "status": 200, "headers": [], "inner": True})
        await send({"type": "http.response.body", "body": b"ok"})


def _scope(
    kind: str = "websocket",
    *,
    host: str | None = "127.0.0.1:8600",
    origin: str | None = None,
    path: str = "/jupyter/api/kernels/k/channels",
    method: str = "GET",
    server=("127.0.0.1", 8600),
) -> dict:
    headers = [(b"host", host.encode())] if host is not None else []
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    scope = {"type": kind, "path": path, "headers": headers, "server": server}
    if kind == "http":
        scope["method"] = method
    return scope


def _status(sent: list[dict]) -> int | str:
    first = sent[0]
    return first["status"] if first["type"] == "http.response.start" else first["type"]


def test_origin_guard_lets_only_the_apps_own_page_through() -> None:
    lines: list[str] = []
    guard = OriginGuard(_inner, "127.0.0.1", 8600, log=lines.append)
    own = [
        "http://127.0.0.1:8600",
        "http://localhost:8600",
        "http://[::1]:8600",
        "HTTP://LOCALHOST:8600",
    ]
    for origin in [None, *own]:
        for host in ("127.0.0.1:8600", "localhost:8600", "[::1]:8600", "LocalHost:8600"):
            sent, passed = _call(guard, _scope(host=host, origin=origin))
            assert passed and _status(sent) == "websocket.accept", (host, origin)
    foreign = [
        EVIL,
        "https://127.0.0.1:8600",
        "http://127.0.0.1:8601",
        "http://127.0.0.1",
        "null",
        "file://",
        "http://127.0.0.1:8600.evil.com",
        "http://evil.com:8600",
        "http://127.0.0.1:8600@evil.com",
        "127.0.0.1:8600",
        "",
    ]
    for origin in foreign:
        sent, passed = _call(guard, _scope(origin=origin))
        assert not passed and sent == [{"type": "websocket.close", "code": 1008}], origin
        sent, passed = _call(
            guard, _scope("http", origin=origin, method="POST", path="/_solara/api/close/k")
        )
        assert not passed and _status(sent) == 403, origin
    # DNS rebinding: the page's own name, pointed at 127.0.0.1, is in its Host
    for host in (
        "evil.example.com:8600",
        "evil.example.com",
        "127.0.0.1:8601",
        "127.0.0.1",
        "localhost",
        "127.0.0.1:8600:1",
        "::1:8600",
        "[::1",
        "",
        None,
    ):
        for kind in ("websocket", "http"):
            sent, passed = _call(guard, _scope(kind, host=host))
            assert not passed, (kind, host)
            assert _status(sent) == (403 if kind == "http" else "websocket.close")
    # two Origin or Host headers are not ours either
    scope = _scope(origin="http://127.0.0.1:8600")
    scope["headers"].append((b"origin", EVIL.encode()))
    assert not _call(guard, scope)[1]
    scope = _scope()
    scope["headers"].append((b"host", b"evil.example.com:8600"))
    assert not _call(guard, scope)[1]
    # each refused Origin or Host is noted once, quoted
    before = len(lines)
    for _ in range(3):
        _call(guard, _scope(origin=EVIL))
        _call(guard, _scope("http", host="evil.example.com:8600"))
    assert len(lines) == before
    assert sum(f"Origin {EVIL!r}" in line for line in lines) == 1
    assert sum("Host 'evil.example.com:8600'" in line for line in lines) == 1
    _call(guard, _scope(origin="http://x\n.example.com"))
    assert "'http://x\\n.example.com'" in lines[-1] and "\n" not in lines[-1]
    # lifespan messages go through untouched
    assert _call(guard, {"type": "lifespan"})[1]


def test_origin_guard_knows_the_names_of_the_address_it_listens_on() -> None:
    guard = OriginGuard(_inner, "192.168.7.9", 8600, log=lambda m: None)
    assert _call(guard, _scope(host="192.168.7.9:8600", origin="http://192.168.7.9:8600"))[1]
    assert _call(guard, _scope(host="127.0.0.1:8600"))[1]
    assert not _call(guard, _scope(host="10.0.0.1:8600"))[1]
    six = OriginGuard(_inner, "::1", 8600, log=lambda m: None)
    assert _call(six, _scope(host="[::1]:8600", origin="http://[::1]:8600"))[1]
    # every interface: the address the connection reached, and the machine's name
    every = OriginGuard(_inner, "0.0.0.0", 8600, log=lambda m: None)
    here = _scope(host="10.1.2.3:8600", origin="http://10.1.2.3:8600", server=("10.1.2.3", 8600))
    assert _call(every, here)[1]
    assert not _call(every, _scope(host="10.9.9.9:8600", server=("10.1.2.3", 8600)))[1]
    assert _call(every, _scope(host=f"{socket.gethostname()}:8600"))[1]
    assert not _call(every, _scope(host="evil.example.com:8600"))[1]
    # port 80 may be left out of Host and Origin
    eighty = OriginGuard(_inner, "127.0.0.1", 80, log=lambda m: None)
    assert _call(eighty, _scope(host="localhost", origin="http://127.0.0.1"))[1]
    assert _call(eighty, _scope(host="[::1]", origin="http://localhost:80"))[1]
    assert not _call(eighty, _scope(host="localhost:8080"))[1]


def test_offline_cdn_serves_only_files_in_the_folder(tmp_path: Path) -> None:
    cache = tmp_path / "cdn"
    (cache / "pkg@1.0.0" / "dist").mkdir(parents=True)
    (cache / "pkg@1.0.0" / "dist" / "a.js").write_text("1;")
    (cache / "one@2.0.0").mkdir()
    (cache / "one@2.0.0" / "__main.js").write_text("2;")  # solara's name for a bare package URL
    (tmp_path / "secret.txt").write_text("no")
    (cache / "pkg@1.0.0" / "out.js").symlink_to(tmp_path / "secret.txt")
    lines: list[str] = []
    cdn = OfflineCdn(_inner, cache, log=lines.append)
    for path in (
        "/_solara/cdn/pkg@1.0.0/dist/a.js",
        "/_solara/cdn/pkg@1.0.0//dist/./a.js",
        "/_solara/cdn/one@2.0.0",
        "/index.html",
        "/_solara/cdnx/a.js",
    ):
        assert _call(cdn, _scope("http", path=path))[1], path
    refused = [
        "/_solara/cdn/pkg@1.0.0/dist/b.js",
        "/_solara/cdn/pkg@1.0.0/dist",
        "/_solara/cdn/pkg@1.0.0/out.js",
        "/_solara/cdn/../secret.txt",
        "/_solara/cdn/pkg@1.0.0/../../secret.txt",
        "/_solara/cdn/pkg@1.0.0",
        "/_solara/cdn",
        "/_solara/cdn/",
        "/_solara/cdn/pkg@1.0.0/dist/a.js\0",
    ]
    for path in refused:
        sent, passed = _call(cdn, _scope("http", path=path))
        assert not passed and _status(sent) == 404, path
    assert len(lines) == len(refused)
    _call(cdn, _scope("http", path=refused[0]))  # once per path
    assert len(lines) == len(refused)
    assert lines[0].startswith(
        "khorasan viz: 404 for '/_solara/cdn/pkg@1.0.0/dist/b.js': not in the local asset folder"
    )
    assert (cache / "pkg@1.0.0" / "dist").is_dir()
    # WebSockets and lifespan pass untouched
    assert _call(cdn, _scope(path="/_solara/cdn/x"))[1]


# --- a real server, raw clients ---------------------------------------------------------


class Recorder:
    """A socket standing in for every outside server (HTTP(S)_PROXY): notes who connects."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.seen: list[bytes] = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    self.seen.append(conn.recv(200).split(b"\r\n", 1)[0])
                except OSError:
                    self.seen.append(b"?")

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("viz_security")
    cache = tmp / "cdn"
    (cache / "requirejs@2.3.6" / "bin").mkdir(parents=True)
    (cache / "requirejs@2.3.6" / "require.js").write_text("/* cached */ var requirejs;")
    (cache / "requirejs@2.3.6" / "bin" / "r.js").write_text("1;")
    recorder = Recorder()
    env = viz_server.server_env(
        cache,
        scenario=REPO / "scenarios" / "baseline.toml",
        scenarios_dir=REPO / "scenarios",
        save_dir=tmp / "saved",
    )
    proxy = f"http://127.0.0.1:{recorder.port}"
    env.update(
        {
            "HTTP_PROXY": proxy,
            "HTTPS_PROXY": proxy,
            "ALL_PROXY": proxy,
            "http_proxy": proxy,
            "https_proxy": proxy,
            "all_proxy": proxy,
            "NO_PROXY": "",
            "no_proxy": "",
        }
    )
    srv = viz_server.start_server(env, tmp / "server.log")
    srv.cache = cache  # type: ignore[attr-defined]
    srv.recorder = recorder  # type: ignore[attr-defined]
    try:
        yield srv
    finally:
        viz_server.stop_server(srv)
        recorder.close()


def _port(srv) -> int:
    return int(srv.url.rsplit(":", 1)[1])


def _http(
    srv, path: str, *, method: str = "GET", headers: dict | None = None, via: str | None = None
) -> tuple[int, bytes]:
    """A request to the server; ``via`` replaces the host in the URL (the Host header)."""
    url = srv.url + path
    req = urllib.request.Request(url, method=method, headers=headers or {})
    if via is not None:
        req.add_unredirected_header("Host", via)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _ws(srv, *, origin: str | None, host: str | None = None) -> int:
    """Open the kernel WebSocket the page opens; the handshake's status (101: connected)."""
    url = (
        f"ws://{host or srv.url.split('//', 1)[1]}/jupyter/api/kernels/{uuid.uuid4()}"
        f"/channels?session_id={uuid.uuid4()}"
    )
    sock = socket.create_connection(("127.0.0.1", _port(srv)), timeout=30)
    try:
        with ws_client.connect(url, sock=sock, origin=origin, open_timeout=30, proxy=None) as ws:
            status = ws.response.status_code
            ws.close()
            return status
    except InvalidStatus as exc:
        return exc.response.status_code
    finally:
        sock.close()


def test_server_refuses_other_origins_and_hosts_and_serves_its_own(served) -> None:
    port = _port(served)
    own = f"http://127.0.0.1:{port}"
    # another site's script, another port on this machine, a sandboxed frame: refused
    for origin in (EVIL, f"http://127.0.0.1:{port + 1}", "null"):
        assert _ws(served, origin=origin) == 403, origin
        assert _ws(served, origin=origin) == 403, origin
    # DNS rebinding: evil.example.com pointed at 127.0.0.1 is still evil.example.com
    assert (
        _ws(served, origin=f"http://evil.example.com:{port}", host=f"evil.example.com:{port}")
        == 403
    )
    assert _ws(served, origin=own, host=f"evil.example.com:{port}") == 403
    assert _http(served, "/", via=f"evil.example.com:{port}")[0] == 403
    # the app's HTTP API (the page's close beacon) from another Origin
    close = f"/_solara/api/close/{uuid.uuid4()}?session_id=x"
    assert _http(served, close, method="POST", headers={"Origin": EVIL})[0] == 403
    # the app's own page, under each of its names
    assert _ws(served, origin=own) == 101
    assert _ws(served, origin=f"http://localhost:{port}", host=f"localhost:{port}") == 101
    assert _ws(served, origin=None) == 101  # not a browser: nothing to protect against
    status, body = _http(served, "/")
    assert status == 200 and b"solara" in body.lower()
    assert _http(served, "/", via=f"localhost:{port}")[0] == 200
    assert _http(served, close, method="POST", headers={"Origin": own})[0] == 200
    log = served.log()
    assert log.count(f"from Origin {EVIL!r}") == 1, log  # noted once, however often
    assert log.count("from Origin 'null'") == 1, log
    assert log.count(f"for Host 'evil.example.com:{port}'") == 1, log
    assert "Traceback" not in log, log


def test_server_serves_cached_assets_and_fetches_nothing(served) -> None:
    status, body = _http(served, "/_solara/cdn/requirejs@2.3.6/require.js")
    assert (status, body) == (200, b"/* cached */ var requirejs;")
    missing = "/_solara/cdn/requirejs@2.3.7/require.js"
    t0 = time.monotonic()
    for path in (
        missing,
        missing,
        "/_solara/cdn/requirejs@2.3.6/bin",
        "/_solara/cdn/leftpad@1.0.0",
    ):
        status, body = _http(served, path)
        assert status == 404, path
    waited = time.monotonic() - t0
    time.sleep(0.5)
    assert served.recorder.seen == [], f"the server tried to fetch: {served.recorder.seen}"
    assert waited < 5, f"the 404s took {waited:.1f} s"
    # Solara's proxy would have replaced the folder asked for as a file
    assert (served.cache / "requirejs@2.3.6" / "bin" / "r.js").is_file()
    assert not (served.cache / "requirejs@2.3.7").exists()
    log = served.log()
    assert log.count(f"404 for {missing!r}: not in the local asset folder") == 1, log
    assert "Could not load URL" not in log and "Traceback" not in log, log
