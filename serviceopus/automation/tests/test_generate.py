"""Generation over a horizon, idempotence, skip and move, the term, and what the jobs carry."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from serviceopus.automation import agreements
from serviceopus.automation.models import Occurrence, OccurrenceStatus, PlanStatus
from serviceopus.automation.recurrence import generate, generate_all
from serviceopus.core.errors import DomainError, InvalidInput
from serviceopus.jobs.actions import job_transition
from serviceopus.jobs.models import BillingType, Job, JobEvent, Source
from serviceopus.jobs.status import JobStatus

from .support import make_plan

TODAY = date(2030, 1, 10)  # horizon 90 days: Jan 15, Feb 15, Mar 15 (Apr 15 is day 95)


def dates(plan):  # type: ignore[no-untyped-def]
    return sorted(Occurrence.objects.filter(plan=plan, job__isnull=False).values_list("occurrence_date", flat=True))


def test_generation_creates_one_job_per_rule_date_in_the_horizon(manager, plan, w):
    jobs = generate(plan_id=plan.pk, today=TODAY)
    assert [j.next_visit_at.date() for j in jobs] == [date(2030, 1, 15), date(2030, 2, 15), date(2030, 3, 15)]
    assert dates(plan) == [date(2030, 1, 15), date(2030, 2, 15), date(2030, 3, 15)]
    job = jobs[0]
    assert timezone.localtime(job.next_visit_at).time().hour == 9
    assert (job.customer_id, job.location_id, job.job_type_id) == (w["customer"].pk, w["home"].pk, w["job_type"].pk)
    assert (job.source, job.source_reference, job.billing_type) == (Source.AGREEMENT_VISIT, plan.reference, BillingType.AGREEMENT)
    assert (job.scope, job.estimated_duration_minutes, job.not_to_exceed_cents, job.status) == (plan.scope, 90, 50000, JobStatus.NEW)
    assert list(job.assets.all()) == [w["furnace"]]
    assert job.created_by == manager
    assert job.events.get(kind=JobEvent.Kind.CREATED).message == f"Created from Agreement visit {plan.reference}"
    fee = job.line_items.get()
    assert (fee.kind, fee.description, fee.quantity, fee.unit_price_cents) == ("fee", f"Agreement visit {plan.reference}", Decimal(1), 12500)


def test_running_twice_creates_nothing_new(plan):
    first = generate(plan_id=plan.pk, today=TODAY)
    before = Job.objects.count()
    assert generate(plan_id=plan.pk, today=TODAY) == []
    assert Job.objects.count() == before == len(first) == 3


def test_advancing_today_adds_only_the_new_dates(plan):
    generate(plan_id=plan.pk, today=TODAY)
    later = generate(plan_id=plan.pk, today=TODAY + timedelta(days=20))
    assert [j.next_visit_at.date() for j in later] == [date(2030, 4, 15)]
    assert Occurrence.objects.filter(plan=plan).count() == 4


def test_every_address_gets_its_job(manager, w):
    plan = make_plan(manager, w, locations=[w["home"], w["annex"]])
    jobs = generate(plan_id=plan.pk, today=TODAY)
    assert sorted((j.next_visit_at.date(), j.location_id) for j in jobs) == sorted(
        (d, loc.pk) for d in (date(2030, 1, 15), date(2030, 2, 15), date(2030, 3, 15)) for loc in (w["home"], w["annex"])
    )
    annex_job = next(j for j in jobs if j.location_id == w["annex"].pk)
    assert list(annex_job.assets.all()) == []  # the furnace is at the main office


def test_term_end_is_respected(manager, w):
    plan = make_plan(manager, w, end_date=date(2030, 2, 20))
    assert [j.next_visit_at.date() for j in generate(plan_id=plan.pk, today=TODAY)] == [date(2030, 1, 15), date(2030, 2, 15)]
    assert generate(plan_id=plan.pk, today=date(2030, 3, 1)) == []


def test_before_the_start_nothing_earlier_is_created(manager, w):
    plan = make_plan(manager, w, start_date=date(2030, 3, 1))
    assert [j.next_visit_at.date() for j in generate(plan_id=plan.pk, today=TODAY)] == [date(2030, 3, 15)]


def test_paused_and_ended_plans_generate_nothing(manager, plan):
    for status in (PlanStatus.PAUSED, PlanStatus.ENDED):
        plan = agreements.plan_update(actor=manager, plan_id=plan.pk, version=plan.version, changes={"status": status})
        assert generate(plan_id=plan.pk, today=TODAY) == []
    assert not Job.objects.exists()


def test_recurring_job_without_agreement_is_billed_by_its_type(manager, w):
    plan = make_plan(manager, w, kind="recurring", end_date=None, rrule="FREQ=MONTHLY;INTERVAL=3")
    jobs = generate(plan_id=plan.pk, today=TODAY)
    assert [j.next_visit_at.date() for j in jobs] == [date(2030, 4, 1)]
    job = jobs[0]
    assert (job.source, job.billing_type, job.not_to_exceed_cents) == (Source.DIRECT, w["job_type"].default_billing_type, None)
    assert not job.line_items.exists()


def test_skip_before_generation_is_never_generated(manager, plan):
    occ = agreements.occurrence_skip(actor=manager, plan_id=plan.pk, location_id=plan.locations.get().pk, occurrence_date=date(2030, 2, 15))
    assert (occ.status, occ.job) == (OccurrenceStatus.SKIPPED, None)
    generate(plan_id=plan.pk, today=TODAY)
    assert dates(plan) == [date(2030, 1, 15), date(2030, 3, 15)]


def test_skip_after_generation_cancels_the_job(manager, plan):
    generate(plan_id=plan.pk, today=TODAY)
    occ = Occurrence.objects.get(plan=plan, occurrence_date=date(2030, 2, 15))
    agreements.occurrence_skip(actor=manager, plan_id=plan.pk, location_id=occ.location_id, occurrence_date=occ.occurrence_date)
    occ.refresh_from_db()
    assert occ.status == OccurrenceStatus.SKIPPED
    assert occ.job.status == JobStatus.CANCELLED
    assert occ.job.events.filter(kind=JobEvent.Kind.STATUS, new_value=JobStatus.CANCELLED, message=f"Visit of {plan.reference} skipped").exists()
    before = Job.objects.count()
    assert generate(plan_id=plan.pk, today=TODAY) == []
    assert Job.objects.count() == before


def test_skip_of_a_started_visit_is_refused_and_changes_nothing(manager, plan):
    generate(plan_id=plan.pk, today=TODAY)
    occ = Occurrence.objects.select_related("job").get(plan=plan, occurrence_date=date(2030, 1, 15))
    from serviceopus.jobs.models import Job as J

    J.objects.filter(pk=occ.job_id).update(status=JobStatus.IN_PROGRESS)
    events = JobEvent.objects.count()
    with pytest.raises(DomainError) as refused:
        agreements.occurrence_skip(actor=manager, plan_id=plan.pk, location_id=occ.location_id, occurrence_date=occ.occurrence_date)
    assert refused.value.code == "started"
    occ.refresh_from_db()
    assert (occ.status, occ.job.status, JobEvent.objects.count()) == (OccurrenceStatus.GENERATED, JobStatus.IN_PROGRESS, events)


def test_skip_of_a_date_not_in_the_rule_is_refused(manager, plan):
    with pytest.raises(InvalidInput) as refused:
        agreements.occurrence_skip(actor=manager, plan_id=plan.pk, location_id=plan.locations.get().pk, occurrence_date=date(2030, 2, 16))
    assert set(refused.value.fields) == {"occurrence_date"}
    assert not Occurrence.objects.exists()


def test_move_of_a_generated_visit_moves_its_job_and_is_not_regenerated(manager, plan):
    generate(plan_id=plan.pk, today=TODAY)
    occ = Occurrence.objects.get(plan=plan, occurrence_date=date(2030, 2, 15))
    agreements.occurrence_move(
        actor=manager, plan_id=plan.pk, location_id=occ.location_id, occurrence_date=occ.occurrence_date, new_date=date(2030, 2, 19), today=TODAY
    )
    occ.refresh_from_db()
    assert (occ.status, occ.moved_to, timezone.localtime(occ.job.next_visit_at).date()) == (OccurrenceStatus.MOVED, date(2030, 2, 19), date(2030, 2, 19))
    assert generate(plan_id=plan.pk, today=TODAY) == []
    assert Job.objects.count() == 3


def test_move_ahead_of_generation_creates_the_job_on_the_new_day(manager, plan):
    occ = agreements.occurrence_move(
        actor=manager, plan_id=plan.pk, location_id=plan.locations.get().pk, occurrence_date=date(2030, 6, 15), new_date=date(2030, 6, 12), today=TODAY
    )
    assert timezone.localtime(occ.job.next_visit_at).date() == date(2030, 6, 12)
    generate(plan_id=plan.pk, today=date(2030, 5, 1))
    assert Job.objects.filter(plan_occurrence__occurrence_date=date(2030, 6, 15)).count() == 1


def test_move_back_to_the_rule_date_undoes_the_move(manager, plan):
    generate(plan_id=plan.pk, today=TODAY)
    loc = plan.locations.get().pk
    agreements.occurrence_move(actor=manager, plan_id=plan.pk, location_id=loc, occurrence_date=date(2030, 2, 15), new_date=date(2030, 2, 20), today=TODAY)
    occ = agreements.occurrence_move(
        actor=manager, plan_id=plan.pk, location_id=loc, occurrence_date=date(2030, 2, 15), new_date=date(2030, 2, 15), today=TODAY
    )
    assert (occ.status, occ.moved_to) == (OccurrenceStatus.GENERATED, None)


def test_move_refusals_change_nothing(manager, plan):
    generate(plan_id=plan.pk, today=TODAY)
    loc = plan.locations.get().pk
    with pytest.raises(InvalidInput):
        agreements.occurrence_move(
            actor=manager, plan_id=plan.pk, location_id=loc, occurrence_date=date(2030, 2, 15), new_date=TODAY - timedelta(days=1), today=TODAY
        )
    agreements.occurrence_skip(actor=manager, plan_id=plan.pk, location_id=loc, occurrence_date=date(2030, 3, 15))
    with pytest.raises(DomainError) as refused:
        agreements.occurrence_move(actor=manager, plan_id=plan.pk, location_id=loc, occurrence_date=date(2030, 3, 15), new_date=date(2030, 3, 20), today=TODAY)
    assert refused.value.code == "skipped"
    occ = Occurrence.objects.get(plan=plan, occurrence_date=date(2030, 1, 15))
    job_transition(actor=manager, job_id=occ.job_id, to=JobStatus.CANCELLED)
    with pytest.raises(DomainError) as refused:
        agreements.occurrence_move(actor=manager, plan_id=plan.pk, location_id=loc, occurrence_date=date(2030, 1, 15), new_date=date(2030, 1, 20), today=TODAY)
    assert refused.value.code == "cancelled"
    assert list(Occurrence.objects.filter(plan=plan).order_by("occurrence_date").values_list("status", "moved_to")) == [
        (OccurrenceStatus.GENERATED, None),
        (OccurrenceStatus.GENERATED, None),
        (OccurrenceStatus.SKIPPED, None),
    ]


def test_creator_without_the_right_generates_nothing(manager, plan):
    manager.is_active = False
    manager.save()
    with pytest.raises(DomainError) as refused:
        generate(plan_id=plan.pk, today=TODAY)
    assert refused.value.code == "no_actor"
    assert not Occurrence.objects.exists()
    assert not Job.objects.exists()
    assert generate_all(today=TODAY) == (0, [refused.value.message])


def test_command_generates_every_active_plan(manager, w, capsys):
    make_plan(manager, w)
    make_plan(manager, w, kind="recurring", end_date=None, rrule="FREQ=MONTHLY;INTERVAL=3")
    call_command("generate_recurring_jobs", "--today", TODAY.isoformat())
    assert capsys.readouterr().out.strip() == "Created 4 jobs."
    call_command("generate_recurring_jobs", "--today", TODAY.isoformat())
    assert capsys.readouterr().out.strip() == "Created 0 jobs."
