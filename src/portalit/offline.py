"""Offline defaults, set before litellm or transformers are imported anywhere in the process.

litellm fetches a price list from the internet at import unless LITELLM_LOCAL_MODEL_COST_MAP is
set; the hub libraries try the network unless told they are offline. Users can still override
each variable in their environment.
"""
import os

DEFAULTS = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "LITELLM_LOG": "ERROR",
}


def apply() -> None:
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)
