"""Distances on the earth's surface (the planner's default travel model and the crew suggestions)."""

import math
from decimal import Decimal

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
