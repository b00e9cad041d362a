"""The company's notification templates (actions/templates.py, views/templates.py): saving and resetting,
what is refused (syntax errors, tags that reach outside the message, sizes, stale versions) without
anything saved, who may (owners and managers), and that notifications use the saved wording."""

import pytest
from django.urls import reverse

from serviceopus.billing.models import BillingSettings
from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.messaging.actions import templates as actions
from serviceopus.messaging.models import Channel, MessageTemplate, Notice
from serviceopus.messaging.notices import DEFAULTS, SMS_MAX_CHARS, VARIABLES, wording
from serviceopus.messaging.outbox import notify
from tests.factories import JobFactory

EMAIL, SMS = Channel.EMAIL.value, Channel.SMS.value
OTW = Notice.ON_THE_WAY.value


def rows() -> list:
    return list(MessageTemplate.objects.order_by("pk").values())


def edit_url(notice=OTW, channel=SMS) -> str:  # type: ignore[no-untyped-def]
    return reverse("messaging:template_edit", args=[notice, channel])


# ---- actions --------------------------------------------------------------------------------------------


def test_first_save_creates_the_companys_wording(manager):
    saved = actions.template_save(actor=manager, notice=OTW, channel=SMS, subject="", body="{{ technician }} is coming, ETA {{ eta }}.", version=0)
    assert (saved.notice, saved.channel, saved.body, saved.version, saved.updated_by) == (OTW, SMS, "{{ technician }} is coming, ETA {{ eta }}.", 1, manager)
    assert wording(OTW, SMS).body == "{{ technician }} is coming, ETA {{ eta }}."


def test_save_again_with_the_version_read(owner):
    first = actions.template_save(actor=owner, notice=OTW, channel=EMAIL, subject="On the way", body="Coming.", version=0)
    second = actions.template_save(actor=owner, notice=OTW, channel=EMAIL, subject="On our way", body="Coming soon.", version=1, template_id=first.pk)
    assert (second.pk, second.version, second.subject, second.body) == (first.pk, 2, "On our way", "Coming soon.")


def test_a_stale_save_is_refused_and_changes_nothing(manager, owner):
    first = actions.template_save(actor=manager, notice=OTW, channel=SMS, subject="", body="Version one", version=0)
    actions.template_save(actor=owner, notice=OTW, channel=SMS, subject="", body="Owner's version", version=1, template_id=first.pk)
    before = rows()
    with pytest.raises(ConflictError) as refused:
        actions.template_save(actor=manager, notice=OTW, channel=SMS, subject="", body="Manager's late edit", version=1, template_id=first.pk)
    assert refused.value.code == "stale"
    assert rows() == before


def test_a_save_from_the_default_after_someone_saved_is_stale(manager, owner):
    actions.template_save(actor=owner, notice=OTW, channel=SMS, subject="", body="Owner's", version=0)
    before = rows()
    with pytest.raises(ConflictError):
        actions.template_save(actor=manager, notice=OTW, channel=SMS, subject="", body="Manager's", version=0)
    assert rows() == before


def test_an_editor_of_a_reset_template_cannot_overwrite_the_new_one(manager, owner):
    """A reset deletes the row; a new save makes a new row at version 1. An editor still holding the
    old row's version 1 must not get through: the row's id is part of what the form carries."""
    old = actions.template_save(actor=manager, notice=OTW, channel=SMS, subject="", body="Old", version=0)
    actions.template_reset(actor=owner, notice=OTW, channel=SMS, version=1, template_id=old.pk)
    new = actions.template_save(actor=owner, notice=OTW, channel=SMS, subject="", body="New", version=0)
    assert new.version == 1
    assert new.pk != old.pk
    before = rows()
    with pytest.raises(ConflictError):
        actions.template_save(actor=manager, notice=OTW, channel=SMS, subject="", body="Stale", version=1, template_id=old.pk)
    assert rows() == before


