"""Provider keys: read from the environment or a .env file, never from a notebook cell, and masked
wherever text might show them (errors, logs, reprs): errors name the variable, never its value."""
from __future__ import annotations

import os
import re
from pathlib import Path

# Provider prefix of a litellm model id -> the variable that holds its key (litellm's check is
# the thorough one; this is what we name when litellm cannot tell).
KEY_VARIABLES = {
    "openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY", "gemini": "GEMINI_API_KEY",
    "mistral": "MISTRAL_API_KEY", "groq": "GROQ_API_KEY", "cohere": "COHERE_API_KEY",
    "together_ai": "TOGETHERAI_API_KEY", "deepseek": "DEEPSEEK_API_KEY", "openrouter": "OPENROUTER_API_KEY",
}


def load_dotenv() -> Path | None:
    """Reads the nearest .env (cwd and its parents) into os.environ without overriding what is set."""
    for folder in [Path.cwd(), *Path.cwd().parents]:
        path = folder / ".env"
        if path.is_file():
            for line in path.read_text().splitlines():
                m = re.match(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)", line)
                if m and not line.lstrip().startswith("#"):
                    os.environ.setdefault(m.group(1), m.group(2).strip().strip("'\""))
            return path
    return None


def key_variable(model: str) -> str:
    """The usual key variable of a litellm model id's provider ("" when unknown)."""
    return KEY_VARIABLES.get(model.split("/", 1)[0] if "/" in model else "openai", "")


def missing_keys(model: str) -> list[str]:
    """The environment variables `model` needs that are not set (after reading .env)."""
    load_dotenv()
    try:
        import litellm

        needed = litellm.validate_environment(model=model)
        missing = list(needed.get("missing_keys") or [])
    except Exception:
        missing = []
    var = key_variable(model)
    if var and not os.environ.get(var) and var not in missing:
        missing.append(var)
    return missing


_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD)", re.I)


# Shapes of keys whatever variable holds them: OpenAI/Anthropic (sk-, sk-ant-), a class gateway's
# (plk-), Google (AIza), Hugging Face (hf_), Groq (gsk_), and Bearer tokens in echoed headers.
_KEY_SHAPES = re.compile(r"\b((?:sk-(?:ant-)?|plk-|gsk_|hf_|AIza)[A-Za-z0-9_-]{4})[A-Za-z0-9_-]{8,}")
_BEARER = re.compile(r"(Bearer\s+)\S{8,}", re.I)


def redact(text: str, *secrets: str) -> str:
    """`text` with `secrets`, every secret-looking environment value, and anything shaped like a key
    masked. Naming the secrets in use matters: a key in a variable with a plain name (or passed
    directly) is caught even when its shape is unknown."""
    values = [s for s in secrets if s] + [v for n, v in os.environ.items() if v and _SECRET_NAME.search(n)]
    for value in sorted(set(values), key=len, reverse=True):
        if len(value) >= 8 and value in text:
            text = text.replace(value, "***")
    return _BEARER.sub(r"\1***", _KEY_SHAPES.sub(r"\1***", text))
