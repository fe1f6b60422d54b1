"""Ensembles: seeded replicates, serially, on a process pool or on a Dask cluster.

A replicate is described by a picklable :class:`Job`; :func:`run_job` turns
one into a DataFrame. Replicate ``i`` always uses seed ``seed + i``, so
results do not depend on how many workers ran them, nor where. Executors sit
behind :func:`execute`, a registry of small functions (``serial``,
``process``, ``dask``), so callers never depend on where jobs run.

:func:`run_saved` is what the command line uses: it runs only the jobs whose
replicates are not saved yet in a :class:`~simulation.experiments.results.ReplicateStore`,
saves each one as soon as it finishes, and reports replicates that raise
(:class:`Failure`) without stopping the others.

Test hook: if the environment variable ``KHORASAN_FAIL_SEED`` holds a seed
(or several, comma-separated), :func:`run_job` raises ``RuntimeError`` for
those seeds. It exists only so that tests can make one replicate fail.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from tqdm import tqdm

from simulation.scenario.core import Scenario

if TYPE_CHECKING:
    from simulation.experiments.results import ReplicateStore, Workspace

__all__ = [
    "EXECUTORS",
    "FAIL_SEED_ENV",
    "FINGERPRINT_MODULES",
    "LOCAL_DASK",
    "SCHEDULER_ENV",
    "DaskUnavailable",
    "Failure",
    "Job",
    "RunPlan",
    "check_scheduler",
    "code_fingerprint",
    "execute",
    "fingerprint_files",
    "finish_run",
    "load_saved",
    "local_workers",
    "make_jobs",
    "plan_runs",
    "resume_settings",
    "run_ensemble",
    "run_job",
    "run_saved",
]

#: Test hook: seeds (comma-separated) for which :func:`run_job` raises.
FAIL_SEED_ENV = "KHORASAN_FAIL_SEED"
#: Environment variable with the default ``--scheduler``.
SCHEDULER_ENV = "KHORASAN_SCHEDULER"
#: ``--scheduler`` value that starts a Dask LocalCluster on this machine.
LOCAL_DASK = "local-dask"


@dataclass(frozen=True)
class Job:
    """One replicate: a scenario, its seed and the replicate number.

    ``point`` holds the swept parameter values of a sweep job (for messages).
    """

    scenario: Scenario
    seed: int
    replicate: int
    point: tuple[tuple[str, Any], ...] = ()

    def describe(self) -> str:
        """``baseline replicate 3 (seed 4)``, with the sweep point if any."""
        text = f"{self.scenario.name} replicate {self.replicate} (seed {self.seed})"
        if self.point:
            text += " at " + ", ".join(f"{k}={v!r}" for k, v in self.point)
        return text


def make_jobs(scenario: Scenario, replicates: int | None = None,
              seed: int | None = None, point: tuple[tuple[str, Any], ...] = ()) -> list[Job]:
    """Jobs for replicates ``0..n-1`` with seeds ``seed, seed+1, ...``."""
    from simulation.scenario.core import seed_problem

    n = scenario.replicates if replicates is None else replicates
    base = scenario.seed if seed is None else seed
    problem = seed_problem(base, n)
    if problem is not None:
        raise ValueError(f"seed: {problem}")
    return [Job(scenario, base + i, i, point) for i in range(n)]


def _fail_if_asked(seed: int) -> None:
    """The ``KHORASAN_FAIL_SEED`` test hook."""
    wanted = os.environ.get(FAIL_SEED_ENV, "").strip()
    if wanted and str(seed) in {s.strip() for s in wanted.split(",")}:
        raise RuntimeError(f"{FAIL_SEED_ENV}={wanted}: simulated failure of seed {seed}")


def run_job(job: Job) -> pd.DataFrame:
    """Run one replicate; its metrics with ``replicate`` and ``seed`` columns in front."""
    from simulation.model import simulate

    _fail_if_asked(job.seed)
    df = simulate(job.scenario, job.seed, make_views=False)  # views never change results
    df = df.copy()
    df.insert(0, "seed", job.seed)
    df.insert(0, "replicate", job.replicate)
    return df


# --- failures --------------------------------------------------------------------

@dataclass(frozen=True)
class Failure:
    """A job that raised: the job, the error on one line and its traceback."""

    job: Job
    error: str
    traceback: str

    def message(self) -> str:
        """``baseline replicate 3 (seed 4) failed: RuntimeError: ...``."""
        return f"{self.job.describe()} failed: {self.error}"


@dataclass(frozen=True)
class Guarded:
    """Wrap a runner so that an exception comes back as a :class:`Failure`.

    It runs inside the worker, so a failing replicate never stops the others
    and its traceback survives the trip back from another process or machine.
    """

    fn: Callable[[Job], Any]

    def __call__(self, job: Job) -> Any:
        try:
            return self.fn(job)
        except Exception as exc:
            error = " ".join(f"{type(exc).__name__}: {exc}".split())
            return Failure(job, error, traceback.format_exc())


# --- executors ---------------------------------------------------------------------

Runner = Callable[[Job], Any]
Executor = Callable[[Runner, Sequence[Job], int], Iterator[tuple[int, Any]]]


def _serial(fn: Runner, jobs: Sequence[Job], workers: int) -> Iterator[tuple[int, Any]]:
    """Run the jobs one after another in this process."""
    for i, job in enumerate(jobs):
        yield i, fn(job)


#: How often a pool worker checks that the process that started it is still alive.
PARENT_CHECK_SECONDS = 0.5


def _exit_if_orphaned(parent: int) -> None:
    if os.getppid() != parent:  # re-parented: the main process is gone
        os._exit(1)


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(PARENT_CHECK_SECONDS)
        _exit_if_orphaned(parent)


def _worker_init(parent: int) -> None:
    """In each pool worker: end with the main process, however it ends (even SIGKILL).

    On Linux the kernel kills the worker when its parent dies
    (``prctl(PR_SET_PDEATHSIG, SIGKILL)``); everywhere, a daemon thread also
    checks every :data:`PARENT_CHECK_SECONDS` that the parent is still there.
    Without this a killed run's workers (hundreds of MB each) kept running.
    """
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    _exit_if_orphaned(parent)  # the parent may have died before prctl
    threading.Thread(target=_watch_parent, args=(parent,), name="khorasan-parent-watch",
                     daemon=True).start()


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Terminate the pool's worker processes at once (an interrupt, an error)."""
    processes = getattr(pool, "_processes", None) or {}
    for proc in list(processes.values()):
        with contextlib.suppress(OSError, AttributeError, ValueError):
            proc.terminate()


