"""One thermal image of a synthetic person: pose, expression, room and camera, then the heat pattern."""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from siamese.errors import SiameseError
from siamese.sample.faces import FaceIdentity

FloatArray = npt.NDArray[np.float64]
ImageArray = npt.NDArray[np.uint8]

# The original data set's images: 60 rows by 80 columns.
DEFAULT_SIZE = (60, 80)


@dataclass(frozen=True)
class _Variation:
    """What changes from one image of a person to the next."""

    shift_x: float
    shift_y: float
    roll: float
    scale: float
    yaw: float
    ambient: float
    skin_drift: float
    mouth_open: float
    smile: float
    brow_raise: float
    clothing_insulation: float
    background_tilt: float
    range_below: float
    range_above: float
    blur_sigma: float
    noise_sigma: float
    column_noise_sigma: float


def _draw_variation(rng: np.random.Generator) -> _Variation:
    """Draws the pose, expression, scene and sensor conditions of one image."""
    return _Variation(
        shift_x=rng.uniform(-3.0, 3.0),
        shift_y=rng.uniform(-2.0, 2.0),
        roll=math.radians(rng.uniform(-5.0, 5.0)),
        scale=rng.uniform(0.95, 1.05),
        yaw=rng.uniform(-0.2, 0.2),
        ambient=rng.uniform(18.0, 28.0),
        skin_drift=rng.normal(0.0, 0.3),
        # A third of the images catch the person talking; open mouths are hot inside.
        mouth_open=rng.uniform(0.4, 1.0) if rng.random() < 0.33 else 0.0,
        smile=rng.uniform(-0.1, 0.25),
        brow_raise=rng.uniform(-0.01, 0.02),
        clothing_insulation=rng.uniform(0.2, 0.6),
        background_tilt=rng.uniform(-1.0, 1.0),
        range_below=rng.uniform(1.5, 3.0),
        range_above=rng.uniform(0.5, 2.0),
        blur_sigma=rng.uniform(0.5, 0.9),
        noise_sigma=rng.uniform(0.5, 1.0),
        column_noise_sigma=rng.uniform(0.3, 1.0),
    )


def _below(value: FloatArray, edge: FloatArray | float, softness: float) -> FloatArray:
    """Soft step: 1 where ``value`` is well below ``edge``, 0 well above it.

    Shapes get soft edges so that they blend like the blurred boundaries of real heat.
    """
    return 0.5 - 0.5 * np.tanh((value - edge) / softness)


def _ellipse(x: FloatArray, y: FloatArray, width: float, height: float) -> FloatArray:
    """Normalised elliptic radius: 1 on the ellipse with these half-axes."""
    return np.sqrt((x / width) ** 2 + (y / height) ** 2)


def _blob(x: FloatArray, y: FloatArray, width: float, height: float) -> FloatArray:
    """Gaussian bump centred on the origin with these standard deviations."""
    return np.exp(-0.5 * ((x / width) ** 2 + (y / height) ** 2))


def _blur(image: FloatArray, sigma: float) -> FloatArray:
    """Separable Gaussian blur that stands in for the camera's optics."""
    offsets = np.arange(-2, 3)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(image, offsets[-1], mode="edge")
    rows = sliding_window_view(padded, kernel.size, axis=1) @ kernel
    return sliding_window_view(rows, kernel.size, axis=0) @ kernel


@dataclass(frozen=True)
class _HeadView:
    """Where each pixel lies relative to the head in one image.

    All fields are per-pixel arrays in image-height units from the head centre.

    Attributes:
        x: Horizontal position, with the image's shift, roll and scale undone.
        y: Vertical position (down is positive).
        u: Horizontal position on the face surface, with the yaw also undone.
        radius: Elliptic radius of the head outline: 1 on the outline.
    """

    x: FloatArray
    y: FloatArray
    u: FloatArray
    radius: FloatArray


