import re
from datetime import datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from serviceopus.dispatch.actions import visit_transition
from serviceopus.dispatch.models import Visit, VisitEvent
from serviceopus.dispatch.queries import changes_cursor
from serviceopus.dispatch.status import VisitStatus
from serviceopus.dispatch.views.board import crew_after_drag
from serviceopus.jobs.models import JobEvent
from serviceopus.jobs.status import JobStatus
from tests.dispatch_support import snapshot
from tests.factories import JobFactory, SkillFactory, TechnicianFactory, VisitFactory

V = VisitStatus
OFFICE_ROLES = ["owner", "manager", "dispatcher", "office"]
# Queries per request, session and user included. None of them grows with the number of visits or
# technicians (the tests below load each with few and with many).
BOARD_QUERIES = (
    13  # session, user, settings, technicians (+ skills), visits (+ crew, crew skills, required skills), drafts (+ crew, required skills), waiting jobs
)
CHANGES_QUERIES = 11  # session, user, changed visits (+ crew, crew skills, required skills), settings, the day's exceptions (visits + 3 prefetches)
DASHBOARD_QUERIES = 20  # the dashboard's own 15, plus settings and the day's exceptions (visits + crew, crew skills, required skills)


def at(hour: int, minute: int = 0, *, days: int = 1) -> datetime:
    """An aware local time tomorrow (or `days` from today): far enough ahead that the clock makes no
    visit late or at risk while a test runs."""
    return timezone.make_aware(datetime.combine(timezone.localdate() + timedelta(days=days), time(hour, minute)))


