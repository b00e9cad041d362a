"""The workflow rule pages: the list and the run log in a fixed number of queries, the rule in words,
the form (posted as a browser posts it: flat row fields), its errors drawn next to the rows, the
conflict of a stale edit, and the on/off, duplicate and delete buttons. Admins only."""

import re
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from serviceopus.accounts.roles import Role
from serviceopus.automation.models import AutomationEvent, EventType, RuleRun, WorkflowRule
from serviceopus.automation.rules import editing, queries
from tests.factories import CustomerFactory, JobFactory, JobTypeFactory, UserFactory

# The list: session, user, rules (+ last run), 7-day counts, job type names.
LIST_QUERIES = 5
# The rule's page: session, user, rule, one page of runs, 7-day counts, job type names.
DETAIL_QUERIES = 6

# A run's outcome cell in the log (the 7-day counts use the same badge outside the table).
RUN_ROW = '<td class="nowrap"><span class="badge rule-o-not_matched">'
SENTENCE = (
    "When a job's status changes to Work complete, if Job type is Furnace maintenance and Photos on the job < 2, "
    "create a follow-up task “Check the photos of {job_number}” for Service managers due 1 day later."
)


@pytest.fixture
def furnace(db):  # type: ignore[no-untyped-def]
    return JobTypeFactory(name="Furnace maintenance")


def make_rule(actor, furnace, **overrides: Any) -> WorkflowRule:  # type: ignore[no-untyped-def]
    data: dict[str, Any] = {
        "name": "Photos before closeout",
        "trigger": "job.status_changed",
        "trigger_params": {"to": "work_complete"},
        "conditions": [{"field": "job_type", "op": "is", "value": furnace.pk}, {"field": "photo_count", "op": "lt", "value": 2}],
        "actions": [{"kind": "create_task", "title": "Check the photos of {job_number}", "to_role": "manager", "due_days": 1}],
    }
    data.update(overrides)
    return editing.rule_create(actor=actor, **data)


