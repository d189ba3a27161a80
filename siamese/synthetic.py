"""Synthetic thermal face images: the demo data set (no real faces ship)."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image

from siamese.errors import SiameseError

FloatArray = npt.NDArray[np.float64]
ImageArray = npt.NDArray[np.uint8]

# The original data set's images: 60 rows by 80 columns.
DEFAULT_SIZE = (60, 80)

# Every head gets one fixed set of skin-vessel blobs; a handful is enough to give each
# identity a texture of its own without making the faces look blotchy.
_VESSEL_COUNT = 5

# A near twin moves each continuous parameter of a known person this share of the way
# towards a freshly drawn person's value. Two random people differ by a third of a
# parameter's range on average, so a twin differs by a twelfth: a quarter of the usual
# difference between two people. Rendered in the same pose and conditions, every twin
# then stays closer to its source (in raw pixels) than any ordinary stranger is to
# their nearest known person, yet visibly differs; from about 0.3 on, the farthest
# twins start to overlap the nearest strangers.
NEAR_TWIN_BLEND = 0.25


@dataclass(frozen=True)
class FaceIdentity:
    """The fixed heat pattern of one synthetic person.

    Lengths are in units of the image height and measured from the head centre (image
    axes: x to the right, y down); temperatures and temperature changes are in degrees
    Celsius.

    Attributes:
        head_width: Half-width of the head ellipse.
        head_height: Half-height of the head ellipse.
        jaw_taper: How much the head narrows towards the chin (0 keeps the ellipse).
        skin_temp: Temperature of the bare face at a 23 degree ambient.
        forehead_warmth: Extra warmth of the forehead centre.
        eye_spacing: Half the distance between the eye centres.
        eye_level: Vertical position of the eyes (negative is above the centre).
        eye_corner_heat: Extra warmth of the inner eye corners (the hottest spots).
        brow_cooling: Cooling by the eyebrows (hair insulates the skin below).
        nose_level: Vertical position of the nose tip.
        nose_cooling: How much colder the nose tip is than the rest of the face.
        mouth_level: Vertical position of the mouth.
        mouth_width: Half-width of the mouth.
        mouth_warmth: Extra warmth along the closed lips.
        ear_size: Half-height of an ear.
        ear_cooling: How much colder the ears are than the face.
        neck_width: Half-width of the neck.
        bald: Whether the top of the head is bare (hair only around the ears).
        hairline: Height of the hairline at the centre, in head half-heights.
        hair_recession: How far the hairline rises at the temples, in head half-heights.
        hair_side_length: How far down the sides hair reaches, in head half-heights.
        hair_volume: How far hair stands off the scalp, as a fraction of the head size.
        hair_insulation: Where hair sits between ambient (0) and skin (1) temperature.
        glasses: Whether the person wears glasses; glass is opaque in thermal infrared.
        lens_width: Half-width of a spectacle lens.
        lens_height: Half-height of a spectacle lens.
        beard: Whether the person has a beard, which insulates the lower face.
        beard_density: Where the beard sits between skin (0) and hair (1) temperature.
        vessels: Skin-vessel blobs as (x, y, radius, warmth) on the face.
    """

    head_width: float
    head_height: float
    jaw_taper: float
    skin_temp: float
    forehead_warmth: float
    eye_spacing: float
    eye_level: float
    eye_corner_heat: float
    brow_cooling: float
    nose_level: float
    nose_cooling: float
    mouth_level: float
    mouth_width: float
    mouth_warmth: float
    ear_size: float
    ear_cooling: float
    neck_width: float
    bald: bool
    hairline: float
    hair_recession: float
    hair_side_length: float
    hair_volume: float
    hair_insulation: float
    glasses: bool
    lens_width: float
    lens_height: float
    beard: bool
    beard_density: float
    vessels: tuple[tuple[float, float, float, float], ...]


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


def make_identity(rng: np.random.Generator) -> FaceIdentity:
    """Draws the heat pattern of one new synthetic person.

    Args:
        rng: Source of randomness; the same generator state gives the same person.

    Returns:
        The person's fixed parameters.
    """
    head_width = rng.uniform(0.21, 0.34)
    head_height = rng.uniform(0.32, 0.42)
    # Glasses and beards are the strongest cues, so only a minority of people get them,
    # and rarely both, to keep most identities apart by subtler features.
    glasses = bool(rng.random() < 0.3)
    beard = bool(rng.random() < (0.12 if glasses else 0.3))
    vessels = tuple(
        (
            rng.uniform(-0.8, 0.8) * head_width,
            rng.uniform(-0.7, 0.6) * head_height,
            rng.uniform(0.025, 0.06),
            rng.uniform(-0.9, 0.9),
        )
        for _ in range(_VESSEL_COUNT)
    )
    return FaceIdentity(
        head_width=head_width,
        head_height=head_height,
        jaw_taper=rng.uniform(0.0, 0.35),
        skin_temp=rng.uniform(33.0, 35.0),
        forehead_warmth=rng.uniform(0.2, 1.2),
        eye_spacing=rng.uniform(0.32, 0.44) * head_width,
        eye_level=rng.uniform(-0.22, -0.05) * head_height,
        eye_corner_heat=rng.uniform(1.5, 3.0),
        brow_cooling=rng.uniform(0.2, 1.5),
        nose_level=rng.uniform(0.15, 0.32) * head_height,
        nose_cooling=rng.uniform(0.5, 3.0),
        mouth_level=rng.uniform(0.45, 0.6) * head_height,
        mouth_width=rng.uniform(0.22, 0.34) * head_width,
        mouth_warmth=rng.uniform(0.5, 1.8),
        ear_size=rng.uniform(0.05, 0.08),
        ear_cooling=rng.uniform(1.0, 3.5),
        neck_width=rng.uniform(0.5, 0.7) * head_width,
        bald=bool(rng.random() < 0.12),
        hairline=rng.uniform(-0.75, -0.4),
        hair_recession=rng.uniform(0.0, 0.4),
        hair_side_length=rng.uniform(-0.5, 0.7),
        hair_volume=rng.uniform(0.02, 0.2),
        hair_insulation=rng.uniform(0.1, 0.65),
        glasses=glasses,
        lens_width=rng.uniform(0.065, 0.085),
        lens_height=rng.uniform(0.04, 0.055),
        beard=beard,
        beard_density=rng.uniform(0.45, 0.9),
        vessels=vessels,
    )


def make_near_twin(
    identity: FaceIdentity,
    rng: np.random.Generator,
    blend: float = NEAR_TWIN_BLEND,
) -> FaceIdentity:
    """Draws a different person who closely resembles ``identity``.

    A new person is drawn with :func:`make_identity`, and each continuous parameter
    (head shape, temperatures, feature positions, hair, lens size, every skin-vessel
    blob) moves ``blend`` of the way from ``identity``'s value towards theirs. Blending
    two valid people keeps every value inside the range :func:`make_identity` draws
    from, including the parameters that scale with the head's size. The yes-or-no
    traits (bald, glasses, beard) are the strongest cues, so the twin keeps them.

    Args:
        identity: The known person to resemble.
        rng: Source of randomness; the same generator state gives the same twin.
        blend: How far to move towards the new person, from 0 (an exact copy) to 1
            (a stranger with the same glasses, beard and baldness).

    Returns:
        The twin's fixed parameters.

    Raises:
        SiameseError: If ``blend`` is not a number from 0 to 1.
    """
    if isinstance(blend, bool) or not isinstance(blend, Real) or not 0.0 <= blend <= 1.0:
        raise SiameseError(f"blend must be a number from 0 to 1, got {blend!r}.")
    other = make_identity(rng)

    def toward(mine: float, theirs: float) -> float:
        return mine + blend * (theirs - mine)

    changes: dict[str, object] = {
        "vessels": tuple(
            tuple(toward(mine, theirs) for mine, theirs in zip(own, new, strict=True))
            for own, new in zip(identity.vessels, other.vessels, strict=True)
        )
    }
    for field in fields(FaceIdentity):
        value = getattr(identity, field.name)
        if isinstance(value, Real) and not isinstance(value, bool):
            changes[field.name] = toward(value, getattr(other, field.name))
    return replace(identity, **changes)


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


def render_face(
    identity: FaceIdentity,
    rng: np.random.Generator,
    size: tuple[int, int] = DEFAULT_SIZE,
) -> ImageArray:
    """Renders one thermal image of a person in a freshly drawn variation.

    Each call draws a new head pose (shift, roll, scale, yaw), expression (mouth, smile,
    brows), room temperature, camera gain range and sensor noise from ``rng``.

    Args:
        identity: The person to render.
        rng: Source of the image's variation.
        size: Output (height, width) in pixels.

    Returns:
        The grayscale image, uint8 of shape ``size``; warm is bright.

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
    gray = 255.0 * (temp - low) / (high - low)
    gray = _blur(gray, variation.blur_sigma)
    columns = rng.normal(0.0, variation.column_noise_sigma, size=(1, size[1]))
    gray = gray + columns + rng.normal(0.0, variation.noise_sigma, size=size)
    return np.clip(np.rint(gray), 0, 255).astype(np.uint8)