def local(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


TOMORROW = {"day": f"{timezone.localdate() + timedelta(days=1):%Y-%m-%d}"}


def visit_at(hour: int, *crew, days: int = 1, **extra) -> Visit:  # type: ignore[no-untyped-def]
    start = at(hour, days=days)
    return VisitFactory(crew=list(crew), scheduled_start=start, window_start=start, window_end=start + timedelta(hours=2), **extra)


def post_move(client, visit: Visit, **data):  # type: ignore[no-untyped-def]
    return client.post(reverse("dispatch:move", args=[visit.pk]), {"version": visit.version, **data})


# ---- the page ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", OFFICE_ROLES)
def test_the_board_renders_for_each_office_role(request, role, tech_a, tech_b):
    visit = visit_at(10, tech_a, tech_b)
    response = request.getfixturevalue("client_as")(request.getfixturevalue(role)).get(reverse("dispatch:board"), TOMORROW)
    assert response.status_code == 200
    page = response.content.decode()
    # One block per crew member: the lead's is solid, the helper's styled as a helper.
    assert page.count(f'data-v="{visit.pk}"') == 2
    assert len(re.findall(r'class="vb st-scheduled helper( has-ex)?"', page)) == 1
    assert "--s:600;--d:60;--ws:600;--we:720" in page  # 10:00 for 60 min, window 10:00–12:00
    assert f'data-tech="{tech_a.pk}"' in page
    assert f'data-tech="{tech_b.pk}"' in page
    assert 'href="/dispatch/"' in page  # the main navigation's Dispatch entry


@pytest.mark.parametrize("name", ["dispatch:board", "dispatch:changes"])
def test_technicians_are_refused(name, client_as, tech_a):
    assert client_as(tech_a.user).get(reverse(name)).status_code == 403


def test_dispatch_is_not_in_a_technicians_navigation(client_as, tech_a):
    assert 'href="/dispatch/"' not in client_as(tech_a.user).get(reverse("jobs:list")).content.decode()


def test_day_navigation(client_as, dispatcher, tech_a):
    tomorrow = visit_at(9, tech_a)
    today = visit_at(14, tech_a, days=0)
    client = client_as(dispatcher)
    response = client.get(reverse("dispatch:board"))
    assert response.context["day"] == timezone.localdate()
    assert f'data-v="{today.pk}"' in response.content.decode()
    assert f'data-v="{tomorrow.pk}"' not in response.content.decode()
    next_day = timezone.localdate() + timedelta(days=1)
    assert f'href="?day={next_day:%Y-%m-%d}"' in response.content.decode()
    response = client.get(reverse("dispatch:board"), {"day": f"{next_day:%Y-%m-%d}"})
    assert response.context["day"] == next_day
    assert f'data-v="{tomorrow.pk}"' in response.content.decode()
    assert f'data-v="{today.pk}"' not in response.content.decode()
    assert f'href="?day={timezone.localdate():%Y-%m-%d}"' in response.content.decode()  # back one day


@pytest.mark.parametrize("bad", ["tomorrow", "2024-02-30", "2024-13-01", "\x00"])
def test_an_unreadable_day_shows_today_with_a_message(client_as, dispatcher, bad):
    response = client_as(dispatcher).get(reverse("dispatch:board"), {"day": bad})
    assert response.status_code == 200
    assert response.context["day"] == timezone.localdate()
    assert "That is not a date" in response.content.decode()


def test_hours_widen_to_fit_early_and_late_visits(client_as, dispatcher, tech_a):
    visit_at(5, tech_a)
    visit_at(21, tech_a)
    response = client_as(dispatcher).get(reverse("dispatch:board"), TOMORROW)
    assert response.context["hours"][0] == 5
    assert response.context["hours"][-1] == 21
    assert "--h0:300;--span:1020;--hours:17" in response.content.decode()


def test_the_tray_holds_unassigned_visits_drafts_and_waiting_jobs(client_as, dispatcher, tech_a):
    unassigned = visit_at(11)
    draft = VisitFactory(status=V.UNSCHEDULED, scheduled_start=None, window_start=None, window_end=None)
    waiting = JobFactory(status=JobStatus.NEW, number="J-WAIT1")
    response = client_as(dispatcher).get(reverse("dispatch:board"), TOMORROW)
    assert [v["id"] for v in response.context["unassigned"]] == [unassigned.pk]
    assert [v["id"] for v in response.context["drafts"]] == [draft.pk]
    assert [j.pk for j in response.context["new_jobs"]] == [waiting.pk]
    page = response.content.decode()
    assert f'data-job="{waiting.pk}"' in page
    assert "J-WAIT1" in page
    # An unassigned visit today is an exception too.
    assert [(e["visit"], e["kind"]) for e in response.context["exceptions"]] == [(unassigned.pk, "unassigned")]


def test_exceptions_are_marked_on_blocks_and_listed(client_as, dispatcher, tech_a):
    start = timezone.now() - timedelta(hours=3)
    late = VisitFactory(crew=[tech_a], scheduled_start=start, window_start=start, window_end=start + timedelta(hours=2))
    mismatch = VisitFactory(crew=[tech_a], scheduled_start=start, window_start=start, window_end=start + timedelta(hours=4))
    mismatch.job.required_skills.add(SkillFactory(name="Gas"))
    response = client_as(dispatcher).get(reverse("dispatch:board", query={"day": f"{timezone.localtime(start):%Y-%m-%d}"}))
    kinds = {(e["visit"], e["kind"]) for e in response.context["exceptions"]}
    assert (late.pk, "late") in kinds
    assert (mismatch.pk, "skill_mismatch") in kinds
    page = response.content.decode()
    assert 'data-ex="late"' in page
    assert f'data-focus="{late.pk}"' in page
    assert response.context["exceptions"][0]["kind"] == "late"  # most pressing first


def test_board_query_count_is_fixed(client_as, dispatcher, django_assert_num_queries):
    def build(n: int) -> None:
        techs = [TechnicianFactory() for _ in range(3)]
        for i in range(n):
            visit = visit_at(7 + i % 10, techs[i % 3], techs[(i + 1) % 3])
            visit.job.required_skills.add(SkillFactory(name=f"Skill {i % 4}"))
        VisitFactory(status=V.UNSCHEDULED, scheduled_start=None, window_start=None, window_end=None)
        JobFactory(status=JobStatus.NEW)

    client = client_as(dispatcher)
    client.get(reverse("dispatch:board"))  # the settings row is created on first use
    build(3)
    with django_assert_num_queries(BOARD_QUERIES):
        assert client.get(reverse("dispatch:board"), TOMORROW).status_code == 200
    build(30)
    with django_assert_num_queries(BOARD_QUERIES):
        response = client.get(reverse("dispatch:board"), TOMORROW)
    assert response.context["visit_count"] == 33


# ---- the drag ------------------------------------------------------------------------------------------


def test_dragging_a_block_to_another_row_and_time_reassigns_and_reschedules(client_as, dispatcher, tech_a, tech_b):
    visit = visit_at(10, tech_a)
    response = post_move(client_as(dispatcher), visit, from_tech=tech_a.pk, to_tech=tech_b.pk, start=local(at(13, 15)))
    assert response.status_code == 200, response.content
    data = response.json()["visit"]
    assert (data["lead"], data["helpers"], data["when"], data["version"]) == (tech_b.pk, [], "13:15", visit.version + 1)
    visit.refresh_from_db()
    assert visit.scheduled_start == at(13, 15)
    assert (visit.window_start, visit.window_end) == (at(13, 15), at(15, 15))  # the window moves with it
    assert [(c.technician_id, c.is_lead) for c in visit.crew.all()] == [(tech_b.pk, True)]
    assert VisitEvent.objects.filter(visit=visit, kind=VisitEvent.Kind.RESCHEDULED, actor=dispatcher).count() == 1


def test_dragging_a_helpers_block_replaces_that_helper(client_as, dispatcher, tech_a, tech_b):
    third = TechnicianFactory()
    visit = visit_at(10, tech_a, tech_b)
    response = post_move(client_as(dispatcher), visit, from_tech=tech_b.pk, to_tech=third.pk, start=local(at(10)))
    assert response.status_code == 200, response.content
    assert [(c.technician_id, c.is_lead) for c in visit.crew.all()] == [(tech_a.pk, True), (third.pk, False)]
    visit.refresh_from_db()
    assert visit.scheduled_start == at(10)  # same time: only the crew changed


def test_dropping_an_unassigned_visit_or_a_draft_on_a_row_assigns_it(client_as, dispatcher, tech_a):
    unassigned = visit_at(9)
    draft = VisitFactory(status=V.UNSCHEDULED, scheduled_start=None, window_start=None, window_end=None)
    client = client_as(dispatcher)
    assert post_move(client, unassigned, to_tech=tech_a.pk, start=local(at(9))).status_code == 200
    response = post_move(client, draft, to_tech=tech_a.pk, start=local(at(15)))
    assert response.status_code == 200, response.content
    draft.refresh_from_db()
    assert (draft.status, draft.scheduled_start, draft.window_end) == (V.SCHEDULED, at(15), at(17))  # the default window
    assert [c.technician_id for c in unassigned.crew.all()] == [tech_a.pk]


def test_a_conflicting_drop_lists_the_problems_and_changes_nothing(client_as, dispatcher, tech_a, tech_b):
    visit = visit_at(10, tech_a)
    visit_at(13, tech_b)  # tech_b is busy 13:00–14:00
    before = snapshot()
    response = post_move(client_as(dispatcher), visit, from_tech=tech_a.pk, to_tech=tech_b.pk, start=local(at(13, 30)))
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "scheduling_conflict"
    assert [p["code"] for p in body["problems"]] == ["double_booking"]
    assert "already booked" in body["problems"][0]["message"]
    assert body["can_override"] is False
    assert snapshot() == before


def test_a_manager_overrides_with_a_reason_which_is_recorded(client_as, manager, tech_a, tech_b):
    visit = visit_at(10, tech_a)
    visit_at(13, tech_b)
    client = client_as(manager)
    response = post_move(client, visit, from_tech=tech_a.pk, to_tech=tech_b.pk, start=local(at(13, 30)))
    assert response.status_code == 409
    assert response.json()["can_override"] is True
    response = post_move(client, visit, from_tech=tech_a.pk, to_tech=tech_b.pk, start=local(at(13, 30)), override_reason="Customer asked for Blair")
    assert response.status_code == 200, response.content
    event = VisitEvent.objects.get(visit=visit, kind=VisitEvent.Kind.OVERRIDE)
    assert event.actor == manager
    assert event.data["reason"] == "Customer asked for Blair"
    assert JobEvent.objects.filter(job=visit.job, message__contains="Customer asked for Blair").count() == 1


def test_a_dispatcher_cannot_override(client_as, dispatcher, tech_a, tech_b):
    visit = visit_at(10, tech_a)
    visit_at(13, tech_b)
    before = snapshot()
    response = post_move(client_as(dispatcher), visit, from_tech=tech_a.pk, to_tech=tech_b.pk, start=local(at(13, 30)), override_reason="Please")
    assert response.status_code == 409
    assert response.json()["message"].startswith("Only a manager may override")
    assert response.json()["can_override"] is False
    assert snapshot() == before


def test_a_stale_drop_is_refused_with_the_current_state_and_changes_nothing(client_as, dispatcher, tech_a, tech_b):
    visit = visit_at(10, tech_a)
    seen = visit.version
    client = client_as(dispatcher)
    assert post_move(client, visit, from_tech=tech_a.pk, to_tech=tech_a.pk, start=local(at(11))).status_code == 200  # someone else's edit
    before = snapshot()
    response = client.post(reverse("dispatch:move", args=[visit.pk]), {"version": seen, "from_tech": tech_a.pk, "to_tech": tech_b.pk, "start": local(at(15))})
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "stale"
    assert (body["visit"]["version"], body["visit"]["when"], body["visit"]["lead"]) == (seen + 1, "11:00", tech_a.pk)
    assert snapshot() == before


def test_a_stale_drop_that_changes_nothing_is_still_refused(client_as, dispatcher, tech_a):
    visit = visit_at(10, tech_a)
    response = client_as(dispatcher).post(
        reverse("dispatch:move", args=[visit.pk]), {"version": visit.version + 5, "to_tech": tech_a.pk, "from_tech": tech_a.pk}
    )
    assert response.status_code == 409
    assert response.json()["code"] == "stale"


def test_a_started_visit_can_change_crew_but_not_time(client_as, dispatcher, tech_a, tech_b):
    visit = visit_at(10, tech_a)
    visit = visit_transition(actor=dispatcher, visit_id=visit.pk, to=V.EN_ROUTE)
    client = client_as(dispatcher)
    before = snapshot()
    response = post_move(client, visit, from_tech=tech_a.pk, to_tech=tech_b.pk, start=local(at(12)))
    assert response.status_code == 409
    assert response.json()["code"] == "visit_started"
    assert response.json()["visit"]["status"] == V.EN_ROUTE
    assert snapshot() == before
    response = post_move(client, visit, from_tech=tech_a.pk, to_tech=tech_b.pk, start=local(at(10)))
    assert response.status_code == 200, response.content
    assert response.json()["visit"]["lead"] == tech_b.pk


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"start": "tomorrow"}, "start"),
        ({"start": "2030-01-01T10:07"}, "start"),
        ({"start": "2030-01-01T10:00+02:00"}, "start"),
        ({"to_tech": "x"}, "to_tech"),
        ({"version": ""}, "version"),
        ({"override_reason": "a" * 301}, "override_reason"),
        ({"override_reason": "no\x00"}, "override_reason"),
    ],
)
def test_unreadable_drops_are_refused_field_by_field(client_as, dispatcher, tech_a, data, field):
    visit = visit_at(10, tech_a)
    before = snapshot()
    response = client_as(dispatcher).post(reverse("dispatch:move", args=[visit.pk]), {"version": visit.version, "to_tech": tech_a.pk, **data})
    assert response.status_code == 422
    assert field in response.json()["fields"]
    assert snapshot() == before


