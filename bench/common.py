"""Helpers shared by the benchmark scripts."""
from __future__ import annotations

import json
import math
import os
import platform
import struct
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEVSET = ROOT / "tests" / "data" / "devset.jsonl"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine_line() -> str:
    cpu = platform.processor() or "cpu"
    return (
        f"machine: {platform.machine()}, {cpu}, {os.cpu_count()} cores; python {platform.python_version()}; "
        f"date: {time.strftime('%Y-%m-%d')}"
    )


def _safetensors_weights(path: Path, skip: str = "embed_tokens") -> int:
    """Number of weights in a .safetensors file, read from its header (no tensor is loaded)."""
    with open(path, "rb") as f:
        header = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
    return sum(math.prod(v["shape"]) for k, v in header.items() if k != "__metadata__" and skip not in k)


def model_flops_per_token(model_dir: Path, seq: float) -> float:
    """Forward FLOPs per token: 2 per weight (embedding lookups excluded, dense heads included)
    plus attention scores and mixing, 4 · layers · seq · (heads · head_dim)."""
    weights = sum(_safetensors_weights(p) for p in model_dir.rglob("model.safetensors"))
    config = json.loads((model_dir / "config.json").read_text())
    width = config.get("num_attention_heads", 1) * config.get("head_dim", config["hidden_size"] // config.get("num_attention_heads", 1))
    return 2 * weights + 4 * config["num_hidden_layers"] * seq * width


def gemm_peak(dtype: str, n: int = 2048, repeat: int = 5) -> float:
    """The best GEMM rate torch reaches here (GFLOP/s, or GOP/s for int8): the CPU's practical arithmetic limit."""
    import torch

    if dtype == "int8":
        a, b = (torch.randint(-128, 127, (n, n), dtype=torch.int8) for _ in range(2))
        multiply = torch._int_mm  # int8 × int8 → int32, the VNNI path
    else:
        a, b = (torch.randn(n, n).to(getattr(torch, {"fp32": "float32", "bf16": "bfloat16"}[dtype])) for _ in range(2))
        multiply = torch.matmul
    multiply(a, b)
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        multiply(a, b)
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


PRECISION = {"torch-fp32": "fp32", "torch-bf16": "bf16", "onnx-int8": "int8"}
