"""`leaderboard eval`: accuracy with lm-eval, once per (model revision, task, shots, limit).

For each task of the suite, an existing accuracy record with the same key means the task is
skipped (accuracy does not depend on the hardware, so a record written by any runner counts).
The model is loaded once (`runner.workload.models.load_model`) and wrapped in lm-eval's `HFLM`; each
remaining task is one `lm_eval.simple_evaluate` call inside one energy-meter window. Its score,
standard error and versions go into an immutable `AccuracyRecord`; the per-sample choice
log-likelihoods go beside it as JSONL (`<run_id>.samples.jsonl`), from which the loyalty of a
compressed variant to its base model is computed (`runner.accuracy.loyalty`).

Layout: `<results>/accuracy/<model_name>/<eval_task>/<shots>shot-<limit|all>/<revision>/`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.accuracy.loyalty import LoyaltyResult, loyalty_from_rows
from runner.accuracy.suites import EVAL_ROOT, EvalRunConfig, EvalSuiteConfig, register_eval_configs
from runner.accuracy.tasks import make_task_manager, materialize_task_dirs, resolve_task_dir
from runner.config import ModelConfig, write_root
from runner.errors import ConfigError, PointFailed, RecordError, UserError
from runner.machine.energy import EnergyMeter, make_energy_meter
from runner.machine.provenance import collect_provenance, hardware_slug, utc_now
from runner.records.accuracy import (
    ACCURACY_SCHEMA_VERSION,
    AccuracyIdentity,
    AccuracyRecord,
    EvalCost,
    Loyalty,
)
from runner.records.layout import accuracy_parts, matching_folders
from runner.records.load import check_raw_data, load_record
from runner.records.store import is_temp_file, new_run_id, safe_subdir, write_record_with_raw_data

SAMPLES_SUFFIX = ".samples.jsonl"
# lm-eval's global seeds (its defaults); the few-shot seed comes from the suite config.
LM_EVAL_SEEDS = {"random_seed": 0, "numpy_random_seed": 1234, "torch_random_seed": 1234}

Printer = Callable[[str], None]


@dataclass(frozen=True)
class AccuracyKey:
    """What makes two accuracy runs the same measurement (no hardware in it)."""

    model_name: str
    model_id: str
    model_revision: str
    eval_task: str
    num_fewshot: int
    limit: int | None

    @classmethod
    def of(cls, model: ModelConfig, suite: EvalSuiteConfig, task: str) -> AccuracyKey:
        """The key of `task` of `suite` for `model`."""
        return cls(
            model_name=model.name,
            model_id=model.hf_id,
            model_revision=model.revision,
            eval_task=task,
            num_fewshot=suite.tasks[task].num_fewshot,
            limit=suite.effective_limit(task),
        )

    def matches(self, identity: AccuracyIdentity) -> bool:
        """True when a record's identity is this key (the model name only names the folder)."""
        return (
            identity.model_id == self.model_id
            and identity.model_revision == self.model_revision
            and identity.eval_task == self.eval_task
            and identity.num_fewshot == self.num_fewshot
            and identity.limit == self.limit
        )

    def describe(self) -> str:
        """`<model> <task> <N>-shot limit=<L|all>` for messages."""
        limit = "all" if self.limit is None else str(self.limit)
        return f"{self.model_name} {self.eval_task} {self.num_fewshot}-shot limit={limit}"


def accuracy_folder(results_root: Path, key: AccuracyKey) -> Path:
    """`<results>/accuracy/<model>/<task>/<N>shot-<limit|all>/<revision>/` (parts checked)."""
    return safe_subdir(results_root, *accuracy_parts(key))


