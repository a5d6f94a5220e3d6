"""Typed configuration of `leaderboard eval`: the eval suite (`conf/eval/*.yaml`) and its root.

The root config `conf/evaluate.yaml` is the run config (model, backend, results folder, seed,
energy meter, experiment bundles) plus one `eval` suite. Like `runner.config`, every field is
type-checked by OmegaConf and value-checked in `__post_init__`; every error names the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from omegaconf import MISSING

from runner.config import RunConfig, _check_int_range, _fail, check_safe_name
from runner.errors import ConfigError

# lm-eval metrics of multiple-choice tasks that come with a standard error.
EVAL_METRICS = ("acc", "acc_norm")
EVAL_ROOT = "evaluate"


@dataclass
class EvalTaskConfig:
    """One lm-eval task of a suite (the task name is its key in `EvalSuiteConfig.tasks`).

    Attributes:
        num_fewshot: in-context examples before each question (lm-eval's `num_fewshot`).
        metric: lm-eval metric shown on the leaderboard: `acc` or `acc_norm`.
        limit: evaluate the first `limit` documents only (quick runs); null = the whole task.
    """

    num_fewshot: int = 0
    metric: str = "acc"
    limit: int | None = None


@dataclass
class EvalSuiteConfig:
    """An accuracy suite, as one YAML file in `conf/eval/`.

    Attributes:
        name: suite name (`standard`, `quick`).
        tasks: lm-eval task name -> its shots, metric and limit.
        task_dirs: folders of extra lm-eval task YAMLs (relative to `conf/`, or absolute).
            `dataset_kwargs.data_files` paths in them are taken relative to the YAML's folder.
        limit: a limit for every task that sets none itself (quick runs); null = no limit.
        batch_size: lm-eval batch size (requests scored together).
        fewshot_seed: seed of lm-eval's few-shot example sampler.
    """

    name: str = MISSING
    tasks: dict[str, EvalTaskConfig] = MISSING
    task_dirs: list[str] = field(default_factory=list)
    limit: int | None = None
    batch_size: int = 8
    fewshot_seed: int = 1234

    def __post_init__(self) -> None:
        check_safe_name("eval.name", self.name)
        if not isinstance(self.tasks, Mapping):
            # An interpolation (`${...}`) resolves to whatever it names, past the type check.
            _fail("eval.tasks", "a mapping of lm-eval task name -> settings", self.tasks)
        if not self.tasks:
            raise ConfigError("eval.tasks: expected at least one lm-eval task, got none")
        for task_name, task in self.tasks.items():
            prefix = f"eval.tasks.{task_name}"
            check_safe_name(f"{prefix} (task name)", task_name)
            _check_int_range(f"{prefix}.num_fewshot", task.num_fewshot, 0, 1000)
            if task.metric not in EVAL_METRICS:
                _fail(f"{prefix}.metric", "one of " + ", ".join(EVAL_METRICS), task.metric)
            if task.limit is not None:
                _check_int_range(f"{prefix}.limit", task.limit, 1, 10**9)
        for index, folder in enumerate(self.task_dirs):
            if not isinstance(folder, str) or not folder.strip() or "\x00" in folder:
                _fail(f"eval.task_dirs[{index}]", "a folder path", folder)
        if self.limit is not None:
            _check_int_range("eval.limit", self.limit, 1, 10**9)
        _check_int_range("eval.batch_size", self.batch_size, 1, 4096)
        _check_int_range("eval.fewshot_seed", self.fewshot_seed, 0, 2**32 - 1)

    def effective_limit(self, task_name: str) -> int | None:
        """The task's own limit, else the suite's; None = every document."""
        own = self.tasks[task_name].limit
        return own if own is not None else self.limit


@dataclass
class EvalRunConfig(RunConfig):
    """The root of `leaderboard eval`: a run config plus the eval suite.

    Of the run fields, eval uses `model`, `backend.device`, `results_dir`, `seed` and
    `energy_meter`; `task`, batch size and the generation settings are ignored.

    Attributes:
        eval: the suite to run.
    """

    eval: EvalSuiteConfig = MISSING

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.parallel.tensor != 1:
            _fail(
                "parallel.tensor",
                "1 for leaderboard eval (accuracy runs in one process)",
                self.parallel.tensor,
            )


def register_eval_configs() -> None:
    """Register the eval schemas in Hydra's ConfigStore (idempotent)."""
    from hydra.core.config_store import ConfigStore

    from runner.config import register_configs

    register_configs()
    store = ConfigStore.instance()
    store.store(name="eval_run_schema", node=EvalRunConfig)
    store.store(group="eval", name="eval_schema", node=EvalSuiteConfig)
