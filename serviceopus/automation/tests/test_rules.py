"""The visit rule: parsing anchored at the start date, and what the plan's validation refuses."""

from datetime import date

import pytest

from serviceopus.automation import agreements
from serviceopus.automation.models import RecurringPlan
from serviceopus.automation.recurrence import RuleError, normalize_rule, parse_rule, rule_dates
from serviceopus.core.errors import DomainError, InvalidInput
from tests.factories import LocationFactory

from .support import START, make_plan


def test_rule_is_anchored_at_the_start_date():
    rule = parse_rule("FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY=15", date(2030, 2, 1))
    assert [d.date() for d in rule[:3]] == [date(2030, 2, 15), date(2030, 8, 15), date(2031, 2, 15)]


def test_rule_prefix_and_case_are_normalised():
    assert normalize_rule(" rrule:freq=weekly;byday=mo ") == "FREQ=WEEKLY;BYDAY=MO"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Enter a visit rule"),
        ("FREQ=HOURLY", "FREQ must be"),
        ("FREQ=FORTNIGHTLY", "FREQ must be"),
        ("FREQ=MONTHLY;BYMONTHDAY=40", "BYMONTHDAY must be ±1 to 31"),
        ("FREQ=YEARLY;BYMONTH=13", "BYMONTH must be 1 to 12"),
        ("FREQ=MONTHLY;INTERVAL=x", "Not a valid RRULE"),
        ("DTSTART:20300101T000000\nRRULE:FREQ=DAILY", "one RRULE only"),
        ("FREQ=DAILY;EXDATE=20300101", "Not a valid RRULE"),
    ],
)
def test_invalid_rules_are_refused_with_a_reason(text, message):
    with pytest.raises(RuleError) as refused:
        parse_rule(text, START)
    assert message in str(refused.value)


def test_rule_dates_are_clipped_to_the_term():
    plan = RecurringPlan(rrule="FREQ=MONTHLY;BYMONTHDAY=15", start_date=date(2030, 3, 1), end_date=date(2030, 5, 15))
    assert rule_dates(plan, date(2030, 1, 1), date(2031, 1, 1)) == [date(2030, 3, 15), date(2030, 4, 15), date(2030, 5, 15)]


def test_plan_with_invalid_rule_is_a_field_error_and_nothing_is_saved(manager, w):
    with pytest.raises(InvalidInput) as refused:
        make_plan(manager, w, rrule="FREQ=MONTHLY;BYMONTHDAY=99")
    assert set(refused.value.fields) == {"rrule"}
    assert not RecurringPlan.objects.exists()


def test_every_field_error_at_once(manager, w):
    other = LocationFactory()
    with pytest.raises(InvalidInput) as refused:
        make_plan(manager, w, name=" ", end_date=None, price_cents=-1, covered_kinds=["gold"], locations=[other], horizon_days=0)
    assert set(refused.value.fields) == {"name", "end_date", "price_cents", "covered_kinds", "locations", "assets", "horizon_days"}
    assert not RecurringPlan.objects.exists()


def test_rule_without_a_visit_in_the_term_is_refused(manager, w):
    with pytest.raises(InvalidInput) as refused:
        make_plan(manager, w, rrule="FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=31", end_date=date(2030, 6, 30))
    assert refused.value.fields == {"rrule": "This rule has no visit inside the term."}


def test_term_cannot_end_before_it_starts(manager, w):
    with pytest.raises(InvalidInput) as refused:
        make_plan(manager, w, end_date=date(2029, 1, 1))
    assert refused.value.fields == {"end_date": "The term cannot end before it starts."}


def test_recurring_plan_needs_no_end_and_has_no_coverage(manager, w):
    plan = make_plan(manager, w, kind="recurring", end_date=None, rrule="FREQ=MONTHLY;INTERVAL=3")
    assert plan.reference == "RJ-00001"
    assert (plan.covered_kinds, plan.not_to_exceed_cents, plan.price_cents) == ([], None, 0)


def test_only_managers_set_plans_up(dispatcher, office, w):
    for user in (dispatcher, office):
        with pytest.raises(DomainError) as refused:
            make_plan(user, w)
        assert refused.value.code == "forbidden"
    assert not RecurringPlan.objects.exists()


def test_stale_edit_is_refused_and_changes_nothing(manager, plan):
    agreements.plan_update(actor=manager, plan_id=plan.pk, version=plan.version, changes={"name": "First edit"})
    with pytest.raises(DomainError) as refused:
        agreements.plan_update(actor=manager, plan_id=plan.pk, version=plan.version, changes={"name": "Second edit"})
    assert refused.value.code == "stale"
    plan.refresh_from_db()
    assert (plan.name, plan.version) == ("First edit", 2)


def test_edit_validates_the_merged_plan(manager, plan):
    with pytest.raises(InvalidInput) as refused:
        agreements.plan_update(actor=manager, plan_id=plan.pk, version=plan.version, changes={"rrule": "FREQ=SECONDLY"})
    assert set(refused.value.fields) == {"rrule"}
    plan.refresh_from_db()
    assert (plan.rrule, plan.version) == ("FREQ=MONTHLY;INTERVAL=1;BYMONTHDAY=15", 1)
