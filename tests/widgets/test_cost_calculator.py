import pytest

from portalit import costs
from portalit.widgets import CostCalculator

from .conftest import assert_controls_labelled

MODEL = "openai/gpt-4o-mini"


def test_monthly_costs_and_break_even_come_from_the_library_with_both_rates():
    calc = CostCalculator(MODEL, mtok_per_month=1000, gpu_per_hour=2.0, decode_tokens_per_s=3000,
                          prefill_tokens_per_s=25000, input_share=0.75)
    assert calc.error is None
    r = calc.result
    mix = costs.owned_tokens_per_s(3000, 25000, 0.75)
    assert r["tokens_per_s"] == pytest.approx(mix) and 3000 < mix < 25000
    assert r["cloud"] == pytest.approx(costs.monthly_cloud_cost(1000, MODEL, 0.75))
    assert r["owned"] == pytest.approx(
        costs.monthly_owned_cost(1000, 2.0, 3000, prefill_tokens_per_s=25000, input_share=0.75))
    assert r["break_even"] == costs.break_even(MODEL, 2.0, 3000, input_share=0.75, prefill_tokens_per_s=25000)
    assert r["break_even"].owned_tokens_per_s == pytest.approx(mix)
    assert r["break_even"].break_even_mtok_per_month == pytest.approx(1460 / r["break_even"].cloud_per_mtok)
    assert f"{r['break_even'].break_even_mtok_per_month:,.1f}" in calc.summary.value
    assert f"At 75% prompt tokens one GPU gets through <b class=\"portalit-mixed-rate\">{mix:,.0f}</b> tokens/s" \
        in calc.summary.value
    assert f"{r['break_even'].capacity_mtok_per_month:,.0f} million tokens a month" in calc.summary.value
    assert "0.15" in calc.price_line.value and "0.60" in calc.price_line.value
    names = [trace["name"] for trace in calc.figure["data"]]
    assert names == ["cloud: openai/gpt-4o-mini", "owned GPU", "your volume"]
    assert calc.figure["layout"]["shapes"][0]["x0"] == r["break_even"].break_even_mtok_per_month


def test_the_chart_and_its_table_use_the_mixed_rate():
    calc = CostCalculator(MODEL, mtok_per_month=20000, gpu_per_hour=2.0, decode_tokens_per_s=1500,
                          prefill_tokens_per_s=25000, input_share=0.6)
    owned = calc.figure["data"][1]
    for v, y in zip(owned["x"], owned["y"]):
        assert y == pytest.approx(costs.monthly_owned_cost(v, 2.0, 1500, prefill_tokens_per_s=25000, input_share=0.6))
    assert calc.figure["data"][2]["y"][1] == pytest.approx(calc.result["owned"])
    description = calc.chart_frame.description
    assert f"{costs.owned_tokens_per_s(1500, 25000, 0.6):,.0f} tokens/s" in description.label
    last = owned["x"][-1]
    expected = costs.monthly_owned_cost(last, 2.0, 1500, prefill_tokens_per_s=25000, input_share=0.6)
    assert f"<td style=\"padding:0 0.6em;text-align:left\">${expected:,.2f}</td></tr></tbody>" in description.table


def test_a_faster_prefill_makes_owning_cheaper_and_the_break_even_reachable():
    # decode 1500 alone: one GPU makes 3,942 M tokens a month, below the 5,562 M break-even against gpt-4o-mini
    slow = CostCalculator(MODEL, mtok_per_month=20000, gpu_per_hour=2.0, decode_tokens_per_s=1500,
                          prefill_tokens_per_s=1500).result
    calc = CostCalculator(MODEL, mtok_per_month=20000, gpu_per_hour=2.0, decode_tokens_per_s=1500,
                          prefill_tokens_per_s=25000)
    fast = calc.result
    assert slow["break_even"].break_even_mtok_per_month is None
    assert fast["break_even"].break_even_mtok_per_month == pytest.approx(1460 / fast["break_even"].cloud_per_mtok)
    assert fast["break_even"].capacity_mtok_per_month > slow["break_even"].capacity_mtok_per_month
    assert fast["owned"] < slow["owned"]  # always on: fewer machines for the same volume (2 instead of 6)
    assert fast["owned"] == pytest.approx(2 * 730 * 2.0) and slow["owned"] == pytest.approx(6 * 730 * 2.0)
    assert fast["cloud"] == slow["cloud"]  # the cloud's bill does not depend on the GPU

    calc.set(always_on=False)  # paid per busy hour: the bill follows the rate continuously
    busy = calc.result["owned"]
    calc.set(prefill_tokens_per_s=50000)
    assert calc.result["owned"] < busy
    assert calc.result["break_even"].owned_per_mtok_at_capacity < fast["break_even"].owned_per_mtok_at_capacity
    calc.prefill.value = 2000  # through the control, as a learner types it
    assert calc.result["owned"] > busy
    assert calc.result["owned"] == pytest.approx(
        costs.monthly_owned_cost(20000, 2.0, 1500, always_on=False, prefill_tokens_per_s=2000, input_share=0.75))


