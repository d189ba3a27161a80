"""Only PNG, JPEG, BMP and TIFF are decoded, told by content: PostScript never reaches Ghostscript.

A stand-in ``gs`` on PATH records every start. The control test shows Pillow, left to
itself, does start it on an EPS; every reader of the package, the command line and the
Probe page's upload must not.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from dashboard_fixtures import crashed, open_page
from PIL import EpsImagePlugin, Image

from helpers import DEMO_RUN
from siamese.cli import main
from siamese.data.folders import decode_image, load_folder
from siamese.data.image_files import FORMATS_WORDS
from siamese.data.thermal_pixels import frame_values, resolve_palette
from siamese.errors import SiameseError

EPS = b"""%!PS-Adobe-3.0 EPSF-3.0
%%BoundingBox: 0 0 8 6
%%EndComments
newpath 0 0 moveto 8 0 lineto 8 6 lineto closepath fill
showpage
%%EOF
"""


@pytest.fixture
def fake_gs(tmp_path: Path, monkeypatch) -> Path:
    """A ``gs`` first on PATH that writes its arguments to a log; returns the log's path."""
    bin_dir, log = tmp_path / "bin", tmp_path / "gs-started.log"
    bin_dir.mkdir()
    (bin_dir / "gs").write_text(f'#!/bin/sh\necho "$@" >> "{log}"\nexit 1\n')
    (bin_dir / "gs").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(EpsImagePlugin, "gs_binary", None)  # Pillow caches where it found gs
    monkeypatch.setattr(EpsImagePlugin, "gs_windows_binary", None)
    return log


def test_the_stand_in_gs_is_started_by_pillow_left_to_itself(fake_gs: Path):
    """The control: without a format list Pillow hands an EPS to gs, so the tests below can fail."""
    with pytest.raises(Exception):  # noqa: B017 - the stand-in fails, whatever Pillow makes of that
        with Image.open(io.BytesIO(EPS)) as img:
            img.load()
    assert fake_gs.exists()


@pytest.mark.parametrize("name", ["face.png", "face.eps", "face.tif"])
def test_postscript_under_any_name_is_refused_by_every_reader(fake_gs: Path, tmp_path: Path, name: str):
    path = tmp_path / name
    path.write_bytes(EPS)
    readers = [
        lambda: decode_image(path),
        lambda: decode_image(EPS),
        lambda: decode_image(path, (6, 8, 3)),
        lambda: frame_values(path, 10_000),
        lambda: frame_values(EPS, 10_000),
    ]
    for read in readers:
        with pytest.raises(SiameseError) as refused:
            read()
        assert FORMATS_WORDS in str(refused.value) and "\n" not in str(refused.value)
    with pytest.raises(SiameseError):
        resolve_palette("auto", [path])
    assert not fake_gs.exists()


def test_a_dataset_holding_postscript_is_read_without_starting_gs(fake_gs: Path, tmp_path: Path):
    root = tmp_path / "data"
    for person in ("a", "b"):
        (root / person).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(np.full((6, 8), 40 * i + 10, np.uint8)).save(root / person / f"{i}.png")
    (root / "a" / "sneaky.png").write_bytes(EPS)
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    dataset = load_folder(root, (6, 8, 1))
    assert len(dataset.paths) == 4 and [Path(s.path).name for s in dataset.skipped] == ["sneaky.png"]
    assert FORMATS_WORDS in dataset.skipped[0].reason
    assert not fake_gs.exists()
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before


def test_probe_refuses_postscript_named_png_with_exit_2(fake_gs: Path, tmp_path: Path, capsys):
    path = tmp_path / "probe.png"
    path.write_bytes(EPS)
    assert main(["probe", str(DEMO_RUN), str(path)]) == 2
    err = capsys.readouterr().err
    assert "probe.png" in err and FORMATS_WORDS in err and "Traceback" not in err
    assert not fake_gs.exists()


def test_probe_page_refuses_an_uploaded_postscript(fake_gs: Path, dashboard_env):
    at = open_page("probe.py")
    at.file_uploader[0].upload("face.png", EPS, "image/png").run()
    assert not crashed(at) and at.error and FORMATS_WORDS in at.error[0].value
    assert not fake_gs.exists()


def _frames(img_format: str) -> bytes:
    out = io.BytesIO()
    first, second = (Image.fromarray(np.full((6, 8), v, np.uint8)) for v in (10, 200))
    first.save(out, img_format, save_all=True, append_images=[second])
    return out.getvalue()


def _ico_with_png() -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.full((16, 16, 3), 90, np.uint8)).save(out, "ICO", sizes=[(16, 16)])
    return out.getvalue()


@pytest.mark.parametrize("content, why", [
    (_ico_with_png(), "is no PNG"),     # ICO/CUR carry PNGs inside: not a format we promise
    (_frames("TIFF"), "holds 2 frames"),  # a TIFF stack: which frame would be the face?
    (_frames("PNG"), "holds 2 frames"),   # an animated PNG
    (b"GIF89a" + bytes(64), "is no PNG"),
], ids=["ico-with-png", "tiff-stack", "animated-png", "gif"])
def test_other_decoders_and_several_frames_are_refused_with_a_sentence(content: bytes, why: str):
    with pytest.raises(SiameseError, match=why):
        decode_image(content)


GRADIENT = np.tile(np.arange(0, 240, 30, dtype=np.uint8), (6, 1))  # 6 x 8


def _saved(image: Image.Image, img_format: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, img_format, **options)
    return out.getvalue()


@pytest.mark.parametrize("compression", [None, "tiff_lzw", "tiff_adobe_deflate", "packbits"])
def test_single_frame_tiff_reads_correctly_whatever_its_compression(compression):
    data = _saved(Image.fromarray(GRADIENT), "TIFF", compression=compression)
    np.testing.assert_allclose(decode_image(data)[..., 0], GRADIENT / 255.0, atol=1e-6)


@pytest.mark.parametrize("mode", ["P", "CMYK", "1", "LA", "RGBA", "I;16"])
def test_palette_cmyk_and_other_modes_read_as_images(mode):
    base = Image.fromarray(GRADIENT)
    image = base.convert(mode) if mode != "I;16" else Image.fromarray(GRADIENT.astype(np.uint16) * 256)
    img_format = "TIFF" if mode == "CMYK" else "PNG"
    arr = decode_image(_saved(image, img_format))
    assert arr.shape[:2] == (6, 8) and np.isfinite(arr).all() and 0 <= arr.min() <= arr.max() <= 1
    if mode in ("P", "CMYK", "LA", "RGBA", "I;16"):  # these keep the gradient's order
        assert (np.diff(arr.mean(axis=2).mean(axis=0)) > 0).all()
