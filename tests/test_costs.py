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


def test_prompt_tokens_at_the_prefill_rate_make_owning_cheaper():
    # 3 prompt tokens to 1 answer token; reading a prompt token takes a tenth of writing one.
    mix = costs.owned_tokens_per_s(100, prefill_tokens_per_s=1000, input_share=0.75)
    assert mix == pytest.approx(1 / (0.75 / 1000 + 0.25 / 100))
    assert costs.owned_tokens_per_s(100) == 100  # no prefill rate: every token at the decode rate
    old = costs.break_even("openai/gpt-4o", gpu_per_hour=2.0, tokens_per_s=1500)
    new = costs.break_even("openai/gpt-4o", gpu_per_hour=2.0, tokens_per_s=1500, prefill_tokens_per_s=15000)
    assert new.owned_tokens_per_s == pytest.approx(costs.owned_tokens_per_s(1500, 15000, 0.75))
    assert new.capacity_mtok_per_month == pytest.approx(old.capacity_mtok_per_month * new.owned_tokens_per_s / 1500)
    # Always on, the break-even volume is the monthly bill over the cloud price, whatever the rates.
    assert new.break_even_mtok_per_month == pytest.approx(old.break_even_mtok_per_month)
    assert new.owned_per_mtok_at_capacity < old.owned_per_mtok_at_capacity


def test_a_machine_too_slow_at_decode_rates_can_break_even_once_prompts_are_read_at_prefill_rates():
    slow = costs.break_even("openai/gpt-4o-mini", gpu_per_hour=0.05, tokens_per_s=20)
    fair = costs.break_even("openai/gpt-4o-mini", gpu_per_hour=0.05, tokens_per_s=20, prefill_tokens_per_s=400)
    assert slow.break_even_mtok_per_month is None
    assert fair.break_even_mtok_per_month == pytest.approx(0.05 * 730 / fair.cloud_per_mtok)
    v = fair.break_even_mtok_per_month
    assert costs.monthly_cloud_cost(v, "openai/gpt-4o-mini") == pytest.approx(
        costs.monthly_owned_cost(v, 0.05, 20, prefill_tokens_per_s=400, input_share=0.75))


def test_owned_cost_with_both_rates_counts_busy_hours_of_each_kind():
    # 100 M tokens, 60 M read at 2,000/s and 40 M written at 500/s, paid by the busy hour.
    hours = (60e6 / 2000 + 40e6 / 500) / 3600
    got = costs.monthly_owned_cost(100, 1.5, 500, always_on=False, prefill_tokens_per_s=2000, input_share=0.6)
    assert got == pytest.approx(hours * 1.5)
    # Always on: whole machines, each paid for every hour of the month.
    capacity = costs.owned_tokens_per_s(500, 2000, 0.6) * 3600 * 730 / 1e6
    assert costs.monthly_owned_cost(capacity * 2.5, 1.5, 500, prefill_tokens_per_s=2000, input_share=0.6) == \
        pytest.approx(3 * 730 * 1.5)


@pytest.mark.parametrize("share", [-0.1, 1.5, "most"])
def test_input_share_outside_0_to_1_is_named(share):
    with pytest.raises(PortalitError, match="input_share .* must be a number from 0 to 1"):
        costs.break_even("openai/gpt-4o", 2.0, 1500, input_share=share, prefill_tokens_per_s=15000)


class _TimedClient:
    """Answers instantly but reports the latency of a machine with a fixed cost per call."""

    def __init__(self, overhead=0.2, prefill=1000.0, decode=50.0):
        self.overhead, self.prefill, self.decode = overhead, prefill, decode

    def chat(self, prompt, temperature=0.0, max_tokens=16):
        from types import SimpleNamespace

        prompt_tokens = 10 + len(prompt.split())
        latency = self.overhead + prompt_tokens / self.prefill + max_tokens / self.decode
        return SimpleNamespace(latency_s=latency, usage={"prompt_tokens": prompt_tokens, "completion_tokens": max_tokens})


def test_measure_rates_cancels_the_fixed_cost_of_a_call():
    rates = costs.measure_rates(_TimedClient(), repeats=1)
    assert rates.prefill_tokens_per_s == pytest.approx(1000) and rates.decode_tokens_per_s == pytest.approx(50)
    assert rates.ratio == pytest.approx(20)
    assert rates.prompt_tokens[1] > rates.prompt_tokens[0] and rates.completion_tokens == (1, 96)


def test_measure_rates_refuses_an_answer_that_stops_at_once():
    class Terse(_TimedClient):
        def chat(self, prompt, temperature=0.0, max_tokens=16):
            return super().chat(prompt, temperature, max_tokens=1)

    with pytest.raises(PortalitError, match="decode rate needs a longer answer"):
        costs.measure_rates(Terse(), repeats=1)
