"""The Dask path: a scheduler address checked, a cluster whose workers run our code.

``--scheduler`` takes a Dask address (``tcp://host:8786``) or ``local-dask``
(a LocalCluster on this machine). Every problem with Dask is a
:class:`DaskUnavailable` with a one-line text.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

from simulation.experiments.fingerprint import code_fingerprint
from simulation.experiments.jobs import Job, Runner
from simulation.experiments.pool import default_workers

__all__ = [
    "LOCAL_DASK",
    "SCHEDULER_ENV",
    "DaskUnavailable",
    "check_scheduler",
    "local_workers",
    "run_on_dask",
]


#: Environment variable with the default ``--scheduler``.
SCHEDULER_ENV = "KHORASAN_SCHEDULER"
#: ``--scheduler`` value that starts a Dask LocalCluster on this machine.
LOCAL_DASK = "local-dask"


class DaskUnavailable(RuntimeError):
    """Dask is not installed, or the scheduler cannot be used; the text is one line."""


def _import_distributed() -> Any:
    """The ``distributed`` package, or DaskUnavailable saying how to install it."""
    try:
        import distributed
    except ImportError:
        raise DaskUnavailable(
            "--scheduler needs Dask: pip install 'khorasan[distributed]'"
        ) from None
    return distributed


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
            "same khorasan version on every worker"
        ) from None
    bad = sorted(w for w, fp in theirs.items() if fp != ours)
    if bad:
        raise DaskUnavailable(
            f"Dask worker {bad[0]} runs other khorasan code (fingerprint "
            f"{theirs[bad[0]]}, here {ours}); install the same khorasan version on every "
            "worker"
        )


def run_on_dask(
    fn: Runner, jobs: Sequence[Job], workers: int, address: str = LOCAL_DASK
) -> Iterator[tuple[int, Any]]:
    """Run the jobs on a Dask cluster: ``address`` or a LocalCluster (``local-dask``)."""
    distributed = _import_distributed()
    cluster = None
    for name in (
        "distributed",
        "distributed.worker",
        "distributed.nanny",
        "distributed.scheduler",
        "distributed.core",
        "distributed.comm",
    ):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        if address == LOCAL_DASK:
            cluster = distributed.LocalCluster(
                n_workers=max(1, workers),
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
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
    usage = (
        "give tcp://HOST:PORT (a running dask-scheduler, often port 8786), "
        "tls://HOST:PORT, inproc://NAME or local-dask"
    )
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
    if (
        not colon
        or not host
        or any(c in host for c in "/ ")
        or not port.isdigit()
        or not 0 < int(port) < 65536
    ):
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
