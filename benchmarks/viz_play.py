"""How fast Play runs in the browser app (``khorasan viz``), in a real browser.

Starts the app's server like the browser test does (``simulation.viz.server``:
its own process group, a free loopback port, offline assets), opens the page
in Debian's Chromium driven by Playwright, presses Step once (the first week
also compiles or loads the model's Numba kernel; timed, not counted), and
then, a few times: Reset, press ▶, wait ``--seconds``, press ❚❚, and count
the weeks the page's date text advanced. It prints weeks per second (the
median of the runs; the issue asks for at least 4 at the default 80x80
world), how many map frames the browser showed per second, the CPU time per
week of the server and of the browser (Chromium and Playwright's driver), and
the machine's load, as a Markdown table; ``--output FILE`` writes the same
text to FILE (to paste into benchmarks/RESULTS.md). The server is always
stopped.

Speed is measured here and not in the tests: the machines are shared and
noisy. Run from the repository root::

    /work/venv/bin/python benchmarks/viz_play.py                 # 3 runs of 15 s
    /work/venv/bin/python benchmarks/viz_play.py --runs 5 --output /tmp/viz_play.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [  # as tests/test_viz_browser.py
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
VIEWPORT = {"width": 1500, "height": 1100}
TIMEOUT_MS = 60_000
TARGET_WEEKS_PER_S = 4.0
DATE_RE = re.compile(r"(\d{1,2} [A-Z][a-z]+ \d{4})\s+week (\d+)")

# Counts the map's redraws in the page (one per frame the browser shows).
COUNT_FRAMES_JS = """() => {
    const map = document.querySelector('.kh-map');
    window.__khFrames = 0;
    if (window.__khObserver) window.__khObserver.disconnect();
    window.__khObserver = new MutationObserver(() => { window.__khFrames += 1; });
    window.__khObserver.observe(map, {childList: true});
}"""
# A short fingerprint of every figure (map and plots): changes whenever one is redrawn.
FIGURES_JS = """() => [...document.querySelectorAll('.kh-fig')].map(el => {
    const s = el.innerHTML; let h = 0;
    for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
    return s.length + ':' + h; }).join(' ')"""


@dataclass
class Run:
    weeks: int
    seconds: float
    frames: int
    server_cpu_s: float
    browser_cpu_s: float
    load: float  # 1-minute load average at the end of the run

    @property
    def weeks_per_s(self) -> float:
        return self.weeks / self.seconds


# ------------------------------------------------------------------ /proc helpers
def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of ``pids`` so far (Linux)."""
    total = 0
    for pid in pids:
        fields = _stat(pid)
        if fields is not None:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def descendants(root: int) -> list[int]:
    """Every process below ``root`` (Chromium runs under Playwright's driver, under us)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None:
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


# ------------------------------------------------------------------ the page
def page_week(page) -> tuple[dt.date, int]:
    """The date and week shown in the page's date text."""
    text = page.locator(".kh-when").first.inner_text()
    m = DATE_RE.search(text)
    if not m:
        raise RuntimeError(f"no date in {text!r}")
    return dt.datetime.strptime(m.group(1), "%d %B %Y").date(), int(m.group(2))


def wait_settled(page, quiet_s: float = 0.8, timeout_s: float = 60.0) -> None:
    """Wait until the figures (map and plots) stop changing."""
    deadline = time.monotonic() + timeout_s
    last = page.evaluate(FIGURES_JS)
    while time.monotonic() < deadline:
        time.sleep(quiet_s)
        now = page.evaluate(FIGURES_JS)
        if now == last and now:
            return
        last = now
    raise RuntimeError("the figures kept changing")


def play_once(page, seconds: float, server_pid: int) -> Run:
    """Reset, play for ``seconds``, pause; what the page shows before and after."""
    page.get_by_role("button", name="Reset", exact=True).click()
    page.locator(".kh-week", has_text=re.compile(r"^week 0\b")).wait_for()
    wait_settled(page)
    date0, week0 = page_week(page)
    page.evaluate(COUNT_FRAMES_JS)
    server = {server_pid, *descendants(server_pid)}
    browser = [p for p in descendants(os.getpid()) if p not in server]  # and its driver
    cpu_server0, cpu_browser0 = cpu_seconds([server_pid]), cpu_seconds(browser)
    page.get_by_role("button", name="▶", exact=True).click()
    t0 = time.monotonic()
    time.sleep(seconds)
    page.get_by_role("button", name="❚❚", exact=True).click()
    elapsed = time.monotonic() - t0
    cpu_server = cpu_seconds([server_pid]) - cpu_server0
    cpu_browser = cpu_seconds(browser) - cpu_browser0
    frames = page.evaluate("() => window.__khFrames")
    page.get_by_role("button", name="Step", exact=True).wait_for(state="visible")
    wait_settled(page)
    date1, week1 = page_week(page)
    weeks = (date1 - date0).days // 7
    if weeks != week1 - week0:
        raise RuntimeError(f"date says {weeks} weeks, week number {week1 - week0}")
    return Run(weeks, elapsed, frames, cpu_server, cpu_browser, os.getloadavg()[0])


