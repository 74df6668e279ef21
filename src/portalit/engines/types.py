"""Small types shared by the local engines."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Generation:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str = "stop"


def chat_messages(messages) -> list[dict]:
    """Plain {role, content} dicts: litellm may hand us Message objects or content lists."""
    out = []
    for m in messages:
        role = m["role"] if isinstance(m, dict) else m.role
        content = m["content"] if isinstance(m, dict) else m.content
        if isinstance(content, list):  # OpenAI content parts: keep the text ones
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        out.append({"role": role, "content": content or ""})
    return out
