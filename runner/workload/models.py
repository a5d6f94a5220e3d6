"""Model and tokenizer loading through `from_pretrained`, for hub models and the tiny model."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from runner.config import BYTES_PER_PARAM, RANDOM_INIT_SEED, ModelConfig
from runner.errors import UserError
from runner.records.performance import Architecture
from runner.workload.tiny_model import ensure_tiny_model

TORCH_DTYPES = {"float32": "float32", "float16": "float16", "bfloat16": "bfloat16"}


@dataclass
class LoadedModel:
    """A model ready to generate, with facts the record needs.

    Attributes:
        model: the transformers model, in eval mode, on `device`.
        tokenizer: its tokenizer, left-padded for batched generation.
        device: `cuda` or `cpu`.
        params: parameter count (from config, or counted).
        params_source: `config` or `counted`.
        load_time_s: seconds spent loading, not part of any measurement.
    """

    model: Any
    tokenizer: Any
    device: str
    params: int
    params_source: str
    load_time_s: float
    architecture: Architecture | None


def model_location(config: ModelConfig) -> tuple[str, str | None]:
    """Where `from_pretrained` reads the model: (path or repo id, revision or None).

    A `random-init` model reads only its tokenizer from here (the tiny model's).
    """
    if config.source in ("tiny-random", "random-init"):
        return str(ensure_tiny_model()), None
    return config.hf_id, config.revision


def _random_init_model(config: ModelConfig, dtype: Any, device: str = "cpu") -> Any:
    """A real architecture from `init_config` with random weights (seeded), nothing downloaded.

    The weights are drawn directly on `device` (a 1.24 B model initialises in well under a second
    on a GPU instead of seconds on the CPU), so CPU and GPU runs draw different random weights;
    energy and time do not depend on the values. The caller's RNG state is left as it was.
    """
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    fields = dict(config.init_config or {})
    model_config = AutoConfig.for_model(fields.pop("model_type"), **fields)
    devices = [torch.device(device).index or 0] if device == "cuda" else []
    with torch.random.fork_rng(devices=devices), torch.device(device):
        torch.manual_seed(RANDOM_INIT_SEED)
        return AutoModelForCausalLM.from_config(model_config, dtype=dtype)


def tensor_parallel_kwargs(degree: int) -> tuple[dict[str, Any], str]:
    """`from_pretrained` keyword arguments that shard a model over `degree` ranks, in the form the
    installed transformers accepts, and that form in words (for the record).

    Recent releases take `distributed_config=DistributedConfig(tp_size=N)` (the model's own
    tensor-parallel plan); 5.23 still accepts the older `tp_plan="auto"` keyword but warns that it
    is deprecated. Which form to use is read from the installed `DistributedConfig`'s signature,
    not guessed from the version string: releases without a `tp_size` field there (or without
    `DistributedConfig`) take `tp_plan="auto"`.
    """
    import inspect

    import transformers

    config_class = getattr(transformers, "DistributedConfig", None)
    fields: set[str] = set()
    if config_class is not None:
        try:
            fields = set(inspect.signature(config_class).parameters)
        except (TypeError, ValueError):
            fields = set()
    if "tp_size" in fields:
        assert config_class is not None
        return (
            {"distributed_config": config_class(tp_size=degree)},
            f"distributed_config=DistributedConfig(tp_size={degree})",
        )
    return {"tp_plan": "auto"}, 'tp_plan="auto"'


def _random_init_checkpoint(config: ModelConfig, dtype: Any) -> str:
    """A `random-init` model written once to a temp folder, for every rank to load sharded.

    Rank 0 draws the weights on the CPU (seed 0, as a one-process CPU run draws them) and saves
    them; the folder's path is broadcast to every rank. Host memory must hold the whole model
    once. The caller removes the folder (rank 0, after every rank has loaded).
    """
    import tempfile

    import torch.distributed as dist

    holder: list[str | None] = [None]
    if dist.get_rank() == 0:
        folder = tempfile.mkdtemp(prefix="leaderboard-random-init-")
        _random_init_model(config, dtype, "cpu").save_pretrained(folder)
        holder[0] = folder
    dist.broadcast_object_list(holder, src=0)
    assert holder[0] is not None
    return holder[0]


def _check_tensor_parallel_plan(config: ModelConfig, model_config: Any) -> None:
    """Refuse a model whose architecture has no tensor-parallel plan in this transformers."""
    plan = getattr(model_config, "base_model_tp_plan", None)
    if not plan and hasattr(model_config, "get_text_config"):
        plan = getattr(model_config.get_text_config(), "base_model_tp_plan", None)
    if not plan:
        from importlib import metadata

        raise UserError(
            f"conf/model/{config.name}.yaml: model_type "
            f"{getattr(model_config, 'model_type', '?')!r} has no tensor-parallel plan in "
            f"transformers {metadata.version('transformers')}; run it with parallel.tensor=1"
        )


def load_model(config: ModelConfig, device: str, tensor_parallel: int = 1) -> LoadedModel:
    """Load tokenizer and model for `config` onto `device`.

    Args:
        config: the model config.
        device: `cuda` (the current CUDA device) or `cpu`.
        tensor_parallel: above 1, this process is one rank of an initialised torch.distributed
            group of that size, and the model is loaded sharded by transformers'
            tensor-parallel plan (`tensor_parallel_kwargs`); every rank calls this together.

    Raises:
        UserError: the model cannot be loaded (not found, no network, gated, bad revision, no
            tensor-parallel plan).
    """
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()

    started = time.perf_counter()
    location, revision = model_location(config)
    common: dict[str, Any] = {"trust_remote_code": config.trust_remote_code is True}
    if revision is not None:
        common["revision"] = revision
    scratch: str | None = None
    try:
        tokenizer = AutoTokenizer.from_pretrained(location, padding_side="left", **common)
        dtype = getattr(torch, TORCH_DTYPES[config.dtype])
        if tensor_parallel > 1:
            weights, weights_common = location, common
            if config.source == "random-init":
                scratch = weights = _random_init_checkpoint(config, dtype)
                weights_common = {"trust_remote_code": False}
            shape = AutoConfig.from_pretrained(weights, **weights_common)
            _check_tensor_parallel_plan(config, shape)
            sharding, _ = tensor_parallel_kwargs(tensor_parallel)
            model = AutoModelForCausalLM.from_pretrained(
                weights, dtype=dtype, **weights_common, **sharding
            )
        elif config.source == "random-init":
            model = _random_init_model(config, dtype, device)
        else:
            model = AutoModelForCausalLM.from_pretrained(location, dtype=dtype, **common)
    except (OSError, ValueError, ImportError, KeyError, TypeError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error)
        raise UserError(
            f"conf/model/{config.name}.yaml: model {config.hf_id!r} at revision "
            f"{config.revision!r} cannot be loaded: {first_line}"
        ) from None
    except torch.OutOfMemoryError:
        where = (
            f"sharded over {tensor_parallel} {device} devices"
            if tensor_parallel > 1
            else f"on one {device} device"
        )
        raise UserError(
            f"conf/model/{config.name}.yaml: out of memory loading the model {where}"
        ) from None
    finally:
        if scratch is not None:
            import shutil

            import torch.distributed as dist

            dist.barrier()  # every rank has read the checkpoint
            if dist.get_rank() == 0:
                shutil.rmtree(scratch, ignore_errors=True)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.truncation_side = "left"
    if tensor_parallel == 1:  # a sharded model is already on each rank's device
        try:
            model.to(device)
        except torch.OutOfMemoryError:
            raise UserError(
                f"conf/model/{config.name}.yaml: out of memory moving the model to {device}"
            ) from None
    model.eval()
    if config.params is not None:
        params, params_source = config.params, "config"
    else:  # a sharded parameter (DTensor) counts its whole tensor, not this rank's shard
        params, params_source = sum(p.numel() for p in model.parameters()), "counted"
    if device == "cuda":
        torch.cuda.synchronize()
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        device=device,
        params=int(params),
        params_source=params_source,
        load_time_s=time.perf_counter() - started,
        architecture=describe_architecture(model, config.dtype),
    )


def describe_architecture(model: Any, dtype: str) -> Architecture | None:
    """Shape facts from a loaded model's config; None when it lacks the usual fields."""
    config = getattr(model, "config", None)
    text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
    try:
        hidden = int(text_config.hidden_size)
        layers = int(text_config.num_hidden_layers)
        heads = int(text_config.num_attention_heads)
        vocab = int(text_config.vocab_size)
    except (AttributeError, TypeError, ValueError):
        return None
    kv_heads = getattr(text_config, "num_key_value_heads", None) or heads
    head_dim = getattr(text_config, "head_dim", None) or (hidden // heads if heads else 0)
    tied = bool(getattr(config, "tie_word_embeddings", False))
    input_embeddings = model.get_input_embeddings()
    embedding_params = sum(p.numel() for p in input_embeddings.parameters())
    if not tied:
        output_embeddings = model.get_output_embeddings()
        if output_embeddings is not None:
            embedding_params += sum(p.numel() for p in output_embeddings.parameters())
    return Architecture(
        model_type=str(getattr(config, "model_type", "unknown")),
        num_layers=layers,
        hidden_size=hidden,
        intermediate_size=getattr(text_config, "intermediate_size", None),
        num_attention_heads=heads,
        num_key_value_heads=int(kv_heads),
        head_dim=int(head_dim),
        vocab_size=vocab,
        tie_word_embeddings=tied,
        embedding_params=int(embedding_params),
        bytes_per_param=BYTES_PER_PARAM[dtype],
    )
