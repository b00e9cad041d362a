"""The dispatch board in a real browser: dragging a block to another technician's row (real HTML5 drag and
drop through Playwright) reassigns it on the server; a refused drag says why and changes nothing; a
status change made elsewhere shows up without a reload; a late visit shows as an exception."""

import random
import re
from datetime import datetime, time, timedelta

import pytest
from playwright.sync_api import Locator, Page, expect

from serviceopus.crew.models import Skill
from serviceopus.dispatch.actions import visit_transition
from serviceopus.dispatch.models import Visit
from serviceopus.dispatch.status import Outcome, VisitStatus
from serviceopus.jobs.status import JobStatus
from tests.factories import CustomerFactory, JobFactory, LocationFactory, SkillFactory, TechnicianFactory, UserFactory, VisitFactory

V = VisitStatus
VIEWPORT = {"width": 1440, "height": 900}


@pytest.fixture(autouse=True)
def fast_poll(settings):  # type: ignore[no-untyped-def]
    # The live server runs in this process: the board polls every half second instead of every five.
    settings.DISPATCH_BOARD_POLL_SECONDS = 0.5


def local_at(day, hour: int, minute: int = 0) -> datetime:  # type: ignore[no-untyped-def]
    from django.utils import timezone

    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def tomorrow():  # type: ignore[no-untyped-def]
    from django.utils import timezone

    return timezone.localdate() + timedelta(days=1)


def row(page: Page, tech) -> Locator:  # type: ignore[no-untyped-def]
    return page.locator(f'.drow[data-tech="{tech.pk}"]')


def block(page: Page, tech, visit: Visit) -> Locator:  # type: ignore[no-untyped-def]
    return row(page, tech).locator(f'[data-v="{visit.pk}"]')


def open_board(page: Page, day) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"/dispatch/?day={day:%Y-%m-%d}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Dispatch")
    expect(page.locator("[data-dispatch]")).to_have_attribute("data-ready", "true")


def drag_to_time(page: Page, source: Locator, tech, hour: int, minute: int = 0) -> None:  # type: ignore[no-untyped-def]
    """Drag `source` (grabbed 4 px from its left edge) so that its start lands on hour:minute in tech's row."""
    lane = row(page, tech).locator("[data-lane]")
    box = lane.bounding_box()
    assert box is not None
    h0 = int(page.locator("[data-dispatch]").evaluate("el => getComputedStyle(el).getPropertyValue('--h0')"))
    span = int(page.locator("[data-dispatch]").evaluate("el => getComputedStyle(el).getPropertyValue('--span')"))
    x = (hour * 60 + minute - h0) / span * box["width"] + 4
    source.drag_to(lane, source_position={"x": 4, "y": 8}, target_position={"x": x, "y": 10})


