"""A tensor-parallel point (`parallel.tensor=N`): N torch.distributed ranks, one record.

The runner process resolves the device, checks that N devices are there, links the calibration,
then starts N ranks (`runner.machine.distributed.launch`: spawned processes, rank r on
`cuda:r` with NCCL, or on the CPU with gloo). Every rank runs the same steps of
`runner.measure.point.measure_point` on its shard of the model (loaded with transformers'
tensor-parallel plan): the same seeded prompts, the same warm-up, the same batches. Rank 0 owns
the clock (its decision ends each window), the energy meter (one Zeus window over every GPU of
the point, idle baseline of the same GPUs) and the record, which it hands back to the runner
process. That process writes it only after every rank has exited cleanly, so a point whose rank
failed (killed, out of memory, an error) leaves no record and no raw data, and the failure is
one line naming the rank.
"""

from __future__ import annotations

import pickle
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.config import RunConfig
from runner.errors import PointFailed
from runner.machine.device import resolve_device
from runner.machine.distributed import Ranks, launch
from runner.machine.energy import EnergyMeter
from runner.machine.provenance import utc_now
from runner.workload.models import model_location

if TYPE_CHECKING:
    from runner.measure.point import CalibrationLookup

RECORD_FILE = "rank-0.record.pickle"


def run_tensor_parallel_point(
    config: RunConfig,
    *,
    calibration: CalibrationLookup | None = None,
    meter: EnergyMeter | None = None,
    progress: bool = True,
) -> Path:
    """Benchmark one point on `parallel.tensor` ranks and write its record (see the module
    docstring); return the record's path.

    Args:
        config: the validated run config (`parallel.tensor` above 1).
        calibration: finds (or measures, in this process) the calibration the record links to.
        meter: rank 0's meter instead of Zeus over every GPU of the point (tests; picklable).
        progress: show rank 0's progress bar.

    Raises:
        PointFailed: fewer devices than ranks, or a rank failed (named); nothing was written.
    """
    from runner.measure.point import calibration_for, write_pending

    started_utc = utc_now()
    tensor = config.parallel.tensor
    device = resolve_device(config.backend.device)
    if device == "cuda":
        import torch

        count = torch.cuda.device_count()
        if count < tensor:
            raise PointFailed(
                f"parallel.tensor: expected at most the {count} visible CUDA device(s) "
                f"(CUDA_VISIBLE_DEVICES), got {tensor}; nothing was run"
            )
    calibration_id = calibration_for(config, calibration, device)
    if device == "cuda":
        import torch

        if torch.cuda.is_initialized():  # a calibration ran here: leave GPU 0 to rank 0
            torch.cuda.empty_cache()
    model_location(config.model)  # builds the embedded tiny model once, before the ranks read it
    with tempfile.TemporaryDirectory(prefix="leaderboard-tp-") as folder:
        workdir = Path(folder)
        launch(
            _rank_point,
            (config, calibration_id, started_utc, meter, progress, list(sys.argv), str(workdir)),
            world_size=tensor,
            device=device,
            workdir=workdir,
            what=f"parallel.tensor={tensor}",
        )
        with (workdir / RECORD_FILE).open("rb") as handle:
            pending = pickle.load(handle)
    return write_pending(pending)


def _rank_point(
    ranks: Ranks,
    config: RunConfig,
    calibration_id: str | None,
    started_utc: str,
    meter: EnergyMeter | None,
    progress: bool,
    argv: list[str],
    workdir: str,
) -> None:
    """One rank's share of the point; rank 0 leaves the unwritten record in `workdir`."""
    from runner.measure.point import measure_point

    sys.argv = argv  # provenance records the command that started the point
    pending: Any = measure_point(
        config,
        device=ranks.device,
        calibration_id=calibration_id,
        started_utc=started_utc,
        meter=meter if ranks.leader else None,
        progress=progress and ranks.leader,
        ranks=ranks,
    )
    if ranks.leader:
        with (Path(workdir) / RECORD_FILE).open("wb") as handle:
            pickle.dump(pending, handle)