def test_unknown_technicians_and_double_crew_are_field_errors(client_as, dispatcher, tech_a, tech_b):
    visit = visit_at(10, tech_a, tech_b)
    client = client_as(dispatcher)
    before = snapshot()
    response = post_move(client, visit, from_tech=tech_a.pk, to_tech=tech_b.pk)  # tech_b already helps
    assert response.status_code == 422
    assert "to_tech" in response.json()["fields"]
    response = post_move(client, visit, from_tech=tech_a.pk, to_tech=999999)
    assert response.status_code == 422
    assert "lead" in response.json()["fields"]
    assert snapshot() == before


def test_moves_need_a_post_and_an_office_role(client_as, tech_a):
    visit = visit_at(10, tech_a)
    client = client_as(tech_a.user)
    before = snapshot()
    assert client.get(reverse("dispatch:move", args=[visit.pk])).status_code == 405
    assert post_move(client, visit, to_tech=tech_a.pk, start=local(at(12))).status_code == 403
    assert client.post(reverse("dispatch:place_job", args=[visit.job_id]), {"to_tech": tech_a.pk, "start": local(at(12))}).status_code == 403
    assert snapshot() == before


def test_crew_after_drag():
    assert crew_after_drag(1, [2], 1, 3) == (3, [2])  # the lead's block: a new lead
    assert crew_after_drag(1, [2, 4], 2, 3) == (1, [3, 4])  # a helper's block: a new helper in their place
    assert crew_after_drag(None, [], None, 3) == (3, [])  # from the tray
    assert crew_after_drag(1, [2], 1, 1) is None  # same row: only the time may change
    assert crew_after_drag(1, [2], 1, None) is None