def test_a_dispatcher_drags_a_visit_to_another_technicians_row(dispatcher, tech_a, tech_b, login_as, shot):  # type: ignore[no-untyped-def]
    day = tomorrow()
    job = JobFactory(number="J-300001", status=JobStatus.SCHEDULED, location=LocationFactory(customer=CustomerFactory(name="Harriet Okafor")))
    visit = VisitFactory(job=job, crew=[tech_a], scheduled_start=local_at(day, 9), window_start=local_at(day, 9), window_end=local_at(day, 11))
    busy = VisitFactory(crew=[tech_b], scheduled_start=local_at(day, 14), window_start=local_at(day, 14), window_end=local_at(day, 16))
    page = login_as(dispatcher, viewport=VIEWPORT)
    open_board(page, day)
    expect(block(page, tech_a, visit)).to_contain_text("J-300001 Harriet Okafor")
    expect(row(page, tech_b).locator(f'[data-v="{visit.pk}"]')).to_have_count(0)
    shot(page, "1-before")

    drag_to_time(page, block(page, tech_a, visit), tech_b, 10, 30)
    moved = block(page, tech_b, visit)
    expect(moved).to_be_visible()
    expect(moved).to_have_attribute("data-ver", str(visit.version + 1))
    expect(row(page, tech_a).locator(f'[data-v="{visit.pk}"]')).to_have_count(0)
    expect(page.locator("[data-live]")).to_contain_text("J-300001 moved: Blair Tech at 10:30.")
    visit.refresh_from_db()
    assert visit.scheduled_start == local_at(day, 10, 30)
    assert [(c.technician_id, c.is_lead) for c in visit.crew.all()] == [(tech_b.pk, True)]
    shot(page, "2-after-move")

    # Onto Blair's 14:00 visit: refused with the reason; a dispatcher may not override; nothing changes.
    version = visit.version
    drag_to_time(page, block(page, tech_b, visit), tech_b, 14, 15)
    dialog = page.locator("#conflict-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("[data-conflict-problems]")).to_contain_text("Blair Tech is already booked")
    expect(dialog.locator("[data-no-override]")).to_be_visible()
    expect(dialog.locator("[data-override-button]")).to_be_hidden()
    shot(page, "3-conflict")
    dialog.get_by_role("button", name="Leave it where it was").click()
    expect(dialog).to_be_hidden()
    expect(block(page, tech_b, visit)).to_have_attribute("style", re.compile(r"--s: ?630;"))
    visit.refresh_from_db()
    assert (visit.version, visit.scheduled_start) == (version, local_at(day, 10, 30))
    assert busy.crew.get().technician_id == tech_b.pk

    page.reload()
    expect(block(page, tech_b, visit)).to_be_visible()


def test_a_manager_overrides_a_conflict_with_a_reason(manager, tech_a, tech_b, login_as):  # type: ignore[no-untyped-def]
    day = tomorrow()
    visit = VisitFactory(crew=[tech_a], scheduled_start=local_at(day, 9), window_start=local_at(day, 9), window_end=local_at(day, 11))
    VisitFactory(crew=[tech_b], scheduled_start=local_at(day, 14), window_start=local_at(day, 14), window_end=local_at(day, 16))
    page = login_as(manager, viewport=VIEWPORT)
    open_board(page, day)
    drag_to_time(page, block(page, tech_a, visit), tech_b, 14, 30)
    dialog = page.locator("#conflict-dialog")
    expect(dialog.locator("[data-override-button]")).to_be_visible()
    dialog.get_by_label("Reason to override these checks").fill("Customer insists on Blair")
    dialog.get_by_role("button", name="Override and save").click()
    expect(block(page, tech_b, visit)).to_be_visible()
    visit.refresh_from_db()
    assert visit.scheduled_start == local_at(day, 14, 30)
    assert visit.events.get(kind="override").data["reason"] == "Customer insists on Blair"


def test_a_waiting_job_dragged_from_the_tray_gets_its_first_visit(dispatcher, tech_a, login_as):  # type: ignore[no-untyped-def]
    day = tomorrow()
    job = JobFactory(number="J-300009", status=JobStatus.NEW, estimated_duration_minutes=120)
    page = login_as(dispatcher, viewport=VIEWPORT)
    open_board(page, day)
    card = page.locator(f'[data-tray-list="jobs"] [data-job="{job.pk}"]')
    expect(card).to_be_visible()
    drag_to_time(page, card, tech_a, 8)
    expect(card).to_have_count(0)
    visit = Visit.objects.get(job=job)
    expect(block(page, tech_a, visit)).to_contain_text("J-300009")
    assert visit.duration_minutes == 120
    assert visit.crew.get().technician_id == tech_a.pk
    job.refresh_from_db()
    assert job.status == JobStatus.SCHEDULED


def test_a_status_change_made_elsewhere_appears_without_a_reload(dispatcher, tech_a, login_as, shot):  # type: ignore[no-untyped-def]
    day = tomorrow()
    visit = VisitFactory(crew=[tech_a], scheduled_start=local_at(day, 9), window_start=local_at(day, 9), window_end=local_at(day, 11))
    page = login_as(dispatcher, viewport=VIEWPORT)
    open_board(page, day)
    page.evaluate("window.__sameDocument = true")
    expect(block(page, tech_a, visit)).to_have_class(re.compile(r"\bst-scheduled\b"))

    visit_transition(actor=tech_a.user, visit_id=visit.pk, to=V.EN_ROUTE)
    expect(block(page, tech_a, visit)).to_have_class(re.compile(r"\bst-en_route\b"))
    visit_transition(actor=tech_a.user, visit_id=visit.pk, to=V.ARRIVED)
    expect(block(page, tech_a, visit)).to_have_class(re.compile(r"\bst-arrived\b"))
    shot(page, "arrived")
    # Cancelled elsewhere: the block goes.
    other = VisitFactory(crew=[tech_a], scheduled_start=local_at(day, 13), window_start=local_at(day, 13), window_end=local_at(day, 15))
    expect(block(page, tech_a, other)).to_be_visible()  # a new visit appears too
    visit_transition(actor=dispatcher, visit_id=other.pk, to=V.CANCELLED, reason="Customer called off")
    expect(block(page, tech_a, other)).to_have_count(0)
    assert page.evaluate("window.__sameDocument") is True  # no reload happened


def test_a_late_visit_shows_as_an_exception(dispatcher, tech_a, login_as, shot):  # type: ignore[no-untyped-def]
    from django.utils import timezone

    start = (timezone.now() - timedelta(hours=3)).replace(second=0, microsecond=0)
    job = JobFactory(number="J-300077", status=JobStatus.SCHEDULED, location=LocationFactory(customer=CustomerFactory(name="Ingrid Solberg")))
    late = VisitFactory(job=job, crew=[tech_a], scheduled_start=start, window_start=start, window_end=start + timedelta(hours=2))
    page = login_as(dispatcher, viewport=VIEWPORT)
    open_board(page, timezone.localtime(start).date())
    marked = block(page, tech_a, late)
    expect(marked).to_have_class(re.compile(r"\bhas-ex\b"))
    expect(marked).to_have_attribute("data-ex", "late")
    item = page.locator(f'[data-ex-list] [data-focus="{late.pk}"]')
    expect(item).to_contain_text("Late")
    expect(item).to_contain_text("J-300077 Ingrid Solberg")
    expect(item).to_contain_text("Not arrived; the window ended")
    item.click()
    expect(marked).to_have_class(re.compile(r"\bflash\b"))
    shot(page, "late")

    # Once the crew arrives the exception stays (they came late), and the panel updates by itself.
    visit_transition(actor=tech_a.user, visit_id=late.pk, to=V.EN_ROUTE)
    visit_transition(actor=tech_a.user, visit_id=late.pk, to=V.ARRIVED)
    expect(page.locator(f'[data-ex-list] [data-focus="{late.pk}"]')).to_contain_text("Arrived")

    # Quick info on the block.
    block(page, tech_a, late).click()
    popover = page.locator("#popover")
    expect(popover).to_be_visible()
    expect(popover).to_contain_text("J-300077")
    expect(popover).to_contain_text("Ingrid Solberg")
    expect(popover).to_contain_text("Late")


def realistic_day(day, *, technicians: int, visits: int, seed: int = 7) -> None:  # type: ignore[no-untyped-def]
    """A day as a dispatcher sees it: visits from 7:00 to 18:00 in every status, crews of one or two,
    some without a crew, return visits to plan and jobs waiting for a first visit."""
    from django.utils import timezone

    rng = random.Random(seed)
    first = [
        "Ava",
        "Ben",
        "Cleo",
        "Dev",
        "Ema",
        "Finn",
        "Gus",
        "Hana",
        "Ivo",
        "Jade",
        "Kai",
        "Lena",
        "Milo",
        "Nia",
        "Omar",
        "Pia",
        "Quin",
        "Rosa",
        "Sami",
        "Tess",
    ]
    last = ["Alvarez", "Brooks", "Chen", "Duarte", "Eklund", "Fischer", "Garcia", "Haddad", "Ito", "Jensen", "Kowalski", "Larsen", "Moreau", "Nguyen"]
    skills = [SkillFactory(name=n) for n in ("HVAC", "Plumbing", "Electrical", "Gas", "Refrigeration")]
    techs = []
    for i in range(technicians):
        name = (first[i % len(first)], f"{last[(i * 5 + i // 3) % len(last)]}{'' if i < len(first) else i // len(first)}")
        tech = TechnicianFactory(user=UserFactory(username=f"tech{i}", first_name=name[0], last_name=name[1]))
        tech.skills.set(rng.sample(skills, rng.randint(1, 3)))
        techs.append(tech)
    now = timezone.localtime()
    customers = [CustomerFactory(name=f"{rng.choice(first)} {rng.choice(last)}") for _ in range(40)]
    free = {t.pk: 7 * 60 for t in techs}
    for n in range(visits):
        lead = rng.choice(techs)
        start_min = min(free[lead.pk] + rng.choice([0, 0, 15, 30, 60]), 18 * 60)
        duration = rng.choice([45, 60, 60, 90, 120, 180])
        free[lead.pk] = start_min + duration + 15
        start = local_at(day, start_min // 60, start_min % 60)
        crew = [lead] if rng.random() > 0.2 else [lead, rng.choice([t for t in techs if t != lead])]
        if rng.random() < 0.05:
            crew = []
        end = start + timedelta(minutes=duration)
        if day == now.date() and end < now:
            status = rng.choice([V.COMPLETED, V.COMPLETED, V.DEPARTED, V.SCHEDULED])
        elif day == now.date() and start < now:
            status = rng.choice([V.WORKING, V.PAUSED, V.ARRIVED, V.EN_ROUTE])
        else:
            status = V.SCHEDULED if rng.random() > 0.1 else V.EN_ROUTE
        job = JobFactory(
            number=f"J-{400000 + n}",
            status=JobStatus.IN_PROGRESS if status != V.SCHEDULED else JobStatus.SCHEDULED,
            location=LocationFactory(customer=rng.choice(customers)),
        )
        if rng.random() < 0.1:
            job.required_skills.add(rng.choice(skills))
        stamps = {}
        if status in (V.ARRIVED, V.WORKING, V.PAUSED, V.DEPARTED, V.COMPLETED):
            stamps["arrived_at"] = start + timedelta(minutes=rng.choice([-10, 0, 10, 150]))
        if status == V.PAUSED:
            stamps["paused_at"] = now - timedelta(minutes=rng.choice([10, 45]))
            stamps["pause_reason"] = "Waiting for parts"
        VisitFactory(
            job=job,
            crew=crew if status != V.UNSCHEDULED else [],
            status=status,
            scheduled_start=start,
            duration_minutes=duration,
            window_start=start,
            window_end=start + timedelta(hours=2),
            outcome=Outcome.FINISHED if status == V.COMPLETED else "",
            **stamps,
        )
    for n in range(4):
        VisitFactory(job=JobFactory(number=f"J-{410000 + n}", status=JobStatus.IN_PROGRESS), status=V.UNSCHEDULED, scheduled_start=None, number=2)
    for n in range(5):
        JobFactory(number=f"J-{420000 + n}", status=JobStatus.NEW, priority=rng.choice([2, 3, 4]), location=LocationFactory(customer=rng.choice(customers)))
    assert Skill.objects.count() == 5


def test_a_busy_day_looks_right(dispatcher, login_as, shot):  # type: ignore[no-untyped-def]
    from django.utils import timezone

    day = timezone.localdate()
    realistic_day(day, technicians=20, visits=60)
    page = login_as(dispatcher, viewport=VIEWPORT)
    open_board(page, day)
    expect(page.locator(".drow")).to_have_count(20)
    # Blocks never overlap in a row: overlapping visits stack on separate tracks.
    overlaps = page.evaluate(
        """() => [...document.querySelectorAll('[data-lane]')].flatMap(lane => {
            const boxes = [...lane.querySelectorAll('.vb')].map(b => b.getBoundingClientRect());
            const meet = (a, b) => a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1;
            return boxes.flatMap((a, i) => boxes.slice(i + 1).filter(b => meet(a, b)));
        }).length"""
    )
    assert overlaps == 0
    shot(page, "board")
    page.get_by_label("Only technicians with the skill").select_option(label="Gas")
    visible = page.locator(".drow:not([hidden])").count()
    assert 0 < visible < 20
    page.get_by_label("Filter technicians by name").fill("zzz")
    expect(page.locator(".drow:not([hidden])")).to_have_count(0)


def test_quick_info_moves_a_visit_without_dragging(dispatcher, tech_a, tech_b, login_as, shot):  # type: ignore[no-untyped-def]
    """The keyboard's way: open a block's quick info with Enter, choose a technician and a time, Move."""
    day = tomorrow()
    visit = VisitFactory(crew=[tech_a], scheduled_start=local_at(day, 9), window_start=local_at(day, 9), window_end=local_at(day, 11))
    page = login_as(dispatcher, viewport=VIEWPORT)
    open_board(page, day)
    block(page, tech_a, visit).focus()
    page.keyboard.press("Enter")
    form = page.get_by_role("form", name="Move visit")
    expect(form).to_be_visible()
    form.get_by_label("Move to").select_option(str(tech_b.pk))
    form.get_by_label("at").fill("14:00")
    shot(page, "move-form")
    form.get_by_role("button", name="Move").click()
    expect(block(page, tech_b, visit)).to_be_visible()
    expect(block(page, tech_a, visit)).to_have_count(0)
    visit.refresh_from_db()
    assert visit.scheduled_start == local_at(day, 14)
    assert list(visit.crew.values_list("technician_id", flat=True)) == [tech_b.pk]


def test_dragging_a_block_to_the_tray_unassigns_it(dispatcher, tech_a, login_as, shot):  # type: ignore[no-untyped-def]
    day = tomorrow()
    visit = VisitFactory(crew=[tech_a], scheduled_start=local_at(day, 9), window_start=local_at(day, 9), window_end=local_at(day, 11))
    page = login_as(dispatcher, viewport=VIEWPORT)
    open_board(page, day)
    block(page, tech_a, visit).drag_to(page.locator("[data-tray]"))
    expect(page.locator(f'[data-tray-list="unassigned"] [data-v="{visit.pk}"]')).to_be_visible()
    expect(block(page, tech_a, visit)).to_have_count(0)
    shot(page, "unassigned")
    visit.refresh_from_db()
    assert (visit.crew.count(), visit.scheduled_start) == (0, local_at(day, 9))
