"""`local-gpu`: open-weight models on a CUDA GPU through transformers (any local model folder)."""
from __future__ import annotations

import importlib.util

from ..errors import PortalitError
from .base import Readiness
from .local_cpu import LocalCPU


class LocalGPU(LocalCPU):
    name = "local-gpu"
    summary = "open-weight models on a CUDA GPU through transformers"
    device = "cuda"

    def status(self, model=None, embed=False, **options) -> Readiness:
        if importlib.util.find_spec("torch") is None:
            return Readiness(self.name, False, "torch is not installed")
        import torch

        if not torch.cuda.is_available():
            return Readiness(self.name, False, "no CUDA GPU visible to torch (this backend needs one)")
        return Readiness(self.name, True, f"CUDA: {torch.cuda.get_device_name(0)}")

    def prepare(self, target, embed=False) -> None:
        status = self.status()
        if not status:
            from . import names

            others = ", ".join(n for n in names() if n != self.name)
            raise PortalitError(f"backend {self.name!r} needs a CUDA GPU ({status.detail}); choose one of: {others}")
        super().prepare(target, embed)
