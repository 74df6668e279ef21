"""Token prices from litellm's bundled price map, and the cloud-vs-owned break-even.

The map is read straight from the JSON file litellm ships (the same data as `litellm.model_cost`
with LITELLM_LOCAL_MODEL_COST_MAP=True), so pricing a call costs no 4-5 s litellm import and no
network. Prices are list prices on the date of the installed litellm release: say so to learners.
"""
from __future__ import annotations

import difflib
import importlib.util
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .errors import PortalitError

HOURS_PER_MONTH = 730  # 365 * 24 / 12


@lru_cache(maxsize=1)
def price_map() -> dict:
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        raise PortalitError("litellm is not installed, so there is no price map; run `make setup`")
    path = Path(list(spec.submodule_search_locations)[0]) / "model_prices_and_context_window_backup.json"
    data = json.loads(path.read_text())
    data.pop("sample_spec", None)
    return data


@dataclass(frozen=True)
class Price:
    model: str
    input_per_mtok: float  # US dollars per million input tokens
    output_per_mtok: float
    provider: str
    mode: str

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.input_per_mtok + completion_tokens * self.output_per_mtok) / 1e6

    def blended_per_mtok(self, input_share: float = 0.75) -> float:
        """Dollars per million tokens when `input_share` of the tokens are prompt tokens."""
        return input_share * self.input_per_mtok + (1 - input_share) * self.output_per_mtok


def price(model: str) -> Price:
    """The list price of a litellm model id ("openai/gpt-4o-mini" or "gpt-4o-mini")."""
    data = price_map()
    key = _find(model, data)
    if key is None:
        close = difflib.get_close_matches(model.split("/")[-1], [k for k in data if "/" not in k], n=3, cutoff=0.6)
        hint = f"; did you mean: {', '.join(close)}" if close else "; give a litellm model id such as openai/gpt-4o-mini"
        raise PortalitError(f"no price for model {model!r} in litellm's price map{hint}")
    entry = data[key]
    return Price(key, float(entry.get("input_cost_per_token") or 0) * 1e6,
                 float(entry.get("output_cost_per_token") or 0) * 1e6,
                 entry.get("litellm_provider", "?"), entry.get("mode", "?"))


def _find(model: str, data: dict) -> str | None:
    if model in data:
        return model
    if "/" in model:
        bare = model.split("/", 1)[1]
        if bare in data:
            return bare
    return None


def call_cost(backend: str, model: str, usage: dict) -> float | None:
    """Dollars for one call: 0 on backends you own (their cost is the machine), None if unpriced."""
    from . import backends

    if backends.get(backend).owned:
        return 0.0
    try:
        return price(model).cost(usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0))
    except PortalitError:
        return None


@dataclass(frozen=True)
class BreakEven:
    model: str
    cloud_per_mtok: float  # blended dollars per million tokens
    owned_per_mtok_at_capacity: float  # the owned machine's dollars per million tokens when fully busy
    owned_fixed_per_month: float  # dollars for keeping it on all month (0 if paid only while used)
    capacity_mtok_per_month: float  # million tokens one machine can produce in a month
    break_even_mtok_per_month: float | None  # None: owning never gets cheaper at this price
    note: str


def monthly_cloud_cost(mtok_per_month: float, model: str, input_share: float = 0.75) -> float:
    return mtok_per_month * price(model).blended_per_mtok(input_share)


def monthly_owned_cost(mtok_per_month: float, gpu_per_hour: float, tokens_per_s: float,
                       always_on: bool = True, fixed_per_month: float = 0.0) -> float:
    """Dollars a month for owned machines: always-on pays every hour of every machine needed."""
    _check_positive(gpu_per_hour=gpu_per_hour, tokens_per_s=tokens_per_s)
    capacity = tokens_per_s * 3600 * HOURS_PER_MONTH / 1e6
    machines = max(1, -(-mtok_per_month // capacity)) if always_on else 0
    busy_hours = mtok_per_month * 1e6 / tokens_per_s / 3600
    hours = machines * HOURS_PER_MONTH if always_on else busy_hours
    return hours * gpu_per_hour + fixed_per_month


def break_even(model: str, gpu_per_hour: float, tokens_per_s: float, always_on: bool = True,
               input_share: float = 0.75, fixed_per_month: float = 0.0) -> BreakEven:
    """The monthly volume above which owning one machine costs less than the cloud model."""
    _check_positive(gpu_per_hour=gpu_per_hour, tokens_per_s=tokens_per_s)
    cloud = price(model).blended_per_mtok(input_share)
    capacity = tokens_per_s * 3600 * HOURS_PER_MONTH / 1e6
    at_capacity = gpu_per_hour / (tokens_per_s * 3600 / 1e6)
    fixed = (gpu_per_hour * HOURS_PER_MONTH if always_on else 0.0) + fixed_per_month
    if cloud <= 0:
        point, note = None, f"{model} is priced at 0 in the map: nothing to break even against"
    elif not always_on:
        point = 0.0 if at_capacity < cloud else None
        note = ("paying only for busy hours, owned is cheaper per token from the first token"
                if point == 0.0 else "even fully busy, the owned machine costs more per token than the cloud")
        if point == 0.0 and fixed_per_month:
            point = fixed_per_month / (cloud - at_capacity)
    else:
        point = fixed / cloud
        note = "owned is cheaper above this monthly volume"
        if point > capacity:
            point, note = None, ("one machine cannot produce enough tokens in a month to beat the cloud price; "
                                 "owning wins on control, privacy and offline use, not on price")
    return BreakEven(model, cloud, at_capacity, fixed, capacity, point, note)


def _check_positive(**values) -> None:
    for name, value in values.items():
        if not isinstance(value, (int, float)) or value <= 0:
            raise PortalitError(f"{name} {value!r} must be a positive number")