def _head_view(identity: FaceIdentity, variation: _Variation, size: tuple[int, int]) -> _HeadView:
    """Maps every pixel of the image into the head's coordinates."""
    height, width = size
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float64)
    x0 = (cols - (width / 2 + variation.shift_x)) / height
    y0 = (rows - (0.46 * height + variation.shift_y)) / height
    cos, sin = math.cos(variation.roll), math.sin(variation.roll)
    x = (cos * x0 + sin * y0) / variation.scale
    y = (-sin * x0 + cos * y0) / variation.scale
    jaw = np.clip(y / identity.head_height, 0.0, 1.0) ** 2
    half_width = identity.head_width * (1.0 - identity.jaw_taper * jaw)
    # Yaw turns the head about its vertical axis: a point on the head's surface at
    # horizontal angle alpha is seen at a*sin(alpha + yaw), so features slide sideways
    # and crowd together on the far side while the outline barely changes.
    seen_angle = np.arcsin(np.clip(x / half_width, -1.0, 1.0))
    return _HeadView(
        x=x,
        y=y,
        u=half_width * np.sin(seen_angle - variation.yaw),
        radius=_ellipse(x, y, half_width, identity.head_height),
    )


def _face_temperature(
    identity: FaceIdentity,
    variation: _Variation,
    view: _HeadView,
    skin: float,
) -> FloatArray:
    """Temperature of the bare (or bearded) face, as if it filled the whole image."""
    u, v = view.u, view.y
    ambient = variation.ambient
    # Surfaces seen at a grazing angle look colder to the camera (emissivity falls off).
    facing = np.sqrt(np.clip(1.0 - view.radius**2, 0.0, 1.0))
    face = skin - 2.5 * (1.0 - facing)
    forehead_y = identity.eye_level - 0.45 * identity.head_height
    face = face + identity.forehead_warmth * _blob(u, v - forehead_y, 0.6 * identity.head_width, 0.15 * identity.head_height)
    for side in (-1.0, 1.0):
        eye_x = side * identity.eye_spacing
        corner_x = side * (identity.eye_spacing - 0.028)
        face = face + identity.eye_corner_heat * _blob(u - corner_x, v - identity.eye_level - 0.004, 0.02, 0.017)
        face = face - 0.6 * _blob(u - eye_x, v - identity.eye_level, 0.02, 0.012)
        brow_y = identity.eye_level - 0.045 - variation.brow_raise
        face = face - identity.brow_cooling * _blob(u - eye_x, v - brow_y, 0.035, 0.008)
    # The nose, far from the body core, cools more in a cold room.
    nose_cooling = identity.nose_cooling * (1.0 + 0.05 * (23.0 - ambient))
    face = face - nose_cooling * _blob(u, v - identity.nose_level, 0.03, 0.025)

    mouth_half_width = identity.mouth_width * (1.0 + variation.smile)
    along_mouth = _below(np.abs(u), mouth_half_width, 0.15 * mouth_half_width)
    lips = np.exp(-0.5 * ((v - identity.mouth_level) / 0.008) ** 2)
    face = face + identity.mouth_warmth * along_mouth * lips
    if variation.mouth_open > 0.0:
        opening_r = _ellipse(
            u,
            v - identity.mouth_level - 0.01 * variation.mouth_open,
            0.8 * mouth_half_width,
            0.03 * variation.mouth_open,
        )
        # The inside of the mouth is at core temperature.
        face = face + _below(opening_r, 1.0, 0.2) * (36.5 - face)
    for vessel_x, vessel_y, radius, warmth in identity.vessels:
        face = face + warmth * _blob(u - vessel_x, v - vessel_y, radius, radius)

    if identity.beard:
        # A full beard starts under the nose, dips over the cheeks and rises again to
        # the sideburns; it leaves the lips (and an open mouth) bare.
        across = np.clip(u / identity.head_width, -1.0, 1.0) ** 2
        beard_top = identity.nose_level + 0.03 + 0.2 * across * (1.0 - across)
        lip_gap = 0.012 + 0.03 * variation.mouth_open
        lips_bare = 1.0 - along_mouth * _below(np.abs(v - identity.mouth_level), lip_gap, 0.004)
        beard = _below(-v, -beard_top, 0.01) * lips_bare
        insulation = identity.beard_density * (1.0 - identity.hair_insulation)
        face = face + beard * (skin - insulation * (skin - ambient) - face)
    return face


