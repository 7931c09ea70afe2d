"""Export a sentence-transformers model to ONNX and quantise it to int8, locally and once.

Optimum's exporter does not load with the transformers release we pin, so the model is exported
with torch's own exporter (the whole pipeline: transformer, pooling, dense layers, normalisation)
and quantised with ONNX Runtime's dynamic int8 quantiser. Nothing is downloaded.
"""
from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

MODEL_FILE = "model_int8.onnx"
META_FILE = "bigan_onnx.json"


def exported_dir(cache_dir: Path, fingerprint: str) -> Path:
    """Where the int8 copy of the model with this fingerprint lives."""
    return cache_dir / "onnx" / fingerprint.replace(":", "-")[:80]


def is_exported(folder: Path) -> bool:
    return (folder / MODEL_FILE).is_file() and (folder / META_FILE).is_file()


def export_int8(source: str, fingerprint: str, target: Path, log: Callable[[str], None] = lambda m: None) -> Path:
    """Export `source` to `target`/model_int8.onnx (about 300 MB for the default model) with its tokenizer."""
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from sentence_transformers import SentenceTransformer

    started = time.perf_counter()
    model = SentenceTransformer(source, device="cpu", local_files_only=True, model_kwargs={"attn_implementation": "eager"})
    model.eval()

    class Pipeline(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.model({"input_ids": input_ids, "attention_mask": attention_mask})["sentence_embedding"]

    work = target.with_name(target.name + ".tmp")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        sample = model.tokenizer(["导出样例", "用于确定输入形状的第二个较长样例句子"], padding=True, return_tensors="pt")
        log("exporting the embedding model to ONNX (once; about a minute)")
        batch, length = torch.export.Dim("batch"), torch.export.Dim("length")
        with torch.inference_mode():
            torch.onnx.export(
                Pipeline(),
                (sample["input_ids"], sample["attention_mask"]),
                str(work / "model.onnx"),
                input_names=["input_ids", "attention_mask"],
                output_names=["sentence_vector"],
                dynamic_shapes=({0: batch, 1: length}, {0: batch, 1: length}),
                dynamo=True,
            )
        # The exporter's intermediate shape annotations trip the quantiser's shape inference; they are optional.
        graph = onnx.load(str(work / "model.onnx"))
        del graph.graph.value_info[:]
        onnx.save(graph, str(work / "clean.onnx"), save_as_external_data=True, location="clean.onnx.data")
        del graph
        log("quantising to int8")
        # Per-channel weight scales: mean cosine to fp32 0.981 against 0.967 per-tensor (docs/benchmarks.md).
        quantize_dynamic(str(work / "clean.onnx"), str(work / MODEL_FILE), weight_type=QuantType.QInt8, per_channel=True)
        for leftover in ("model.onnx", "model.onnx.data", "clean.onnx", "clean.onnx.data"):
            (work / leftover).unlink(missing_ok=True)
        model.tokenizer.save_pretrained(str(work))
        meta = {
            "fingerprint": fingerprint,
            "prompts": model.prompts or {},
            "max_seq_length": int(model.max_seq_length),
            "dimension": int(model.get_embedding_dimension()),
        }
        (work / META_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
        shutil.rmtree(target, ignore_errors=True)
        work.rename(target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    log(f"ONNX int8 model ready in {time.perf_counter() - started:.0f} s")
    return target