def find_existing(results_root: Path, key: AccuracyKey) -> tuple[Path, AccuracyRecord] | None:
    """The newest record with `key` anywhere under `results_root` (run folders included), or None.

    Raises:
        RecordError: a record in the key's folder is unreadable or invalid (it is not ignored:
            fix or remove it first).
    """
    accuracy_folder(results_root, key)  # checks every part as a path name
    paths = sorted(
        path
        for folder in matching_folders(results_root, accuracy_parts(key))
        for path in folder.glob("*.json")
    )
    found: list[tuple[str, Path, AccuracyRecord]] = []
    for path in paths:
        if is_temp_file(path):
            continue
        record = load_record(path)
        if isinstance(record, AccuracyRecord) and key.matches(record.identity):
            found.append((record.run_id, path, record))
    if not found:
        return None
    _, path, record = max(found, key=lambda item: item[0])
    return path, record


def _jsonable(value: Any) -> Any:
    """Plain JSON data from lm-eval values (tuples, numpy scalars); non-finite floats -> None."""
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if hasattr(value, "item"):
        return _jsonable(value.item())
    return str(value)


def sample_rows(run_id: str, samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per evaluated document: choice log-likelihoods (nats) and per-sample metrics.

    `choice_logliks[i]` is lm-eval's log-likelihood of choice i's continuation (None for -inf);
    `choice_is_greedy[i]` says whether greedy decoding would produce it.
    """
    rows = []
    for sample in sorted(samples, key=lambda item: item["doc_id"]):
        responses = sample["filtered_resps"]
        row: dict[str, Any] = {
            "run_id": run_id,
            "doc_id": int(sample["doc_id"]),
            "doc_hash": sample.get("doc_hash"),
            "prompt_hash": sample.get("prompt_hash"),
            "target": _jsonable(sample.get("target")),
            "choice_logliks": [_jsonable(float(response[0])) for response in responses],
            "choice_is_greedy": [bool(response[1]) for response in responses],
        }
        for metric in sample.get("metrics", []):
            row[metric] = _jsonable(sample.get(metric))
        rows.append(row)
    return rows


def metric_value(results: dict[str, Any], key: str) -> float | None:
    """A float from lm-eval's results dict; None for a missing, 'N/A' or non-finite value."""
    value = results.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def read_sample_rows(record_path: Path, record: AccuracyRecord) -> list[dict[str, Any]]:
    """The per-sample rows beside a record, after checking their sha256 and row count.

    Raises:
        RecordError: the file is missing or was changed.
    """
    check_raw_data(record_path, record)
    path = record_path.parent / record.raw_data.file
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def base_loyalty(
    results_root: Path,
    base: ModelConfig,
    key: AccuracyKey,
    variant_rows: list[dict[str, Any]],
) -> tuple[Loyalty | None, str | None]:
    """Loyalty of the variant's rows to the base model's record with the same task key.

    Returns:
        (loyalty, None), or (None, the reason it is null).
    """
    base_key = dataclasses.replace(
        key, model_name=base.name, model_id=base.hf_id, model_revision=base.revision
    )
    try:
        found = find_existing(results_root, base_key)
    except RecordError as error:
        return None, f"the base model's record is unreadable: {error}"
    if found is None:
        return None, (
            f"no accuracy record of base model {base.name} for {key.eval_task} "
            f"{key.num_fewshot}-shot limit={'all' if key.limit is None else key.limit} "
            f"under {results_root} (evaluate the base model first)"
        )
    path, record = found
    try:
        base_rows = read_sample_rows(path, record)
    except RecordError as error:
        return None, str(error)
    result = loyalty_from_rows(base_rows, variant_rows)
    if not isinstance(result, LoyaltyResult):
        return None, f"not comparable with {path}: {result}"
    return (
        Loyalty(
            base_model_name=base.name,
            base_run_id=record.run_id,
            samples=result.samples,
            label_loyalty=result.label_loyalty,
            probability_loyalty=result.probability_loyalty,
        ),
        None,
    )


@dataclass(frozen=True)
class TaskOutcome:
    """What happened to one task: `written` (a new record) or `skipped` (one existed)."""

    key: AccuracyKey
    status: str
    path: Path
    record: AccuracyRecord


def _check_variant(model: ModelConfig, base: ModelConfig | None) -> None:
    if model.base_model is None:
        return
    if base is None or base.name != model.base_model:
        raise ConfigError(
            f"conf/model/{model.name}.yaml: model.base_model: expected the config of "
            f"{model.base_model!r} to be given"
        )
    if (base.hf_id, base.revision) == (model.hf_id, model.revision):
        raise ConfigError(
            f"conf/model/{model.name}.yaml: model.hf_id: a variant needs its own hf_id or "
            f"revision (its base {base.name} has the same {base.hf_id}@{base.revision}), "
            "else their accuracy records would be joined onto each other's rows"
        )


def _simple_evaluate(lm: Any, task: str, num_fewshot: int, limit: int | None, **kwargs: Any) -> Any:
    """One lm-eval run of one task; dataset and memory failures become one-line errors."""
    import torch
    from lm_eval import simple_evaluate

    try:
        return simple_evaluate(
            model=lm,
            tasks=[task],
            num_fewshot=num_fewshot,
            limit=limit,
            log_samples=True,
            **kwargs,
        )
    except torch.OutOfMemoryError:
        raise PointFailed(f"eval task {task}: out of memory") from None
    except (OSError, ConnectionError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UserError(f"eval task {task}: its dataset cannot be loaded: {first}") from None


def evaluate_suite(
    config: EvalRunConfig,
    *,
    base: ModelConfig | None = None,
    meter: EnergyMeter | None = None,
    config_root: Path | None = None,
    echo: Printer = print,
) -> list[TaskOutcome]:
    """Score `config.model` on every task of `config.eval` that has no record yet.

    Args:
        config: the validated eval config.
        base: the model config named by `config.model.base_model` (for loyalty), if any.
        meter: an energy meter to use instead of the one `energy_meter` selects (tests).
        config_root: the folder relative `eval.task_dirs` are under (default: the conf folder).
        echo: where progress lines go.

    Returns:
        One outcome per task of the suite, in suite order.

    Raises:
        UserError: bad config, unknown task, model or dataset not loadable, out of memory.
    """
    from runner.compose import conf_dir

    model, suite = config.model, config.eval
    _check_variant(model, base)
    results_root = Path(config.results_dir)
    outcomes: dict[str, TaskOutcome] = {}
    pending: list[str] = []
    for task in suite.tasks:
        key = AccuracyKey.of(model, suite, task)
        found = find_existing(results_root, key)
        if found is None:
            pending.append(task)
            continue
        path, record = found
        echo(f"eval: skipped {key.describe()}: already scored in {path}")
        outcomes[task] = TaskOutcome(key, "skipped", path, record)
    if pending:
        with tempfile.TemporaryDirectory(prefix="lb-eval-tasks-") as include:
            folders = [resolve_task_dir(d, config_root or conf_dir()) for d in suite.task_dirs]
            materialize_task_dirs(folders, Path(include))
            manager = make_task_manager(Path(include) if folders else None, pending)
            outcomes.update(_run_pending(config, base, pending, manager, meter, echo))
    return [outcomes[task] for task in suite.tasks]


def _run_pending(
    config: EvalRunConfig,
    base: ModelConfig | None,
    pending: list[str],
    manager: Any,
    meter: EnergyMeter | None,
    echo: Printer,
) -> dict[str, TaskOutcome]:
    """Load the model once and score each pending task."""
    import torch
    from lm_eval.models.huggingface import HFLM

    from runner.machine.device import resolve_device
    from runner.workload.models import load_model

    device = resolve_device(config.backend.device)
    torch.manual_seed(config.seed)
    loaded = load_model(config.model, device)
    if meter is None:
        meter = make_energy_meter(config.energy_meter, device)
    lm = HFLM(
        pretrained=loaded.model, tokenizer=loaded.tokenizer, batch_size=config.eval.batch_size
    )
    outcomes = {}
    for task in pending:
        key = AccuracyKey.of(config.model, config.eval, task)
        echo(f"eval: scoring {key.describe()} on {device}")
        path, record = _evaluate_task(config, base, key, lm, manager, meter, device, echo)
        metric = config.eval.tasks[task].metric
        stderr = "" if record.stderr is None else f" ± {record.stderr:.4f}"
        echo(f"eval: {key.describe()}: {metric}={record.score:.4f}{stderr} -> {path}")
        outcomes[task] = TaskOutcome(key, "written", path, record)
    return outcomes


def _evaluate_task(
    config: EvalRunConfig,
    base: ModelConfig | None,
    key: AccuracyKey,
    lm: Any,
    manager: Any,
    meter: EnergyMeter,
    device: str,
    echo: Printer,
) -> tuple[Path, AccuracyRecord]:
    """Run one task, write its samples and record; return (record path, record)."""
    suite, task = config.eval, key.eval_task
    metric = suite.tasks[task].metric
    started_utc = utc_now()
    meter.begin("eval")
    res = _simple_evaluate(
        lm,
        task,
        key.num_fewshot,
        key.limit,
        task_manager=manager,
        fewshot_random_seed=suite.fewshot_seed,
        **LM_EVAL_SEEDS,
    )
    reading = meter.end("eval")
    ended_utc = utc_now()

    if task not in res.get("samples", {}) or task not in res["results"]:
        raise ConfigError(
            f"eval.tasks.{task}: lm-eval ran it as a group of tasks; name its tasks instead"
        )
    results = res["results"][task]
    used_shots = res["n-shot"].get(task)
    if used_shots != key.num_fewshot:
        raise ConfigError(
            f"eval.tasks.{task}.num_fewshot: lm-eval's task fixes {used_shots} shots; "
            f"expected {used_shots}, got {key.num_fewshot}"
        )
    score = metric_value(results, f"{metric},none")
    if score is None:
        raise ConfigError(
            f"eval.tasks.{task}.metric: lm-eval reported no {metric!r} for this task "
            f"(it has: {', '.join(sorted(k for k in results if ',' in k))})"
        )
    samples = res["samples"][task]
    run_id = new_run_id()
    folder = accuracy_folder(write_root(config), key)
    rows = sample_rows(run_id, samples)

    loyalty: Loyalty | None = None
    if base is not None:
        loyalty, reason = base_loyalty(Path(config.results_dir), base, key, rows)
        if loyalty is None:
            print(f"eval: loyalty of {key.describe()} is null: {reason}", file=sys.stderr)
        else:
            echo(
                f"eval: loyalty of {config.model.name} to {base.name} on {task}: "
                f"label {loyalty.label_loyalty:.4f}, probability "
                f"{loyalty.probability_loyalty:.4f} over {loyalty.samples} samples"
            )

    version = res["versions"].get(task)
    task_version = None if version is None else str(version)
    path, record = write_record_with_raw_data(
        folder,
        run_id,
        SAMPLES_SUFFIX,
        rows,
        lambda raw_data: AccuracyRecord(
            schema_version=ACCURACY_SCHEMA_VERSION,
            kind="accuracy",
            run_id=run_id,
            identity=AccuracyIdentity(
                model_name=key.model_name,
                model_id=key.model_id,
                model_revision=key.model_revision,
                eval_task=task,
                num_fewshot=key.num_fewshot,
                limit=key.limit,
            ),
            metric=metric,
            score=score,
            stderr=metric_value(results, f"{metric}_stderr,none"),
            samples=len(samples),
            lm_eval_version=str(res.get("lm_eval_version") or _lm_eval_version()),
            task_version=task_version,
            random_weights=config.model.random_weights,
            cost=EvalCost(
                energy_source=meter.source,  # type: ignore[arg-type]
                energy_reason=meter.reason,
                energy_j=reading.energy_j,
                duration_s=reading.duration_s,
                hardware_slug=hardware_slug(device),
            ),
            loyalty=loyalty,
            raw_data=raw_data,
            provenance=collect_provenance(device, config.seed, started_utc, ended_utc),
            config=eval_config_dict(config, task, key),
        ),
    )
    return path, record  # type: ignore[return-value]


def _lm_eval_version() -> str:
    from importlib import metadata

    return metadata.version("lm_eval")


def eval_config_dict(config: EvalRunConfig, task: str, key: AccuracyKey) -> dict[str, Any]:
    """The resolved settings of one task's run, as plain JSON data."""
    return {
        "model": dataclasses.asdict(config.model),
        "eval_suite": config.eval.name,
        "eval_task": {"name": task, **dataclasses.asdict(config.eval.tasks[task])},
        "limit": key.limit,
        "task_dirs": list(config.eval.task_dirs),
        "batch_size": config.eval.batch_size,
        "seeds": {"fewshot_random_seed": config.eval.fewshot_seed, **LM_EVAL_SEEDS},
        "device": config.backend.device,
        "energy_meter": config.energy_meter,
        "seed": config.seed,
    }


def compose_eval_config(overrides: list[str]) -> EvalRunConfig:
    """Compose `conf/evaluate.yaml` with `overrides` (inside `hydra_context()`)."""
    from runner.compose import compose_run_config

    register_eval_configs()
    config = compose_run_config(overrides, config_name=EVAL_ROOT)
    assert isinstance(config, EvalRunConfig)
    return config


def compose_base_model(model: ModelConfig) -> ModelConfig | None:
    """The config named by `model.base_model` (inside `hydra_context()`), or None.

    Raises:
        ConfigError: no such model config.
    """
    if model.base_model is None:
        return None
    try:
        return compose_eval_config([f"model={model.base_model}"]).model
    except ConfigError:
        raise ConfigError(
            f"conf/model/{model.name}.yaml: model.base_model: expected a config name in "
            f"conf/model/, got {model.base_model!r}"
        ) from None


def run_eval(overrides: list[str], *, multirun: bool) -> int:
    """`leaderboard eval [-m] overrides...`: return 0 if every job succeeded, else 1."""
    from runner.compose import expand_sweep, hydra_context

    jobs = expand_sweep(overrides) if multirun else [overrides]
    failures = 0
    with hydra_context():
        for job in jobs:
            label = " ".join(job) or "(defaults)"
            try:
                config = compose_eval_config(job)
                base = compose_base_model(config.model)
                evaluate_suite(config, base=base)
            except UserError as error:
                if not multirun:
                    raise
                failures += 1
                print(f"eval: failed: {label}: {error}", file=sys.stderr)
    if failures:
        print(f"eval: {failures} of {len(jobs)} job(s) failed", file=sys.stderr)
        return 1
    return 0


def validate_eval_configs(config_root: Path) -> list[str]:
    """Check every `conf/eval/*.yaml` suite and every variant's `base_model`; one line each.

    A suite is composed with `conf/evaluate.yaml`, and its task folders are parsed (their data
    files must exist). A config folder without `evaluate.yaml` has nothing to check.
    """
    from runner.compose import hydra_context

    if not (config_root / f"{EVAL_ROOT}.yaml").is_file():
        return []
    problems: list[str] = []
    with hydra_context(config_root):
        for path in sorted((config_root / "eval").glob("*.yaml")):
            try:
                suite = compose_eval_config([f"eval={path.stem}"]).eval
                folders = [resolve_task_dir(d, config_root) for d in suite.task_dirs]
                with tempfile.TemporaryDirectory(prefix="lb-eval-check-") as scratch:
                    materialize_task_dirs(folders, Path(scratch))
            except UserError as error:
                message = str(error)
                if not message.startswith("conf/"):
                    message = f"conf/eval/{path.name}: {message}"
                problems.append(message)
        for path in sorted((config_root / "model").glob("*.yaml")):
            try:
                model = compose_eval_config([f"model={path.stem}"]).model
            except UserError:
                continue  # reported by the model group's own check
            if model.base_model is None:
                continue
            try:
                _check_variant(model, compose_base_model(model))
            except UserError as error:
                message = str(error)
                if not message.startswith("conf/"):
                    message = f"conf/model/{path.name}: {message}"
                problems.append(message)
    return problems
