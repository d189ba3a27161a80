"""TensorFlow and Keras, imported once: quietly, and with the CPU kernels measured fastest here.

TensorFlow has two sets of CPU kernels: oneDNN's and Eigen's. It turns oneDNN on by
itself only on CPUs with AVX-512-class features; everywhere else (AMD before Zen 4,
most laptops, many cloud machines) it runs Eigen's. On x86-64 without AVX-512, oneDNN
measured 3x faster at embedding than Eigen's best path and faster at training too
(docs: performance), so this module turns it on before TensorFlow loads, on x86-64
only (where it was measured), unless the user set ``TF_ENABLE_ONEDNN_OPTS`` themselves:
then their choice stands. Everything here works under either set of kernels.
"""

from __future__ import annotations

import os
import platform
import threading
from dataclasses import dataclass
from functools import cache

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ONEDNN_VARIABLE = "TF_ENABLE_ONEDNN_OPTS"
_CHOSEN_HERE = "SIAMESE_TURNED_ONEDNN_ON"  # passed on to child processes, so they report who chose
_user_choice = None if os.environ.get(_CHOSEN_HERE) else os.environ.get(ONEDNN_VARIABLE)
if _user_choice is None and platform.machine().lower() in ("x86_64", "amd64"):
    os.environ[ONEDNN_VARIABLE] = "1"
    os.environ[_CHOSEN_HERE] = "1"

_lock = threading.Lock()


def _import_quietly():
    # TensorFlow's C++ runtime prints oneDNN and absl notices straight to file
    # descriptor 2 before its own log level applies; they would break the CLI's
    # promise of one line on stderr for an error, so stderr is muted for the import.
    with _lock:
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
            import keras as _keras
            import tensorflow as _tf
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(devnull)
    return _tf, _keras


tf, keras = _import_quietly()


@cache
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags as Linux lists them in /proc/cpuinfo (empty elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


@dataclass(frozen=True)
class Kernels:
    """Which CPU kernels TensorFlow runs in this process, and why."""

    onednn: bool | None  # None: TensorFlow did not say
    chosen_by: str  # "you" (TF_ENABLE_ONEDNN_OPTS was set), "siamese" or "TensorFlow"
    avx2: bool
    avx512: bool
    amx: bool
    bfloat16: bool  # the CPU computes bfloat16 natively (AVX512-BF16 or AMX)

    @property
    def name(self) -> str:
        return {True: "oneDNN", False: "Eigen", None: "unknown"}[self.onednn]

    def describe(self) -> str:
        extensions = [name for name, has in (("AVX2", self.avx2), ("AVX-512", self.avx512), ("AMX", self.amx), ("bf16", self.bfloat16)) if has]
        return f"{self.name} kernels (chosen by {self.chosen_by}); CPU extensions: {', '.join(extensions) or 'none of AVX2, AVX-512, AMX, bf16'}"


@cache
def kernels() -> Kernels:
    """The kernels TensorFlow runs here, read from TensorFlow itself where it says."""
    try:  # TensorFlow's own answer; private, so a rename only loses this detail
        from tensorflow.python.util import _pywrap_util_port

        onednn: bool | None = bool(_pywrap_util_port.IsMklEnabled())
    except (ImportError, AttributeError):
        onednn = None
    flags = cpu_flags()
    if _user_choice is not None:
        chosen_by = f"you ({ONEDNN_VARIABLE}={_user_choice})"
    elif os.environ.get(_CHOSEN_HERE):
        chosen_by = "siamese"
    else:
        chosen_by = "TensorFlow"
    return Kernels(
        onednn=onednn,
        chosen_by=chosen_by,
        avx2="avx2" in flags,
        avx512="avx512f" in flags,
        amx="amx_tile" in flags,
        bfloat16="avx512_bf16" in flags or "amx_bf16" in flags,
    )
