"""Points on several devices: torch.distributed ranks that the runner starts and watches.

`launch` starts one process per rank with `torch.multiprocessing` (the spawn start method), each
on its own device (`cuda:<rank>`, or the CPU), joined in one torch.distributed group (NCCL on
CUDA, gloo on CPU) through a file store in a fresh folder, so no port is picked or shared. Every
rank runs the same function with the same arguments; host-side agreement (one rank's decision
taken by all, window edges) goes through a gloo group (`Ranks.control`), so it never queues on a
GPU stream.

A rank that fails, whatever the cause, fails the point: `launch` watches every process, and as
soon as one exits with an error it stops the others and raises one `PointFailed` line that names
the rank that failed first on its own account (killed by a signal, or raised an error), not a
rank that only lost its peers afterwards. A bug on a rank keeps its traceback (a `RuntimeError`
carrying the rank's traceback). Nothing a rank computed is written by `launch`: the caller
writes the point's record only after every rank has exited cleanly.

`RankMeter` is the energy meter every rank holds: rank 0 reads the point's meter (every GPU of
the point in one Zeus window), and at each window edge every rank first synchronizes its own
device and then meets the others, so one window spans the same work on every device.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.errors import PointFailed, UserError
from runner.machine.energy import EnergyMeter, EnergyReading, PowerTimeline

# After the first rank fails, how long (s) the others get to exit on their own (and report why)
# before they are stopped.
GRACE_S = 3.0
# How long (s) a stopped rank gets after SIGTERM before SIGKILL.
STOP_S = 5.0
FAILURE_FILE = "rank-{rank}.failure.json"


@dataclass(frozen=True)
class Ranks:
    """This process's place in a point's torch.distributed group.

    Attributes:
        rank: this process's rank (0 owns the clock, the prompts, the meter and the record).
        world_size: ranks of the point (its devices).
        device: `cuda` (this rank's current CUDA device is `cuda:<rank>`) or `cpu`.
        backend: the torch.distributed backend of the model's collectives (`nccl` or `gloo`).
        control: a gloo process group for host-side agreement.
    """

    rank: int
    world_size: int
    device: str
    backend: str
    control: Any

    @property
    def leader(self) -> bool:
        """True on rank 0."""
        return self.rank == 0

    def share(self, value: Any) -> Any:
        """Rank 0's `value`, on every rank (a picklable object; the others pass anything)."""
        import torch.distributed as dist

        holder = [value if self.leader else None]
        dist.broadcast_object_list(holder, src=0, group=self.control)
        return holder[0]

    def gather(self, value: Any) -> list[Any]:
        """Every rank's `value`, by rank, on every rank."""
        import torch.distributed as dist

        values: list[Any] = [None] * self.world_size
        dist.all_gather_object(values, value, group=self.control)
        return values

    def meet(self) -> None:
        """Wait until every rank has reached this point (after its device has finished)."""
        import torch
        import torch.distributed as dist

        if self.device == "cuda":
            torch.cuda.synchronize()
        dist.barrier(group=self.control)


class RankMeter:
    """One energy meter shared by the ranks of a point (see the module docstring).

    Rank 0 passes the point's meter (every GPU of the point, not synchronized by Zeus: each rank
    synchronizes its own device in `Ranks.meet`); the other ranks pass None and learn from rank
    0 what the meter is (so every rank takes the same idle and energy windows). Their readings
    carry time only; rank 0's are the point's.
    """

    def __init__(self, ranks: Ranks, meter: EnergyMeter | None) -> None:
        self._ranks = ranks
        self._meter = meter if ranks.leader else None
        facts = None
        if ranks.leader:
            assert meter is not None, "rank 0 needs the point's meter"
            facts = {
                "source": meter.source,
                "reason": meter.reason,
                "devices": list(meter.devices),
                "resolution_s": meter.resolution_s,
                "timeline_period_s": meter.timeline_period_s,
                "timeline_reason": meter.timeline_reason,
                "available": meter.available,
            }
        facts = ranks.share(facts)
        self.source: str = facts["source"]
        self.reason: str | None = facts["reason"]
        self.devices: list[str] = facts["devices"]
        self.resolution_s: float = facts["resolution_s"]
        self.timeline_period_s: float | None = facts["timeline_period_s"]
        self.timeline_reason: str | None = facts["timeline_reason"]
        self._available: bool = facts["available"]
        self._starts: dict[str, float] = {}

    @property
    def available(self) -> bool:
        return self._available

    def begin(self, name: str) -> None:
        self._ranks.meet()
        self._starts[name] = time.perf_counter()
        if self._meter is not None:
            self._meter.begin(name)

    def end(self, name: str) -> EnergyReading:
        self._ranks.meet()
        started = self._starts.pop(name)
        if self._meter is not None:
            return self._meter.end(name)
        return EnergyReading(energy_j=None, duration_s=time.perf_counter() - started)

    def power_timeline(self, start: float, end: float) -> PowerTimeline | None:
        return None if self._meter is None else self._meter.power_timeline(start, end)


def _rank_main(
    rank: int,
    world_size: int,
    device: str,
    workdir: str,
    target: Callable[..., None],
    args: tuple[Any, ...],
) -> None:
    """One rank's process: join the group, run `target(ranks, *args)`, report any failure."""
    import torch
    import torch.distributed as dist

    os.environ.update(
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(world_size),
        LOCAL_WORLD_SIZE=str(world_size),
    )
    try:
        backend = "gloo"
        device_id = None
        if device == "cuda":
            backend = "nccl"
            torch.cuda.set_device(rank)
            device_id = torch.device("cuda", rank)
        else:  # the ranks share the CPU: split its cores instead of oversubscribing them
            torch.set_num_threads(max(1, (os.cpu_count() or 1) // world_size))
        dist.init_process_group(
            backend,
            init_method=Path(workdir, "store").resolve().as_uri(),
            rank=rank,
            world_size=world_size,
            device_id=device_id,
        )
        control = dist.new_group(backend="gloo") if backend != "gloo" else dist.group.WORLD
        target(Ranks(rank, world_size, device, backend, control), *args)
        dist.barrier(group=control)  # no rank leaves while another still works
    except UserError as error:
        _report(workdir, rank, "error", str(error))
        sys.exit(1)
    except KeyboardInterrupt:
        _report(workdir, rank, "interrupted", "interrupted")
        sys.exit(1)
    except BaseException as error:
        kind = "lost-peers" if _is_communication_error(error) else "bug"
        _report(workdir, rank, kind, traceback.format_exc())
        sys.exit(1)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def _is_communication_error(error: BaseException) -> bool:
    """True for torch.distributed's own errors (a peer vanished, a collective broke)."""
    import torch.distributed as dist

    kinds = tuple(
        kind
        for kind in (getattr(dist, "DistError", None), getattr(dist, "DistBackendError", None))
        if isinstance(kind, type)
    )
    if kinds and isinstance(error, kinds):
        return True
    text = str(error)
    return any(
        marker in text
        for marker in ("Connection closed by peer", "Connection reset by peer", "Gloo", "NCCL")
    )


def _report(workdir: str, rank: int, kind: str, message: str) -> None:
    path = Path(workdir, FAILURE_FILE.format(rank=rank))
    path.write_text(json.dumps({"rank": rank, "kind": kind, "message": message}))


def launch(
    target: Callable[..., None],
    args: tuple[Any, ...],
    *,
    world_size: int,
    device: str,
    workdir: Path,
    what: str,
) -> None:
    """Run `target(ranks, *args)` on `world_size` ranks and wait for all of them.

    Args:
        target: a module-level function (it is pickled into each spawned process).
        args: picklable arguments, the same for every rank.
        world_size: ranks to start (one per device).
        device: `cuda` (rank r on `cuda:r`, NCCL) or `cpu` (gloo).
        workdir: an empty folder for the rendezvous file and the ranks' failure reports.
        what: the point in words, for the failure line (e.g. `parallel.tensor=2`).

    Raises:
        PointFailed: a rank failed (one line naming it); every rank has been stopped.
        RuntimeError: a rank hit a bug; the message carries that rank's traceback.
    """
    import torch.multiprocessing as mp

    context = mp.start_processes(
        _rank_main,
        args=(world_size, device, str(workdir), target, args),
        nprocs=world_size,
        join=False,
        start_method="spawn",
    )
    processes = list(context.processes)
    stopped: set[int] = set()
    try:
        first_failed = _watch(processes)
    except BaseException:
        _stop(processes, set())
        raise
    if first_failed is None:
        return
    stopped = _stop(processes, {first_failed})
    raise _failure(processes, stopped, first_failed, Path(workdir), world_size, what)


def _watch(processes: list[Any]) -> int | None:
    """Wait until every rank exits (None) or one fails (its rank, after a short grace)."""
    from multiprocessing.connection import wait

    waiting = {process.sentinel: rank for rank, process in enumerate(processes)}
    first_failed: int | None = None
    deadline = float("inf")
    while waiting:
        timeout = None if first_failed is None else max(0.0, deadline - time.monotonic())
        ready = wait(list(waiting), timeout=timeout)
        for sentinel in ready:
            rank = waiting.pop(sentinel)
            processes[rank].join()
            if processes[rank].exitcode != 0 and first_failed is None:
                first_failed = rank
                deadline = time.monotonic() + GRACE_S
        if first_failed is not None and (not ready or time.monotonic() >= deadline):
            break
    return first_failed


def _stop(processes: list[Any], keep: set[int]) -> set[int]:
    """Stop every rank still running (SIGTERM, then SIGKILL); return the ranks stopped."""
    stopped = {rank for rank, p in enumerate(processes) if p.is_alive() and rank not in keep}
    for rank in stopped:
        processes[rank].terminate()
    deadline = time.monotonic() + STOP_S
    for rank in stopped:
        processes[rank].join(max(0.0, deadline - time.monotonic()))
        if processes[rank].is_alive():
            processes[rank].kill()
            processes[rank].join()
    return stopped


def _failure(
    processes: list[Any],
    stopped: set[int],
    first_failed: int,
    workdir: Path,
    world_size: int,
    what: str,
) -> Exception:
    """The error of a failed point: the rank that failed on its own account, in one line."""
    reports: dict[int, dict[str, Any]] = {}
    for rank in range(world_size):
        path = workdir / FAILURE_FILE.format(rank=rank)
        if path.is_file():
            reports[rank] = json.loads(path.read_text())
    failed = [
        rank
        for rank, process in enumerate(processes)
        if rank not in stopped and process.exitcode not in (0, None)
    ]

    def priority(rank: int) -> tuple[int, int]:
        kind = reports.get(rank, {}).get("kind")
        # Died without a word (a signal, os._exit) or raised an error of its own: a cause.
        # Lost its peers: a consequence of another rank's failure.
        order = {None: 0, "error": 1, "bug": 1, "interrupted": 2, "lost-peers": 3}
        return (order.get(kind, 1), 0 if rank == first_failed else 1)

    culprit = min(failed, key=priority) if failed else first_failed
    code = processes[culprit].exitcode
    report = reports.get(culprit)
    tail = f"; {what} failed on all {world_size} ranks and no record was written"
    where = f"{what}: rank {culprit} of {world_size}"
    if report is None:
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return PointFailed(f"{where} was killed by {name}{tail}")
        return PointFailed(f"{where} exited with code {code} without an error report{tail}")
    message = str(report["message"])
    if report["kind"] == "bug":
        return RuntimeError(f"{where} failed{tail}; its traceback:\n{message}")
    first_line = message.strip().splitlines()[-1] if message.strip() else report["kind"]
    if report["kind"] == "lost-peers":
        return PointFailed(f"{where} lost its peers ({first_line}){tail}")
    if report["kind"] == "interrupted":
        return PointFailed(f"{where} was interrupted{tail}")
    return PointFailed(f"{where}: {message}{tail}")
