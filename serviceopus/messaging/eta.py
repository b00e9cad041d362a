"""When the crew should arrive: from the phone's last reported position to the job's location as the
crow flies at the company's average speed (MessagingSettings.travel_speed_kmh), else the end of the
arrival window. An estimate for the customer, not a route: roads are longer than great circles, which
the average speed absorbs."""

from datetime import datetime, timedelta

from django.utils import timezone

from serviceopus.core.geo import haversine_km
from serviceopus.dispatch.models import Visit

from .models import MessagingSettings


def eta_for(visit: Visit, *, speed_kmh: int | None = None, now: datetime | None = None) -> datetime | None:
    """The estimated arrival of an en-route visit (None when nothing is known)."""
    now = now or timezone.now()
    location = visit.job.location
    if visit.last_lat is not None and visit.last_lng is not None and location.lat is not None and location.lng is not None:
        speed = speed_kmh or MessagingSettings.current().travel_speed_kmh
        km = haversine_km(visit.last_lat, visit.last_lng, location.lat, location.lng)
        return now + timedelta(minutes=max(1, round(km / speed * 60)))
    return visit.window_end


def eta_text(at: datetime | None) -> str:
    """'10:40' in the company's time zone, '' when unknown."""
    return f"{timezone.localtime(at):%H:%M}" if at else ""
