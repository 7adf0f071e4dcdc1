"""Which device the sequence bots compute on: TORCH_DEVICE (`auto`, `cpu`, `cuda`) made concrete.

Only the PyTorch bots import this (tree bots never load PyTorch). `auto` takes CUDA when this
process sees a GPU, so one setting serves a laptop and a GPU worker alike; CPU runs stay
bit-for-bit reproducible (fixed seeds, no nondeterministic kernels), CUDA runs are close but not
guaranteed identical. Artifacts are always saved from CPU tensors, so a model trained on a GPU
worker loads on a CPU-only dashboard.
"""

from __future__ import annotations

import torch

from core.errors import BadInput

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(choice: str) -> torch.device:
    if choice not in DEVICE_CHOICES:
        raise BadInput(f"TORCH_DEVICE {choice!r} is not one of {', '.join(DEVICE_CHOICES)}")
    available = torch.cuda.is_available()
    if choice == "cuda" and not available:
        raise BadInput(
            f"TORCH_DEVICE=cuda, but PyTorch {torch.__version__} sees no CUDA device in this process; "
            "install a CUDA build of PyTorch on this worker, or use TORCH_DEVICE=auto or cpu"
        )
    return torch.device("cuda" if choice == "cuda" or (choice == "auto" and available) else "cpu")
