"""Distances and positions on the earth's surface (the planner's travel model, crew suggestions, the positions phones report)."""

import math
from decimal import Decimal

from serviceopus.core.errors import InvalidInput

EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1: float | Decimal, lng1: float | Decimal, lat2: float | Decimal, lng2: float | Decimal) -> float:
    """Great-circle distance in kilometres."""
    p1, p2 = math.radians(float(lat1)), math.radians(float(lat2))
    dp, dl = p2 - p1, math.radians(float(lng2) - float(lng1))
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def maps_url(lat: float | Decimal, lng: float | Decimal) -> str:
    """A navigation link that phones open in their maps app (Google's universal URL scheme)."""
    return f"https://www.google.com/maps/dir/?api=1&destination={float(lat):.6f},{float(lng):.6f}"


def clean_position(lat: Decimal | float | None, lng: Decimal | float | None) -> tuple[Decimal | None, Decimal | None]:
    """A reported position (both or neither), to six decimals and within the earth's ranges."""
    if lat is None and lng is None:
        return None, None
    try:
        lat_d = Decimal(str(lat)).quantize(Decimal("0.000001"))
        lng_d = Decimal(str(lng)).quantize(Decimal("0.000001"))
    except Exception as exc:
        raise InvalidInput("Invalid position.", {"lat": "Send both latitude and longitude as numbers."}) from exc
    if not (-90 <= lat_d <= 90 and -180 <= lng_d <= 180):
        raise InvalidInput("Invalid position.", {"lat": "Latitude −90…90, longitude −180…180."})
    return lat_d, lng_d
