"""import-h5 and train's fingerprint never read more than they must: the .h5 is a regular file
(a FIFO is refused, not waited on), its arrays' declared sizes are checked before reading, links
to other files are refused; the fingerprint streams each image instead of reading it whole."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from helpers import ROOT
from siamese.data.folders import fingerprint
from siamese.errors import SiameseError
from siamese.runs.h5_import import read_h5_weights


def _weights_file(path: Path, make) -> Path:
    """A Keras-2-style weights layout: layer_names -> a layer group -> weight_names -> arrays."""
    with h5py.File(path, "w") as f:
        group = f.create_group("model_weights")
        group.attrs["layer_names"] = [b"dense"]
        layer = group.create_group("dense")
        layer.attrs["weight_names"] = [b"dense/kernel:0", b"dense/bias:0"]
        inner = layer.create_group("dense")
        inner.create_dataset("bias:0", data=np.zeros(3, np.float32))
        make(inner)
    return path


def test_a_well_formed_file_reads_its_arrays(tmp_path):
    path = _weights_file(tmp_path / "ok.h5", lambda g: g.create_dataset("kernel:0", data=np.ones((4, 3), np.float32)))
    kernel, bias = read_h5_weights(path)
    assert kernel.shape == (4, 3) and bias.shape == (3,)


def test_a_small_file_declaring_huge_weights_is_refused_before_reading(tmp_path):
    path = _weights_file(tmp_path / "bomb.h5", lambda g: g.create_dataset("kernel:0", shape=(20000, 20000), dtype=np.float32, chunks=(100, 100)))
    assert path.stat().st_size < 100_000
    with pytest.raises(SiameseError, match=r"declares weights of 1,600,000,000 bytes at 'dense/kernel:0', more than the limit"):
        read_h5_weights(path)


def test_an_external_link_is_refused(tmp_path):
    with h5py.File(tmp_path / "elsewhere.h5", "w") as other:
        other.create_dataset("secret", data=np.ones((4, 3), np.float32))

    def link(group):
        group["kernel:0"] = h5py.ExternalLink(str(tmp_path / "elsewhere.h5"), "/secret")

    path = _weights_file(tmp_path / "linked.h5", link)
    with pytest.raises(SiameseError, match="holds an external link to another file at 'dense/kernel:0'"):
        read_h5_weights(path)


def test_a_fifo_is_refused_without_waiting(tmp_path):
    fifo = tmp_path / "model.h5"
    os.mkfifo(fifo)
    code = f"from siamese.runs.h5_import import read_h5_weights\nread_h5_weights({str(fifo)!r})"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert "is not a regular file" in result.stderr, result.stderr


def test_the_fingerprint_streams_each_file(tmp_path, monkeypatch):
    root = tmp_path / "data"
    (root / "a").mkdir(parents=True)
    files = [root / "a" / "one.png", root / "a" / "two.png"]
    files[0].write_bytes(b"x" * (3 << 20) + b"tail")
    files[1].write_bytes(b"small")
    expected = hashlib.sha256(b"a/one.png" + files[0].read_bytes() + b"a/two.png" + b"small").hexdigest()

    def whole(self):
        raise AssertionError(f"{self} was read whole")

    monkeypatch.setattr(Path, "read_bytes", whole)
    assert fingerprint(files, root) == expected
