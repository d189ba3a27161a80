"""Synthetic people: the fixed thermal heat pattern of a face, and near twins of it."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from numbers import Real

import numpy as np

from siamese.errors import SiameseError

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