def _process_pool(fn: Runner, jobs: Sequence[Job], workers: int) -> Iterator[tuple[int, Any]]:
    """Run the jobs on a spawn-context process pool, yielding as they finish.

    If the caller stops early (Ctrl-C, SIGTERM, an error while saving), the
    workers are terminated rather than left to finish their replicates; and
    they die with this process if it is killed (:func:`_worker_init`).
    """
    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                               initializer=_worker_init, initargs=(os.getpid(),))
    finished = False
    try:
        pending: dict[Future[Any], int] = {pool.submit(fn, job): i for i, job in enumerate(jobs)}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                yield pending.pop(fut), fut.result()
        finished = True
    finally:
        if not finished:
            _stop_workers(pool)
        pool.shutdown(wait=True, cancel_futures=True)


class DaskUnavailable(RuntimeError):
    """Dask is not installed, or the scheduler cannot be used; the text is one line."""


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise DaskUnavailable(
            "--scheduler needs Dask: pip install 'khorasan[distributed]'") from None
    return distributed


#: The ``simulation`` package's folder, which the paths below are relative to.
PACKAGE = Path(__file__).resolve().parents[1]

#: The source that decides a replicate's results, as paths in the package (a folder
#: means every module in it): the model with its compiled kernel, the parameter
#: table, the scenario loader, the runner and the replicate files (``results``).
FINGERPRINT_MODULES: tuple[str, ...] = (
    "experiments/__init__.py", "experiments/ensemble.py", "experiments/results.py", "model/",
    "scenario/",
)


def fingerprint_files(package: str | os.PathLike[str] | None = None) -> list[Path]:
    """The files that :func:`code_fingerprint` hashes (in ``package``, default this one)."""
    folder = Path(package) if package is not None else PACKAGE
    files: list[Path] = []
    for entry in FINGERPRINT_MODULES:
        path = folder / entry
        files.extend(sorted(path.glob("*.py")) if entry.endswith("/") else [path])
    return files


def code_fingerprint(package: str | os.PathLike[str] | None = None) -> str:
    """A short hash of the source of :data:`FINGERPRINT_MODULES` (in ``package``, default this one).

    The one code fingerprint: Dask workers must run the same code as the
    client (:func:`execute` compares this on every worker), ``--resume``
    refuses replicates saved by other code (it is recorded in the workspace),
    or the same seeds would give results of two versions mixed, and the
    validation caches are keyed by it.
    """
    folder = Path(package) if package is not None else PACKAGE
    h = hashlib.sha256()
    for path in fingerprint_files(folder):
        try:
            source = path.read_bytes()
        except FileNotFoundError:
            source = b"\0missing"
        h.update(path.relative_to(folder).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(source).digest())
    return h.hexdigest()[:12]


