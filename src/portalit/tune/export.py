"""The adapter out of peft and into llama.cpp: saved in peft's format, then converted to GGUF by
llama.cpp's own `convert_lora_to_gguf.py` (from the llama-cpp-python sdist, put in place by
`make setup`), so llama-cpp-python, `portalit serve` and llama-server load it onto the packaged GGUF.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

from ..errors import PortalitError


def converter() -> Path:
    script = Path(sys.prefix) / "share" / "portalit" / "llama.cpp-convert" / "convert_lora_to_gguf.py"
    if not script.is_file():
        raise PortalitError(f"llama.cpp's LoRA converter is missing ({script}): run `make setup` "
                            "(it takes it from the llama-cpp-python sources)")
    return script


def save(tuned, folder: Path) -> Path:
    """peft/ (the adapter, for transformers) and base/config.json (all the converter reads of the
    base: the architecture and its sizes; no weights)."""
    folder = Path(folder)
    with warnings.catch_warnings():  # peft looks for the base's config beside the GGUF: not needed
        warnings.simplefilter("ignore", UserWarning)
        tuned.save_pretrained(str(folder / "peft"))
    config = tuned.get_base_model().config.to_dict()
    # Dequantised from a GGUF, the config says so; the converter wants the plain architecture.
    config.pop("quantization_config", None)
    config["architectures"] = ["LlamaForCausalLM"]
    (folder / "base").mkdir(parents=True, exist_ok=True)
    (folder / "base" / "config.json").write_text(json.dumps(config, indent=1, default=str))
    return folder


def to_gguf(folder: Path) -> Path:
    """folder/adapter.gguf from folder/peft (f32: 20 MB, and nothing lost to rounding)."""
    folder = Path(folder)
    out = folder / "adapter.gguf"
    command = [sys.executable, str(converter()), "--base", str(folder / "base"), "--outtype", "f32",
               "--outfile", str(out), str(folder / "peft")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    if done.returncode != 0 or not out.is_file():
        raise PortalitError(f"converting the adapter to GGUF failed (exit {done.returncode}): "
                            f"{(done.stderr or done.stdout)[-600:]}")
    return out