# ---- a waiting job dropped on a row -----------------------------------------------------------------


def test_dropping_a_waiting_job_schedules_its_first_visit(client_as, dispatcher, tech_a):
    job = JobFactory(status=JobStatus.NEW, estimated_duration_minutes=90)
    client = client_as(dispatcher)
    response = client.post(reverse("dispatch:place_job", args=[job.pk]), {"to_tech": tech_a.pk, "start": local(at(9, 30))})
    assert response.status_code == 200, response.content
    data = response.json()["visit"]
    assert (data["lead"], data["when"], data["d"]) == (tech_a.pk, "09:30", 90)
    job.refresh_from_db()
    assert job.status == JobStatus.SCHEDULED
    # A second drop of the same card (another dispatcher's stale board) books nothing more.
    before = snapshot()
    response = client.post(reverse("dispatch:place_job", args=[job.pk]), {"to_tech": tech_a.pk, "start": local(at(14))})
    assert response.status_code == 409
    assert response.json()["code"] == "already_scheduled"
    assert snapshot() == before


def test_dropping_a_waiting_job_needs_a_row_and_a_time(client_as, dispatcher):
    job = JobFactory(status=JobStatus.NEW)
    response = client_as(dispatcher).post(reverse("dispatch:place_job", args=[job.pk]), {})
    assert response.status_code == 422
    assert set(response.json()["fields"]) == {"start", "to_tech"}
    assert not Visit.objects.exists()


