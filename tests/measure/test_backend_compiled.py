"""The `compiled` backend (static KV cache + torch.compile): same greedy tokens as `eager`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.cli import main
from runner.compose import compose_run_config, hydra_context
from runner.errors import ConfigError
from runner.records.load import scan_results


def test_compiled_needs_full_batches_and_a_warmup() -> None:
    with hydra_context():
        with pytest.raises(ConfigError, match="num_prompts: expected a multiple of batch_size"):
            compose_run_config(["backend=compiled", "batch_size=4", "num_prompts=6"])
        with pytest.raises(ConfigError, match="warmup_batches: expected at least 1"):
            compose_run_config(["backend=compiled", "warmup_batches=0"])
        config = compose_run_config(["backend=compiled", "batch_size=4", "num_prompts=8"])
    assert config.backend.name == "compiled"
    assert config.backend.compile_mode == "reduce-overhead"


@pytest.mark.slow
def test_compiled_and_eager_generate_identical_greedy_tokens(tmp_path: Path) -> None:
    """Same prompts, float32, greedy: the two backends give the same responses, token counts
    and texts; the compiled record reports its compile time separately."""
    common = [
        "experiment=demo",
        "task=instruct",
        "num_prompts=4",
        "batch_size=2",
        "repeats=1",
        "task.max_new_tokens=12",
        "idle_seconds=0",
        "calibrate=false",
        "--no-progress",
    ]
    overrides = [c for c in common if c != "--no-progress"]
    for backend in ("eager", "compiled"):
        code = main(
            [
                "run",
                "--no-progress",
                *overrides,
                f"backend={backend}",
                "backend.device=cpu",
                f"results_dir={tmp_path}",
            ]
        )
        assert code == 0
    records = {r.identity.backend: (p, r) for p, r in scan_results(tmp_path).records}
    assert set(records) == {"eager", "compiled"}

    def responses(backend: str) -> dict[str, tuple[int, str]]:
        path, record = records[backend]
        rows = [json.loads(line) for line in (path.parent / record.raw_data.file).open()]
        return {row["prompt_id"]: (row["response_tokens"], row["response_text"]) for row in rows}

    assert responses("compiled") == responses("eager")
    compiled = records["compiled"][1]
    assert compiled.summary.compile_time_s is not None
    assert 0 < compiled.summary.compile_time_s <= compiled.summary.warmup_time_s
    assert records["eager"][1].summary.compile_time_s is None
    assert compiled.task.prompt_ids == records["eager"][1].task.prompt_ids
