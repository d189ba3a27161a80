"""The machine under test: its description, its FP32 limit, and small timing helpers."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from typing import Any

import numpy as np


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (or the platform's processor string)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def describe() -> dict[str, Any]:
    """CPU model, usable cores, RAM, library versions and the load when the run started."""
    import openTSNE
    import psutil
    import sklearn

    from siamese.model.backend import keras, kernels, tf

    return {
        "cpu": cpu_model(),
        "kernels": kernels().describe(),
        "cores": len(os.sched_getaffinity(0)),
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "scikit_learn": sklearn.__version__,
        "opentsne": openTSNE.__version__,
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def best_time(fn: Callable[[], object], repeats: int = 3) -> float:
    """The fastest of ``repeats`` calls in seconds: the least disturbed by other processes."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def fp32_limit(size: int = 4096, repeats: int = 5) -> float:
    """The machine's FP32 rate in GFLOP/s: the best of numpy matmuls of square float32 matrices.

    A large square matmul runs the BLAS at its peak, so it is the practical ceiling
    for any dense float32 work on this machine.
    """
    rng = np.random.default_rng(0)
    a = rng.random((size, size), dtype=np.float32)
    b = rng.random((size, size), dtype=np.float32)
    a @ b  # warm-up: threads started, pages touched
    return 2.0 * size**3 / best_time(lambda: a @ b, repeats) / 1e9
