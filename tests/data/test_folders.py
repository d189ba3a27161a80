"""Loading folder-per-class datasets: modes, shapes, skipped files, bombs; fingerprints; output kept out."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from siamese.data.folders import MAX_IMAGE_PIXELS, decode_image, fingerprint, load_folder, parse_shape, refuse_inside_dataset, scan_folder
from siamese.errors import SiameseError


def _save(path, image: Image.Image) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


@pytest.fixture
def mixed(tmp_path):
    """Two classes with every supported Pillow mode, plus the debris real folders hold."""
    root = tmp_path / "data"
    gradient = np.tile(np.arange(80, dtype=np.uint8), (60, 1)) * 3
    _save(root / "alice" / "gray.png", Image.fromarray(gradient, "L"))
    _save(root / "alice" / "rgb.jpg", Image.fromarray(np.stack([gradient] * 3, 2), "RGB"))
    _save(root / "alice" / "bilevel.bmp", Image.fromarray(gradient > 100))
    _save(root / "bob" / "palette.png", Image.fromarray(gradient, "L").convert("P"))
    _save(root / "bob" / "rgba.png", Image.fromarray(np.dstack([gradient] * 3 + [np.full_like(gradient, 255)]), "RGBA"))
    thermal = (np.tile(np.arange(80, dtype=np.uint16), (60, 1)) * 100 + 20000).astype(np.uint16)
    _save(root / "bob" / "thermal16.tif", Image.fromarray(thermal))
    (root / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (root / "alice" / "._gray.png").write_bytes(b"AppleDouble")
    (root / "alice" / "notes.txt").write_text("not an image")
    (root / "carol").mkdir()
    png = (root / "alice" / "gray.png").read_bytes()
    (root / "bob" / "truncated.png").write_bytes(png[: len(png) // 2])
    return root


def test_every_mode_loads_to_the_requested_shape(mixed):
    ds = load_folder(mixed, (60, 80, 3))
    assert ds.images.shape == (6, 60, 80, 3)
    assert ds.images.dtype == np.float32 and ds.images.min() >= 0 and ds.images.max() <= 1
    assert ds.class_names == ["alice", "bob"]
    assert ds.labels.tolist() == [0, 0, 0, 1, 1, 1]  # the truncated file is left out, not a class


def test_skipped_files_are_named_with_their_reason(mixed, caplog):
    ds = load_folder(mixed, (60, 80, 3))
    reasons = {s.path.rsplit("/", 1)[-1]: s.reason for s in ds.skipped}
    assert reasons[".DS_Store"] == "hidden file"
    assert reasons["._gray.png"] == "hidden file"
    assert "not an image" in reasons["notes.txt"]
    assert reasons["carol"] == "empty class folder"
    assert "cannot be read" in reasons["truncated.png"]
    assert "truncated.png" in caplog.text


def test_sixteen_bit_thermal_is_scaled_not_clipped(mixed):
    arr = decode_image(mixed / "bob" / "thermal16.tif")
    assert arr.shape == (60, 80, 1)
    # a linear 16-bit ramp from 20000 to 27900 spans the full [0, 1] range, not a clipped 1.0
    assert arr.min() == 0.0 and arr.max() == 1.0
    assert len(np.unique(arr)) == 80


def test_gray_and_color_convert_both_ways(mixed):
    gray = decode_image(mixed / "alice" / "rgb.jpg", (30, 40, 1))
    color = decode_image(mixed / "alice" / "gray.png", (60, 80, 3))
    assert gray.shape == (30, 40, 1) and color.shape == (60, 80, 3)
    np.testing.assert_array_equal(color[..., 0], color[..., 2])


def test_decompression_bomb_is_refused_from_its_header(tmp_path):
    side = int(MAX_IMAGE_PIXELS**0.5) + 100
    bomb = tmp_path / "bomb.png"
    Image.new("1", (side, side)).save(bomb)  # tiny file, huge canvas
    with pytest.raises(SiameseError, match="limit"):
        decode_image(bomb)


def test_inferred_shape_and_class_order(tmp_path):
    for name in ["zed", "amy"]:
        for i in range(2):
            _save(tmp_path / name / f"{i}.png", Image.new("L", (28, 28), 40 * i))
    ds = load_folder(tmp_path)
    assert ds.input_shape == (28, 28, 1)
    assert ds.class_names == ["amy", "zed"]


@pytest.mark.parametrize(
    "path_kind", ["missing", "file", "empty"], ids=["missing-folder", "a-file", "no-class-folders"]
)
def test_bad_dataset_folders_are_one_clear_error(tmp_path, path_kind):
    target = {"missing": tmp_path / "nope", "file": tmp_path / "f.txt", "empty": tmp_path}[path_kind]
    if path_kind == "file":
        target.write_text("x")
    with pytest.raises(SiameseError, match=str(target.name)):
        scan_folder(target)


@pytest.mark.parametrize("text", ["60,80", "a,b,c", "60,80,2", "4,4,1"], ids=["two-values", "letters", "two-channels", "too-small"])
def test_parse_shape_refuses_bad_values(text):
    with pytest.raises(SiameseError, match=text):
        parse_shape(text)


def test_fingerprint_changes_with_any_byte_or_name(tmp_path):
    root = tmp_path / "data"
    (root / "a").mkdir(parents=True)
    (root / "a" / "1.png").write_bytes(b"one")
    (root / "a" / "2.png").write_bytes(b"two")
    paths = sorted(root.rglob("*.png"))
    first = fingerprint(paths, root)
    assert len(first) == 64 and fingerprint(paths, root) == first
    (root / "a" / "2.png").write_bytes(b"twO")
    assert fingerprint(paths, root) != first
    (root / "a" / "2.png").write_bytes(b"two")
    (root / "a" / "2.png").rename(root / "a" / "3.png")
    assert fingerprint(sorted(root.rglob("*.png")), root) != first


def test_output_is_refused_in_the_dataset_or_under_it_and_allowed_beside_it(tmp_path):
    data = tmp_path / "data"
    (data / "alice").mkdir(parents=True)
    (tmp_path / "link").symlink_to(data)
    for inside in (data, data / "alice" / "out", tmp_path / "link" / "out"):
        with pytest.raises(SiameseError, match="output folder .* lies inside the dataset"):
            refuse_inside_dataset(inside, data, "output folder")
    refuse_inside_dataset(tmp_path / "data-split", data, "output folder")  # a sibling whose name starts alike
