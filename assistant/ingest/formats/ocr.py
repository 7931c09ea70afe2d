"""Optical character recognition of page images with RapidOCR (PaddleOCR models on onnxruntime).

The models ship inside the rapidocr-onnxruntime wheel, so nothing is fetched at run time.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np


def available() -> bool:
    try:
        import rapidocr_onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


@lru_cache(maxsize=1)
def _engine():
    from rapidocr_onnxruntime import RapidOCR

    return RapidOCR()


def recognise(image: np.ndarray) -> list[tuple[str, float, float]]:
    """Text lines of one page image in reading order (RapidOCR's): (text, left, right) in pixels."""
    result, _ = _engine()(image)
    lines = []
    for corners, text, _score in result or []:
        xs = [point[0] for point in corners]
        lines.append((text, min(xs), max(xs)))
    return lines
