import pytest

from portalit import costs
from portalit.errors import PortalitError


def test_price_comes_from_litellms_bundled_map():

    p = costs.price("openai/gpt-4o-mini")
    assert p.input_per_mtok == pytest.approx(0.15) and p.output_per_mtok == pytest.approx(0.60)
    assert costs.price("gpt-4o-mini") == p
    bundled = costs.price_map()["gpt-4o-mini"]
    assert bundled["input_cost_per_token"] * 1e6 == pytest.approx(p.input_per_mtok)


def test_call_cost_is_zero_on_owned_backends_and_priced_in_the_cloud():
    usage = {"prompt_tokens": 1_000_000, "completion_tokens": 1_000_000}
    assert costs.call_cost("local-cpu", "smollm2-135m", usage) == 0.0
    assert costs.call_cost("cloud", "openai/gpt-4o-mini", usage) == pytest.approx(0.75)
    assert costs.call_cost("cloud", "nobody/unknown-model", usage) is None


def test_unknown_model_suggests_close_names():
    with pytest.raises(PortalitError, match=r"no price for model 'openai/gpt-4o-mni'.*gpt-4o-mini"):
        costs.price("openai/gpt-4o-mni")


def test_break_even_always_on_is_fixed_cost_over_cloud_price():
    b = costs.break_even("openai/gpt-4o", gpu_per_hour=2.0, tokens_per_s=1500)
    assert b.owned_fixed_per_month == pytest.approx(2.0 * 730)
    assert b.break_even_mtok_per_month == pytest.approx(b.owned_fixed_per_month / b.cloud_per_mtok)
    # At that volume the two monthly bills are equal.
    v = b.break_even_mtok_per_month
    assert costs.monthly_cloud_cost(v, "openai/gpt-4o") == pytest.approx(costs.monthly_owned_cost(v, 2.0, 1500))


def test_cheap_cloud_model_can_be_unbeatable_on_price():
    b = costs.break_even("openai/gpt-4o-mini", gpu_per_hour=4.0, tokens_per_s=100)
    assert b.break_even_mtok_per_month is None and "not on price" in b.note


def test_owned_cost_adds_machines_as_volume_grows():
    capacity = 1500 * 3600 * 730 / 1e6
    assert costs.monthly_owned_cost(capacity * 0.5, 2.0, 1500) == pytest.approx(1460)
    assert costs.monthly_owned_cost(capacity * 1.5, 2.0, 1500) == pytest.approx(2920)


@pytest.mark.parametrize("kwargs", [dict(gpu_per_hour=0, tokens_per_s=10), dict(gpu_per_hour=1, tokens_per_s=-5)])
def test_bad_numbers_are_named(kwargs):
    with pytest.raises(PortalitError, match="must be a positive number"):
        costs.break_even("openai/gpt-4o", **kwargs)
