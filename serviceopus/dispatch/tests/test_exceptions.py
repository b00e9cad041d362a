from datetime import timedelta

import pytest
from django.utils import timezone

from serviceopus.dispatch.exceptions import exceptions_for
from serviceopus.dispatch.models import DispatchSettings, Visit
from serviceopus.dispatch.queries import with_visit_details
from serviceopus.dispatch.status import VisitStatus
from tests.factories import JobFactory, SkillFactory, VisitFactory

V = VisitStatus
NOW = timezone.now().replace(microsecond=0)


def kinds(visit: Visit, now=NOW) -> list[str]:  # type: ignore[no-untyped-def]
    fresh = with_visit_details(Visit.objects.filter(pk=visit.pk)).get()
    return [e.kind for e in exceptions_for([fresh], now=now, config=DispatchSettings.current()).get(visit.pk, [])]


@pytest.fixture
def window():  # type: ignore[no-untyped-def]
    """A visit window 09:00–11:00 expressed relative to NOW."""
    return {"scheduled_start": NOW - timedelta(hours=1), "window_start": NOW - timedelta(hours=1), "window_end": NOW + timedelta(hours=1)}


def test_a_visit_on_time_has_no_exception(tech_a, window):
    assert kinds(VisitFactory(crew=[tech_a], **window)) == []


def test_at_risk_when_not_en_route_close_to_the_window_end(tech_a, window):
    visit = VisitFactory(crew=[tech_a], **window)
    assert kinds(visit, now=NOW + timedelta(minutes=40)) == ["at_risk"]  # 20 min before the end (threshold 30)
    visit.status = V.EN_ROUTE
    visit.save()
    assert kinds(visit, now=NOW + timedelta(minutes=40)) == []


def test_late_before_and_after_arrival(tech_a, window):
    visit = VisitFactory(crew=[tech_a], status=V.EN_ROUTE, **window)
    assert kinds(visit, now=NOW + timedelta(hours=2)) == ["late"]
    Visit.objects.filter(pk=visit.pk).update(status=V.WORKING, arrived_at=NOW + timedelta(minutes=90))
    assert "late" in kinds(visit, now=NOW + timedelta(hours=2))


def test_running_over_and_paused_long(tech_a, window):
    visit = VisitFactory(
        crew=[tech_a], status=V.PAUSED, arrived_at=NOW - timedelta(minutes=70), paused_at=NOW - timedelta(minutes=31), pause_reason="Parts", **window
    )
    assert sorted(kinds(visit)) == ["paused_long", "running_over"]  # 70 min on site of 60; paused 31 > 30


def test_unassigned_and_skill_mismatch(tech_a, window):
    assert kinds(VisitFactory(**window)) == ["unassigned"]
    job = JobFactory()
    job.required_skills.add(SkillFactory(name="Refrigerant"))
    assert kinds(VisitFactory(job=job, crew=[tech_a], **window)) == ["skill_mismatch"]
    tech_a.skills.add(SkillFactory(name="Refrigerant"))
    assert kinds(VisitFactory(job=job, crew=[tech_a], **window)) == []


def test_finished_visits_raise_nothing(tech_a, window):
    visit = VisitFactory(crew=[tech_a], status=V.COMPLETED, **window)
    assert kinds(visit, now=NOW + timedelta(hours=5)) == []