# ---- live updates --------------------------------------------------------------------------------------


def test_changes_returns_the_visits_changed_since_the_cursor(client_as, dispatcher, tech_a):
    quiet = visit_at(9, tech_a)
    busy = visit_at(11, tech_a)
    client = client_as(dispatcher)
    Visit.objects.update(updated_at=timezone.now() - timedelta(minutes=5))
    cursor = changes_cursor()
    visit_transition(actor=dispatcher, visit_id=busy.pk, to=V.EN_ROUTE)
    body = client.get(reverse("dispatch:changes"), {"since": cursor, "day": f"{timezone.localdate():%Y-%m-%d}"}).json()
    assert [(v["id"], v["status"], v["label"]) for v in body["visits"]] == [(busy.pk, V.EN_ROUTE, "En route")]
    assert quiet.pk not in [v["id"] for v in body["visits"]]
    assert body["cursor"] > cursor
    assert body["reload"] is False
    # A visit moved to another day comes too, so that the board can drop it.
    assert post_move(client, quiet, from_tech=tech_a.pk, to_tech=tech_a.pk, start=local(at(9, days=2))).status_code == 200
    later = client.get(reverse("dispatch:changes"), {"since": body["cursor"]}).json()
    assert [(v["id"], v["day"]) for v in later["visits"]][-1] == (quiet.pk, f"{timezone.localdate() + timedelta(days=2):%Y-%m-%d}")