def _hair_cover(identity: FaceIdentity, view: _HeadView) -> FloatArray:
    """How much of each pixel is covered by hair, from 0 to 1."""
    a, b = identity.head_width, identity.head_height
    # Hair grows on top, above a hairline that recedes at the temples, and in a shell
    # along the head's outline down the sides; it stands off the scalp by its volume.
    q = view.y / b
    if identity.bald:
        top_hair = np.zeros_like(q)
        sides_from = -0.55
    else:
        hairline = identity.hairline - identity.hair_recession * (view.u / a) ** 2
        top_hair = _below(q, hairline, 0.04)
        sides_from = -np.inf
    shell = _below(-view.radius, -0.85, 0.03)
    side_hair = shell * _below(q, identity.hair_side_length, 0.04) * (q > sides_from)
    volume = 1.0 + identity.hair_volume
    outline = _ellipse(view.x, view.y + 0.02, volume * a, volume * b)
    return np.maximum(top_hair, side_hair) * _below(outline, 1.0, 0.04)


def _temperature(identity: FaceIdentity, variation: _Variation, size: tuple[int, int]) -> FloatArray:
    """Renders the scene's temperature in degrees Celsius, one value per pixel.

    Layers are painted back to front: room, clothing, neck, ears, face, hair, glasses.
    """
    view = _head_view(identity, variation, size)
    x, y = view.x, view.y
    ambient = variation.ambient
    # Skin follows the room a little.
    skin = identity.skin_temp + 0.12 * (ambient - 23.0) + variation.skin_drift

    # The room is a little warmer towards the floor or ceiling; the column vector of
    # row temperatures broadcasts to the full image at the first layer painted over it.
    rows = np.arange(size[0], dtype=np.float64)[:, np.newaxis] / size[0]
    temp = ambient + 0.4 * variation.background_tilt * (rows - 0.5)

    clothing = _below(_ellipse(x, y - 0.75, 0.75, 0.33), 1.0, 0.03)
    clothing_temp = ambient + variation.clothing_insulation * (skin - ambient)
    temp = temp + clothing * (clothing_temp - temp)

    neck = _below(np.abs(x), identity.neck_width, 0.01) * (y > 0.0)
    neck_temp = skin + 0.3 - 1.5 * (x / identity.neck_width) ** 2
    temp = temp + neck * (neck_temp - temp)

    for side in (-1.0, 1.0):
        # An ear turned away from the camera hides behind the head.
        visible = float(np.clip(1.0 - 3.0 * max(0.0, side * variation.yaw), 0.0, 1.0))
        ear_x = side * identity.head_width * math.cos(variation.yaw)
        ear_r = _ellipse(x - ear_x, y - 0.02, 0.45 * identity.ear_size, identity.ear_size)
        ear = _below(ear_r, 1.0, 0.15)
        temp = temp + visible * ear * (skin - identity.ear_cooling - temp)

    face = _face_temperature(identity, variation, view, skin)
    temp = temp + _below(view.radius, 1.0, 0.03) * (face - temp)

    hair_temp = ambient + identity.hair_insulation * (skin - ambient)
    temp = temp + _hair_cover(identity, view) * (hair_temp - temp)

    if identity.glasses:
        lens_temp = ambient + 0.2 * (skin - ambient)
        frame_temp = ambient + 0.6 * (skin - ambient)
        for side in (-1.0, 1.0):
            lens_r = _ellipse(
                view.u - side * identity.eye_spacing,
                y - identity.eye_level,
                identity.lens_width,
                identity.lens_height,
            )
            # The frame's rim shows as a warmer ring around the cold lens.
            temp = temp + _below(lens_r, 1.0, 0.12) * (frame_temp - temp)
            temp = temp + _below(lens_r, 0.85, 0.12) * (lens_temp - temp)
        bridge_r = _ellipse(view.u, y - identity.eye_level + 0.01, identity.eye_spacing, 0.006)
        temp = temp + _below(bridge_r, 1.0, 0.3) * (frame_temp - temp)
    return temp


