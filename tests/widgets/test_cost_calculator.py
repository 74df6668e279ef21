import pytest

from portalit import costs
from portalit.widgets import CostCalculator

from .conftest import assert_controls_labelled


def test_monthly_costs_and_break_even_come_from_the_library():
    calc = CostCalculator("openai/gpt-4o-mini", mtok_per_month=1000, gpu_per_hour=2.0, tokens_per_s=3000)
    assert calc.error is None
    r = calc.result
    assert r["cloud"] == pytest.approx(costs.monthly_cloud_cost(1000, "openai/gpt-4o-mini", 0.75))
    assert r["owned"] == pytest.approx(costs.monthly_owned_cost(1000, 2.0, 3000))
    assert r["break_even"] == costs.break_even("openai/gpt-4o-mini", 2.0, 3000)
    assert r["break_even"].break_even_mtok_per_month == pytest.approx(1460 / r["break_even"].cloud_per_mtok)
    assert f"{r['break_even'].break_even_mtok_per_month:,.1f}" in calc.summary.value
    assert "0.15" in calc.price_line.value and "0.60" in calc.price_line.value
    names = [trace["name"] for trace in calc.figure["data"]]
    assert names == ["cloud: openai/gpt-4o-mini", "owned GPU", "your volume"]
    assert calc.figure["layout"]["shapes"][0]["x0"] == r["break_even"].break_even_mtok_per_month


def test_changing_a_control_recomputes():
    calc = CostCalculator()
    before = calc.result["cloud"]
    calc.volume.value = 2000
    assert calc.result["cloud"] == pytest.approx(2 * before)
    calc.set(always_on=False, tokens_per_s=100)
    assert "no break-even" in calc.summary.value and calc.result["break_even"].break_even_mtok_per_month is None


def test_unknown_model_is_named_with_suggestions():
    calc = CostCalculator("openai/gpt-4o-mini")
    calc.model.value = "openai/gpt-4o-minii"
    assert calc.result is None and calc.chart.outputs == ()
    assert "gpt-4o-minii" in calc.error and "did you mean" in calc.error
    calc.set(model="anthropic/claude-haiku-4-5")
    assert calc.error is None and calc.result["price"].input_per_mtok == 1.0


def test_unknown_setting():
    calc = CostCalculator()
    assert calc.set(volume=3) is None and "unknown setting volume" in calc.error


def test_controls_are_labelled():
    assert_controls_labelled(CostCalculator())
