"""The technician's phone pages: My day, the visit screen and its buttons."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from serviceopus.dispatch.models import VisitEvent
from serviceopus.dispatch.status import Outcome, VisitStatus
from serviceopus.field.models import TimeEntry
from serviceopus.jobs.status import JobStatus
from tests.dispatch_support import at, snapshot
from tests.factories import AssetFactory, ContactFactory, JobFactory, LocationFactory, VisitFactory

V = VisitStatus
# session, user, technician, visits, crew, skills, required skills, assets
MY_DAY_QUERIES = 8


def visit_at(hour: int, crew, *, day: int = 0, status: str = V.SCHEDULED, **job_kwargs):  # type: ignore[no-untyped-def]
    start = at(day, hour)
    job = JobFactory(status=JobStatus.SCHEDULED, **job_kwargs)
    return VisitFactory(job=job, scheduled_start=start, window_start=start, window_end=start + timedelta(hours=2), status=status, crew=crew)


def tap(client, visit, to, expected, **extra):  # type: ignore[no-untyped-def]
    return client.post(reverse("field:transition", args=[visit.pk]), {"to": to, "expected": expected, **extra})


# ---- My day ----------------------------------------------------------------------------------------


def test_my_day_lists_only_own_visits_in_route_order_with_navigation_and_contact(client_as, tech_a, tech_b):
    location = LocationFactory(lat=Decimal("41.881234"), lng=Decimal("-87.623456"), gate_code="4321")
    job = JobFactory(location=location, customer=location.customer, status=JobStatus.SCHEDULED, scope="Replace the igniter")
    job.contact = ContactFactory(customer=location.customer, name="Pat Tenant", phone="555-0199")
    job.save()
    job.assets.add(AssetFactory(location=location, make="Carrier", model="59TP6", serial="SN-77"))
    later = VisitFactory(job=job, scheduled_start=at(0, 13), window_start=at(0, 13), window_end=at(0, 15), crew=[tech_a], crew_notes="Dog in yard")
    earlier = visit_at(9, [tech_b, tech_a])  # a helper on this one
    theirs = visit_at(10, [tech_b])
    tomorrow = visit_at(9, [tech_a], day=1)

    response = client_as(tech_a.user).get(reverse("field:my_day"))

    assert response.status_code == 200
    cards = response.context["cards"]
    assert [c.visit.pk for c in cards] == [earlier.pk, later.pk]
    html = response.content.decode()
    assert f'id="visit-{theirs.pk}"' not in html
    assert f'id="visit-{tomorrow.pk}"' not in html
    assert "https://www.google.com/maps/dir/?api=1&amp;destination=41.881234,-87.623456" in html
    assert 'href="tel:555-0199"' in html
    assert "Pat Tenant" in html
    assert "Replace the igniter" in html
    assert "Dog in yard" in html
    assert "SN-77" in html
    assert "Gate code 4321" in html
    assert f'action="{reverse("field:transition", args=[later.pk])}"' in html
    assert "Start travel" in html


def test_my_day_links_an_address_search_when_the_location_has_no_coordinates(client_as, tech_a):
    location = LocationFactory(lat=None, lng=None, street="12 Elm St", city="Springfield")
    visit_at(9, [tech_a], location=location, customer=location.customer)
    html = client_as(tech_a.user).get(reverse("field:my_day")).content.decode()
    assert "https://www.google.com/maps/search/?api=1&amp;query=12+Elm+St" in html


def test_my_day_shows_another_day_and_an_empty_state(client_as, tech_a):
    tomorrow = visit_at(9, [tech_a], day=1)
    client = client_as(tech_a.user)
    assert "Nothing scheduled today" in client.get(reverse("field:my_day")).content.decode()
    response = client.get(reverse("field:my_day"), {"day": (timezone.localdate() + timedelta(days=1)).isoformat()})
    assert [c.visit.pk for c in response.context["cards"]] == [tomorrow.pk]
    assert client.get(reverse("field:my_day"), {"day": "not-a-date"}).status_code == 200


def test_my_day_is_for_technicians_only(client_as, dispatcher):
    assert client_as(dispatcher).get(reverse("field:my_day")).status_code == 404


def test_technicians_get_my_day_in_the_navigation(client_as, tech_a, dispatcher):
    assert "My day" in client_as(tech_a.user).get(reverse("jobs:dashboard")).content.decode()
    assert ">My day<" not in client_as(dispatcher).get(reverse("jobs:dashboard")).content.decode()


@pytest.mark.parametrize("count", [2, 10])
def test_my_day_query_count_is_fixed(count, client_as, tech_a, django_assert_num_queries):
    for hour in range(count):
        visit = visit_at(7 + hour, [tech_a])
        visit.job.assets.add(AssetFactory(location=visit.job.location))
    client = client_as(tech_a.user)
    with django_assert_num_queries(MY_DAY_QUERIES):
        response = client.get(reverse("field:my_day"))
    assert len(response.context["cards"]) == count


# ---- the visit screen ------------------------------------------------------------------------------


def _buttons(response) -> set[str]:  # type: ignore[no-untyped-def]
    html = response.content.decode()
    labels = {
        "Start travel": 'type="submit">Start travel</button>',
        "Arrived": 'type="submit">Arrived</button>',
        "Start work": 'type="submit">Start work</button>',
        "Resume work": 'type="submit">Resume work</button>',
        "Pause": "Pause because",
        "Depart": 'type="submit">Depart</button>',
        "Finish & depart": "Finish &amp; depart",
        "Complete": "Complete — work finished",
        "Turn back": "Turn back",
    }
    return {name for name, needle in labels.items() if needle in html}


@pytest.mark.parametrize(
    ("status", "buttons"),
    [
        (V.SCHEDULED, {"Start travel"}),
        (V.EN_ROUTE, {"Arrived", "Turn back"}),
        (V.ARRIVED, {"Start work", "Depart", "Finish & depart"}),
        (V.WORKING, {"Pause", "Depart", "Finish & depart"}),
        (V.PAUSED, {"Resume work", "Depart", "Finish & depart"}),
        (V.DEPARTED, {"Complete"}),
        (V.COMPLETED, set()),
    ],
)
def test_the_visit_screen_shows_only_the_allowed_buttons(status, buttons, client_as, tech_a):
    visit = visit_at(9, [tech_a], status=status)
    response = client_as(tech_a.user).get(reverse("field:visit", args=[visit.pk]))
    assert response.status_code == 200
    assert _buttons(response) == buttons


def test_each_transition_by_post(client_as, tech_a):
    visit = visit_at(9, [tech_a])
    client = client_as(tech_a.user)
    steps = [
        (V.EN_ROUTE, V.SCHEDULED, {}),
        (V.ARRIVED, V.EN_ROUTE, {}),
        (V.WORKING, V.ARRIVED, {}),
        (V.PAUSED, V.WORKING, {"reason_choice": "Waiting for parts"}),
        (V.WORKING, V.PAUSED, {}),
        (V.DEPARTED, V.WORKING, {}),
        (V.COMPLETED, V.DEPARTED, {"outcome": Outcome.FINISHED}),
    ]
    for to, expected, extra in steps:
        response = tap(client, visit, to, expected, **extra)
        assert response.status_code == 302
        assert response.url == reverse("field:visit", args=[visit.pk])
        visit.refresh_from_db()
        assert visit.status == to
        page = client.get(response.url)
        assert page.context["visit"].status == to
    assert visit.outcome == Outcome.FINISHED
    assert list(visit.events.filter(kind=VisitEvent.Kind.STATUS).values_list("to_status", flat=True)) == [s for s, _, _ in steps]
    assert visit.events.get(to_status=V.PAUSED).data == {"reason": "Waiting for parts"}
    visit.job.refresh_from_db()
    assert visit.job.status == JobStatus.WORK_COMPLETE
    kinds = list(TimeEntry.objects.filter(visit=visit).values_list("kind", flat=True))
    assert kinds == [TimeEntry.Kind.TRAVEL, TimeEntry.Kind.WORK, TimeEntry.Kind.WORK]


def test_a_typed_pause_reason_is_recorded(client_as, tech_a):
    visit = visit_at(9, [tech_a], status=V.WORKING)
    tap(client_as(tech_a.user), visit, V.PAUSED, V.WORKING, reason="Gas supply off")
    visit.refresh_from_db()
    assert (visit.status, visit.pause_reason) == (V.PAUSED, "Gas supply off")


def test_a_stale_tap_says_what_the_visit_is_now_and_changes_nothing(client_as, tech_a, tech_b):
    visit = visit_at(9, [tech_a, tech_b])
    assert tap(client_as(tech_b.user), visit, V.EN_ROUTE, V.SCHEDULED).status_code == 302  # the crew-mate was first
    before = snapshot()

    response = tap(client_as(tech_a.user), visit, V.EN_ROUTE, V.SCHEDULED)

    assert response.status_code == 409
    assert "already en route" in response.content.decode()
    assert response.context["visit"].status == V.EN_ROUTE
    assert 'type="submit">Arrived</button>' in response.content.decode()  # the page now offers the next step
    assert snapshot() == before


def test_a_stale_tap_from_my_day_goes_back_with_the_message(client_as, tech_a):
    visit = visit_at(9, [tech_a], status=V.EN_ROUTE)
    client = client_as(tech_a.user)
    before = snapshot()
    response = tap(client, visit, V.EN_ROUTE, V.SCHEDULED, next=reverse("field:visit", args=[visit.pk]))
    assert response.status_code == 302
    assert "already en route" in client.get(response.url).content.decode()
    assert snapshot() == before


def test_pause_without_a_reason_is_an_error_and_changes_nothing(client_as, tech_a):
    visit = visit_at(9, [tech_a], status=V.WORKING)
    before = snapshot()
    response = tap(client_as(tech_a.user), visit, V.PAUSED, V.WORKING, reason="  ")
    assert response.status_code == 422
    assert "A pause needs a reason." in response.content.decode()
    assert response.context["pause_form"].errors["reason"] == ["A pause needs a reason."]
    assert snapshot() == before


@pytest.mark.parametrize(
    "data",
    [
        {"to": "flying", "expected": V.WORKING},
        {"to": V.DEPARTED},
        {"to": V.COMPLETED, "expected": V.WORKING, "outcome": Outcome.FINISHED},  # not allowed from working
        {"to": V.CANCELLED, "expected": V.WORKING, "reason": "no"},  # office only
    ],
)
def test_bad_or_refused_taps_change_nothing(data, client_as, tech_a):
    visit = visit_at(9, [tech_a], status=V.WORKING)
    before = snapshot()
    response = client_as(tech_a.user).post(reverse("field:transition", args=[visit.pk]), data)
    assert response.status_code in (409, 422)
    assert snapshot() == before


def test_finish_and_depart_is_one_tap(client_as, tech_a):
    visit = visit_at(9, [tech_a], status=V.WORKING)
    response = client_as(tech_a.user).post(reverse("field:finish", args=[visit.pk]), {"expected": V.WORKING, "lat": "41.5", "lng": "-87.25"})
    assert response.status_code == 302
    visit.refresh_from_db()
    assert (visit.status, visit.outcome) == (V.COMPLETED, Outcome.FINISHED)
    assert list(visit.events.values_list("to_status", flat=True)) == [V.DEPARTED, V.COMPLETED]
    assert (visit.last_lat, visit.last_lng) == (Decimal("41.500000"), Decimal("-87.250000"))


def test_finish_and_depart_twice_is_refused_the_second_time(client_as, tech_a):
    visit = visit_at(9, [tech_a], status=V.ARRIVED)
    client = client_as(tech_a.user)
    client.post(reverse("field:finish", args=[visit.pk]), {"expected": V.ARRIVED})
    before = snapshot()
    response = client.post(reverse("field:finish", args=[visit.pk]), {"expected": V.ARRIVED})
    assert response.status_code == 409
    assert "already completed" in response.content.decode()
    assert snapshot() == before


def test_start_travel_to_the_next_stop(client_as, tech_a, tech_b):
    done = visit_at(9, [tech_a], status=V.DEPARTED)
    next_stop = visit_at(12, [tech_a])
    visit_at(11, [tech_b])  # someone else's
    visit_at(8, [tech_a], status=V.COMPLETED)
    client = client_as(tech_a.user)
    page = client.get(reverse("field:visit", args=[done.pk]))
    assert page.context["screen"].next_stop.pk == next_stop.pk
    html = page.content.decode()
    assert "Start travel to next stop" in html
    assert f'action="{reverse("field:transition", args=[next_stop.pk])}"' in html

    response = tap(client, next_stop, V.EN_ROUTE, V.SCHEDULED, next=reverse("field:visit", args=[next_stop.pk]))

    assert response.url == reverse("field:visit", args=[next_stop.pk])
    next_stop.refresh_from_db()
    assert next_stop.status == V.EN_ROUTE
    assert "Start travel to next stop" not in client.get(reverse("field:visit", args=[done.pk])).content.decode()


def test_the_position_is_recorded_and_a_garbled_one_ignored(client_as, tech_a):
    visit = visit_at(9, [tech_a])
    client = client_as(tech_a.user)
    tap(client, visit, V.EN_ROUTE, V.SCHEDULED, lat="41.881", lng="-87.623")
    event = visit.events.get(to_status=V.EN_ROUTE)
    assert (event.lat, event.lng) == (Decimal("41.881000"), Decimal("-87.623000"))
    assert tap(client, visit, V.ARRIVED, V.EN_ROUTE, lat="NaN", lng="999").status_code == 302
    assert visit.events.get(to_status=V.ARRIVED).lat is None


def test_another_technicians_visit_is_not_found_and_unchanged(client_as, tech_a, tech_b):
    theirs = visit_at(9, [tech_b])
    client = client_as(tech_a.user)
    before = snapshot()
    assert client.get(reverse("field:visit", args=[theirs.pk])).status_code == 404
    assert tap(client, theirs, V.EN_ROUTE, V.SCHEDULED).status_code == 404
    assert client.post(reverse("field:finish", args=[theirs.pk]), {"expected": V.SCHEDULED}).status_code == 404
    assert snapshot() == before


def test_the_office_may_open_a_visit_and_act_for_the_crew(client_as, dispatcher, tech_a):
    visit = visit_at(9, [tech_a])
    client = client_as(dispatcher)
    page = client.get(reverse("field:visit", args=[visit.pk]))
    assert page.status_code == 200
    assert "Start travel" in page.content.decode()
    assert tap(client, visit, V.EN_ROUTE, V.SCHEDULED).status_code == 302
    assert visit.events.get(to_status=V.EN_ROUTE).actor == dispatcher


def test_an_htmx_tap_returns_the_panel(client_as, tech_a):
    visit = visit_at(9, [tech_a])
    response = client_as(tech_a.user).post(
        reverse("field:transition", args=[visit.pk]), {"to": V.EN_ROUTE, "expected": V.SCHEDULED}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="visit-panel"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="visit-panel"')
    assert 'type="submit">Arrived</button>' in html
    assert "<html" not in html


def test_the_visit_timeline_shows_each_step(client_as, tech_a):
    visit = visit_at(9, [tech_a])
    client = client_as(tech_a.user)
    tap(client, visit, V.EN_ROUTE, V.SCHEDULED)
    tap(client, visit, V.ARRIVED, V.EN_ROUTE)
    html = client.get(reverse("field:visit", args=[visit.pk])).content.decode()
    assert "En route" in html
    assert "travel 0 min" in html
    assert "Alex Tech" in html
