"""Only the app's own page, only the local assets: two ASGI middlewares.

:class:`OriginGuard` refuses (403) a request or WebSocket whose ``Host`` is not
the server's own name (DNS rebinding) or whose ``Origin`` is another site's, so
a script on another web page cannot open a kernel and drive the app.
:class:`OfflineCdn` serves ``/_solara/cdn/...`` from the local asset folder
only: anything not there is a 404, noted once, and nothing is fetched while the
app runs. :func:`simulation.viz.server.serve` puts both around Solara's app.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

__all__ = ["CDN_PATH", "OfflineCdn", "OriginGuard", "no_fetch"]

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
            message = (
                f"khorasan viz: more than {_MAX_NOTES} different requests refused; "
                f"no more are noted"
            )
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
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
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

    def __init__(
        self, app: ASGIApp, host: str, port: int, *, log: Callable[[str], None] = _stderr
    ) -> None:
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
        return bool(
            self.wildcard
            and server
            and _is_ip(str(server[0]))
            and _authority(name, port) == _authority(str(server[0]), self.port)
        )

    def refusal(self, scope: Scope) -> tuple[str, str] | None:
        """``(key, line for the log)`` if the request is refused, else None."""
        what = "a WebSocket" if scope["type"] == "websocket" else scope.get("method", "HTTP")
        path = scope.get("path", "")
        host = _header(scope, b"host")
        if host is None or not self._own_host(host, scope):
            return (
                f"host {host}",
                f"khorasan viz: refused {what} {_shown(path)} for Host {_shown(host)}: "
                f"not this server's name ({self.home}); other requests for that Host "
                f"are refused without a note",
            )
        origin = _header(scope, b"origin")
        if origin is None and any(k.lower() == b"origin" for k, _ in scope.get("headers", ())):
            origin = "(several)"
        if origin is not None:
            scheme, sep, rest = origin.partition("://")
            if not (sep and scheme.lower() == "http" and self._own_host(rest, scope)):
                return (
                    f"origin {origin}",
                    f"khorasan viz: refused {what} {_shown(path)} from Origin "
                    f"{_shown(origin)}: not this app's page ({self.home}); other requests "
                    f"from that Origin are refused without a note",
                )
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

    def __init__(
        self, app: ASGIApp, cache_dir: Path, *, log: Callable[[str], None] = _stderr
    ) -> None:
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
        if self.cached(path[len(CDN_PATH) + 1 :]):
            await self.app(scope, receive, send)
            return
        self.notes.once(
            path,
            f"khorasan viz: 404 for {_shown(path)}: not in the local asset "
            f"folder {self.cache_dir}; nothing is fetched while the app runs",
        )
        await _plain(send, 404, "404 Not Found: not in the local asset folder\n")


def no_fetch(url: str) -> bytes:
    raise RuntimeError(f"not fetching {url}: the app serves only its local asset folder")
