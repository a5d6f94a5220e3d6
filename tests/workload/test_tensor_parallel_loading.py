"""How a model is asked to load sharded: the form the installed transformers accepts."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from runner.config import ModelConfig
from runner.errors import UserError
from runner.workload.models import _check_tensor_parallel_plan, tensor_parallel_kwargs


def test_the_installed_distributed_config_is_used_when_it_takes_tp_size() -> None:
    import transformers

    kwargs, form = tensor_parallel_kwargs(2)
    assert isinstance(kwargs["distributed_config"], transformers.DistributedConfig)
    assert kwargs["distributed_config"].tp_size == 2
    assert form == "distributed_config=DistributedConfig(tp_size=2)"


def test_a_release_without_tp_size_in_distributed_config_gets_tp_plan_auto(monkeypatch) -> None:
    import transformers

    class OlderDistributedConfig:  # the expert-parallel-only config of older releases
        def __init__(self, enable_expert_parallel: bool = False) -> None:
            self.enable_expert_parallel = enable_expert_parallel

    monkeypatch.setattr(transformers, "DistributedConfig", OlderDistributedConfig)
    assert tensor_parallel_kwargs(4) == ({"tp_plan": "auto"}, 'tp_plan="auto"')
    monkeypatch.setattr(transformers, "DistributedConfig", None)  # (a lazy module re-imports)
    assert tensor_parallel_kwargs(4) == ({"tp_plan": "auto"}, 'tp_plan="auto"')


def test_an_architecture_without_a_plan_is_refused_in_one_line() -> None:
    model = ModelConfig(name="m", hf_id="org/m", revision="abc", display_name="M")
    _check_tensor_parallel_plan(model, SimpleNamespace(base_model_tp_plan={"layers.*": "colwise"}))
    with pytest.raises(UserError) as refused:
        _check_tensor_parallel_plan(model, SimpleNamespace(model_type="mamba"))
    message = str(refused.value)
    assert message.startswith("conf/model/m.yaml: model_type 'mamba' has no tensor-parallel plan")
    assert message.endswith("run it with parallel.tensor=1") and "\n" not in message
