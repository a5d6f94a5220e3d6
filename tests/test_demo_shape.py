"""`make demo` has a shape: the sweep its recipe runs gives every board (task on this machine)
at least 3 models of different sizes and at least 2 batch sizes, offline, on the CPU, and the eval
covers every model.

The recipe is read from the Makefile itself and each point is composed with Hydra, as
`leaderboard run -m` composes it (nothing is run: `make demo` itself takes minutes; its measured
time is in benchmarks/RESULTS.md).
"""

from __future__ import annotations

import re
import shlex
from collections import defaultdict
from pathlib import Path

from runner.compose import compose_run_config, expand_sweep, hydra_context

REPO = Path(__file__).resolve().parent.parent


def demo_commands(verb: str) -> list[list[str]]:
    """The overrides of each `leaderboard <verb> -m` line of the demo recipe."""
    text = (REPO / "Makefile").read_text()
    tasks = re.search(r"^TASKS := (.+)$", text, re.M).group(1).strip()
    recipe = re.search(r"^demo:.*\n((?:\t.*\n)+)", text, re.M).group(1)
    commands = []
    for line in recipe.splitlines():
        words = shlex.split(line.strip().replace("$(TASKS)", tasks))
        if f"{verb}" in words and "-m" in words and any(w.endswith("leaderboard") for w in words):
            commands.append(words[words.index("-m") + 1 :])
    return commands


def test_every_demo_board_gets_three_models_and_two_batch_sizes():
    runs = demo_commands("run")
    assert runs, "the demo recipe runs no sweep"
    models: dict[str, set[str]] = defaultdict(set)
    sizes: dict[str, set[int]] = defaultdict(set)
    backends: set[str] = set()
    caps: set[int] = set()
    configs = {}
    with hydra_context():
        for overrides in runs:
            for job in expand_sweep(overrides):
                config = compose_run_config(job)
                assert config.backend.device == "cpu"
                assert config.model.source in ("tiny-random", "random-init")  # offline
                assert config.results_dir == "demo/results"
                backends.add(config.backend.name)
                if config.scenario.name == "steady":
                    caps.add(config.scenario.max_num_seqs)
                    continue  # a steady point has a batch cap, not a batch size
                models[config.task.name].add(config.model.name)
                sizes[config.task.name].add(config.batch_size)
                configs[config.model.name] = config.model
    assert set(models) == {"chat", "chat-concise", "instruct", "instruct-concise"}
    for task in models:
        assert len(models[task]) >= 3, task
        assert len(sizes[task]) >= 2, task
    assert {1, 4, 8} <= set.union(*sizes.values())
    assert backends == {"eager", "compiled"}
    assert len(caps) >= 2  # the steady scenario's rows on the demo site, at two batch caps
    evaluated = {job for overrides in demo_commands("eval") for job in _models(overrides)}
    assert evaluated == set(configs)


def _models(overrides: list[str]) -> set[str]:
    return {
        o.split("=", 1)[1] for job in expand_sweep(overrides) for o in job if o.startswith("model=")
    }


def test_the_demo_models_span_two_orders_of_magnitude():
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    counts = {}
    with hydra_context():
        for name in ("tiny-random-m", "tiny-random-l"):
            config = compose_run_config([f"model={name}", "experiment=demo"]).model
            fields = dict(config.init_config)
            model_config = AutoConfig.for_model(fields.pop("model_type"), **fields)
            with torch.device("meta"):
                model = AutoModelForCausalLM.from_config(model_config)
            counts[name] = sum(p.numel() for p in model.parameters())
            assert config.random_weights and config.init_config["vocab_size"] == 1000
    # tiny-random itself is 210,240 parameters (README, "The embedded default model").
    assert 1.5e6 < counts["tiny-random-m"] < 3e6
    assert 15e6 < counts["tiny-random-l"] < 25e6
