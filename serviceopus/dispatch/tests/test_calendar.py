"""A technician's iCalendar feed: the secret URL (made, renewed, revoked; stored hashed) and the feed."""

import hashlib
import re
from datetime import datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from serviceopus.core.errors import DomainError
from serviceopus.crew.actions import calendar_feed_renew, calendar_feed_revoke
from serviceopus.crew.models import CalendarFeed
from serviceopus.dispatch.status import VisitStatus
from tests.factories import VisitFactory

FEED_QUERIES = 2  # the technician by token hash, their visits with job, customer, address and type


def at(day_offset: int, hour: int) -> datetime:
    return timezone.make_aware(datetime.combine(timezone.localdate() + timedelta(days=day_offset), time(hour)))


def _token_from(page: str) -> str:
    match = re.search(r"/dispatch/calendar/([A-Za-z0-9_-]+)\.ics", page)
    assert match, "the page shows the feed URL"
    return match.group(1)


def _feed(client, token: str):  # type: ignore[no-untyped-def]
    return client.get(reverse("dispatch:calendar_feed", args=[token]))


def test_a_technician_creates_their_feed_url_shown_once_and_stored_hashed(client_as, client, tech_a):
    user_client = client_as(tech_a.user)
    page = user_client.get(reverse("dispatch:calendar", args=[tech_a.pk])).content.decode()
    assert "Create feed URL" in page
    response = user_client.post(reverse("dispatch:calendar_renew", args=[tech_a.pk]))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    token = _token_from(response.content.decode())
    assert len(token) >= 32  # 256 random bits, url-safe base64
    feed = CalendarFeed.objects.get(technician=tech_a)
    assert feed.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(list(CalendarFeed.objects.values()))
    again = user_client.get(reverse("dispatch:calendar", args=[tech_a.pk])).content.decode()
    assert token not in again
    assert "Renew feed URL" in again
    assert _feed(client, token).status_code == 200


def test_the_feed_has_one_event_per_visit(client, tech_a, tech_b, django_assert_num_queries):
    token = calendar_feed_renew(actor=tech_a.user, technician_id=tech_a.pk)
    visit = VisitFactory(crew=[tech_a], scheduled_start=at(1, 9), duration_minutes=90, crew_notes="Ring twice")
    VisitFactory(crew=[tech_a, tech_b], scheduled_start=at(2, 13))
    VisitFactory(crew=[tech_a], scheduled_start=at(3, 9), status=VisitStatus.CANCELLED)  # left out
    VisitFactory(crew=[tech_b], scheduled_start=at(1, 9))  # someone else's
    with django_assert_num_queries(FEED_QUERIES):
        response = _feed(client, token)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    events = calendar.walk("VEVENT")
    assert len(events) == 2
    first = events[0]
    job = visit.job
    assert str(first["UID"]) == f"visit-{visit.pk}@service-opus"
    assert first.decoded("DTSTART") == at(1, 9)
    assert first.decoded("DTEND") == at(1, 9) + timedelta(minutes=90)
    assert job.number in str(first["SUMMARY"])
    assert job.customer.name in str(first["SUMMARY"])
    assert job.job_type.name in str(first["SUMMARY"])
    assert str(first["LOCATION"]) == job.location.one_line
    description = str(first["DESCRIPTION"])
    assert job.scope in description
    assert "Ring twice" in description
    assert "Arrival window 09:00–11:00" in description
    # Many more visits: the same queries.
    for i in range(10):
        VisitFactory(crew=[tech_a], scheduled_start=at(4 + i, 9))
    with django_assert_num_queries(FEED_QUERIES):
        assert len(Calendar.from_ical(_feed(client, token).content).walk("VEVENT")) == 12


def test_the_uid_is_stable_when_a_visit_moves(client, tech_a):
    token = calendar_feed_renew(actor=tech_a.user, technician_id=tech_a.pk)
    visit = VisitFactory(crew=[tech_a], scheduled_start=at(1, 9))
    before = Calendar.from_ical(_feed(client, token).content).walk("VEVENT")[0]
    type(visit).objects.filter(pk=visit.pk).update(scheduled_start=at(1, 14), version=visit.version + 1)
    after = Calendar.from_ical(_feed(client, token).content).walk("VEVENT")[0]
    assert str(before["UID"]) == str(after["UID"])
    assert after.decoded("DTSTART") == at(1, 14)
    assert int(after["SEQUENCE"]) > int(before["SEQUENCE"])


def test_renewing_revokes_the_old_url(client_as, client, tech_a):
    old = calendar_feed_renew(actor=tech_a.user, technician_id=tech_a.pk)
    response = client_as(tech_a.user).post(reverse("dispatch:calendar_renew", args=[tech_a.pk]))
    new = _token_from(response.content.decode())
    assert new != old
    assert _feed(client, old).status_code == 404
    assert _feed(client, new).status_code == 200
    assert CalendarFeed.objects.count() == 1


def test_revoke_stops_the_feed(client_as, client, tech_a):
    token = calendar_feed_renew(actor=tech_a.user, technician_id=tech_a.pk)
    response = client_as(tech_a.user).post(reverse("dispatch:calendar_revoke", args=[tech_a.pk]))
    assert response.status_code == 302
    assert _feed(client, token).status_code == 404
    assert not CalendarFeed.objects.exists()


def test_unknown_tokens_and_inactive_technicians_get_404(client, tech_a):
    assert _feed(client, "A" * 43).status_code == 404
    token = calendar_feed_renew(actor=tech_a.user, technician_id=tech_a.pk)
    type(tech_a).objects.filter(pk=tech_a.pk).update(active=False)
    assert _feed(client, token).status_code == 404


def test_the_office_manages_a_technicians_feed_and_technicians_only_their_own(client_as, dispatcher, tech_a, tech_b):
    response = client_as(dispatcher).post(reverse("dispatch:calendar_renew", args=[tech_a.pk]))
    assert response.status_code == 200
    assert _token_from(response.content.decode())
    before = list(CalendarFeed.objects.values())
    other = client_as(tech_b.user)
    assert other.get(reverse("dispatch:calendar", args=[tech_a.pk])).status_code == 404
    assert other.post(reverse("dispatch:calendar_renew", args=[tech_a.pk])).status_code == 404
    assert other.post(reverse("dispatch:calendar_revoke", args=[tech_a.pk])).status_code == 404
    assert list(CalendarFeed.objects.values()) == before


def test_the_feed_actions_check_who_may(tech_a, tech_b):
    with pytest.raises(DomainError) as refused:
        calendar_feed_renew(actor=tech_b.user, technician_id=tech_a.pk)
    assert refused.value.code == "forbidden"
    with pytest.raises(DomainError):
        calendar_feed_revoke(actor=tech_b.user, technician_id=tech_a.pk)
    assert not CalendarFeed.objects.exists()