def _add_cup(temp: FloatArray, rng: np.random.Generator) -> tuple[FloatArray, float]:
    """Paints a cup of tea at 60 degrees into a bottom corner; returns the scene and the tea's temperature.

    The cup stands at the bottom edge, in the left or right corner: a body about a fifth
    of the image high whose wall is a few degrees cooler than the tea it holds.
    """
    height, width = temp.shape
    tea = 60.0
    rows = np.arange(height, dtype=np.float64)[:, np.newaxis] / height
    cols = np.arange(width, dtype=np.float64)[np.newaxis, :] / height
    cup_w, cup_h = rng.uniform(0.09, 0.12), rng.uniform(0.18, 0.24)
    centre = rng.uniform(0.02, 0.06) + cup_w
    if rng.random() < 0.5:
        centre = width / height - centre
    body = _below(np.abs(cols - centre), cup_w, 0.01) * _below(1.0 - cup_h, rows, 0.01)
    wall = tea - rng.uniform(3.0, 8.0)
    top = _below(np.abs(rows - (1.0 - cup_h)), 0.02, 0.01) * _below(np.abs(cols - centre), cup_w * 0.85, 0.01)
    temp = temp + body * (wall - temp)
    return temp + top * (tea - temp), tea


def render_thermal(
    identity: FaceIdentity,
    rng: np.random.Generator,
    size: tuple[int, int] = DEFAULT_SIZE,
    hot_object: np.random.Generator | None = None,
) -> tuple[FloatArray, ImageArray]:
    """Renders one thermal image of a person: what the camera measured and what it shows.

    Each call draws a new head pose (shift, roll, scale, yaw), expression (mouth, smile,
    brows), room temperature, camera gain range and sensor noise from ``rng``.

    Args:
        identity: The person to render.
        rng: Source of the image's variation.
        size: Output (height, width) in pixels.
        hot_object: When given, a cup of tea at 60 degrees is placed in a bottom corner,
            drawn from this generator (``rng``'s draws stay the same, so the face does too).

    Returns:
        (celsius, gray): the measured scene in degrees Celsius, float64 of shape ``size``
        (optics blur and sensor noise included), and the 8-bit image of the camera's
        automatic gain, uint8 of shape ``size``; warm is bright.

    Raises:
        SiameseError: If ``size`` is not two integers of at least 16.
    """
    if len(size) != 2 or not all(isinstance(n, Integral) and not isinstance(n, bool) for n in size) or min(size) < 16:
        raise SiameseError(f"size must be two integers of at least 16 (height, width), got {size!r}.")
    variation = _draw_variation(rng)
    temp = _temperature(identity, variation, size)
    # The camera's automatic gain spans from a little below the room to a little above
    # skin, so a cold room stretches the face's contrast and a warm one flattens it.
    low = variation.ambient - variation.range_below
    high = identity.skin_temp + 2.0 + variation.range_above
    if hot_object is not None:
        # A hot object in view pulls the automatic gain up to it: the face loses contrast.
        temp, hottest = _add_cup(temp, hot_object)
        high = max(high, hottest + variation.range_above)
    gray = 255.0 * (temp - low) / (high - low)
    gray = _blur(gray, variation.blur_sigma)
    columns = rng.normal(0.0, variation.column_noise_sigma, size=(1, size[1]))
    gray = gray + columns + rng.normal(0.0, variation.noise_sigma, size=size)
    celsius = low + gray * ((high - low) / 255.0)
    return celsius, np.clip(np.rint(gray), 0, 255).astype(np.uint8)


def render_face(
    identity: FaceIdentity,
    rng: np.random.Generator,
    size: tuple[int, int] = DEFAULT_SIZE,
) -> ImageArray:
    """Renders one thermal image of a person in a freshly drawn variation, as the camera's
    8-bit automatic-gain image (``render_thermal``'s second result).

    Returns:
        The grayscale image, uint8 of shape ``size``; warm is bright.

    Raises:
        SiameseError: If ``size`` is not two integers of at least 16.
    """
    return render_thermal(identity, rng, size)[1]
