"""The embedded default model: a tiny random-weight Llama with a locally trained BPE tokenizer.

It is built offline, deterministically from a seed, on first use, and cached on disk. It is then
loaded through the same `from_pretrained` path as hub models, so the default run exercises the
real loading code.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from runner.workload.prompts import builtin_prompt_texts

BUILDER_VERSION = "v1"
VOCAB_SIZE = 1000
SPECIAL_TOKENS = ["<|pad|>", "<|bos|>", "<|eos|>", "<|system|>", "<|user|>", "<|assistant|>"]

CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>' + message['content'] + eos_token }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}"
)


def cache_root() -> Path:
    """Where built artefacts live: $LEADERBOARD_CACHE, else $XDG_CACHE_HOME/energy-leaderboard."""
    if os.environ.get("LEADERBOARD_CACHE"):
        return Path(os.environ["LEADERBOARD_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "energy-leaderboard"


def tiny_model_dir(seed: int = 0) -> Path:
    """The cache folder of the tiny model for `seed` (it may not exist yet)."""
    return cache_root() / f"tiny-random-{BUILDER_VERSION}-seed{seed}"


def ensure_tiny_model(seed: int = 0) -> Path:
    """Build the tiny model into the cache unless it is there; return its folder.

    The build goes to a temp folder that is renamed into place, so concurrent builders and
    interrupted builds never leave a half-written model behind.
    """
    target = tiny_model_dir(seed)
    if (target / "config.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        build_tiny_model(staging, seed)
        if not (staging / "config.json").exists():  # e.g. save_pretrained skipped off rank 0
            raise RuntimeError(f"building the tiny model wrote no config.json into {staging}")
        try:
            staging.rename(target)
        except OSError:
            if not (target / "config.json").exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def build_tiny_model(out_dir: Path, seed: int = 0) -> None:
    """Train the tokenizer and initialise a 2-layer Llama with random weights into `out_dir`."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(builtin_prompt_texts(), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<|bos|>",
        eos_token="<|eos|>",
        pad_token="<|pad|>",
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(out_dir)

    config = LlamaConfig(
        vocab_size=len(fast),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=4096,
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
        tie_word_embeddings=False,
    )
    generator_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    finally:
        torch.random.set_rng_state(generator_state)
    model.generation_config.pad_token_id = fast.pad_token_id
    model.generation_config.eos_token_id = fast.eos_token_id
    model.generation_config.bos_token_id = fast.bos_token_id
    model.save_pretrained(out_dir)
