"""Where batch jobs run: in this process, one after another, or as Ray tasks on a local Ray instance or a cluster.

Both runners take the same jobs — (key, function, arguments) — and yield (key, result) as each finishes, in the
order they finish; the caller (the driver) alone writes files and manifests, so a job's result reaches disk only
through it. A job reports bad input in its result; what a runner raises or yields as `Lost` is a job that never
finished: a Ray worker that died more often than the retries allow, or a task cancelled.

Ray (an optional extra: `pip install texinr[ray]`) is imported only here. Each task asks for the CPUs its job
trains with (`num_cpus`), so Ray never runs more jobs at once than the cluster has cores for, and its worker
process limits torch to those threads. Tasks are submitted through a window (a few per CPU), so a library of
100,000 textures is never 100,000 task specs in flight at once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from texinr.trainer.core.arguments import nonneg_int, positive_int
from texinr.trainer.core.errors import TexinrError

DEFAULT_RETRIES = 2
"""A task whose worker process dies is run again at most this many times (Ray's max_retries)."""
LOCAL_OBJECT_STORE_BYTES = 256 * 1024**2
"""Object store of a local Ray instance started for a run: jobs pass paths in and small model files out."""
WINDOW_PER_CPU = 2


@dataclass(frozen=True)
class Lost:
    """A job that did not finish (its worker died past the retries, or it was cancelled): why, in one line."""

    reason: str


@dataclass(frozen=True)
class Job:
    key: str
    fn: Callable
    args: tuple


class InProcess:
    """Jobs run here, one after another (torch uses the threads each job's config asks for)."""

    name = "in-process"

    def __init__(self) -> None:
        self.cpus = os.cpu_count() or 1

    def run(self, jobs: list[Job], cpus: int) -> Iterator[tuple[str, object]]:
        for job in jobs:
            yield job.key, job.fn(*job.args)

    def close(self) -> None:
        pass


def check_address(address: str) -> None:
    """Fail in one line, at once, when a host:port (or ray://host:port) address does not answer."""
    if address == "auto":
        return
    hostport = address.split("://", 1)[-1].rstrip("/")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise TexinrError(f"Ray address {address!r}: expected HOST:PORT, ray://HOST:PORT or auto")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=5):
            pass
    except OSError as e:
        raise TexinrError(f"cannot reach a Ray cluster at {address} ({e.strerror or e})") from None