def form_post(furnace, **overrides: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The acceptance rule as the browser posts it."""
    data = {
        "name": "Photos before closeout",
        "description": "",
        "enabled": "on",
        "trigger": "job.status_changed",
        "tp-job.status_changed-from": "",
        "tp-job.status_changed-to": "work_complete",
        "tp-visit.paused_long-minutes": "",
        "c-0-field": "job_type",
        "c-0-op": "is",
        "c-0-v-job_type": str(furnace.pk),
        "c-0-v-photo_count": "",
        "c-1-field": "photo_count",
        "c-1-op": "lt",
        "c-1-v-photo_count": "2",
        "c-1-tag": "",
        "a-0-kind": "create_task",
        "a-0-title": "Check the photos of {job_number}",
        "a-0-to": "role:manager",
        "a-0-due_days": "1",
        "a-0-level": "info",
        "a-0-notes": "",
    }
    data.update(overrides)
    return data


def runs(rule: WorkflowRule, n: int, *, outcome: str = RuleRun.Outcome.NOT_MATCHED, days_ago: int = 0) -> None:
    job = JobFactory(number=f"J-{rule.pk:03d}{n:03d}")
    event = AutomationEvent.objects.create(type=EventType.JOB_STATUS_CHANGED, job=job)
    when = timezone.now() - timedelta(days=days_ago)
    RuleRun.objects.bulk_create(
        RuleRun(rule=rule, event=event, job=job, outcome=outcome, explanation=["Photos on the job < 2: no (3)"], created_at=when - timedelta(seconds=i))
        for i in range(n)
    )


def row_error(html: str, prefix: str) -> str:
    match = re.search(rf'<p class="field-error" id="{prefix}-error">([^<]*)</p>', html)
    return match.group(1) if match else ""


# ---- words -------------------------------------------------------------------------------------------


def test_a_rule_in_words(owner, furnace):
    assert queries.rule_words(make_rule(owner, furnace)).sentence == SENTENCE


@pytest.mark.parametrize(
    ("trigger", "params", "words"),
    [
        ("job.created", {}, "When a job is created"),
        ("job.status_changed", {"from": "new", "to": "scheduled"}, "When a job's status changes from New to Scheduled"),
        ("job.status_changed", {}, "When a job's status changes"),
        ("visit.status_changed", {"to": "arrived"}, "When a visit's status changes to Arrived"),
        ("job.blocker_opened", {}, "When a completion blocker opens on a job"),
        ("invoice.issued", {}, "When an invoice is issued"),
        ("payment.recorded", {}, "When a payment is recorded"),
        ("visit.late", {"which": "late"}, "When a visit is late"),
        ("visit.late", {"which": "at_risk"}, "When a visit is at risk of being late"),
        ("job.overdue", {"hours": 1}, "When a job is still open 1 hour after its last visit ended"),
        ("visit.paused_long", {"minutes": 30}, "When a visit has been paused for more than 30 minutes"),
        ("invoice.unpaid", {"days": 30}, "When an invoice is still unpaid 30 days after it was issued"),
    ],
)
def test_each_trigger_in_words(trigger, params, words):
    assert queries.trigger_words(trigger, params) == words


def test_conditions_and_actions_in_words(owner, furnace):
    customer = CustomerFactory(name="Harbor Dental")
    names = queries.Names(job_types={furnace.pk: "Furnace maintenance"}, customers={customer.pk: "Harbor Dental"}, users={owner.pk: "Olivia Owner"})
    conditions = [
        ({"field": "customer", "op": "in", "value": [customer.pk, 999]}, "Customer is one of Harbor Dental, #999 (deleted)"),
        ({"field": "priority", "op": "gte", "value": 3}, "Priority ≥ High"),
        ({"field": "tags", "op": "has_not", "value": "vip"}, "the job is not tagged “vip”"),
        ({"field": "billing_type", "op": "is_not", "value": "warranty"}, "Billing type is not Warranty / no charge"),
        ({"field": "photo_count", "op": "lt", "value": 2, "tag": "after"}, "Photos on the job tagged After < 2"),
        ({"field": "scope", "op": "contains", "value": "gas"}, "Scope contains “gas”"),
        ({"field": "open_tasks", "op": "eq", "value": 0}, "Open follow-up tasks = 0"),
    ]
    for condition, words in conditions:
        assert queries.condition_words(condition, names) == words
    actions = [
        ({"kind": "raise_alert", "title": "Late", "level": "urgent", "to_user": owner.pk}, "raise an urgent alert “Late” for Olivia Owner"),
        (
            {"kind": "create_task", "title": "Call", "to_role": "office", "due_days": 0},
            "create a follow-up task “Call” for Office / accounting due the same day",
        ),
        (
            {"kind": "add_requirement", "requirement": "photos", "photo_tag": "after", "min_count": 2},
            "require at least 2 photos tagged After before work complete",
        ),
        ({"kind": "add_requirement", "requirement": "customer_signature"}, "add the closeout requirement “Customer signature (current)”"),
        ({"kind": "send_notification", "notice": "completed"}, "send the customer the “Work completed” notification"),
        ({"kind": "set_field", "field": "priority", "value": 4}, "set the priority to Urgent"),
        ({"kind": "set_field", "field": "remove_tag", "value": "vip"}, "remove the tag “vip”"),
        (
            {"kind": "create_job", "job_type": furnace.pk, "scope": "Return", "days_after": 7},
            "create a follow-up Furnace maintenance job “Return” with a visit 7 days later",
        ),
    ]
    for action, words in actions:
        assert queries.action_words(action, names) == words


# ---- the list ----------------------------------------------------------------------------------------


def test_empty_list_explains_rules(client_as, owner):
    html = client_as(owner).get(reverse("automation:rules")).content.decode()
    assert "No workflow rules yet" in html
    assert f'href="{reverse("automation:rule_create")}"' in html
    assert f'href="{reverse("automation:webhooks")}"' in html


def test_list_shows_each_rule_in_words_with_its_runs(client_as, owner, furnace):
    rule = make_rule(owner, furnace)
    off = make_rule(owner, furnace, name="Quiet rule", enabled=False)
    runs(rule, 3, outcome=RuleRun.Outcome.DONE)
    runs(rule, 2, outcome=RuleRun.Outcome.FAILED, days_ago=1)
    runs(rule, 4, outcome=RuleRun.Outcome.DONE, days_ago=9)  # older than the 7 days counted
    html = client_as(owner).get(reverse("automation:rules")).content.decode()
    assert escape(SENTENCE) in html
    assert "Actions taken: 3" in html
    assert "Failed (retried): 2" in html
    assert "No runs" in html  # the quiet rule
    assert 'aria-label="Quiet rule: off, switch on"' in html
    assert [r.last_outcome for r in queries.rules_overview(timezone.now())] == [RuleRun.Outcome.DONE, None]
    assert off.pk in [r.pk for r in queries.rules_overview(timezone.now())]


def test_list_queries_do_not_grow_with_rules_or_runs(client_as, owner, furnace, django_assert_num_queries):
    client = client_as(owner)
    rule = make_rule(owner, furnace)
    runs(rule, 2)
    with django_assert_num_queries(LIST_QUERIES):
        assert client.get(reverse("automation:rules")).status_code == 200
    for i in range(10):
        runs(make_rule(owner, furnace, name=f"Rule {i}"), 3)
    with django_assert_num_queries(LIST_QUERIES):
        assert client.get(reverse("automation:rules")).status_code == 200


# ---- the form ----------------------------------------------------------------------------------------


def test_new_rule_page_offers_the_spec_choices(client_as, owner, furnace):
    html = client_as(owner).get(reverse("automation:rule_create")).content.decode()
    assert '<option value="job.status_changed">Job status changed</option>' in html
    assert 'name="tp-visit.paused_long-minutes"' in html
    assert f'<option value="{furnace.pk}">Furnace maintenance</option>' in html
    assert '<option value="role:manager">Service manager</option>' in html
    assert "role:technician" not in html
    assert '<template id="condition-template">' in html
    assert 'name="c-__i__-field"' in html


def test_posting_the_form_saves_the_rule(client_as, owner, furnace):
    response = client_as(owner).post(reverse("automation:rule_create"), form_post(furnace))
    rule = WorkflowRule.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("automation:rule", args=[rule.pk])
    assert (rule.trigger, rule.trigger_params, rule.enabled, rule.created_by) == ("job.status_changed", {"to": "work_complete"}, True, owner)
    assert rule.conditions == [{"field": "job_type", "op": "is", "value": furnace.pk}, {"field": "photo_count", "op": "lt", "value": 2}]
    assert rule.actions == [{"kind": "create_task", "title": "Check the photos of {job_number}", "notes": "", "due_days": 1, "to_role": "manager"}]


def test_blank_rows_are_ignored_and_many_values_are_read(client_as, owner, furnace):
    other = JobTypeFactory(name="Boiler service")
    customer = CustomerFactory()
    post: dict[str, Any] = form_post(
        furnace,
        enabled="",
        **{"c-0-op": "in", "c-5-field": "", "c-5-op": "eq", "a-3-kind": "", "c-7-field": "customer", "c-7-op": "in", "c-7-v-customer": f" {customer.pk} ,"},
    )
    post["c-0-v-job_type"] = [str(furnace.pk), str(other.pk)]
    response = client_as(owner).post(reverse("automation:rule_create"), post)
    assert response.status_code == 302
    rule = WorkflowRule.objects.get()
    assert rule.enabled is False
    assert rule.conditions == [
        {"field": "job_type", "op": "in", "value": [furnace.pk, other.pk]},
        {"field": "photo_count", "op": "lt", "value": 2},
        {"field": "customer", "op": "in", "value": [customer.pk]},
    ]
    assert len(rule.actions) == 1


def test_two_customers_for_is_are_refused_not_cut_to_one(client_as, owner, furnace):
    first, second = CustomerFactory(), CustomerFactory()
    post = form_post(furnace, **{"c-1-field": "customer", "c-1-op": "is", "c-1-v-customer": f"{first.pk}, {second.pk}"})
    response = client_as(owner).post(reverse("automation:rule_create"), post)
    assert response.status_code == 422
    assert row_error(response.content.decode(), "c-1") == "Customer: choose one customer."
    assert not WorkflowRule.objects.exists()


def test_an_invalid_condition_is_shown_in_its_row_and_nothing_is_saved(client_as, owner, furnace):
    post = form_post(furnace, **{"c-1-v-photo_count": "lots", "tp-job.status_changed-from": "work_complete"})
    response = client_as(owner).post(reverse("automation:rule_create"), post)
    html = response.content.decode()
    assert response.status_code == 422
    assert row_error(html, "c-1") == "Photos on the job: Photos on the job takes a whole number from 0 to 1000000."
    assert row_error(html, "c-0") == ""
    assert "From and to must differ." in html
    assert "The rule was not saved: please correct the parts marked below." in html
    # What was typed comes back as typed.
    assert 'name="c-1-v-photo_count" id="id_c-1-v-photo_count" value="lots"' in html
    assert f'<option value="{furnace.pk}" selected>Furnace maintenance</option>' in html
    assert not WorkflowRule.objects.exists()


def test_errors_land_on_the_row_they_belong_to_after_blank_rows(client_as, owner, furnace):
    """A blank row before the faulty one shifts the spec's index; the error still lands on the right row."""
    post = form_post(furnace, **{"c-0-field": "", "a-0-kind": "", "a-1-kind": "raise_alert", "a-1-title": "", "a-1-to": "role:office"})
    html = client_as(owner).post(reverse("automation:rule_create"), post).content.decode()
    assert row_error(html, "a-1") == "Raise an alert: is required."
    assert row_error(html, "a-0") == ""
    assert not WorkflowRule.objects.exists()


def test_no_action_and_no_name_are_shown_at_their_places(client_as, owner, furnace):
    html = client_as(owner).post(reverse("automation:rule_create"), form_post(furnace, name="", **{"a-0-kind": ""})).content.decode()
    assert '<p class="field-error" id="id_name_error">This field is required.</p>' in html
    assert '<p class="field-error" role="alert">Add at least one action.</p>' in html
    assert not WorkflowRule.objects.exists()


def test_add_and_remove_buttons_redraw_the_form_without_saving(client_as, owner, furnace):
    client = client_as(owner)
    added = client.post(reverse("automation:rule_create"), {**form_post(furnace), "_add": "condition"})
    assert added.status_code == 200
    html = added.content.decode()
    assert 'name="c-2-field"' in html
    assert 'name="c-3-field"' not in html
    removed = client.post(reverse("automation:rule_create"), {**form_post(furnace), "_remove": "c-0"}).content.decode()
    assert 'name="c-1-field"' not in removed
    assert '<option value="photo_count" data-ops="eq ne lt lte gt gte" selected>Photos on the job</option>' in removed
    assert not WorkflowRule.objects.exists()


def test_edit_shows_the_rule_and_saves_it(client_as, owner, furnace):
    rule = make_rule(owner, furnace)
    client = client_as(owner)
    html = client.get(reverse("automation:rule_edit", args=[rule.pk])).content.decode()
    assert '<option value="work_complete" selected>Work complete</option>' in html
    assert 'name="c-1-v-photo_count" id="id_c-1-v-photo_count" value="2"' in html
    assert '<option value="role:manager" selected>Service manager</option>' in html
    assert '<input type="hidden" name="version" value="1">' in html
    response = client.post(reverse("automation:rule_edit", args=[rule.pk]), form_post(furnace, version="1", **{"c-1-v-photo_count": "3"}))
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.version, rule.conditions[1]["value"]) == (2, 3)