@pytest.mark.parametrize(
    ("channel", "subject", "body", "field", "message"),
    [
        (SMS, "", "{% if eta %}arriving {{ eta }}", "body", "Template error: Unclosed tag"),
        (SMS, "", "{{ eta|nosuchfilter }}", "body", "Template error: Invalid filter: 'nosuchfilter'"),
        (SMS, "", "{% load static %}{{ eta }}", "body", "not include, extends, load, block or debug"),
        (SMS, "", '{% include "base.html" %}', "body", "not include, extends, load, block or debug"),
        (SMS, "", "{% debug %}", "body", "not include, extends, load, block or debug"),
        (EMAIL, "{{ technician|upper:'x' }}", "Body", "subject", "Template error"),
        (EMAIL, "", "Body", "subject", "This field is required."),
        (EMAIL, "Two\nlines", "Body", "subject", "A subject is one line."),
        (SMS, "A subject", "Body", "subject", "A text message has no subject."),
        (SMS, "", "", "body", "This field is required."),
        (SMS, "", "x" * (SMS_MAX_CHARS + 1), "body", f"At most {SMS_MAX_CHARS} characters."),
        (EMAIL, "Subject", "x" * 5001, "body", "At most 5000 characters."),
        (EMAIL, "Subject", "nul \x00", "body", "Text must not contain NUL characters."),
    ],
)
def test_bad_templates_are_refused_as_field_errors_and_nothing_is_saved(manager, channel, subject, body, field, message):
    existing = actions.template_save(actor=manager, notice=OTW, channel=channel, subject="Subject" if channel == EMAIL else "", body="Good", version=0)
    before = rows()
    with pytest.raises(InvalidInput) as refused:
        actions.template_save(actor=manager, notice=OTW, channel=channel, subject=subject, body=body, version=1, template_id=existing.pk)
    assert message in refused.value.fields[field]
    assert rows() == before


def test_every_variable_is_accepted(manager):
    body = " ".join("{{ %s }}" % name for name in VARIABLES)  # noqa: UP031 — the braces are the template's
    saved = actions.template_save(actor=manager, notice=Notice.INVOICE_ISSUED, channel=EMAIL, subject="{{ invoice_number }}", body=body, version=0)
    assert saved.version == 1


def test_reset_goes_back_to_the_default(manager):
    saved = actions.template_save(actor=manager, notice=OTW, channel=SMS, subject="", body="Ours", version=0)
    actions.template_reset(actor=manager, notice=OTW, channel=SMS, version=saved.version, template_id=saved.pk)
    assert not MessageTemplate.objects.exists()
    assert wording(OTW, SMS) == DEFAULTS[(OTW, SMS)]


def test_reset_refusals(manager, owner):
    with pytest.raises(ConflictError) as refused:
        actions.template_reset(actor=manager, notice=OTW, channel=SMS, version=0, template_id=None)
    assert refused.value.code == "already_default"
    saved = actions.template_save(actor=manager, notice=OTW, channel=SMS, subject="", body="Ours", version=0)
    actions.template_save(actor=owner, notice=OTW, channel=SMS, subject="", body="Owner's", version=1, template_id=saved.pk)
    before = rows()
    with pytest.raises(ConflictError) as refused:
        actions.template_reset(actor=manager, notice=OTW, channel=SMS, version=1, template_id=saved.pk)
    assert refused.value.code == "stale"
    assert rows() == before


@pytest.mark.parametrize(("notice", "channel"), [(Notice.OFFICE_ALERT, EMAIL), ("nonsense", SMS), (OTW, "fax")])
def test_unknown_templates_are_refused(manager, notice, channel):
    with pytest.raises(DomainError) as refused:
        actions.template_save(actor=manager, notice=notice, channel=channel, subject="", body="x", version=0)
    assert refused.value.code == "not_found"
    assert rows() == []


@pytest.mark.parametrize("role", ["dispatcher", "office"])
def test_only_owners_and_managers_edit_templates(request, role, manager):
    saved = actions.template_save(actor=manager, notice=OTW, channel=SMS, subject="", body="Ours", version=0)
    user = request.getfixturevalue(role)
    before = rows()
    for attempt in (
        lambda: actions.template_save(actor=user, notice=OTW, channel=SMS, subject="", body="Mine", version=1, template_id=saved.pk),
        lambda: actions.template_reset(actor=user, notice=OTW, channel=SMS, version=1, template_id=saved.pk),
    ):
        with pytest.raises(DomainError) as refused:
            attempt()
        assert refused.value.code == "forbidden"
    assert rows() == before


def test_notifications_use_the_saved_wording(manager):
    actions.template_save(
        actor=manager, notice=OTW, channel=SMS, subject="", body="{{ technician }} heads your way{% if eta %} (~{{ eta }}){% endif %}!", version=0
    )
    job = JobFactory()
    sms = next(m for m in notify(job=job, notice=OTW, context={"technician": "Alex", "eta": "10:40"}) if m.channel == SMS)
    assert sms.body == "Alex heads your way (~10:40)!"


# ---- pages ----------------------------------------------------------------------------------------------


def test_list_shows_every_notice_and_channel_marked(client_as, manager):
    actions.template_save(actor=manager, notice=OTW, channel=SMS, subject="", body="Our own on-the-way text", version=0)
    response = client_as(manager).get(reverse("messaging:templates"))
    assert response.status_code == 200
    page = response.content.decode()
    assert len(response.context["rows"]) == 2 * len(actions.EDITABLE)
    assert "Our own on-the-way text" in page
    assert page.count(">Yours<") == 1
    assert page.count(">Default<") == 2 * len(actions.EDITABLE) - 1
    assert edit_url(Notice.APPROVAL_REQUESTED.value, EMAIL) in page
    assert "Alert to the office" not in page