def test_changes_carries_the_days_exceptions(client_as, dispatcher, tech_a):
    start = timezone.now() - timedelta(hours=3)
    late = VisitFactory(crew=[tech_a], scheduled_start=start, window_start=start, window_end=start + timedelta(hours=2))
    body = client_as(dispatcher).get(reverse("dispatch:changes"), {"day": f"{timezone.localtime(start):%Y-%m-%d}"}).json()
    assert body["visits"] == []  # no cursor: only the exceptions
    assert [(e["visit"], e["kind"]) for e in body["exceptions"]] == [(late.pk, "late")]
    assert body["counts"] == [{"kind": "late", "label": "Late", "count": 1}]


def test_a_quiet_poll_skips_the_exceptions_unless_asked(client_as, dispatcher, tech_a, django_assert_max_num_queries):
    start = timezone.now() - timedelta(hours=3)
    late = VisitFactory(crew=[tech_a], scheduled_start=start, window_start=start, window_end=start + timedelta(hours=2))
    Visit.objects.update(updated_at=timezone.now() - timedelta(minutes=5))
    client = client_as(dispatcher)
    params = {"since": changes_cursor(), "day": f"{timezone.localtime(start):%Y-%m-%d}"}
    with django_assert_max_num_queries(CHANGES_QUERIES - 3):  # nothing changed: the day is not read
        quiet = client.get(reverse("dispatch:changes"), params).json()
    assert (quiet["visits"], "exceptions" in quiet) == ([], False)
    asked = client.get(reverse("dispatch:changes"), {**params, "exceptions": "1"}).json()
    assert [(e["visit"], e["kind"]) for e in asked["exceptions"]] == [(late.pk, "late")]


@pytest.mark.parametrize("params", [{"since": "yesterday"}, {"since": "2024-01-01T10:00:00"}, {"day": "nope"}])
def test_changes_refuses_an_unreadable_cursor_or_day(client_as, dispatcher, params):
    response = client_as(dispatcher).get(reverse("dispatch:changes"), params)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_changes_query_count_is_fixed(client_as, dispatcher, django_assert_num_queries):
    techs = [TechnicianFactory() for _ in range(3)]
    client = client_as(dispatcher)
    day = TOMORROW["day"]
    client.get(reverse("dispatch:changes"))

    def touch(n: int) -> str:
        cursor = changes_cursor()
        for i in range(n):
            visit = visit_at(7 + i % 10, techs[i % 3], techs[(i + 1) % 3])
            visit.job.required_skills.add(SkillFactory(name=f"Skill {i % 4}"))
        return cursor

    cursor = touch(3)
    with django_assert_num_queries(CHANGES_QUERIES):
        assert len(client.get(reverse("dispatch:changes"), {"since": cursor, "day": day}).json()["visits"]) == 3
    cursor = touch(30)
    with django_assert_num_queries(CHANGES_QUERIES):
        assert len(client.get(reverse("dispatch:changes"), {"since": cursor, "day": day}).json()["visits"]) >= 30


# ---- quick info ----------------------------------------------------------------------------------------