class OnRay:
    """Jobs run as Ray tasks: on the cluster at `address`, or on a local Ray instance with `cpus` CPUs started for
    this run (and stopped after it)."""

    name = "ray"

    def __init__(self, address: str | None = None, cpus: int | None = None, retries: int = DEFAULT_RETRIES):
        try:
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            import ray  # optional: the 'ray' extra, and only for --ray
        except ImportError:
            raise TexinrError("Ray is not installed; pip install 'texinr[ray]' (or run without --ray)") from None
        if address is not None:
            check_address(address)
        kwargs = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.ERROR}
        if address is None:
            kwargs |= {"num_cpus": cpus or os.cpu_count() or 1, "object_store_memory": LOCAL_OBJECT_STORE_BYTES}
        try:
            with _quiet_stdio():  # Ray's C++ client logs each failed attempt to reach a cluster on fd 2
                ray.init(address=address, **kwargs)
            _condense_ray_errors(ray)
        except Exception as e:  # Ray raises ConnectionError, RuntimeError, ValueError … for a cluster it cannot use
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise TexinrError(f"Ray did not start{' at ' + address if address else ''}: {first}") from None
        self.ray = ray
        self.retries = retries
        self.cpus = int(ray.cluster_resources().get("CPU", 1))

    def run(self, jobs: list[Job], cpus: int) -> Iterator[tuple[str, object]]:
        ray = self.ray
        if cpus > self.cpus:
            raise TexinrError(f"each job asks for {cpus} CPUs; the Ray cluster has {self.cpus}")
        todo = list(reversed(jobs))
        pending: dict = {}
        remotes: dict = {}
        window = max(WINDOW_PER_CPU * self.cpus // cpus, 2)
        try:
            while todo or pending:
                while todo and len(pending) < window:
                    job = todo.pop()
                    remote = remotes.get(job.fn)
                    if remote is None:
                        remote = remotes[job.fn] = ray.remote(
                            num_cpus=cpus, max_retries=self.retries, retry_exceptions=False
                        )(job.fn)
                    pending[remote.remote(*job.args)] = job.key
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    key = pending.pop(ref)
                    try:
                        result = ray.get(ref)
                    except ray.exceptions.WorkerCrashedError:
                        result = Lost(f"its worker process died {self.retries + 1} times")
                    except ray.exceptions.TaskCancelledError:
                        result = Lost("cancelled")
                    except ray.exceptions.RayError as e:
                        result = Lost(f"Ray: {str(e).strip().splitlines()[0][:200]}")
                    yield key, result
        finally:  # Ctrl-C, or the caller stopped early: nothing keeps running for a result no one will read
            for ref in pending:
                ray.cancel(ref, force=True)

    def close(self) -> None:
        self.ray.shutdown()


@contextlib.contextmanager
def _quiet_stdio():
    """File descriptors 1 and 2 pointed at /dev/null while Ray starts (what matters comes back as an exception)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)


def _condense_ray_errors(ray) -> None:
    """The driver prints what the cluster reports (a worker that died, a task retried) as a paragraph of advice;
    here each becomes one line, its first sentence, on stderr."""
    import ray._private.worker as ray_worker  # optional: the 'ray' extra, and only for --ray

    if not hasattr(ray_worker, "print_to_stdstream"):
        return

    def one_line(data: dict, ignore_prefix: bool = False) -> None:
        for text in data.get("lines", []):
            sentences = [x.strip().rstrip(".") for x in str(text).strip().split(". ") if x.strip()]
            said = [x for i, x in enumerate(sentences) if i == 0 or "retr" in x.lower()]
            if said:
                print(f"ray: {'; '.join(said)}", file=sys.stderr, flush=True)

    ray_worker.print_to_stdstream = one_line


def runner(ray_address: str | None, use_ray: bool, cpus: int | None = None, retries: int = DEFAULT_RETRIES):
    """The runner a command line asks for: in-process, or Ray (local when `ray_address` is None)."""
    return OnRay(ray_address, cpus, retries) if use_ray else InProcess()


@dataclass(frozen=True)
class RaySettings:
    """What a command line said about Ray (add_ray_arguments / ray_settings)."""

    use: bool = False
    address: str | None = None  # None: a local instance started for the run
    cpus: int | None = None  # the local instance's CPUs (None: every core)
    retries: int = DEFAULT_RETRIES

    def runner(self):
        return runner(self.address, self.use, self.cpus, self.retries)


def add_ray_arguments(p, what: str = "texture") -> None:
    """--ray [ADDRESS], --ray-cpus, --retries: one definition for every command that can run on Ray."""
    g = p.add_argument_group("distributed (Ray: pip install 'texinr[ray]')")
    g.add_argument(
        "--ray",
        nargs="?",
        const="",
        metavar="ADDRESS",
        help=f"one Ray task per {what}: on the cluster at ADDRESS (HOST:PORT, ray://HOST:PORT, auto), or on a local "
        "Ray instance started for the run",
    )
    g.add_argument("--ray-cpus", type=positive_int, help="CPUs of the local Ray instance (all cores)")
    g.add_argument(
        "--retries",
        type=nonneg_int,
        default=DEFAULT_RETRIES,
        help=f"runs again of a task whose worker died ({DEFAULT_RETRIES})",
    )


def ray_settings(a) -> RaySettings:
    if a.ray_cpus is not None and (a.ray is None or a.ray):
        raise TexinrError("--ray-cpus sizes a local Ray instance: use it with --ray and no address")
    return RaySettings(a.ray is not None, a.ray or None, a.ray_cpus, a.retries)
