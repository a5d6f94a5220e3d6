"""Derived hardware metrics on hand-computed examples (runner/hardware/derived.py).

Two architectures: a tied-embedding model (float32) and a grouped-query-attention model with
untied embeddings (bfloat16, 2 KV heads for 8 query heads). Every expected number below is
worked out by hand in the comments.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.errors import ConfigError
from runner.hardware.derived import (
    COLUMNS,
    DEFAULT_SETTINGS_PATH,
    attention_context_tokens,
    columns_as_dicts,
    derive,
    derive_rows,
    flops_per_token,
    grams_co2e,
    kv_cache_bytes,
    load_settings,
    non_embedding_params,
    step_bytes,
    usd_per_million_tokens,
)
from runner.records.performance import Architecture
from tests.support.hwmetrics_records import make_calibration, make_record

# Tied: L=2, h=64, H=Hkv=4, d=16, V=1000; E = V h = 64_000 (counted once); P = 264_000.
TIED = Architecture(
    model_type="llama",
    num_layers=2,
    hidden_size=64,
    intermediate_size=128,
    num_attention_heads=4,
    num_key_value_heads=4,
    head_dim=16,
    vocab_size=1000,
    tie_word_embeddings=True,
    embedding_params=64_000,
    bytes_per_param=4,
)
TIED_PARAMS = 264_000

# GQA, untied: L=4, h=128, H=8, Hkv=2, d=16, V=2000; E = 2 V h = 512_000; P = 1_512_000.
GQA = Architecture(
    model_type="qwen2",
    num_layers=4,
    hidden_size=128,
    intermediate_size=512,
    num_attention_heads=8,
    num_key_value_heads=2,
    head_dim=16,
    vocab_size=2000,
    tie_word_embeddings=False,
    embedding_params=512_000,
    bytes_per_param=2,
)
GQA_PARAMS = 1_512_000


@pytest.fixture(scope="module")
def settings():
    return load_settings()


# --- formulas -----------------------------------------------------------------------------


def test_non_embedding_params_counts_tied_embeddings_once() -> None:
    assert non_embedding_params(TIED_PARAMS, TIED) == 200_000  # 264_000 - 1000*64
    assert non_embedding_params(GQA_PARAMS, GQA) == 1_000_000  # 1_512_000 - 2*2000*128


def test_context_is_prompt_plus_half_response() -> None:
    assert attention_context_tokens(80, 40) == 100
    assert attention_context_tokens(200, 100) == 250


def test_flops_per_token_tied() -> None:
    # 2 N + 4 L H d C = 2*200_000 + 4*2*4*16*100 = 400_000 + 51_200
    assert flops_per_token(TIED_PARAMS, TIED, 100, count_lm_head=False) == 451_200
    # + 2 h V = 2*64*1000 = 128_000 when the output head is counted
    # the output head, 2 h V = 128_000, is counted by default (bytes per step read it too)
    assert flops_per_token(TIED_PARAMS, TIED, 100) == 579_200


def test_flops_per_token_gqa_uses_query_heads() -> None:
    # attention FLOPs follow the 8 query heads, not the 2 KV heads:
    # 2*1_000_000 + 4*4*8*16*250 = 2_000_000 + 512_000
    assert flops_per_token(GQA_PARAMS, GQA, 250, count_lm_head=False) == 2_512_000


def test_step_bytes_tied() -> None:
    moved = step_bytes(TIED_PARAMS, TIED, 100, batch_size=2)
    assert moved.weights == (200_000 + 64_000) * 4  # N + V h, float32: 1_056_000
    assert moved.embedding_rows == 2 * 64 * 4  # 512
    assert moved.kv_cache == 2 * 2 * 4 * 16 * 100 * 4 * 2  # 204_800
    assert moved.total == 1_261_312


def test_step_bytes_gqa_reads_kv_heads_only() -> None:
    moved = step_bytes(GQA_PARAMS, GQA, 250, batch_size=4)
    assert moved.weights == (1_000_000 + 2000 * 128) * 2  # 2_512_000
    assert moved.embedding_rows == 4 * 128 * 2  # 1024
    assert moved.kv_cache == 2 * 4 * 2 * 16 * 250 * 2 * 4  # 512_000 (Hkv = 2)
    assert kv_cache_bytes(GQA, 250, 4) == 512_000
    assert moved.total == 3_025_024


def test_carbon_and_cost_helpers() -> None:
    assert grams_co2e(3.6e6, 480) == pytest.approx(480)  # 1 kWh
    assert grams_co2e(None, 480) is None
    # $3/h at 1000 tok/s: 3 / 3600 / 1000 * 1e6 = 0.8333 $ per 1M tokens
    assert usd_per_million_tokens(3.0, 1000.0) == pytest.approx(0.833333, rel=1e-5)
    assert usd_per_million_tokens(3.0, None) is None
    assert usd_per_million_tokens(3.0, 0.0) is None


# --- one record -> every derived metric ---------------------------------------------------


def tied_record():
    """The tied-embeddings record whose derived metrics are computed by hand below."""
    return make_record(
        architecture=TIED,
        params=TIED_PARAMS,
        dtype="float32",
        batch_size=2,
        prompt_mean=80,
        response_mean=40,
        tpot_mean=1e-3,
        energy_j=200.0,
        requests=8,
        output_tokens=400,
        throughput=1000.0,
    )


def test_derive_tied_record_against_hand_values(settings) -> None:
    record = tied_record()
    calibration = make_calibration(bandwidth=1e10, flop_s=1e11, dtype="float32")
    derived = derive(record, calibration, settings)
    assert derived.calibration_id == "cal-1"
    assert derived.context_tokens == 100
    # F = 2 N + 2 h V + 4 L H d C = 400_000 + 128_000 + 51_200
    assert derived.flops_per_token == 579_200
    assert derived.step_bytes == 1_261_312
    # B F / M = 2 * 579_200 / 1_261_312
    assert derived.arithmetic_intensity_flop_per_byte == pytest.approx(1_158_400 / 1_261_312)
    assert derived.bandwidth_floor_s == pytest.approx(1.261312e-4)
    assert derived.x_floor == pytest.approx(1e-3 / 1.261312e-4)  # 7.928
    assert derived.achieved_bandwidth_bytes_s == pytest.approx(1.261312e9)
    assert derived.achieved_bandwidth_share == pytest.approx(0.1261312)
    assert derived.achieved_flop_s == pytest.approx(1.1584e9)
    assert derived.achieved_flop_share == pytest.approx(1.1584e-2)
    # 400 tokens / 200 J
    assert derived.tokens_per_j == pytest.approx(2.0)
    # 25 J per response = 25 / 3.6e6 kWh x 480 g/kWh
    assert derived.carbon_g_per_response == pytest.approx(25 / 3.6e6 * 480)
    # 0.5 J per token -> 500 J per 1k tokens
    assert derived.carbon_g_per_1k_tokens == pytest.approx(500 / 3.6e6 * 480)
    assert derived.cost_usd_per_1m_tokens == pytest.approx(3.0 / 3600 / 1000 * 1e6)
    assert derived.grid_region == "world"
    assert derived.grid_g_co2e_per_kwh == 480


def test_a_two_device_configuration_is_judged_against_two_devices(settings) -> None:
    record = tied_record()
    configuration = record.identity.configuration.model_copy(
        update={"num_devices": 2, "tensor_parallel": 2}
    )
    split = record.model_copy(
        update={"identity": record.identity.model_copy(update={"configuration": configuration})}
    )
    calibration = make_calibration(bandwidth=1e10, flop_s=1e11, dtype="float32")
    derived = derive(split, calibration, settings)
    # The same bytes over 2 x 1e10 bytes/s; the same FLOP/s over 2 x 1e11.
    assert derived.bandwidth_floor_s == pytest.approx(1.261312e-4 / 2)
    assert derived.x_floor == pytest.approx(1e-3 / (1.261312e-4 / 2))
    assert derived.achieved_bandwidth_share == pytest.approx(0.1261312 / 2)
    assert derived.achieved_flop_share == pytest.approx(1.1584e-2 / 2)
    # Two GPUs' price; energy already covers both GPUs.
    assert derived.cost_usd_per_1m_tokens == pytest.approx(2 * 3.0 / 3600 / 1000 * 1e6)
    assert derived.tokens_per_j == pytest.approx(2.0)
    assert any("2 x one device's" in note for note in derived.notes)


def test_derive_gqa_record_against_hand_values(settings) -> None:
    record = make_record(
        architecture=GQA,
        params=GQA_PARAMS,
        dtype="bfloat16",
        batch_size=4,
        prompt_mean=200,
        response_mean=100,
        tpot_mean=2e-3,
        energy_j=None,
        device="cpu",
        slug="cpu-test",
        throughput=500.0,
    )
    calibration = make_calibration(bandwidth=2e10, flop_s=1e12, dtype="bfloat16", slug="cpu-test")
    derived = derive(record, calibration, settings)
    # 2 N + 4 L H d C = 2_512_000, plus the untied head 2 h V = 512_000
    assert derived.flops_per_token == 3_024_000
    assert derived.step_bytes == 3_025_024
    assert derived.arithmetic_intensity_flop_per_byte == pytest.approx(12_096_000 / 3_025_024)
    floor = 3_025_024 / 2e10
    assert derived.x_floor == pytest.approx(2e-3 / floor)
    assert derived.achieved_flop_share == pytest.approx(12_096_000 / 2e-3 / 1e12)
    # energy unmeasured: never 0, always None
    assert derived.tokens_per_j is None
    assert derived.carbon_g_per_response is None
    assert derived.carbon_g_per_1k_tokens is None
    assert any("energy not measured" in note for note in derived.notes)
    # CPU price: 0.10 $/h at 500 tok/s
    assert derived.cost_usd_per_1m_tokens == pytest.approx(0.10 / 3600 / 500 * 1e6)


def test_missing_inputs_give_none_not_zero(settings) -> None:
    record = make_record(
        architecture=None,
        params=TIED_PARAMS,
        dtype="float32",
        batch_size=1,
        prompt_mean=10,
        response_mean=1,
        tpot_mean=None,
        energy_j=None,
    )
    derived = derive(record, None, settings)
    for name in (
        "flops_per_token",
        "step_bytes",
        "arithmetic_intensity_flop_per_byte",
        "bandwidth_floor_s",
        "x_floor",
        "achieved_bandwidth_share",
        "achieved_flop_s",
        "achieved_flop_share",
        "tokens_per_j",
        "carbon_g_per_response",
    ):
        assert getattr(derived, name) is None, name
    assert derived.calibration_id is None
    assert derived.cost_usd_per_1m_tokens is not None  # throughput is still measured


def test_calibration_of_other_machine_or_dtype_is_not_used(settings) -> None:
    record = make_record(
        architecture=TIED,
        params=TIED_PARAMS,
        dtype="float32",
        batch_size=1,
        prompt_mean=80,
        response_mean=40,
        tpot_mean=1e-3,
        energy_j=None,
    )
    other_machine = make_calibration(bandwidth=1e10, flop_s=1e11, dtype="float32", slug="x")
    derived = derive(record, other_machine, settings)
    assert derived.x_floor is None and derived.achieved_flop_share is None
    assert derived.flops_per_token is not None  # machine-independent estimate stays
    other_dtype = make_calibration(bandwidth=1e10, flop_s=1e11, dtype="bfloat16")
    derived = derive(record, other_dtype, settings)
    assert derived.x_floor is not None  # bandwidth does not depend on dtype
    assert derived.achieved_flop_share is None  # the matmul ceiling does


def test_derive_rows_links_records_to_their_calibration(settings) -> None:
    calibration = make_calibration(bandwidth=1e10, flop_s=1e11, dtype="float32")
    records = [
        (Path("a.json"), calibration),
        (
            Path("b.json"),
            make_record(
                architecture=TIED,
                params=TIED_PARAMS,
                dtype="float32",
                batch_size=2,
                prompt_mean=80,
                response_mean=40,
                tpot_mean=1e-3,
                energy_j=None,
            ),
        ),
        (
            Path("c.json"),
            make_record(
                architecture=TIED,
                params=TIED_PARAMS,
                dtype="float32",
                batch_size=1,
                prompt_mean=80,
                response_mean=40,
                tpot_mean=1e-3,
                energy_j=None,
                calibration_id="missing",
            ),
        ),
    ]
    rows = derive_rows(records, settings)
    assert [row["batch_size"] for row in rows] == [2, 1]
    assert rows[0]["calibration_id"] == "cal-1"
    assert rows[0]["x_floor"] == pytest.approx(1e-3 / 1.261312e-4)
    assert rows[1]["calibration_id"] is None and rows[1]["x_floor"] is None


# --- settings and columns -----------------------------------------------------------------


def test_default_settings_are_labelled(settings) -> None:
    assert settings.grid.region == "world"
    assert settings.grid_intensity_g_per_kwh == 480
    assert "Ember" in settings.grid.regions["world"].source
    assert "assumption" in settings.cost.source
    assert settings.hour_usd("any-gpu", "cuda") == settings.cost.gpu_hour_usd
    assert settings.hour_usd("cpu-x", "cpu") == settings.cost.cpu_hour_usd
    assert load_settings(region="france").grid_intensity_g_per_kwh == 56


def test_bad_settings_name_the_field(tmp_path: Path) -> None:
    text = DEFAULT_SETTINGS_PATH.read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("gpu_hour_usd: 3.0", "gpu_hour_usd: cheap"))
    with pytest.raises(ConfigError, match=r"bad\.yaml: field cost\.gpu_hour_usd"):
        load_settings(bad)
    with pytest.raises(ConfigError, match=r"field grid\.region: expected one of"):
        load_settings(region="atlantis")
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "absent.yaml")


def test_columns_cover_the_new_metrics() -> None:
    keys = {column.key for column in COLUMNS}
    assert {
        "x_floor",
        "tokens_per_j",
        "carbon_g_per_response",
        "carbon_g_per_1k_tokens",
        "cost_usd_per_1m_tokens",
    } <= keys
    for column in columns_as_dicts():
        assert set(column) == {"key", "label", "unit", "better", "description"}
        assert column["better"] in ("lower", "higher")
    better = {column.key: column.better for column in COLUMNS}
    assert better["x_floor"] == "lower" and better["tokens_per_j"] == "higher"
