"""Locking a visit for day planning: the visit form's checkbox and the action behind it."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from serviceopus.core.errors import ConflictError, DomainError
from serviceopus.dispatch.actions import visit_schedule, visit_transition, visit_update
from serviceopus.dispatch.models import Visit, VisitEvent
from serviceopus.dispatch.planner.builder import problem_for_day
from serviceopus.dispatch.status import VisitStatus
from tests.dispatch_support import at, snapshot
from tests.factories import JobFactory

V = VisitStatus


@pytest.fixture
def visit(db, dispatcher, tech_a):  # type: ignore[no-untyped-def]
    [visit] = visit_schedule(actor=dispatcher, job_id=JobFactory(estimated_duration_minutes=60).pk, start=at(1, 9), lead_id=tech_a.pk)
    return visit


def test_locking_is_recorded_and_kept_by_later_edits(dispatcher, visit):
    locked = visit_update(actor=dispatcher, visit_id=visit.pk, version=visit.version, locked=True)
    assert locked.locked is True
    assert locked.version == visit.version + 1
    event = VisitEvent.objects.filter(visit=visit).latest("pk")
    assert (event.kind, event.message) == (VisitEvent.Kind.EDITED, "Locked: day planning keeps its technician and start")
    # An edit that does not mention the lock (the board's drag) leaves it as it is.
    moved = visit_update(actor=dispatcher, visit_id=visit.pk, version=locked.version, start=at(1, 10))
    assert moved.locked is True
    unlocked = visit_update(actor=dispatcher, visit_id=visit.pk, version=moved.version, locked=False)
    assert unlocked.locked is False
    assert VisitEvent.objects.filter(visit=visit).latest("pk").message == "Unlocked for day planning"


def test_locking_to_the_same_value_changes_nothing(dispatcher, visit):
    before = snapshot()
    assert visit_update(actor=dispatcher, visit_id=visit.pk, version=visit.version, locked=False).version == visit.version
    assert snapshot() == before


def test_a_stale_or_forbidden_lock_changes_nothing(dispatcher, tech_a, visit):
    before = snapshot()
    with pytest.raises(ConflictError) as stale:
        visit_update(actor=dispatcher, visit_id=visit.pk, version=visit.version - 1, locked=True)
    assert stale.value.code == "stale"
    with pytest.raises(DomainError) as forbidden:
        visit_update(actor=tech_a.user, visit_id=visit.pk, version=visit.version, locked=True)
    assert forbidden.value.code == "forbidden"
    assert snapshot() == before


def test_a_started_visit_can_still_be_locked(dispatcher, tech_a, visit):
    visit_transition(actor=tech_a.user, visit_id=visit.pk, to=V.EN_ROUTE)
    visit.refresh_from_db()
    assert visit_update(actor=dispatcher, visit_id=visit.pk, version=visit.version, locked=True).locked is True


def test_the_edit_form_sets_and_clears_the_lock(client_as, dispatcher, tech_a, visit):
    url = reverse("dispatch:visit_edit", args=[visit.job_id, visit.pk])
    client = client_as(dispatcher)
    assert 'name="locked"' in client.get(url).content.decode()
    day = (timezone.localdate() + timedelta(days=1)).isoformat()
    data = {"date": day, "start_time": "09:00", "duration_minutes": "60", "lead": str(tech_a.pk), "version": str(visit.version)}
    assert client.post(url, {**data, "locked": "on"}).status_code == 302
    visit.refresh_from_db()
    assert visit.locked is True
    assert client.post(url, {**data, "version": str(visit.version)}).status_code == 302  # the box unticked
    visit.refresh_from_db()
    assert visit.locked is False


def test_the_schedule_form_for_a_new_visit_has_no_lock(client_as, dispatcher, visit):
    page = client_as(dispatcher).get(reverse("jobs:tab", args=[visit.job_id, "crew"])).content.decode()
    assert page.count('name="locked"') == 0


def test_day_planning_keeps_a_locked_visit_where_it_is(dispatcher, tech_a, visit):
    visit_update(actor=dispatcher, visit_id=visit.pk, version=visit.version, locked=True)
    day_input = problem_for_day(timezone.localdate() + timedelta(days=1))
    [planned] = [v for v in day_input.problem.visits if v.id == visit.pk]
    assert (planned.locked_technician_id, planned.locked_start) == (tech_a.pk, at(1, 9))
    assert day_input.snapshots[visit.pk].why_fixed == "Locked on the visit page."
    assert Visit.objects.get(pk=visit.pk).locked is True


def test_the_board_marks_a_locked_visit(client_as, dispatcher, visit):
    board = reverse("dispatch:board") + "?day=" + (timezone.localdate() + timedelta(days=1)).isoformat()
    marker = 'aria-label="Locked for day planning"'
    assert marker not in client_as(dispatcher).get(board).content.decode()
    visit_update(actor=dispatcher, visit_id=visit.pk, version=visit.version, locked=True)
    page = client_as(dispatcher).get(board).content.decode()
    assert f'{marker} title="Locked for day planning">🔒</span><b>{visit.job.number}</b>' in page
