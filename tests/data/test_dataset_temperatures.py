"""A radiometric dataset's temperatures (siamese.data.dataset_temperatures): its unit, skin range and window."""

from __future__ import annotations

import numpy as np
from PIL import Image

from siamese.data.dataset_temperatures import guess_unit, skin_range, suggest_window
from siamese.data.folders import scan_folder


def test_unit_guess_and_suggested_window_by_hand(tmp_path):
    # 80 room pixels at 20 C and 20 skin pixels at 34 C: the room's 5th percentile is 20, the
    # warmest fifth is the skin at 34, so the window is floor(20 - 1):ceil(34 + 1) = 19:35.
    frame = np.r_[np.full(80, 20.0), np.full(20, 34.0)].reshape(10, 10)
    for unit, values, dtype in (("celsius", frame, np.float32), ("centikelvin", np.rint((frame + 273.15) * 100), np.uint16)):
        (tmp_path / unit / "a").mkdir(parents=True)
        np.save(tmp_path / unit / "a" / "f.npy", values.astype(dtype))
        listing = scan_folder(tmp_path / unit)
        assert guess_unit(listing) == unit
        assert suggest_window(listing, unit) == (19.0, 35.0)
        np.testing.assert_allclose(skin_range(listing, unit), (34.0, 34.0), atol=1e-3)
    (tmp_path / "gray" / "a").mkdir(parents=True)
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "gray" / "a" / "f.png")
    assert guess_unit(scan_folder(tmp_path / "gray")) is None  # 8-bit images hold no temperatures
