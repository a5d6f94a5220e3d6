"""Typed configuration: one dataclass per Hydra config group, validated in `__post_init__`.

The dataclasses are registered in Hydra's ConfigStore (see `register_configs`) and the composed
config is converted with `OmegaConf.to_object`, so every field is type-checked by OmegaConf and
value-checked here. Every error names the field and the expected value.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import MISSING

from runner.errors import ConfigError
from runner.records.layout import check_safe_name

DTYPES = ("float32", "float16", "bfloat16")
BACKENDS = ("eager", "compiled", "graph")
STATIC_BACKENDS = ("compiled", "graph")
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
DEVICES = ("auto", "cpu", "cuda")
MODEL_SOURCES = ("hub", "tiny-random", "random-init")
PROMPT_FORMATS = ("jsonl", "sharegpt")
ENERGY_METERS = ("auto", "zeus", "none")
SCENARIOS = ("static", "serving", "steady")
# Scenarios served by transformers' continuous batching (the engine runs its own loop).
ENGINE_SCENARIOS = ("serving", "steady")
ARRIVALS = ("poisson", "gamma", "trace")
MAX_TENSOR_PARALLEL = 64
BYTES_PER_PARAM = {"float32": 4, "float16": 2, "bfloat16": 2}
# Share of one GPU's memory the weights may fill when estimating the GPUs a model needs.
WEIGHT_SHARE = 0.8

# The seed of a random-init model's weights (runner.workload.models), part of its revision.
RANDOM_INIT_SEED = 0

# A Hugging Face repo id: "org/name" or "name"; each part a safe name.
HF_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}(/[A-Za-z0-9][A-Za-z0-9._-]{0,95})?$")


def init_config_revision(init_config: dict[str, Any]) -> str:
    """The revision of a random-init model: `init-` and 16 hex digits of a SHA-256.

    The hash covers the architecture fields and the weights' seed (canonical JSON, sorted keys),
    so two shapes never share a revision and a changed shape gets a new one.
    """
    payload = json.dumps(
        {"init_config": init_config, "seed": RANDOM_INIT_SEED},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return "init-" + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def _fail(field_path: str, expected: str, got: Any) -> None:
    raise ConfigError(f"{field_path}: expected {expected}, got {got!r}")


def _check_nonempty(field_path: str, value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        _fail(field_path, "a non-empty string", value)


def _check_int_range(field_path: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        _fail(field_path, f"an integer from {low} to {high}", value)


def _check_float_range(field_path: str, value: Any, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        _fail(field_path, f"a number from {low} to {high}", value)


def _check_choice(field_path: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        _fail(field_path, "one of " + ", ".join(choices), value)


@dataclass
class ModelConfig:
    """One model, as one YAML file in `conf/model/`.

    Attributes:
        name: config name; also the model's folder name in `results/` (`org__name`).
        hf_id: Hugging Face repo id, for example `Qwen/Qwen2.5-0.5B-Instruct`.
        revision: pinned commit SHA (or tag) of the repo; required. For `random-init` it is
            derived from `init_config` (`init_config_revision`), whatever the file says.
        display_name: name shown on the leaderboard.
        dtype: weight and activation dtype.
        source: `hub` (from_pretrained on hf_id), `tiny-random` (the embedded offline model), or
            `random-init` (a real architecture from `init_config`, random weights, no download;
            prompts are tokenized with the tiny model's tokenizer).
        url: model card URL.
        license: SPDX id or license name.
        params: parameter count; computed at load if omitted.
        trust_remote_code: allow the repo's own Python code; off unless set.
        random_weights: the weights are random; accuracy is meaningless, energy and time are real.
        base_model: config name of the model this one is a compressed or distilled variant of.
        init_config: transformers config fields (`model_type`, `hidden_size`, ...) of a
            `random-init` model.
        min_gpus: GPUs the model needs (its tensor-parallel degree on a benchmark leg); null:
            estimated from `params` and `dtype` against the runner's GPU memory
            (`runner.config.gpus_needed`, docs/multi-gpu.md).
    """

    name: str = MISSING
    hf_id: str = MISSING
    revision: str = MISSING
    display_name: str = MISSING
    dtype: str = "bfloat16"
    source: str = "hub"
    url: str = ""
    license: str = ""
    params: int | None = None
    trust_remote_code: bool = False
    random_weights: bool = False
    base_model: str | None = None
    init_config: dict[str, Any] | None = None
    min_gpus: int | None = None

    def __post_init__(self) -> None:
        check_safe_name("model.name", self.name)
        if not isinstance(self.hf_id, str) or not HF_ID.match(self.hf_id) or ".." in self.hf_id:
            _fail("model.hf_id", "a Hugging Face repo id like 'org/name'", self.hf_id)
        _check_nonempty("model.revision", self.revision)
        if not re.match(r"^[A-Za-z0-9._-]{1,64}$", self.revision):
            _fail(
                "model.revision",
                "a commit SHA or tag of letters, digits, '.', '_' or '-'",
                self.revision,
            )
        _check_nonempty("model.display_name", self.display_name)
        if len(self.display_name) > 200:
            _fail("model.display_name", "at most 200 characters", self.display_name[:40] + "...")
        _check_choice("model.dtype", self.dtype, DTYPES)
        _check_choice("model.source", self.source, MODEL_SOURCES)
        if self.url and not re.match(r"^https?://", self.url):
            _fail("model.url", "an http(s) URL or empty", self.url)
        if self.params is not None:
            _check_int_range("model.params", self.params, 1, 10**14)
        if not isinstance(self.trust_remote_code, bool):
            _fail("model.trust_remote_code", "true or false", self.trust_remote_code)
        if self.base_model is not None:
            check_safe_name("model.base_model", self.base_model)
        if self.min_gpus is not None:
            _check_int_range("model.min_gpus", self.min_gpus, 1, MAX_TENSOR_PARALLEL)
        if self.source == "random-init":
            if not self.init_config or "model_type" not in self.init_config:
                _fail("model.init_config", "a mapping with at least 'model_type'", self.init_config)
            if not self.random_weights:
                _fail("model.random_weights", "true for source=random-init", self.random_weights)
            # The weights are a function of the shape and the seed: so is the revision.
            self.revision = init_config_revision(dict(self.init_config))


@dataclass
class SamplingConfig:
    """Generation settings. Greedy (deterministic) unless `do_sample` is set.

    Attributes:
        do_sample: sample instead of greedy decoding.
        temperature: softmax temperature when sampling.
        top_p: nucleus sampling mass when sampling.
        top_k: top-k cut when sampling (0 = off).
        fixed_output_length: generate exactly `max_new_tokens` per request (ignore EOS), so
            every model is measured on the same number of output tokens.
    """

    do_sample: bool = False
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    fixed_output_length: bool = False

    def __post_init__(self) -> None:
        _check_float_range("task.sampling.temperature", self.temperature, 1e-6, 100.0)
        _check_float_range("task.sampling.top_p", self.top_p, 1e-6, 1.0)
        _check_int_range("task.sampling.top_k", self.top_k, 0, 1_000_000)


@dataclass
class SLOConfig:
    """Latency targets of a task, used by the serving scenario (`scenario=serving`).

    Each target is tested on each request (DistServe's formulation: a request meets the SLO when
    it finished without error and meets every target that is set; null = no target on that
    metric). A request rate is sustainable when at least `attainment` of the requests arriving in
    the measured window meet the SLO (DistServe's goodput: the highest such rate). Every latency
    is counted from the request's scheduled arrival.

    Attributes:
        ttft_s: time to first token: scheduled arrival to first token, in seconds.
        tpot_s: time per output token of the request, (end to end - TTFT) / (output tokens - 1),
            as vLLM's benchmark defines it, in seconds (a one-token response has none and meets
            this target).
        itl_p90_s: the 90th percentile of the request's own inter-token gaps, in seconds (a
            one-token response has none and meets this target).
        e2e_s: end-to-end latency, scheduled arrival to last token, in seconds.
        attainment: the share of requests (0 to 1) that must meet the SLO.
        reference: where the targets come from, in words (shown with the SLO).
    """

    ttft_s: float | None = None
    tpot_s: float | None = None
    itl_p90_s: float | None = None
    e2e_s: float | None = None
    attainment: float = 0.9
    reference: str = ""

    def __post_init__(self) -> None:
        for name in ("ttft_s", "tpot_s", "itl_p90_s", "e2e_s"):
            value = getattr(self, name)
            if value is not None:
                _check_float_range(f"task.slo.{name}", value, 1e-6, 86_400.0)
        _check_float_range("task.slo.attainment", self.attainment, 0.0, 1.0)
        if not isinstance(self.reference, str) or len(self.reference) > 500:
            _fail("task.slo.reference", "a text of at most 500 characters", self.reference)


@dataclass
class TaskConfig:
    """One task, as one YAML file in `conf/task/`.

    Attributes:
        name: task name (`chat`, `chat-concise`, `instruct`, `instruct-concise`).
        system_prompt: the system message given before every prompt.
        prompt_set: a built-in set name (`chat`, `instruct`) or a path to a JSONL / ShareGPT file.
        prompt_format: `jsonl` (`{"id", "prompt"}` per line) or `sharegpt` (ShareGPT JSON).
        max_new_tokens: generation limit per request, in tokens.
        sampling: decoding settings.
        slo: latency targets of the serving scenario.
    """

    name: str = MISSING
    system_prompt: str = MISSING
    prompt_set: str = MISSING
    prompt_format: str = "jsonl"
    max_new_tokens: int = 256
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    slo: SLOConfig = field(default_factory=SLOConfig)

    def __post_init__(self) -> None:
        check_safe_name("task.name", self.name)
        _check_nonempty("task.system_prompt", self.system_prompt)
        _check_nonempty("task.prompt_set", self.prompt_set)
        if "\x00" in self.prompt_set:
            _fail("task.prompt_set", "a set name or file path without NUL bytes", self.prompt_set)
        _check_choice("task.prompt_format", self.prompt_format, PROMPT_FORMATS)
        _check_int_range("task.max_new_tokens", self.max_new_tokens, 1, 32768)


@dataclass
class BackendConfig:
    """How generation runs (runner/measure/backends.py).

    Attributes:
        name: `eager` (transformers `generate`, dynamic KV cache), `compiled` (static KV cache,
            prefill, then a decode step compiled once per point with `torch.compile`) or `graph`
            (the same static loop with the decode step captured in a CUDA graph; uncaptured on
            a CPU).
        device: `auto` (CUDA when available, else CPU), `cpu` or `cuda`.
        compile_mode: `torch.compile` mode of the `compiled` backend's decode step (`default`:
            Inductor kernels without CUDA graphs, so `compiled` and `graph` differ in one thing).
        pad_multiple: static backends pad each batch's prompts on the left to a multiple of
            this many tokens (a bucket).
        eos_check_every: static backends: the host checks for EOS every this many decode
            steps (the only host synchronization of the loop).
    """

    name: str = "eager"
    device: str = "auto"
    compile_mode: str = "default"
    pad_multiple: int = 64
    eos_check_every: int = 16

    def __post_init__(self) -> None:
        _check_choice("backend.name", self.name, BACKENDS)
        _check_choice("backend.device", self.device, DEVICES)
        _check_choice("backend.compile_mode", self.compile_mode, COMPILE_MODES)
        _check_int_range("backend.pad_multiple", self.pad_multiple, 1, 4096)
        _check_int_range("backend.eos_check_every", self.eos_check_every, 1, 4096)


@dataclass
class RateSearchConfig:
    """The search for the maximum sustainable rate (`scenario.search`, serving only).

    With `enabled`, one `leaderboard run` probes `low_rps`, then `high_rps`, then bisects
    between the highest passing and the lowest failing rate until they are at most
    `resolution_rps` apart (or `max_probes` points were measured). Every probe is one serving
    point and one record (`runner.measure.serving.search`).

    Attributes:
        enabled: run the search instead of the single rate `scenario.request_rate`.
        low_rps / high_rps: the bracket to search, in requests per second.
        resolution_rps: stop when the passing and failing rates are this close (req/s).
        max_probes: most points one search measures.
    """

    enabled: bool = False
    low_rps: float = 1.0
    high_rps: float = 64.0
    resolution_rps: float = 1.0
    max_probes: int = 12

    def __post_init__(self) -> None:
        if not isinstance(self.enabled, bool):
            _fail("scenario.search.enabled", "true or false", self.enabled)
        _check_float_range("scenario.search.low_rps", self.low_rps, 1e-4, 10_000.0)
        _check_float_range("scenario.search.high_rps", self.high_rps, 1e-4, 10_000.0)
        if self.high_rps <= self.low_rps:
            _fail("scenario.search.high_rps", f"more than low_rps ({self.low_rps})", self.high_rps)
        _check_float_range("scenario.search.resolution_rps", self.resolution_rps, 1e-4, 10_000.0)
        _check_int_range("scenario.search.max_probes", self.max_probes, 2, 100)


@dataclass
class ScenarioConfig:
    """How requests reach the model, as one YAML file in `conf/scenario/`.

    `static` (the default) runs batches of `batch_size` prompts that start together. `serving`
    serves the model with transformers' continuous batching, fed by a seeded load generator, and
    measures a steady-state window (`runner.measure.serving`). `steady` is the reference
    leaderboard's method on the same engine (`runner.measure.steady`): `num_requests` requests
    submitted at once, at most `max_num_seqs` running, one energy window over the steady state.
    `batch_size`, `num_prompts`, `warmup_batches` and `repeats` apply to neither.

    Attributes:
        name: `static`, `serving` or `steady`.
        arrival: `poisson`, `gamma` (bursty: gamma inter-arrival times with coefficient of
            variation `cv` > 1) or `trace` (the timestamps of `trace_file`).
        request_rate: mean arrival rate of `poisson` and `gamma`, in requests per second.
        cv: coefficient of variation of the gamma inter-arrival times (> 1: burstier than
            Poisson).
        trace_file: a file of arrival timestamps in seconds (one per line, or JSON Lines with
            `timestamp_s`), for `arrival=trace`.
        trace_speedup: replay the trace this many times faster (2 halves every gap).
        warmup_s: seconds of load before the measured window; excluded from every number.
        duration_s: length of the measured steady-state window, in seconds (a GPU point needs
            at least 60 s to be conclusive).
        drain_timeout_s: after the window, how long to wait (s) for the window's requests to
            finish; load keeps arriving meanwhile (excluded from every number).
        timeline_step_s: resolution of the power, throughput and occupancy timelines, in s.
        max_batch_requests: most requests the engine runs together (`max_requests_per_batch`).
        max_batch_tokens: most tokens in one forward pass; null = transformers' choice on
            CUDA, 2048 on CPU.
        num_blocks: KV-cache blocks; null = sized by transformers from free GPU memory on
            CUDA, and on CPU from `max_batch_requests` full-length requests.
        page_size: tokens per KV-cache page.
        confidence: the one-sided confidence of the binomial bounds on SLO attainment.
        min_requests: a rate passes only with at least this many window requests (and the
            lower bound on its attainment at or above the target); see
            `runner.records.serving_rules`.
        search: the search for the maximum sustainable rate (`RateSearchConfig`).
        max_num_seqs: steady: the batch cap B (vLLM's `max_num_seqs`; the engine's
            `max_requests_per_batch`); sweep it with `-m scenario.max_num_seqs=8,32,128`.
        num_requests: steady: N, the requests submitted at once (at least B + 2). The window
            opens when B requests have their first token and closes when N - B - 1 have
            completed; while it would be shorter than the window rule, N grows.
        max_num_requests: steady: the most requests N may grow to.
        warmup_requests: steady: requests run to completion before the measured run (excluded
            from every number); null = B.
        tick_s: steady: the energy counter is read every this many seconds (back-to-back
            counter windows); the measured window runs between the ticks just inside its
            bounds, so energy and tokens cover exactly the same interval.
        max_duration_s: steady: the longest the measured run may take, in seconds.
    """

    name: str = "static"
    arrival: str = "poisson"
    request_rate: float = 1.0
    cv: float = 2.0
    trace_file: str = ""
    trace_speedup: float = 1.0
    warmup_s: float = 5.0
    duration_s: float = 60.0
    drain_timeout_s: float = 60.0
    timeline_step_s: float = 1.0
    max_batch_requests: int = 64
    max_batch_tokens: int | None = None
    num_blocks: int | None = None
    page_size: int = 256
    confidence: float = 0.95
    min_requests: int = 100
    search: RateSearchConfig = field(default_factory=RateSearchConfig)
    max_num_seqs: int = 32
    num_requests: int = 256
    max_num_requests: int = 8192
    warmup_requests: int | None = None
    tick_s: float = 0.2
    max_duration_s: float = 1800.0

    def __post_init__(self) -> None:
        _check_choice("scenario.name", self.name, SCENARIOS)
        _check_choice("scenario.arrival", self.arrival, ARRIVALS)
        _check_float_range("scenario.request_rate", self.request_rate, 1e-4, 10_000.0)
        _check_float_range("scenario.cv", self.cv, 1e-3, 100.0)
        if self.name == "serving" and self.arrival == "gamma" and self.cv <= 1:
            _fail(
                "scenario.cv",
                "a coefficient of variation above 1 for arrival=gamma (1 is Poisson)",
                self.cv,
            )
        if not isinstance(self.trace_file, str) or "\x00" in self.trace_file:
            _fail("scenario.trace_file", "a file path", self.trace_file)
        if self.name == "serving" and self.arrival == "trace" and not self.trace_file.strip():
            _fail("scenario.trace_file", "a file of arrival timestamps for arrival=trace", "")
        _check_float_range("scenario.trace_speedup", self.trace_speedup, 1e-3, 1e6)
        _check_float_range("scenario.warmup_s", self.warmup_s, 0.0, 86_400.0)
        _check_float_range("scenario.duration_s", self.duration_s, 0.1, 86_400.0)
        _check_float_range("scenario.drain_timeout_s", self.drain_timeout_s, 0.0, 86_400.0)
        _check_float_range("scenario.timeline_step_s", self.timeline_step_s, 0.01, 3600.0)
        if self.timeline_step_s > self.duration_s:
            _fail(
                "scenario.timeline_step_s",
                f"at most duration_s ({self.duration_s})",
                self.timeline_step_s,
            )
        _check_int_range("scenario.max_batch_requests", self.max_batch_requests, 1, 65_536)
        if self.max_batch_tokens is not None:
            _check_int_range("scenario.max_batch_tokens", self.max_batch_tokens, 16, 10_000_000)
        if self.num_blocks is not None:
            _check_int_range("scenario.num_blocks", self.num_blocks, 1, 10_000_000)
        _check_int_range("scenario.page_size", self.page_size, 4, 65_536)
        _check_float_range("scenario.confidence", self.confidence, 0.5, 0.9999)
        _check_int_range("scenario.min_requests", self.min_requests, 1, 10_000_000)
        if self.search.enabled and self.arrival == "trace":
            _fail("scenario.search.enabled", "false with arrival=trace (a trace has no rate)", True)

        _check_int_range("scenario.max_num_seqs", self.max_num_seqs, 1, 65_536)
        _check_int_range("scenario.max_num_requests", self.max_num_requests, 3, 10_000_000)
        _check_int_range(
            "scenario.num_requests", self.num_requests, 3, max(3, self.max_num_requests)
        )
        if self.warmup_requests is not None:
            _check_int_range("scenario.warmup_requests", self.warmup_requests, 0, 1_000_000)
        _check_float_range("scenario.tick_s", self.tick_s, 0.01, 60.0)
        _check_float_range("scenario.max_duration_s", self.max_duration_s, 1.0, 86_400.0)
        if self.name == "steady" and self.num_requests < self.max_num_seqs + 2:
            # The window needs B first tokens and N - B - 1 >= 1 completions.
            _fail(
                "scenario.num_requests",
                f"at least max_num_seqs + 2 ({self.max_num_seqs + 2}) for scenario=steady",
                self.num_requests,
            )


@dataclass
class ParallelConfig:
    """How one point is split across devices (docs/multi-gpu.md).

    Attributes:
        tensor: tensor-parallel degree. Above 1 the point runs as this many torch.distributed
            processes started by the runner, one per device (NCCL on CUDA, gloo on CPU), with the
            model sharded by transformers' tensor-parallel plan; rank 0 owns the clock, the
            prompts, the energy meter (every GPU of the point) and the record.
    """

    tensor: int = 1

    def __post_init__(self) -> None:
        _check_int_range("parallel.tensor", self.tensor, 1, MAX_TENSOR_PARALLEL)


def serving_tensor_parallel_problem() -> str:
    """Why the serving scenario refuses `parallel.tensor` above 1 with the installed transformers.

    transformers' continuous batching gained tensor-parallel support (its
    `generation.continuous_batching.distributed` helper) after some releases the GPU machines
    carry; where it is missing the engine cannot run sharded at all, and where it is present the
    serving scenario does not drive it yet (its load generator feeds one process).
    """
    from importlib import metadata
    from importlib.util import find_spec

    try:
        version = metadata.version("transformers")
    except metadata.PackageNotFoundError:
        return "transformers is not installed"
    try:
        helper = find_spec("transformers.generation.continuous_batching.distributed")
    except (ImportError, ValueError):
        helper = None
    if helper is None:
        return f"transformers {version}'s continuous batching cannot run tensor-parallel"
    return (
        f"transformers {version}'s continuous batching can run tensor-parallel, but the serving "
        "scenario's load generator drives one process"
    )


def gpus_needed(model: ModelConfig, gpu_memory_bytes: int | None) -> int:
    """GPUs a model needs: `model.min_gpus`, else an estimate from its weights.

    The estimate: weights take `params x bytes per parameter of dtype`; they may fill at most
    `WEIGHT_SHARE` (0.8) of each GPU's memory, the rest is left to the KV cache, activations and
    the CUDA context; the GPU count is the smallest power of two (tensor-parallel degrees divide
    the attention heads) that holds them. 1 when the model states no `params` or the memory is
    unknown (a CPU runner).

    Args:
        model: the model config.
        gpu_memory_bytes: one GPU's memory, in bytes (None: unknown).
    """
    if model.min_gpus is not None:
        return model.min_gpus
    if model.params is None or not gpu_memory_bytes:
        return 1
    weights = model.params * BYTES_PER_PARAM[model.dtype]
    gpus = 1
    while weights > WEIGHT_SHARE * gpu_memory_bytes * gpus and gpus < MAX_TENSOR_PARALLEL:
        gpus *= 2
    return gpus


@dataclass
class RunConfig:
    """One benchmark point: (model, task, batch size, backend), plus how to measure it.

    Attributes:
        batch_size: requests generated together.
        num_prompts: measured requests per repeat (drawn from the prompt set with `seed`).
        warmup_batches: batches run before measuring; excluded from every number.
        repeats: energy windows per point. Each window runs whole passes over the measured
            requests until it has lasted at least `min_window_s`; spread is reported over all.
        seed: seeds the prompt sample and any sampling.
        idle_seconds: length of the idle-power window, in seconds (0 = skip). It is measured
            once per point, after the model is loaded and `idle_settle_s` has passed, before
            warm-up (so the load's power tail is not in it); never subtracted from a headline.
        idle_settle_s: seconds to wait after loading before the idle window (skipped without
            a meter).
        min_window_s: shortest energy window, in seconds (the window rule). The NVML counter
            agrees with an integral of sampled power within ~2 % over windows of 10 s or more
            and is ~11 % off at 0.5 s (FACTS.md), so the default is 10 s, and on a GPU a rule
            below 10 s is raised to 10 s (`GPU_MIN_WINDOW_S`); publishing legs use 60 s (as
            MLPerf). Runs extend until the rule is met; the record stores the rule and each
            window's relative uncertainty from the meter's resolution.
        power_sample_period_s: on a GPU, sample power every this many seconds during each
            window (Zeus `PowerMonitor`) to attribute energy to batches; 0 = no timeline.
        energy_meter: `auto` (Zeus where a meter is readable), `zeus`, or `none`.
        results_dir: the results root: records are written under it, and earlier results
            (calibrations, accuracy records) are looked up anywhere under it.
        results_subdir: a folder under `results_dir` to write into instead of its top, as a
            relative path of safe names (e.g. `runs/<hardware>/<run-id>/records`, a benchmark
            job's new DVC-tracked folder); empty writes at the top.
        max_prompt_tokens: prompts longer than this (after the chat template) are truncated
            from the left, in tokens.
        calibrate: link the record to this machine's newest calibration for the run's dtype,
            measuring one first when there is none (`leaderboard calibrate`); false leaves
            `calibration_id` null.
        scenario: `static` batches (default), `serving` under arriving load, or `steady`
            (N requests at once, batch cap B, one steady-state window).
        parallel: how the point is split across devices (`parallel.tensor=N`).
    """

    model: ModelConfig = MISSING
    task: TaskConfig = MISSING
    backend: BackendConfig = MISSING
    scenario: ScenarioConfig = field(default_factory=ScenarioConfig)
    parallel: ParallelConfig = field(default_factory=ParallelConfig)
    batch_size: int = 1
    num_prompts: int = 16
    warmup_batches: int = 1
    repeats: int = 1
    seed: int = 0
    idle_seconds: float = 5.0
    idle_settle_s: float = 5.0
    min_window_s: float = 10.0
    power_sample_period_s: float = 0.05
    energy_meter: str = "auto"
    results_dir: str = "results"
    results_subdir: str = ""
    max_prompt_tokens: int = 1024
    calibrate: bool = True

    def __post_init__(self) -> None:
        _check_int_range("batch_size", self.batch_size, 1, 4096)
        _check_int_range("num_prompts", self.num_prompts, 1, 100_000)
        _check_int_range("warmup_batches", self.warmup_batches, 0, 1000)
        _check_int_range("repeats", self.repeats, 1, 1000)
        _check_int_range("seed", self.seed, 0, 2**32 - 1)
        _check_float_range("idle_seconds", self.idle_seconds, 0.0, 3600.0)
        _check_float_range("idle_settle_s", self.idle_settle_s, 0.0, 3600.0)
        _check_float_range("min_window_s", self.min_window_s, 0.0, 3600.0)
        if self.power_sample_period_s != 0:
            _check_float_range("power_sample_period_s", self.power_sample_period_s, 0.01, 10.0)
        _check_choice("energy_meter", self.energy_meter, ENERGY_METERS)
        _check_nonempty("results_dir", self.results_dir)
        if not isinstance(self.results_subdir, str):
            _fail("results_subdir", "a relative folder path", self.results_subdir)
        for part in self.results_subdir.split("/") if self.results_subdir else []:
            check_safe_name("results_subdir", part)
        _check_int_range("max_prompt_tokens", self.max_prompt_tokens, 1, 1_000_000)
        if self.num_prompts < self.batch_size:
            # Otherwise no batch would ever hold batch_size requests, yet the record says it did.
            _fail("num_prompts", f"at least batch_size ({self.batch_size})", self.num_prompts)
        backend = getattr(self.backend, "name", None)
        if backend in STATIC_BACKENDS:
            # One batch shape for every batch: one static cache, one compile or capture.
            if self.num_prompts % self.batch_size:
                _fail(
                    "num_prompts",
                    f"a multiple of batch_size ({self.batch_size}) with backend={backend}",
                    self.num_prompts,
                )
            if self.warmup_batches < 1:
                _fail("warmup_batches", f"at least 1 with backend={backend}", self.warmup_batches)
        if not isinstance(self.calibrate, bool):
            _fail("calibrate", "true or false", self.calibrate)
        scenario = getattr(self.scenario, "name", "static")
        if scenario in ENGINE_SCENARIOS and getattr(self.backend, "name", None) != "eager":
            # Continuous batching runs its own loop; a compiled-generate label would lie.
            _fail("backend.name", f"eager with scenario={scenario}", self.backend.name)
        tensor = getattr(self.parallel, "tensor", 1)
        if tensor > 1 and backend != "eager":
            _fail(
                "parallel.tensor",
                f"1 with backend={backend} (tensor-parallel points run the eager backend)",
                tensor,
            )
        if tensor > 1 and scenario in ENGINE_SCENARIOS:
            _fail(
                "parallel.tensor",
                f"1 with scenario={scenario} ({serving_tensor_parallel_problem()})",
                tensor,
            )


def write_root(config: RunConfig) -> Path:
    """Where a run or eval writes its records: `results_dir[/results_subdir]`."""
    root = Path(config.results_dir)
    return root.joinpath(*config.results_subdir.split("/")) if config.results_subdir else root


def register_configs() -> None:
    """Register the schemas in Hydra's ConfigStore (idempotent)."""
    from hydra.core.config_store import ConfigStore

    store = ConfigStore.instance()
    store.store(name="run_schema", node=RunConfig)
    store.store(group="model", name="model_schema", node=ModelConfig)
    store.store(group="task", name="task_schema", node=TaskConfig)
    store.store(group="backend", name="backend_schema", node=BackendConfig)
    store.store(group="scenario", name="scenario_schema", node=ScenarioConfig)
