"""Distances on the ground, bounding boxes for an indexed first cut, and walking-time rings."""

import math

from django.conf import settings
from django.utils.translation import gettext as _

from yulan.core.errors import ApplicationError

EARTH_RADIUS_M = 6_371_008.8
MAX_RADIUS_M = 50_000
MAX_WALK_MINUTES = 120


def haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def bounding_box(lat: float, lng: float, radius_m: float) -> tuple[float, float, float, float]:
    dlat = math.degrees(radius_m / EARTH_RADIUS_M)
    coslat = max(math.cos(math.radians(lat)), 1e-6)
    dlng = min(180.0, math.degrees(radius_m / (EARTH_RADIUS_M * coslat)))
    return lat - dlat, lat + dlat, lng - dlng, lng + dlng


def walking_radius_m(minutes: int) -> float:
    """Straight-line radius reached in `minutes` of walking: walked distance shortened by the
    detour factor, since streets rarely run straight to the goal."""
    walked = minutes * settings.YULAN_WALK_METRES_PER_MINUTE
    return walked * 100 / settings.YULAN_WALK_DETOUR_PERCENT


def parse_coordinate(raw: str | float | None, *, field: str, low: float, high: float) -> float:
    try:
        value = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ApplicationError(_("“%(value)s” is not a number.") % {"value": raw}, field=field) from None
    if not math.isfinite(value) or not low <= value <= high:
        raise ApplicationError(_("Must be between %(low)s and %(high)s.") % {"low": low, "high": high}, field=field)
    return value


def parse_point(lat: str | float | None, lng: str | float | None) -> tuple[float, float]:
    return (
        parse_coordinate(lat, field="lat", low=-90, high=90),
        parse_coordinate(lng, field="lng", low=-180, high=180),
    )
