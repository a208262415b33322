"""The ``ray`` executor: a build's parallel stages as Ray tasks, on one machine or a cluster.

``pip install "corpuspack[ray]"``, then ``corpuspack build --executor ray`` starts a local
Ray instance for the build (as many CPUs as ``--workers``, default all) and stops it after;
``--ray-address HOST:PORT`` (or ``auto``) joins a cluster started beforehand with ``ray start
--head`` and leaves it running. Each task of a stage (a batch of source files, a run to
refine) is one Ray task needing one CPU; at most two per CPU of the cluster are in flight,
so a long list of tasks is not submitted at once. Results come back as tasks finish and the
build sums or sorts them, so the output is byte-identical to the local executor's.

What the tasks read and write are paths: the sources and the build's work folder. On one
machine that is nothing to arrange; on a cluster every node must see them at the same path
(a shared file system such as NFS mounted alike everywhere), and corpuspack must be
installed on every node (the same version: workers import it).

Peers run the same way: NeMo Curator, Data-Juicer and datatrove all map their per-document
stages over Ray tasks or Ray Data.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from corpuspack.errors import CorpusError, UsageError

T = TypeVar("T")
R = TypeVar("R")


class RayExecutor:
    """Run tasks on Ray (see the module docstring). ``close()`` stops a Ray instance this
    executor started (not a cluster it joined).

    An exception while a map runs (a task's error, Ctrl-C) stops a local instance this
    executor started, and every task with it (the next map starts a new one); on a cluster
    joined, the map's unfinished tasks are cancelled (``ray.cancel(force=True)``)."""

    name = "ray"

    def __init__(self, workers: int | None = None, address: str | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise UsageError("the ray executor needs Ray: pip install \"corpuspack[ray]\""
                             ) from None
        self._ray = ray
        self._started = False
        self._address = address
        self._options: dict[str, Any] | None = None
        if not ray.is_initialized():
            # no dashboard, no log forwarding, no usage reporting, no token file: a build
            # must not reach the network or leave services behind
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            os.environ.setdefault("RAY_AUTH_MODE", "disabled")
            options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                       "configure_logging": False}
            if address:
                options["address"] = address
            else:
                from corpuspack.executors import default_workers

                options["num_cpus"] = workers or default_workers()
            self._options = options
            self._init()
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self._workers = max(1, min(workers, cpus) if workers else cpus)

    def _init(self) -> None:
        assert self._options is not None
        try:
            self._ray.init(**self._options)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = (f"the Ray cluster at {self._address}" if self._address
                     else "a local Ray instance")
            raise CorpusError(f"cannot start or join {where}: "
                              f"{str(exc).strip().splitlines()[0]}") from None
        self._started = self._address is None

    @property
    def workers(self) -> int:
        return self._workers

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        ray = self._ray
        if self._options is not None and not self._address and not ray.is_initialized():
            self._init()  # the local instance, stopped when an earlier map was interrupted
        remote = ray.remote(num_cpus=1, max_retries=0)(fn)
        pending: list[Any] = []
        try:
            for item in items:
                pending.append(remote.remote(item))
                if len(pending) >= 2 * self._workers:
                    done, pending = ray.wait(pending, num_returns=1)
                    yield self._get(done[0])
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                yield self._get(done[0])
        except BaseException:
            if self._started:
                # a local instance: stopping it stops every task at once. Cancelling them
                # one by one raced with their completion in Ray 2.60: of 11 builds stopped
                # by Ctrl-C while their tasks ran, 2 aborted ("Tried to complete task that
                # was not pending"); another build hung
                self.close()
            else:
                for ref in pending:
                    ray.cancel(ref, force=True)
            raise

    def _get(self, ref: Any) -> Any:
        ray = self._ray
        try:
            return ray.get(ref)
        except ray.exceptions.RayTaskError as exc:
            cause = getattr(exc, "cause", None)
            if isinstance(cause, BaseException):
                raise cause from None
            raise CorpusError(f"a Ray task failed: {str(exc).splitlines()[0]}") from None
        except ray.exceptions.RayError as exc:
            raise CorpusError(f"a Ray worker failed (killed, or its node lost): "
                              f"{type(exc).__name__}") from None

    def close(self) -> None:
        """Stop the local Ray instance if this executor started it."""
        if self._started and self._ray.is_initialized():
            self._ray.shutdown()
        self._started = False