def test_list_costs_the_same_with_any_number_of_templates(client_as, manager, django_assert_num_queries):
    http = client_as(manager)
    http.get(reverse("messaging:templates"))
    with django_assert_num_queries(3):  # session, user, the templates (with who saved them)
        http.get(reverse("messaging:templates"))
    for notice in actions.EDITABLE:
        actions.template_save(actor=manager, notice=notice, channel=SMS, subject="", body=f"{notice} text", version=0)
    with django_assert_num_queries(3):
        http.get(reverse("messaging:templates"))


def test_editor_shows_variables_and_a_preview(client_as, manager):
    response = client_as(manager).get(edit_url())
    assert response.status_code == 200
    page = response.content.decode()
    for name in VARIABLES:
        assert "{{ %s }}" % name in page  # noqa: UP031
    assert "Default wording" in page
    company = BillingSettings.current().company_name  # the preview shows the company's own name
    assert response.context["preview"]["body"] == f"{company}: Alex is on the way, arriving around 10:40. https://example.com/p/…"
    assert 'name="subject"' not in page  # a text message has no subject
    assert 'name="version" value="0"' in page


def test_preview_does_not_save(client_as, manager):
    response = client_as(manager).post(edit_url(), {"action": "preview", "body": "Hi {{ customer_name }}!", "version": "0"})
    assert response.status_code == 200
    assert response.context["preview"]["body"] == "Hi Jordan Rivera!"
    assert rows() == []


def test_save_from_the_page(client_as, manager):
    response = client_as(manager).post(edit_url(), {"action": "save", "body": "Hi {{ customer_name }}, {{ technician }} is coming.", "version": "0"})
    assert response.status_code == 302
    assert response["Location"] == edit_url()
    row = MessageTemplate.objects.get()
    assert (row.notice, row.channel, row.body, row.updated_by) == (OTW, SMS, "Hi {{ customer_name }}, {{ technician }} is coming.", manager)
    page = client_as(manager).get(edit_url()).content.decode()
    assert "Your wording" in page
    assert f'name="template_id" value="{row.pk}"' in page
    assert 'name="version" value="1"' in page


def test_syntax_error_on_the_page_is_a_field_error(client_as, manager):
    response = client_as(manager).post(edit_url(), {"action": "save", "body": "{% if eta %}soon", "version": "0"})
    assert response.status_code == 422
    assert "Template error: Unclosed tag" in response.content.decode()
    assert rows() == []


def test_stale_save_on_the_page_keeps_the_text(client_as, manager, owner):
    saved = actions.template_save(actor=owner, notice=OTW, channel=SMS, subject="", body="Owner's", version=0)
    actions.template_save(actor=owner, notice=OTW, channel=SMS, subject="", body="Owner's again", version=1, template_id=saved.pk)
    before = rows()
    response = client_as(manager).post(edit_url(), {"action": "save", "body": "Manager's text", "version": "1", "template_id": str(saved.pk)})
    assert response.status_code == 409
    page = response.content.decode()
    assert "Someone else changed this template after you opened it" in page
    assert "Manager&#x27;s text" in page
    assert rows() == before


def test_reset_from_the_page(client_as, manager):
    saved = actions.template_save(actor=manager, notice=OTW, channel=SMS, subject="", body="Ours", version=0)
    response = client_as(manager).post(edit_url(), {"action": "reset", "version": "1", "template_id": str(saved.pk)})
    assert response.status_code == 302
    assert rows() == []
    response = client_as(manager).post(edit_url(), {"action": "reset", "version": "0"}, follow=True)
    assert "This template already uses the default wording." in response.content.decode()


def test_email_editor_needs_a_subject(client_as, owner):
    response = client_as(owner).post(edit_url(OTW, EMAIL), {"action": "save", "subject": "", "body": "Hello", "version": "0"})
    assert response.status_code == 422
    assert rows() == []


@pytest.mark.parametrize("role", ["dispatcher", "office"])
def test_template_pages_are_for_owners_and_managers(request, client_as, role, tech_a):
    for user in (request.getfixturevalue(role), tech_a.user):
        http = client_as(user)
        assert http.get(reverse("messaging:templates")).status_code == 403
        assert http.get(edit_url()).status_code == 403
        assert http.post(edit_url(), {"action": "save", "body": "Mine", "version": "0"}).status_code == 403
    assert rows() == []


def test_unknown_template_page_is_not_found(client_as, manager):
    assert client_as(manager).get(edit_url(Notice.OFFICE_ALERT.value, EMAIL)).status_code == 404
    assert client_as(manager).get(edit_url(OTW, "fax")).status_code == 404
