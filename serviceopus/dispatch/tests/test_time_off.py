"""Time off recorded by the office on the technician's week page (crew.actions.time_off_add/remove)."""

from django.urls import reverse

from serviceopus.crew.models import TimeOff
from serviceopus.dispatch.actions import visit_schedule
from tests.dispatch_support import at
from tests.factories import JobFactory


def add(client, tech, start, end, reason="Holiday"):  # type: ignore[no-untyped-def]
    data = {"start": start.strftime("%Y-%m-%dT%H:%M"), "end": end.strftime("%Y-%m-%dT%H:%M"), "reason": reason}
    return client.post(reverse("dispatch:time_off_add", args=[tech.pk]), data, follow=True)


def test_the_office_records_time_off_and_is_told_which_visits_fall_in_it(client_as, dispatcher, tech_a):
    [booked] = visit_schedule(actor=dispatcher, job_id=JobFactory().pk, start=at(2, 10), lead_id=tech_a.pk)
    response = add(client_as(dispatcher), tech_a, at(2, 0), at(3, 0))
    assert response.status_code == 200
    period = TimeOff.objects.get(technician=tech_a)
    assert (period.start, period.end, period.reason) == (at(2, 0), at(3, 0), "Holiday")
    page = response.content.decode()
    assert "Time off recorded for Alex Tech." in page
    assert f"reassign on the dispatch board: {booked.job.number}" in page
    assert "Holiday" in page


def test_bad_or_overlapping_time_off_is_refused_and_changes_nothing(client_as, dispatcher, tech_a):
    client = client_as(dispatcher)
    response = add(client, tech_a, at(2, 12), at(2, 9))
    assert response.status_code == 422
    assert "The end must be after the start." in response.content.decode()
    assert not TimeOff.objects.exists()
    TimeOff.objects.create(technician=tech_a, start=at(2, 0), end=at(3, 0), reason="Training")
    response = add(client, tech_a, at(2, 8), at(2, 17))
    assert response.status_code == 422
    assert "already has time off then" in response.content.decode()
    assert TimeOff.objects.count() == 1


def test_removing_time_off_and_technicians_cannot_change_it(client_as, dispatcher, tech_a):
    period = TimeOff.objects.create(technician=tech_a, start=at(2, 0), end=at(3, 0))
    url = reverse("dispatch:time_off_remove", args=[tech_a.pk, period.pk])
    assert client_as(tech_a.user).post(url).status_code == 403
    assert add(client_as(tech_a.user), tech_a, at(4, 0), at(5, 0)).status_code == 403
    assert TimeOff.objects.count() == 1
    assert client_as(dispatcher).post(url, follow=True).status_code == 200
    assert not TimeOff.objects.exists()
