"""Which share of a sweep's grid points this process computes: one process, or several.

Several processes split the grid points of one sweep, point ``i`` going to process
``i % num_processes``, and all write into one output folder. They either form one
``jax.distributed`` job (a coordinator; on SLURM, and the other clusters JAX detects, every
setting is read from the environment) or run independently, each told its ``process_id`` and
the ``num_processes`` (a job array, machines without a common network): the store needs no
coordinator, only a shared file system with working ``flock``.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from typing import Any

import jax

from .._checks import check_int

__all__ = ["Processes", "processes"]


@dataclasses.dataclass(frozen=True)
class Processes:
    """This process's place in a sweep: ``index`` of ``count``; ``coordinated``: one JAX job."""

    index: int = 0
    count: int = 1
    coordinated: bool = False

    def owns(self, i: int) -> bool:
        """Whether the grid point at position ``i`` is this process's to compute.

        Example:
            >>> [i for i in range(7) if Processes(index=1, count=3).owns(i)]
            [1, 4]
        """
        return i % self.count == self.index

    def barrier(self, name: str, timeout_s: float = 24 * 3600.0) -> None:
        """Wait until every process of a coordinated job reaches ``name`` (no-op otherwise)."""
        if not self.coordinated or self.count == 1:
            return
        from jax._src import distributed

        client = distributed.global_state.client
        wait = getattr(client, "wait_at_barrier", None)
        if wait is None:  # pragma: no cover - shut down in between, or another JAX
            warnings.warn(
                "jax.distributed offers no barrier here: this process returns without waiting "
                "for the others' points",
                RuntimeWarning,
                stacklevel=3,
            )
            return
        wait(name, int(timeout_s * 1000))


def _backends_initialized() -> bool:
    from jax._src import xla_bridge

    return bool(xla_bridge.backends_are_initialized())


def processes(
    *,
    coordinator_address: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    distributed: bool | None = None,
) -> Processes:
    """This process's share of a sweep, starting ``jax.distributed`` when asked to.

    Args:
        coordinator_address: ``"host:port"`` of process 0's coordinator: start
            ``jax.distributed`` with it (``num_processes``/``process_id`` given, or detected).
        num_processes: the number of processes sharing the grid.
        process_id: this process's number, ``0 <= process_id < num_processes``.
        distributed: ``True``: start ``jax.distributed`` (``jax.distributed.initialize()``,
            which reads unset settings from SLURM, Open MPI, Kubernetes or Cloud TPU);
            ``False``: ignore it, this process computes every point unless
            ``num_processes``/``process_id`` are given; ``None`` (default): use
            ``jax.distributed`` when it is already running or a ``coordinator_address`` is
            given, else split by ``num_processes``/``process_id`` when given, else compute
            every point.

    Without a coordinator, ``num_processes`` and ``process_id`` go together: each process
    computes its share and returns without waiting for the others.
    """
    if distributed is not None and not isinstance(distributed, bool):
        raise TypeError(f"distributed must be True, False or None, got distributed={distributed!r}")
    if num_processes is not None:
        num_processes = check_int(num_processes, "num_processes", ge=1)
    if process_id is not None:
        process_id = check_int(process_id, "process_id", ge=0)
    if coordinator_address is not None and not isinstance(coordinator_address, str):
        raise TypeError(
            "coordinator_address must be a 'host:port' string, got "
            f"coordinator_address={coordinator_address!r}"
        )
    if distributed is False and coordinator_address is not None:
        raise ValueError(
            f"distributed=False contradicts coordinator_address={coordinator_address!r}"
        )
    running = jax.distributed.is_initialized()
    if (
        distributed is not False
        and not running
        and (distributed is True or coordinator_address is not None)
    ):
        if _backends_initialized():
            raise RuntimeError(
                "jax.distributed can only start before JAX has run anything in this process, "
                "and it already has (e.g. the key was made with jax.random.key): call "
                "jax.distributed.initialize(...) at the top of the script instead, or split "
                "the grid without a coordinator by num_processes= and process_id="
            )
        jax.distributed.initialize(
            coordinator_address=coordinator_address,
            num_processes=num_processes,
            process_id=process_id,
        )
        running = True
    if running and distributed is not False:
        index, count = jax.process_index(), jax.process_count()
        for name, given, actual in (
            ("num_processes", num_processes, count),
            ("process_id", process_id, index),
        ):
            if given is not None and given != actual:
                raise ValueError(
                    f"{name}={given} but jax.distributed runs this process as {name}={actual}"
                )
        return Processes(index=index, count=count, coordinated=True)
    if num_processes is None and process_id is None:
        return Processes()
    if num_processes is None or process_id is None:
        raise ValueError(
            "without a coordinator give both num_processes and process_id, got "
            f"num_processes={num_processes!r}, process_id={process_id!r}"
        )
    if process_id >= num_processes:
        raise ValueError(
            f"process_id must be < num_processes, got process_id={process_id}, "
            f"num_processes={num_processes}"
        )
    return Processes(index=process_id, count=num_processes)


def describe(p: Processes) -> dict[str, Any]:
    """The run-record fields of a share: empty for one process."""
    if p.count == 1:
        return {}
    return {
        "process": p.index,
        "processes": p.count,
        "coordinated": p.coordinated,
        "host": os.uname().nodename if hasattr(os, "uname") else None,
    }