def _check_workers(client: Any) -> None:
    """Refuse a cluster whose workers run other khorasan code, or none at all."""
    if not client.scheduler_info().get("workers"):
        try:
            client.wait_for_workers(1, timeout=60)
        except TimeoutError:
            raise DaskUnavailable("no Dask worker joined the scheduler within 60 s") from None
    ours = code_fingerprint()
    try:
        theirs = client.run(code_fingerprint)
    except Exception as exc:  # e.g. khorasan not installed on a worker
        raise DaskUnavailable(
            f"Dask workers cannot run khorasan ({type(exc).__name__}: {exc}); install the "
            "same khorasan version on every worker") from None
    bad = sorted(w for w, fp in theirs.items() if fp != ours)
    if bad:
        raise DaskUnavailable(
            f"Dask worker {bad[0]} runs other khorasan code (fingerprint "
            f"{theirs[bad[0]]}, here {ours}); install the same khorasan version on every "
            "worker")


def _dask(fn: Runner, jobs: Sequence[Job], workers: int, address: str = LOCAL_DASK
          ) -> Iterator[tuple[int, Any]]:
    """Run the jobs on a Dask cluster: ``address`` or a LocalCluster (``local-dask``)."""
    distributed = _import_distributed()
    cluster = None
    for name in ("distributed", "distributed.worker", "distributed.nanny",
                 "distributed.scheduler", "distributed.core", "distributed.comm"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        if address == LOCAL_DASK:
            cluster = distributed.LocalCluster(
                n_workers=max(1, workers), threads_per_worker=1, processes=True,
                host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR)
            client = distributed.Client(cluster)
        else:
            client = distributed.Client(address, timeout="30s")
    except (OSError, TimeoutError) as exc:
        if cluster is not None:
            cluster.close()
        raise DaskUnavailable(f"--scheduler {address}: cannot connect: {exc}") from None
    try:
        _check_workers(client)
        futures = client.map(fn, list(jobs), pure=False)
        index = {fut.key: i for i, fut in enumerate(futures)}
        try:
            for fut in distributed.as_completed(futures):
                try:
                    result = fut.result()
                except Exception as exc:  # the cluster, not the model: fn catches those
                    text = " ".join(str(exc).split())
                    raise DaskUnavailable(
                        f"--scheduler {address}: Dask could not run "
                        f"{jobs[index[fut.key]].describe()}: {type(exc).__name__}: {text} "
                        "(the scheduler and every worker need the same khorasan installed)"
                    ) from None
                yield index[fut.key], result
        finally:
            client.cancel([f for f in futures if not f.done()])
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


#: Named executors; each maps (runner, jobs, workers) to (index, result) pairs.
EXECUTORS: dict[str, Executor] = {"serial": _serial, "process": _process_pool, "dask": _dask}


#: Dask's communication schemes whose addresses are HOST:PORT.
_HOST_PORT_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx")


def check_scheduler(address: str) -> None:
    """Refuse (ValueError, one line) what Dask cannot read as a scheduler address.

    Accepted: ``local-dask``, ``tcp://HOST:PORT`` (or ``HOST:PORT``, which
    Dask reads as tcp), ``tls://``, ``ws://``, ``wss://`` and ``ucx://HOST:PORT``,
    and ``inproc://ANYTHING``. Nothing is imported or contacted.
    """
    if address == LOCAL_DASK:
        return
    usage = ("give tcp://HOST:PORT (a running dask-scheduler, often port 8786), "
             "tls://HOST:PORT, inproc://NAME or local-dask")
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "tcp", address
    if scheme == "inproc":
        if not rest:
            raise ValueError(f"{address!r} names no inproc address; {usage}")
        return
    if scheme not in _HOST_PORT_SCHEMES:
        raise ValueError(f"{address!r}: unknown scheme {scheme!r}; {usage}")
    host, colon, port = rest.rpartition(":")
    if host.startswith("[") and host.endswith("]"):  # IPv6: [::1]:8786
        host = host[1:-1]
    if not colon or not host or any(c in host for c in "/ ") or not port.isdigit() \
            or not 0 < int(port) < 65536:
        raise ValueError(f"{address!r} is not a Dask scheduler address; {usage}")


def local_workers(workers: int, scheduler: str | None) -> tuple[int, int | None]:
    """Worker processes to start on this machine, and the count asked if it was cut.

    0 means one per CPU; more than the CPUs available is cut to their
    number (oversubscribed workers only slow each other down). A remote
    scheduler (not ``local-dask``) starts none here: 0.
    """
    if scheduler and scheduler != LOCAL_DASK:
        return (workers, None)
    cpus = default_workers()
    if workers <= 0:
        return (min(2, cpus) if scheduler == LOCAL_DASK else cpus), None
    if workers > cpus:
        return cpus, workers
    return workers, None


def default_workers() -> int:
    """One worker per available CPU."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def execute(jobs: Sequence[Job], workers: int = 1, progress: bool = True,
            fn: Runner = run_job, executor: str | None = None,
            desc: str = "replicates", *, scheduler: str | None = None,
            on_result: Callable[[int, Any], None] | None = None,
            keep_going: bool = False, done: int = 0) -> list[Any]:
    """Run ``fn`` on every job and return the results in job order.

    ``workers=1`` (or a single job) runs serially in this process, otherwise
    on a process pool; with ``scheduler`` (a Dask address such as
    ``tcp://host:8786``, or ``local-dask``) on a Dask cluster. The results
    are the same in every case. ``progress`` shows a tqdm bar with ETA on
    stderr; ``done`` jobs finished earlier count toward it. ``on_result(i,
    result)`` is called in this process as each job finishes. With
    ``keep_going`` a job that raises gives a :class:`Failure` as its result
    instead of stopping the rest.
    """
    if scheduler:
        runner: Executor = functools.partial(_dask, address=scheduler)
        if scheduler == LOCAL_DASK and workers < 1:
            workers = 2
    else:
        workers = max(1, min(workers, len(jobs))) if jobs else 1
        runner = EXECUTORS[executor or ("serial" if workers == 1 else "process")]
    call = Guarded(fn) if keep_going else fn
    results: list[Any] = [None] * len(jobs)
    if not jobs:
        return results
    bar = tqdm(total=len(jobs) + done, initial=done, desc=desc, unit="run", file=sys.stderr,
               disable=not progress, dynamic_ncols=True)
    with bar:
        for i, result in runner(call, jobs, workers):
            results[i] = result
            if on_result is not None:
                on_result(i, result)
            bar.update(1)
    return results


def run_saved(batches: Sequence[tuple[ReplicateStore, Sequence[Job]]], workers: int = 1,
              progress: bool = True, desc: str = "replicates",
              scheduler: str | None = None,
              report: Callable[[str], None] | None = None) -> list[Failure]:
    """Run every job not yet saved in its store, saving each result as it arrives.

    ``batches`` pairs a :class:`~simulation.experiments.results.ReplicateStore` with
    its jobs. A job that raises is reported (``report``, default: a line
    above the progress bar) and its traceback saved next to where its result
    would be; the others still run. Returns the failures, in job order.
    """
    todo = [(store, job) for store, jobs in batches for job in jobs
            if not store.has(job.scenario, job.seed)]
    total = sum(len(jobs) for _, jobs in batches)
    failures: dict[int, Failure] = {}
    say = report or (lambda text: tqdm.write(text, file=sys.stderr))
    for store in {id(store): store for store, _ in batches}.values():
        for path, why in store.redo.items():  # saved files that did not verify
            say(f"{path}: {why}; running that replicate again")

    def save(i: int, result: Any) -> None:
        store, job = todo[i]
        if isinstance(result, Failure):
            store.save_error(job.scenario, job.seed, f"{result.message()}\n\n{result.traceback}")
            failures[i] = result
            say(result.message())
        else:
            store.save(job.scenario, job.seed, result)

    execute([job for _, job in todo], workers, progress, desc=desc, scheduler=scheduler,
            on_result=save, keep_going=True, done=total - len(todo))
    return [failures[i] for i in sorted(failures)]


def load_saved(store: ReplicateStore, jobs: Sequence[Job]) -> pd.DataFrame:
    """The saved replicates of ``jobs``, stacked in replicate order."""
    frames = []
    for job in jobs:
        df = store.load(job.scenario, job.seed)
        df["replicate"] = job.replicate  # the file is named by seed; numbering may differ
        frames.append(df)
    return concat_results(frames)


# --- runs saved to run directories (what the command line does) ---------------------

@dataclass
class RunPlan:
    """A scenario to run into ``target`` (a run directory), with its saved replicates.

    ``workspace`` is None when ``--resume`` found ``target`` already complete.
    """

    scenario: Scenario
    target: Path
    jobs: list[Job]
    workspace: Workspace | None
    reused: int = 0  # replicates already saved by an earlier, interrupted run

    @property
    def pending(self) -> bool:
        """Whether the run directory still has to be written."""
        return self.workspace is not None


def resume_settings(scenario: Scenario, extra: Mapping[str, Any] | None = None
                    ) -> dict[str, Any]:
    """What saved replicates must share to be resumed: code, scenario, seeds (and ``extra``).

    Recorded in the workspace (:meth:`~simulation.experiments.results.Workspace.open`),
    which refuses to resume with anything different and says what differs.
    The description and name are left out: they change no result.
    """
    from simulation.experiments.results import event_record

    return {
        "code": code_fingerprint(),
        "scenario.start_date": scenario.start_date.isoformat(),
        "scenario.steps": scenario.steps,
        "scenario.seed": scenario.seed,
        "scenario.replicates": scenario.replicates,
        **dict(scenario.params),
        "events": [event_record(scenario, ev) for ev in scenario.events],
        "regions": [vars(r).copy() for r in scenario.regions],
        **dict(extra or {}),
    }


def plan_runs(scenarios: Sequence[Scenario], out: str | os.PathLike[str], *,
              resume: bool = False, force: bool = False,
              report: Callable[[str], None] | None = None) -> list[RunPlan]:
    """Check every run directory first, then open (and lock) their workspaces.

    Raises :class:`~simulation.experiments.results.ResultsError` (one line) before
    anything is written if any target may not be written. With ``resume``,
    a run directory of the same scenario whose files do not match their
    hashes is renamed ``NAME.damaged-TAG`` (``report``, default stderr,
    says so) and run again.
    """
    from simulation.experiments.results import (
        ResultsError,
        Workspace,
        partial_dir_for,
        prepare_target,
        run_damage,
        run_dir_for,
        run_is_complete,
        set_aside,
    )

    targets = []
    damaged = []
    for sc in scenarios:
        target = run_dir_for(out, sc)
        complete = resume and run_is_complete(target, sc)
        damage = run_damage(target, sc) if resume and not complete and not force else None
        if damage is not None:
            damaged.append((target, damage))
        todo = damage is not None or prepare_target(target, resume=resume, force=force,
                                                    complete=complete)
        targets.append((sc, target, todo))
    say = report or (lambda text: print(text, file=sys.stderr))
    for target, damage in damaged:
        say(f"{damage}; kept as {set_aside(target)} and running it again (--resume)")
    for sc, target, todo in targets:
        if not todo and partial_dir_for(target).is_dir():
            # killed after writing the run but before dropping its workspace: the saved
            # replicates (same code and settings, else they stay) are in the run already
            with contextlib.suppress(ResultsError):
                Workspace(target).open(resume=True, force=False,
                                       settings=resume_settings(sc)).remove()
    plans: list[RunPlan] = []
    try:
        for sc, target, todo in targets:
            ws = (Workspace(target).open(resume=resume, force=force,
                                         settings=resume_settings(sc)) if todo else None)
            jobs = make_jobs(sc)
            reused = sum(ws.store.has(sc, j.seed) for j in jobs) if ws is not None else 0
            plans.append(RunPlan(sc, target, jobs, ws, reused))
    except BaseException:
        for plan in plans:
            if plan.workspace is not None:
                plan.workspace.close()
        raise
    return plans


def finish_run(plan: RunPlan, *, timings: Mapping[str, Any] | None = None,
               command: Sequence[str] | None = None, force: bool = False) -> Path:
    """Write the run directory from the saved replicates, then drop the workspace."""
    from simulation.experiments.results import write_run

    assert plan.workspace is not None
    ts = load_saved(plan.workspace.store, plan.jobs)
    timings = {**(timings or {}), "replicates_reused": plan.reused}
    run_dir = write_run(plan.target.parent, plan.scenario, ts, timings=timings,
                        command=command, force=force)
    plan.workspace.remove()
    return run_dir


def concat_results(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Stack replicate frames, ordered by replicate then step."""
    df = pd.concat(list(frames), ignore_index=True)
    return df.sort_values(["replicate", "step"], kind="stable").reset_index(drop=True)


def run_ensemble(scenario: Scenario, replicates: int | None = None, seed: int | None = None,
                 workers: int = 1, progress: bool = True,
                 scheduler: str | None = None) -> pd.DataFrame:
    """Run ``replicates`` seeded replicates (defaults from the scenario) and stack them.

    The result has columns ``replicate``, ``seed``, ``step``, ``date`` and
    every metric, one row per replicate and step, and is the same whatever
    ``workers`` or ``scheduler`` is.
    """
    jobs = make_jobs(scenario, replicates, seed)
    return concat_results(execute(jobs, workers, progress, desc=scenario.name,
                                  scheduler=scheduler))