def test_prefill_equal_to_decode_gives_the_old_single_rate_numbers():
    for always_on in (True, False):
        calc = CostCalculator(MODEL, mtok_per_month=1000, gpu_per_hour=2.0, decode_tokens_per_s=3000,
                              prefill_tokens_per_s=3000, always_on=always_on, input_share=0.6)
        r = calc.result
        old = costs.break_even(MODEL, 2.0, 3000, always_on=always_on, input_share=0.6)  # no prefill rate at all
        assert r["tokens_per_s"] == pytest.approx(3000)
        assert r["owned"] == pytest.approx(costs.monthly_owned_cost(1000, 2.0, 3000, always_on=always_on))
        assert r["break_even"].capacity_mtok_per_month == pytest.approx(old.capacity_mtok_per_month)
        assert r["break_even"].owned_per_mtok_at_capacity == pytest.approx(old.owned_per_mtok_at_capacity)
        assert r["break_even"].break_even_mtok_per_month == pytest.approx(old.break_even_mtok_per_month)
        assert "one GPU gets through <b class=\"portalit-mixed-rate\">3,000</b> tokens/s" in calc.summary.value


def test_tokens_per_s_is_still_the_decode_rate():
    calc = CostCalculator(MODEL, tokens_per_s=1200, prefill_tokens_per_s=20000)
    assert calc.error is None and calc.decode.value == 1200
    assert calc.result["tokens_per_s"] == pytest.approx(costs.owned_tokens_per_s(1200, 20000, 0.75))
    calc.set(tokens_per_s=800)
    assert calc.error is None and calc.decode.value == 800
    assert calc.set(tokens_per_s=800, decode_tokens_per_s=900) is None
    assert "tokens_per_s 800 and decode_tokens_per_s 900 disagree" in calc.error and calc.decode.value == 800
    clash = CostCalculator(MODEL, tokens_per_s=100, decode_tokens_per_s=200)
    assert clash.result is None and "decode_tokens_per_s 200 disagree" in clash.error


@pytest.mark.parametrize("key, value, label", [
    ("prefill_tokens_per_s", 0, "Prefill (prompt tokens/s)"),
    ("decode_tokens_per_s", -5, "Decode (answer tokens/s)"),
    ("tokens_per_s", 0, "Decode (answer tokens/s)"),
    ("prefill_tokens_per_s", "fast", "Prefill (prompt tokens/s)"),
])
def test_a_bad_rate_gets_one_error_naming_it(key, value, label):
    calc = CostCalculator(MODEL)
    before = dict(calc.result)
    assert calc.set(**{key: value}) is None
    name = "decode_tokens_per_s" if key == "tokens_per_s" else key
    assert calc.error == f"{label}: {value!r} is not allowed; {name} must be a number from 0.1 to " + \
        ("10,000,000" if name.startswith("prefill") else "1,000,000")
    assert calc.decode.value == 3000 and calc.prefill.value == 25000  # nothing was clamped behind the learner's back
    assert calc.result == before
    built = CostCalculator(MODEL, **{key: value})
    assert built.error == calc.error and built.result is None
    assert calc.set(prefill_tokens_per_s=30000)["tokens_per_s"] > before["tokens_per_s"] and calc.error is None


def test_prefill_slower_than_decode_is_allowed_and_remarked():
    calc = CostCalculator(MODEL, decode_tokens_per_s=3000, prefill_tokens_per_s=1000)
    assert calc.error is None
    assert calc.result["tokens_per_s"] == pytest.approx(costs.owned_tokens_per_s(3000, 1000, 0.75))
    assert "Prefill is set slower than decode" in calc.summary.value
    calc.set(prefill_tokens_per_s=3000)
    assert "slower than decode" not in calc.summary.value


def test_changing_a_control_recomputes():
    calc = CostCalculator()
    before = calc.result["cloud"]
    calc.volume.value = 2000
    assert calc.result["cloud"] == pytest.approx(2 * before)
    calc.set(always_on=False, decode_tokens_per_s=100, prefill_tokens_per_s=100)
    assert "no break-even" in calc.summary.value and calc.result["break_even"].break_even_mtok_per_month is None


def test_the_share_of_prompt_tokens_moves_the_mixed_rate():
    calc = CostCalculator(decode_tokens_per_s=3000, prefill_tokens_per_s=25000)
    rates = []
    for share in (0.0, 0.5, 1.0):
        calc.set(input_share=share)
        rates.append(calc.result["tokens_per_s"])
    assert rates[0] == pytest.approx(3000) and rates[-1] == pytest.approx(25000) and rates[0] < rates[1] < rates[2]
    assert "At 100% prompt tokens one GPU gets through" in calc.summary.value


def test_unknown_model_is_named_with_suggestions():
    calc = CostCalculator(MODEL)
    calc.model.value = "openai/gpt-4o-minii"
    assert calc.result is None and calc.chart.outputs == ()
    assert "gpt-4o-minii" in calc.error and "did you mean" in calc.error
    calc.set(model="anthropic/claude-haiku-4-5")
    assert calc.error is None and calc.result["price"].input_per_mtok == 1.0


def test_unknown_setting():
    calc = CostCalculator()
    assert calc.set(volume=3) is None and "unknown setting volume" in calc.error
    assert "decode_tokens_per_s, prefill_tokens_per_s" in calc.error


def test_controls_are_labelled():
    calc = CostCalculator()
    assert_controls_labelled(calc)
    assert calc.decode.description == "Decode (answer tokens/s)"
    assert calc.prefill.description == "Prefill (prompt tokens/s)"
