"""Where and in which precision the networks run."""

from __future__ import annotations

import torch

from engine.errors import InferenceError

PRECISIONS = ("auto", "fp32", "fp16", "bf16")


def pick_device(preference: str = "auto") -> torch.device:
    """CUDA, then Apple's MPS, then the CPU; ``preference`` ('cpu', 'cuda', 'cuda:1', 'mps') overrides."""
    if preference != "auto":
        device = torch.device(preference)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise InferenceError("a CUDA device was asked for, but PyTorch sees no CUDA GPU here")
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise InferenceError("the MPS device was asked for, but it is not available here")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def pick_dtype(device: torch.device, precision: str = "auto") -> torch.dtype:
    """fp16 on GPUs, fp32 on the CPU unless bf16 is asked for (it needs native bf16 support to pay off)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "auto":
        return torch.float16 if device.type in ("cuda", "mps") else torch.float32
    return {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[precision]
