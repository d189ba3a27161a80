"""TensorFlow and Keras, imported once with TensorFlow's C++ start-up banner kept off stderr."""

from __future__ import annotations

import os
import threading

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

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