def test_a_stale_edit_keeps_the_input_and_offers_the_current_version(client_as, owner, furnace):
    rule = make_rule(owner, furnace)
    editing.rule_set_enabled(actor=owner, rule_id=rule.pk, enabled=False)
    before = list(WorkflowRule.objects.values())
    response = client_as(owner).post(reverse("automation:rule_edit", args=[rule.pk]), form_post(furnace, version="1", name="My edit"))
    html = response.content.decode()
    assert response.status_code == 409
    assert "Someone else changed this rule after you opened it." in html
    assert "Reload the current version" in html
    assert 'value="My edit"' in html
    assert list(WorkflowRule.objects.values()) == before


def test_customer_condition_shows_the_customer_name(client_as, owner, furnace):
    customer = CustomerFactory(name="Harbor Dental")
    rule = make_rule(owner, furnace, conditions=[{"field": "customer", "op": "is", "value": customer.pk}])
    html = client_as(owner).get(reverse("automation:rule_edit", args=[rule.pk])).content.decode()
    assert f'value="{customer.pk}"' in html
    assert "Harbor Dental" in html


# ---- the rule's page ---------------------------------------------------------------------------------


def test_detail_shows_the_rule_its_author_and_its_runs(client_as, owner, furnace):
    rule = make_rule(owner, furnace)
    runs(rule, 1, outcome=RuleRun.Outcome.DONE)
    run = RuleRun.objects.get()
    RuleRun.objects.filter(pk=run.pk).update(actions_taken=["Task “Check the photos of J-001001” for Service managers, due 2030-01-02"], error="")
    html = client_as(owner).get(reverse("automation:rule", args=[rule.pk])).content.decode()
    assert escape(SENTENCE) in html
    assert "<strong>Olivia Owner</strong>, who saved it last" in html
    assert f'<a href="{reverse("jobs:detail", args=[run.job_id])}">{run.job.number}</a>' in html
    assert "Job status changed" in html
    assert "Actions taken" in html
    assert "Photos on the job &lt; 2: no (3)" in html
    assert "Task “Check the photos of J-001001” for Service managers, due 2030-01-02" in html


