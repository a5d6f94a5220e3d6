"""Model and tokenizer loading through `from_pretrained`, for hub models and the tiny model."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from runner.config import ModelConfig
from runner.errors import UserError
from runner.tiny_model import ensure_tiny_model

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


def resolve_device(requested: str) -> str:
    """`auto` becomes `cuda` when a CUDA device is usable, else `cpu`."""
    import torch

    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise UserError("backend.device: expected a usable CUDA device, but none is available")
    return requested


def model_location(config: ModelConfig) -> tuple[str, str | None]:
    """Where `from_pretrained` reads the model: (path or repo id, revision or None)."""
    if config.source == "tiny-random":
        return str(ensure_tiny_model()), None
    return config.hf_id, config.revision


def load_model(config: ModelConfig, device: str) -> LoadedModel:
    """Load tokenizer and model for `config` onto `device`.

    Raises:
        UserError: the model cannot be loaded (not found, no network, gated, bad revision).
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()

    started = time.perf_counter()
    location, revision = model_location(config)
    common: dict[str, Any] = {"trust_remote_code": config.trust_remote_code is True}
    if revision is not None:
        common["revision"] = revision
    try:
        tokenizer = AutoTokenizer.from_pretrained(location, padding_side="left", **common)
        model = AutoModelForCausalLM.from_pretrained(
            location, dtype=getattr(torch, TORCH_DTYPES[config.dtype]), **common
        )
    except (OSError, ValueError, ImportError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error)
        raise UserError(
            f"conf/model/{config.name}.yaml: model {config.hf_id!r} at revision "
            f"{config.revision!r} cannot be loaded: {first_line}"
        ) from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.truncation_side = "left"
    try:
        model.to(device)
    except torch.OutOfMemoryError:
        raise UserError(
            f"conf/model/{config.name}.yaml: out of memory moving the model to {device}"
        ) from None
    model.eval()
    if config.params is not None:
        params, params_source = config.params, "config"
    else:
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
    )