# ------------------------------------------------------------------ report
def machine() -> str:
    """CPU, cores, Python and commit, in one line (from bench.py's record)."""
    from bench import machine as record

    info = record()
    commit = info["commit"] + (" with uncommitted changes" if info["dirty"] else "")
    return f"{info['cpu']}, {info['nproc']} cores, Python {info['python']}, commit {commit}"


def report(
    runs: list[Run], seconds: float, scenario: str, world: str, load0: float, first_step: float
) -> str:
    speeds = [r.weeks_per_s for r in runs]
    median = statistics.median(speeds)
    verdict = "meets" if median >= TARGET_WEEKS_PER_S else "**misses**"
    lines = [
        f"### Browser app: Play speed ({dt.date.today().isoformat()})",
        "",
        f"`benchmarks/viz_play.py`: `{scenario}` ({world}), Play pressed for {seconds:g} s in "
        f"headless Chromium, {len(runs)} run{'s' if len(runs) != 1 else ''}; {machine()}; "
        f"1-minute load average {load0:.2f} before. The first Step (which compiles or loads "
        f"the model's Numba kernel) took {first_step:.1f} s and is not counted.",
        "",
        "| run | weeks | seconds | weeks/s | map frames/s | server CPU ms/week "
        "| browser CPU ms/week | load (1 min) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for i, r in enumerate(runs, 1):
        per = max(r.weeks, 1)
        lines.append(
            f"| {i} | {r.weeks} | {r.seconds:.1f} | {r.weeks_per_s:.1f} "
            f"| {r.frames / r.seconds:.1f} | {1000 * r.server_cpu_s / per:.0f} "
            f"| {1000 * r.browser_cpu_s / per:.0f} | {r.load:.2f} |"
        )
    lines += [
        "",
        f"**Play: {median:.1f} weeks/s** (median; min {min(speeds):.1f}, max "
        f"{max(speeds):.1f}) at {world}: {verdict} the target of "
        f"{TARGET_WEEKS_PER_S:g} weeks/s.",
        "",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=15.0, help="Play time per run (default 15)")
    p.add_argument("--runs", type=int, default=3, help="runs (default 3)")
    p.add_argument(
        "--scenario",
        type=Path,
        default=ROOT / "scenarios" / "baseline.toml",
        help="scenario shown (default scenarios/baseline.toml, 80x80)",
    )
    p.add_argument("--output", type=Path, help="also write the Markdown to this file")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from playwright.sync_api import sync_playwright

    from simulation.scenario.loader import load_scenario
    from simulation.viz import server as viz_server
    from simulation.viz.assets import ensure_assets

    if not CHROMIUM.exists():
        print(f"{CHROMIUM} is missing (apt-get install -y chromium)", file=sys.stderr)
        return 2
    sc = load_scenario(args.scenario)
    world = f"{sc.params['world.width']}x{sc.params['world.height']}"
    assets = ensure_assets(log=lambda m: print(m, file=sys.stderr))
    load0 = os.getloadavg()[0]
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="viz_play_") as tmp:
        # Play stops at the scenario's last week: give it enough weeks for every run.
        long_run = Path(tmp) / "scenarios" / f"{args.scenario.stem}.toml"
        long_run.parent.mkdir()
        long_run.write_text(
            f'[scenario]\nextends = "{args.scenario.resolve()}"\n'
            f'name = "{sc.name}"\nsteps = 5200\n',
            encoding="utf-8",
        )
        env = viz_server.server_env(
            assets, scenario=long_run, scenarios_dir=long_run.parent, save_dir=Path(tmp) / "saved"
        )
        server = viz_server.start_server(env, Path(tmp) / "server.log")
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
                )
                try:
                    page = browser.new_page(viewport=VIEWPORT)
                    page.set_default_timeout(TIMEOUT_MS)
                    page.goto(server.url + "/", wait_until="load")
                    page.get_by_role("button", name="▶", exact=True).wait_for()
                    wait_settled(page)
                    # the first week also compiles (or loads) the model's Numba kernel
                    t0 = time.monotonic()
                    page.get_by_role("button", name="Step", exact=True).click()
                    page.locator(".kh-week", has_text=re.compile(r"^week 1\b")).wait_for()
                    first_step = time.monotonic() - t0
                    for i in range(args.runs):
                        run = play_once(page, args.seconds, server.proc.pid)
                        runs.append(run)
                        print(
                            f"run {i + 1}: {run.weeks} weeks in {run.seconds:.1f} s = "
                            f"{run.weeks_per_s:.1f} weeks/s, load {run.load:.2f}",
                            file=sys.stderr,
                        )
                finally:
                    browser.close()
        finally:
            viz_server.stop_server(server)
            if "Traceback" in server.log():
                print(server.log()[-3000:], file=sys.stderr)
    text = report(runs, args.seconds, args.scenario.stem, world, load0, first_step)
    print(text)
    if args.output is not None:
        args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