def test_detail_warns_when_the_author_is_gone(client_as, owner, furnace):
    author = UserFactory(role=Role.ADMIN, first_name="Gone", last_name="Admin")
    rule = make_rule(author, furnace)
    author.is_active = False
    author.save()
    html = client_as(owner).get(reverse("automation:rule", args=[rule.pk])).content.decode()
    assert "Its actions fail until an admin takes the rule over" in html


def test_run_log_pages_in_fixed_queries(client_as, owner, furnace, django_assert_num_queries):
    rule = make_rule(owner, furnace)
    client = client_as(owner)
    runs(rule, 5)
    with django_assert_num_queries(DETAIL_QUERIES):
        first = client.get(reverse("automation:rule", args=[rule.pk]))
    assert first.content.decode().count(RUN_ROW) == 5
    runs(rule, 30, days_ago=2)
    with django_assert_num_queries(DETAIL_QUERIES):
        first = client.get(reverse("automation:rule", args=[rule.pk]))
    html = first.content.decode()
    assert html.count(RUN_ROW) == queries.RUNS_PAGE
    cursor = re.search(r'href="\?cursor=([^"#]+)#runs">Older', html).group(1)
    second = client.get(reverse("automation:rule", args=[rule.pk]), {"cursor": cursor}).content.decode()
    assert second.count(RUN_ROW) == 35 - queries.RUNS_PAGE
    assert "← Newer" in second
    assert "Older →" not in second