def test_quick_info_shows_the_visit_at_a_glance(client_as, dispatcher, tech_a, tech_b):
    visit = visit_at(10, tech_a, tech_b)
    visit.job.required_skills.add(SkillFactory(name="Boilers"))
    response = client_as(dispatcher).get(reverse("dispatch:visit_quick", args=[visit.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert visit.job.number in page
    assert visit.job.customer.name in page
    assert "10:00–12:00" in page  # the arrival window
    assert f"<strong>{tech_a.name}</strong> (lead), {tech_b.name}" in page
    assert "Skill mismatch" in page
    assert "<html" not in page


# ---- the dashboard -------------------------------------------------------------------------------------


def test_the_dashboard_shows_todays_exceptions_to_the_office(client_as, dispatcher, tech_a):
    start = timezone.now() - timedelta(hours=3)
    late = VisitFactory(crew=[tech_a], scheduled_start=start, window_start=start, window_end=start + timedelta(hours=2))
    if timezone.localtime(start).date() != timezone.localdate():
        pytest.skip("just after midnight: no visit of today can be late yet")
    response = client_as(dispatcher).get(reverse("jobs:dashboard"))
    page = response.content.decode()
    assert response.context["dispatch"]["total"] == 1
    assert "Dispatch exceptions today" in page
    assert late.job.number in page
    assert f"?focus={late.pk}" in page


def test_the_dashboard_shows_no_exceptions_to_technicians(client_as, tech_a):
    response = client_as(tech_a.user).get(reverse("jobs:dashboard"))
    assert "dispatch" not in response.context
    assert "Dispatch exceptions" not in response.content.decode()


def test_dashboard_query_count_is_fixed(client_as, dispatcher, django_assert_num_queries):
    techs = [TechnicianFactory() for _ in range(3)]
    client = client_as(dispatcher)
    client.get(reverse("jobs:dashboard"))

    def build(n: int) -> None:
        for i in range(n):
            visit = visit_at(7 + i % 10, techs[i % 3], techs[(i + 1) % 3], days=0)
            visit.job.required_skills.add(SkillFactory(name=f"Skill {i % 4}"))

    build(3)
    with django_assert_num_queries(DASHBOARD_QUERIES):
        client.get(reverse("jobs:dashboard"))
    build(30)
    with django_assert_num_queries(DASHBOARD_QUERIES):
        response = client.get(reverse("jobs:dashboard"))
    counts = {kind: n for kind, _, n in response.context["dispatch"]["counts"]}
    assert counts["skill_mismatch"] == 33  # every one lacks its required skill (some may be late too, by the clock)


def test_quick_info_offers_move_to_only_while_the_visit_can_change(client_as, dispatcher, tech_a, tech_b):
    visit = visit_at(10, tech_a)
    page = client_as(dispatcher).get(reverse("dispatch:visit_quick", args=[visit.pk])).content.decode()
    assert 'aria-label="Move visit"' in page
    assert f'<option value="{tech_b.pk}">Blair Tech</option>' in page
    assert 'value="10:00"' in page
    Visit.objects.filter(pk=visit.pk).update(status=V.COMPLETED)
    page = client_as(dispatcher).get(reverse("dispatch:visit_quick", args=[visit.pk])).content.decode()
    assert 'aria-label="Move visit"' not in page


def test_a_block_dropped_on_the_tray_takes_that_technician_off(client_as, dispatcher, tech_a, tech_b):
    visit = visit_at(10, tech_a, tech_b)
    client = client_as(dispatcher)
    url = reverse("dispatch:move", args=[visit.pk])
    response = client.post(url, {"version": visit.version, "from_tech": tech_a.pk, "unassign": "1"})
    assert response.status_code == 200, response.content
    assert (response.json()["visit"]["lead"], response.json()["visit"]["helpers"]) == (tech_b.pk, [])  # the helper steps up
    visit.refresh_from_db()
    assert visit.scheduled_start == at(10)
    response = client.post(url, {"version": visit.version, "from_tech": tech_b.pk, "unassign": "1"})
    assert (response.json()["visit"]["lead"], response.json()["visit"]["status"]) == (None, V.SCHEDULED)
    before = snapshot()
    refused = client.post(url, {"version": visit.version + 1, "from_tech": tech_a.pk, "unassign": "1"})
    assert refused.status_code == 422  # nobody of that row is on the crew any more
    assert snapshot() == before