def _check_count(name: str, value: int, minimum: int) -> None:
    """Raises SiameseError unless ``value`` is an integer of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise SiameseError(f"{name} must be an integer of at least {minimum}, got {value!r}.")


def _save_png(image: ImageArray, path: Path) -> None:
    """Saves a grayscale image as an RGB PNG, refusing to replace an existing file."""
    rgb = np.repeat(image[:, :, np.newaxis], 3, axis=2)
    # "xb" fails if the file exists: the generator never overwrites anything.
    with path.open("xb") as handle:
        Image.fromarray(rgb).save(handle, format="PNG", compress_level=9)


def write_sample_dataset(
    out: str | Path,
    identities: int = 16,
    per_identity: int = 30,
    unknown_identities: int = 6,
    unknown_per_identity: int = 10,
    test_fraction: float = 0.2,
    seed: int = 0,
    near_twins: int = 0,
) -> dict[str, int]:
    """Writes a synthetic thermal face data set, ready to train and evaluate on.

    Layout: ``out/train/person_01/person_01_001.png`` ..., ``out/test/person_01/...``
    (the same people; the last ``round(per_identity * test_fraction)`` images of each
    go to test), ``out/unknown/stranger_01/...`` (people in neither train nor test) and
    ``out/unknown/twin_01/...`` (near twins: strangers made by :func:`make_near_twin`
    from a known person, twin 1 from person 1 and so on, starting over at person 1
    when there are more twins than people); ``unknown/`` is left out when there are
    neither. Images are 60x80 RGB PNGs with equal channels. The same arguments always
    give byte-identical files, and a person does not change when the counts do: adding
    twins leaves every other file as it was.

    Args:
        out: Folder to create; it must not exist or be empty.
        identities: Number of known people (at least 2).
        per_identity: Images per known person, split between train and test.
        unknown_identities: Number of people for the unknown set (0 for none).
        unknown_per_identity: Images per unknown person.
        test_fraction: Share of each known person's images that goes to test.
        seed: Seed of everything random (a non-negative integer).
        near_twins: Number of near twins for the unknown set (0 for none), each with
            ``unknown_per_identity`` images.

    Returns:
        Image counts ``train``, ``test`` and ``unknown`` (strangers' and twins'
        images), and the number of ``identities``, ``unknown_identities`` and
        ``near_twins``.

    Raises:
        SiameseError: If an argument is out of range, or ``out`` exists and is not an
            empty folder.
    """
    _check_count("identities", identities, 2)
    _check_count("per_identity", per_identity, 2)
    _check_count("unknown_identities", unknown_identities, 0)
    _check_count("unknown_per_identity", unknown_per_identity, 1)
    _check_count("seed", seed, 0)
    _check_count("near_twins", near_twins, 0)
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, Real) or not 0.0 < test_fraction < 1.0:
        raise SiameseError(f"test_fraction must be between 0 and 1 (exclusive), got {test_fraction!r}.")
    n_test = round(per_identity * test_fraction)
    n_train = per_identity - n_test
    if n_test < 1 or n_train < 2:
        raise SiameseError(
            f"per_identity={per_identity} with test_fraction={test_fraction} gives "
            f"{n_train} train and {n_test} test images per person; it needs at least 2 "
            "and 1, so raise per_identity or change test_fraction."
        )

    out = Path(out)
    if out.exists() and not (out.is_dir() and not any(out.iterdir())):
        raise SiameseError(
            f"{out} already exists and is not an empty folder; choose a new output folder (sample data never overwrites anything)."
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SiameseError(f"cannot create the folder {out} ({error.strerror}); choose another.") from error

    # Each person has a random stream of their own, keyed by (seed, group, index), so
    # person_03 is the same person whatever the number of people or images asked for.
    # A twin's stream (group 2) draws only the twin's differences and images; its
    # source is made again from the source's own stream, which stays untouched.
    groups = [("person", identities, 0, ["train"] * n_train + ["test"] * n_test)]
    if unknown_identities:
        groups.append(("stranger", unknown_identities, 1, ["unknown"] * unknown_per_identity))
    if near_twins:
        groups.append(("twin", near_twins, 2, ["unknown"] * unknown_per_identity))
    counts = {"train": 0, "test": 0, "unknown": 0}
    for prefix, count, group, splits in groups:
        name_digits = max(2, len(str(count)))
        image_digits = max(3, len(str(len(splits))))
        for index in range(1, count + 1):
            rng = np.random.default_rng([seed, group, index])
            if prefix == "twin":
                source = make_identity(np.random.default_rng([seed, 0, (index - 1) % identities + 1]))
                identity = make_near_twin(source, rng)
            else:
                identity = make_identity(rng)
            name = f"{prefix}_{index:0{name_digits}d}"
            for number, split in enumerate(splits, start=1):
                folder = out / split / name
                folder.mkdir(parents=True, exist_ok=True)
                _save_png(
                    render_face(identity, rng),
                    folder / f"{name}_{number:0{image_digits}d}.png",
                )
                counts[split] += 1
    return {
        **counts,
        "identities": identities,
        "unknown_identities": unknown_identities,
        "near_twins": near_twins,
    }
