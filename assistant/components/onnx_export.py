"""Export a sentence-transformers model to ONNX and quantise it to int8, locally and once.

Optimum's exporter does not load with the transformers release we pin, so the model is exported
with torch's own exporter (the whole pipeline: transformer, pooling, dense layers, normalisation)
and quantised with ONNX Runtime's dynamic int8 quantiser. Nothing is downloaded.

The int8 weights are 7-bit (reduce_range): on CPUs without VNNI (AVX2, AVX-512 without VNNI)
ONNX Runtime multiplies u8 activations by s8 weights with vpmaddubsw, which sums two products into
a saturating int16; with full-range weights EmbeddingGemma's activations overflow it (cosine to
fp32 fell to 0.88 on AVX2), with |w| <= 64 it cannot (2 * 255 * 64 < 32767), so every CPU computes
the same vectors. The few MatMuls whose inputs quantise worst (EmbeddingGemma's large activation
outliers) stay in fp32. Figures in docs/benchmarks.md.
"""
from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

MODEL_FILE = "model_int8.onnx"
META_FILE = "bigan_onnx.json"
# Bumped whenever the export changes, so that `bigan model optimize` re-makes older copies.
EXPORT_VERSION = 2
# MatMuls kept in fp32: the 6 (of 170 in EmbeddingGemma) with the largest activation quantisation error.
FP32_MATMULS = 6
# Weight pairs of a u8s8 MatMul must keep 2 * 255 * max|w| within int16 on vpmaddubsw CPUs.
MAX_INT8_WEIGHT = 64
CALIBRATION_TEXTS = (
    "关于进一步加强基层党组织建设的实施意见",
    "一是坚持问题导向，聚焦群众急难愁盼问题，推动各项政策措施落地见效。二是压实主体责任，层层传导压力。",
    "2023年全市完成固定资产投资同比增长6.5%，新增就业岗位1.2万个，营商环境持续优化。",
)


def exported_dir(cache_dir: Path, fingerprint: str) -> Path:
    """Where the int8 copy of the model with this fingerprint lives (one folder per export version)."""
    return cache_dir / "onnx" / f"{fingerprint.replace(':', '-')[:80]}-v{EXPORT_VERSION}"


def is_exported(folder: Path) -> bool:
    return (folder / MODEL_FILE).is_file() and (folder / META_FILE).is_file()


def worst_quantised_inputs(model_path: Path, feeds: list[dict], count: int) -> list[str]:
    """Names of the `count` MatMuls with constant weights whose input loses most to per-tensor u8
    quantisation (relative L2 error, the worst over `feeds`), found by running the fp32 graph."""
    import numpy as np
    import onnx
    import onnxruntime as ort

    graph = onnx.load(str(model_path), load_external_data=False)
    weights = {init.name for init in graph.graph.initializer}
    matmuls = [node for node in graph.graph.node if node.op_type == "MatMul" and node.input[1] in weights]
    inputs = sorted({node.input[0] for node in matmuls})
    del graph.graph.output[:]
    graph.graph.output.extend(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None) for name in inputs)
    # Saved beside the fp32 graph so that its external weight file is shared, not copied.
    probe = model_path.with_name("probe.onnx")
    onnx.save(graph, str(probe))
    session = ort.InferenceSession(str(probe), providers=["CPUExecutionProvider"])
    error = dict.fromkeys(inputs, 0.0)
    for feed in feeds:
        for name, x in zip(inputs, session.run(inputs, feed)):
            # As ONNX Runtime's DynamicQuantizeLinear: one u8 scale and zero point for the tensor, range includes 0.
            low, high = min(float(x.min()), 0.0), max(float(x.max()), 0.0)
            scale = (high - low) / 255 or 1.0
            zero = np.round(-low / scale)
            restored = (np.clip(np.round(x / scale) + zero, 0, 255) - zero) * scale
            error[name] = max(error[name], float(np.linalg.norm(restored - x) / max(np.linalg.norm(x), 1e-12)))
    del session
    probe.unlink()
    return [node.name for node in sorted(matmuls, key=lambda node: -error[node.input[0]])[:count]]


def export_int8(source: str, fingerprint: str, target: Path, log: Callable[[str], None] = lambda m: None) -> Path:
    """Export `source` to `target`/model_int8.onnx (about 330 MB for the default model) with its tokenizer."""
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from sentence_transformers import SentenceTransformer

    from .embedding import quiet_loading

    started = time.perf_counter()
    with quiet_loading():  # no weight-loading bars on the user's terminal
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
        (work / "model.onnx").unlink()
        (work / "model.onnx.data").unlink(missing_ok=True)
        prompt = (model.prompts or {}).get("document", "")
        feeds = [
            {name: encoded[name].astype("int64") for name in ("input_ids", "attention_mask")}
            for encoded in (model.tokenizer(prompt + text, return_tensors="np") for text in CALIBRATION_TEXTS)
        ]
        keep_fp32 = worst_quantised_inputs(work / "clean.onnx", feeds, FP32_MATMULS)
        log("quantising to int8")
        # Per-channel scales make up for the 7th bit reduce_range gives away (docs/benchmarks.md).
        quantize_dynamic(
            str(work / "clean.onnx"),
            str(work / MODEL_FILE),
            weight_type=QuantType.QInt8,
            per_channel=True,
            reduce_range=True,
            nodes_to_exclude=keep_fp32,
        )
        for leftover in ("clean.onnx", "clean.onnx.data"):
            (work / leftover).unlink(missing_ok=True)
        model.tokenizer.save_pretrained(str(work))
        meta = {
            "fingerprint": fingerprint,
            "export_version": EXPORT_VERSION,
            "fp32_matmuls": keep_fp32,
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
    _remove_older_exports(target, fingerprint)
    log(f"ONNX int8 model ready in {time.perf_counter() - started:.0f} s")
    return target


def _remove_older_exports(current: Path, fingerprint: str) -> None:
    """Delete earlier export versions of the same model (over 300 MB each); nothing reads them any more."""
    for folder in current.parent.iterdir():
        meta = folder / META_FILE
        if folder == current or not meta.is_file():
            continue
        old = json.loads(meta.read_text(encoding="utf-8"))
        if old.get("fingerprint") == fingerprint and old.get("export_version", 1) != EXPORT_VERSION:
            shutil.rmtree(folder, ignore_errors=True)
