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
    capacity_mtok_per_month: float  # million tokens (prompt and answer, in the input share) one machine handles a month
    break_even_mtok_per_month: float | None  # None: owning never gets cheaper at this price
    note: str
    owned_tokens_per_s: float = 0.0  # the machine's rate on this mix of prompt and answer tokens


def owned_tokens_per_s(tokens_per_s: float, prefill_tokens_per_s: float | None = None,
                       input_share: float = 0.75) -> float:
    """Tokens a second one machine gets through when `input_share` of them are prompt tokens.

    `tokens_per_s` is the decode rate (writing the answer, one token after another);
    `prefill_tokens_per_s` the rate at which it reads a prompt, all of whose tokens go through the
    model together and so cost far less time each. Each kind takes its own time, so the mix runs at
    1 / (share / prefill + (1 - share) / decode). Without a prefill rate every token is charged at the
    decode rate: the pessimistic figure lesson 08 corrects.
    """
    _check_positive(tokens_per_s=tokens_per_s)
    if prefill_tokens_per_s is None:
        return float(tokens_per_s)
    _check_positive(prefill_tokens_per_s=prefill_tokens_per_s)
    _check_share(input_share)
    return 1.0 / (input_share / prefill_tokens_per_s + (1 - input_share) / tokens_per_s)


def monthly_cloud_cost(mtok_per_month: float, model: str, input_share: float = 0.75) -> float:
    return mtok_per_month * price(model).blended_per_mtok(input_share)


def monthly_owned_cost(mtok_per_month: float, gpu_per_hour: float, tokens_per_s: float,
                       always_on: bool = True, fixed_per_month: float = 0.0, *,
                       prefill_tokens_per_s: float | None = None, input_share: float = 0.75) -> float:
    """Dollars a month for owned machines: always-on pays every hour of every machine needed.

    `tokens_per_s` is the decode rate; give `prefill_tokens_per_s` too, or prompt tokens are
    charged at the decode rate (see `owned_tokens_per_s`).
    """
    _check_positive(gpu_per_hour=gpu_per_hour)
    rate = owned_tokens_per_s(tokens_per_s, prefill_tokens_per_s, input_share)
    capacity = rate * 3600 * HOURS_PER_MONTH / 1e6
    machines = max(1, -(-mtok_per_month // capacity)) if always_on else 0
    busy_hours = mtok_per_month * 1e6 / rate / 3600
    hours = machines * HOURS_PER_MONTH if always_on else busy_hours
    return hours * gpu_per_hour + fixed_per_month


def break_even(model: str, gpu_per_hour: float, tokens_per_s: float, always_on: bool = True,
               input_share: float = 0.75, fixed_per_month: float = 0.0, *,
               prefill_tokens_per_s: float | None = None) -> BreakEven:
    """The monthly volume above which owning one machine costs less than the cloud model.

    `input_share` of the tokens are prompt tokens, on both sides: the cloud bills them at its input
    price, the owned machine reads them at `prefill_tokens_per_s` (the decode rate `tokens_per_s`
    when not given, which overstates the owned cost).
    """
    _check_positive(gpu_per_hour=gpu_per_hour)
    rate = owned_tokens_per_s(tokens_per_s, prefill_tokens_per_s, input_share)
    cloud = price(model).blended_per_mtok(input_share)
    capacity = rate * 3600 * HOURS_PER_MONTH / 1e6
    at_capacity = gpu_per_hour / (rate * 3600 / 1e6)
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
    return BreakEven(model, cloud, at_capacity, fixed, capacity, point, note, rate)


@dataclass(frozen=True)
class TokenRates:
    """Measured speeds of one request at a time: reading a prompt and writing an answer."""

    prefill_tokens_per_s: float
    decode_tokens_per_s: float
    prompt_tokens: tuple[int, int]  # the short and the long prompt
    completion_tokens: tuple[int, int]  # the short and the long answer

    @property
    def ratio(self) -> float:
        """How many times faster a prompt token is read than an answer token is written."""
        return self.prefill_tokens_per_s / self.decode_tokens_per_s


LONG_PROMPT_SENTENCE = "The keeper climbed the tower at dusk, lit the lamp and wrote the weather in the log. "
COUNTING_PROMPT = "Count from 1 to 200, one number per line."


def measure_rates(client, repeats: int = 3, prompt_sentences: int = 40, answer_tokens: int = 96) -> TokenRates:
    """Prefill and decode tokens per second through `client` (any backend), one request at a time.

    Each rate is a difference between two calls, so what every call costs whatever its length
    (HTTP, the chat template, the first answer token) cancels out. Prefill: the extra prompt tokens
    of a long prompt over a short one, both answered with one token, per extra second. Decode: the
    extra answer tokens of a long answer over a one-token answer to the same prompt, per extra
    second. Each time is the fastest of `repeats` calls, the one least slowed by other programs.
    """
    if int(repeats) < 1:
        raise PortalitError(f"repeats {repeats!r} must be at least 1")

    def fastest(prompt: str, max_tokens: int) -> tuple[float, int, int]:
        runs = [client.chat(prompt, temperature=0.0, max_tokens=max_tokens) for _ in range(int(repeats))]
        best = min(runs, key=lambda r: r.latency_s)
        return best.latency_s, best.usage["prompt_tokens"], best.usage["completion_tokens"]

    short_s, short_prompt, short_answer = fastest(COUNTING_PROMPT, 1)
    long_s, long_prompt, _ = fastest(LONG_PROMPT_SENTENCE * int(prompt_sentences), 1)
    write_s, _, long_answer = fastest(COUNTING_PROMPT, int(answer_tokens))
    if long_prompt <= short_prompt or long_s <= short_s:
        raise PortalitError("the long prompt took no longer than the short one; give more prompt_sentences")
    if long_answer <= short_answer or write_s <= short_s:
        raise PortalitError("the model stopped after its first answer token; the decode rate needs a longer answer")
    return TokenRates((long_prompt - short_prompt) / (long_s - short_s),
                      (long_answer - short_answer) / (write_s - short_s),
                      (short_prompt, long_prompt), (short_answer, long_answer))


def _check_positive(**values) -> None:
    for name, value in values.items():
        if not isinstance(value, (int, float)) or value <= 0:
            raise PortalitError(f"{name} {value!r} must be a positive number")


def _check_share(input_share) -> None:
    if not isinstance(input_share, (int, float)) or not 0 <= input_share <= 1:
        raise PortalitError(f"input_share {input_share!r} must be a number from 0 to 1 (the fraction of tokens that are prompt tokens)")