def test_a_mangled_page_link_shows_the_newest_runs(client_as, owner, furnace):
    rule = make_rule(owner, furnace)
    runs(rule, 2)
    response = client_as(owner).get(reverse("automation:rule", args=[rule.pk]), {"cursor": "not-a-cursor"})
    assert response.status_code == 400
    assert "This page link is no longer valid." in response.content.decode()


def test_missing_rule_is_404(client_as, owner):
    for name in ("automation:rule", "automation:rule_edit", "automation:rule_delete"):
        assert client_as(owner).get(reverse(name, args=[999999])).status_code == 404


# ---- on/off, duplicate, delete ----------------------------------------------------------------------


def test_switch_off_from_the_list(client_as, owner, furnace):
    rule = make_rule(owner, furnace)
    response = client_as(owner).post(reverse("automation:rule_set_enabled", args=[rule.pk]), {"enabled": "0", "next": reverse("automation:rules")})
    assert response.status_code == 302
    assert response["Location"] == reverse("automation:rules")
    rule.refresh_from_db()
    assert (rule.enabled, rule.version) == (False, 2)


def test_duplicate_opens_the_copy(client_as, owner, furnace):
    rule = make_rule(owner, furnace)
    response = client_as(owner).post(reverse("automation:rule_duplicate", args=[rule.pk]))
    copy = WorkflowRule.objects.exclude(pk=rule.pk).get()
    assert response["Location"] == reverse("automation:rule_edit", args=[copy.pk])
    assert (copy.name, copy.enabled) == ("Copy of Photos before closeout", False)


def test_delete_asks_first_then_deletes_with_the_run_log(client_as, owner, furnace):
    rule = make_rule(owner, furnace)
    runs(rule, 3)
    client = client_as(owner)
    html = client.get(reverse("automation:rule_delete", args=[rule.pk])).content.decode()
    assert "its run log (3 runs) is deleted with it" in html
    assert WorkflowRule.objects.exists()
    response = client.post(reverse("automation:rule_delete", args=[rule.pk]))
    assert response["Location"] == reverse("automation:rules")
    assert not WorkflowRule.objects.exists()
    assert not RuleRun.objects.exists()


@pytest.mark.parametrize("persona", ["manager", "dispatcher", "office"])
def test_other_roles_get_403_and_change_nothing(request, client_as, owner, furnace, persona):
    rule = make_rule(owner, furnace)
    client = client_as(request.getfixturevalue(persona))
    before = list(WorkflowRule.objects.values())
    for name in ("automation:rules", "automation:rule_create"):
        assert client.get(reverse(name)).status_code == 403
    assert client.post(reverse("automation:rule_create"), form_post(furnace)).status_code == 403
    for name in ("automation:rule", "automation:rule_edit", "automation:rule_delete"):
        assert client.get(reverse(name, args=[rule.pk])).status_code == 403
    for name in ("automation:rule_edit", "automation:rule_set_enabled", "automation:rule_duplicate", "automation:rule_delete"):
        assert client.post(reverse(name, args=[rule.pk]), form_post(furnace, version="1", enabled="")).status_code == 403
    assert list(WorkflowRule.objects.values()) == before


def test_post_only_urls_refuse_get(client_as, owner, furnace):
    rule = make_rule(owner, furnace)
    for name in ("automation:rule_set_enabled", "automation:rule_duplicate"):
        assert client_as(owner).get(reverse(name, args=[rule.pk])).status_code == 405
