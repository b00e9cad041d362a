"""Checklists on the pages: the technician's visit screen (answering with and without HTMX, errors at
the item, photos, access) and the office's listing on the Quality tab — with their query counts."""

from decimal import Decimal

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from serviceopus.closeout.models import ChecklistAnswer, ChecklistRun
from serviceopus.closeout.views.checklists import office_context, phone_context
from serviceopus.dispatch.status import VisitStatus
from serviceopus.jobs.status import JobStatus
from tests.factories import JobFactory, JobTypeFactory, VisitFactory

from .checklist_support import answer, answer_required, key, make_template, photo_bytes, snapshot

pytestmark = pytest.mark.django_db
V = VisitStatus


@pytest.fixture
def job_type(db):  # type: ignore[no-untyped-def]
    return JobTypeFactory(name="Furnace service")


@pytest.fixture
def template(job_type):  # type: ignore[no-untyped-def]
    return make_template(job_types=[job_type])


@pytest.fixture
def visit(job_type, tech_a):  # type: ignore[no-untyped-def]
    """Tech A's visit on a job of the furnace type."""
    return VisitFactory(job=JobFactory(job_type=job_type, status=JobStatus.SCHEDULED), crew=[tech_a], status=V.WORKING)


@pytest.fixture
def job(visit):  # type: ignore[no-untyped-def]
    return visit.job


@pytest.fixture
def media(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


# ---- the visit screen --------------------------------------------------------------------------------------


def answer_url(job, template, label, name="closeout:checklist_answer"):  # type: ignore[no-untyped-def]
    return reverse(name, args=[job.pk, template.pk, key(template, label)])


def test_the_visit_screen_shows_each_item_with_its_form_progress_and_flags(client_as, tech_a, job, template, visit):
    answer(tech_a.user, job, template, "Gas pressure", "12", visit_id=visit.pk)
    response = client_as(tech_a.user).get(reverse("field:visit", args=[visit.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="checklists"' in html
    assert 'class="fd-section chk-section"' in html
    assert "1 of 5 done, 3 required open" in html
    assert "Out of range: 12 psi, allowed 3.5–10.5 psi" in html
    assert 'inputmode="decimal"' in html
    assert 'name="yes_no" value="yes"' in html
    assert 'name="yes_no" value="no"' in html
    assert 'capture="environment"' in html
    assert 'enctype="multipart/form-data"' in html
    assert '<textarea id="chk-' in html
    for option in ("Clean", "Dirty", "Replaced"):
        assert f'name="value" value="{option}"' in html
    assert f'action="{answer_url(job, template, "Filter replaced")}"' in html
    assert f'action="{answer_url(job, template, "Gas pressure", "closeout:checklist_clear")}"' in html
    assert f'name="visit_id" value="{visit.pk}"' in html


def test_a_technician_answers_from_the_visit_screen_and_lands_back_on_it(client_as, tech_a, job, template, visit):
    client = client_as(tech_a.user)
    response = client.post(answer_url(job, template, "Filter replaced"), {"yes_no": "yes", "visit_id": visit.pk})
    assert response.status_code == 302
    assert response["Location"] == reverse("field:visit", args=[visit.pk]) + "#checklists"
    assert ChecklistAnswer.objects.get().value_bool is True

    response = client.post(answer_url(job, template, "Gas pressure"), {"value": "7.5", "visit_id": visit.pk})
    assert response.status_code == 302
    assert ChecklistAnswer.objects.get(item_key=key(template, "Gas pressure")).value_number == Decimal("7.5")

    response = client.post(answer_url(job, template, "Gas pressure", "closeout:checklist_clear"), {"visit_id": visit.pk})
    assert response.status_code == 302
    assert not ChecklistAnswer.objects.filter(item_key=key(template, "Gas pressure")).exists()


def test_with_htmx_the_answer_swaps_the_section(client_as, tech_a, job, template, visit):
    headers = {"HX-Request": "true", "HX-Target": "checklists"}
    response = client_as(tech_a.user).post(answer_url(job, template, "Burner condition"), {"value": "Dirty", "visit_id": visit.pk}, headers=headers)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="fd-section chk-section" id="checklists"')
    assert "<html" not in html
    assert "1 of 5 done, 3 required open" in html
    assert 'class="chk-saved"' in html
    assert response["HX-Trigger"] == "closeout-changed"


def test_a_refused_answer_shows_its_error_at_the_item_with_htmx_and_without(client_as, tech_a, job, template, visit):
    client = client_as(tech_a.user)
    headers = {"HX-Request": "true", "HX-Target": "checklists"}
    response = client.post(answer_url(job, template, "Gas pressure"), {"value": "seven", "visit_id": visit.pk}, headers=headers)
    assert response.status_code == 422
    html = response.content.decode()
    assert "Enter a number" in html
    assert 'value="seven"' in html
    assert 'aria-invalid="true"' in html

    response = client.post(answer_url(job, template, "Gas pressure"), {"value": "seven", "visit_id": visit.pk})
    assert response.status_code == 302
    page = client.get(reverse("field:visit", args=[visit.pk])).content.decode()
    assert "Enter a number" in page
    assert 'value="seven"' in page
    again = client.get(reverse("field:visit", args=[visit.pk])).content.decode()
    assert "Enter a number" not in again  # shown once
    assert not ChecklistRun.objects.exists()


def test_a_photo_is_posted_from_the_visit_screen(media, client_as, tech_a, job, template, visit):
    upload = SimpleUploadedFile("IMG_0002.png", photo_bytes("blue"), content_type="image/png")
    response = client_as(tech_a.user).post(answer_url(job, template, "Nameplate photo"), {"photo": upload, "visit_id": visit.pk})
    assert response.status_code == 302
    saved = ChecklistAnswer.objects.get()
    assert saved.document.caption == "Nameplate photo"
    html = client_as(tech_a.user).get(reverse("field:visit", args=[visit.pk])).content.decode()
    assert reverse("closeout:document_thumb", args=[job.pk, saved.document_id]) in html


def test_a_technician_cannot_see_or_fill_another_technicians_checklists(client_as, tech_b, job, template, visit):
    client = client_as(tech_b.user)
    assert client.get(reverse("field:visit", args=[visit.pk])).status_code == 404
    before = snapshot()
    assert client.post(answer_url(job, template, "Filter replaced"), {"yes_no": "yes", "visit_id": visit.pk}).status_code == 404
    assert client.post(answer_url(job, template, "Filter replaced"), {"yes_no": "yes"}).status_code == 404
    assert client.post(answer_url(job, template, "Filter replaced", "closeout:checklist_clear"), {}).status_code == 404
    assert client.post(reverse("closeout:checklist_add", args=[job.pk]), {"template_id": template.pk}).status_code == 404
    assert snapshot() == before


def test_a_visit_of_another_job_in_the_form_is_not_found(client_as, tech_a, job, template):
    elsewhere = VisitFactory(crew=[tech_a])
    response = client_as(tech_a.user).post(answer_url(job, template, "Filter replaced"), {"yes_no": "yes", "visit_id": elsewhere.pk})
    assert response.status_code == 404
    assert not ChecklistRun.objects.exists()


def test_the_write_urls_take_only_posts(client_as, office, tech_a, job, template):
    for user in (office, tech_a.user):
        client = client_as(user)
        assert client.get(answer_url(job, template, "Notes")).status_code == 405
        assert client.get(answer_url(job, template, "Notes", "closeout:checklist_clear")).status_code == 405
        assert client.get(reverse("closeout:checklist_add", args=[job.pk])).status_code == 405


def _rf_request(user):  # type: ignore[no-untyped-def]
    request = RequestFactory().get("/")
    request.user = user
    request.session = SessionStore()
    return request


# runs, their answers (with who, which photo and visit), templates of the job type not started, their items
PHONE_QUERIES = 4


@pytest.mark.parametrize("extra_items", [0, 40])
def test_the_phone_section_costs_the_same_few_queries_however_long_the_checklists(tech_a, job_type, visit, extra_items):
    job = visit.job
    started = make_template("Started check", [job_type], extra_items=extra_items)
    make_template("Pending check", [job_type], extra_items=extra_items)
    answer_required(tech_a.user, job, started, visit_id=visit.pk)
    for n in range(extra_items):
        answer(tech_a.user, job, started, f"Extra check {n}", n % 2 == 0, visit_id=visit.pk)
    request = _rf_request(tech_a.user)
    with CaptureQueriesContext(connection) as queries:
        section = phone_context(request, visit, job)
        html = render_to_string("closeout/phone/_checklists.html", {"section": section, "visit": visit, "job": job}, request=request)
    assert len(queries) == PHONE_QUERIES
    assert html.count('<li class="chk-item ') == 2 * (5 + extra_items)


# … and the templates that may still be added
OFFICE_QUERIES = 5


@pytest.mark.parametrize("extra_items", [0, 40])
def test_the_office_listing_costs_the_same_few_queries_however_long_the_checklists(office, tech_a, job_type, visit, extra_items):
    job = visit.job
    started = make_template("Started check", [job_type], extra_items=extra_items)
    make_template("Pending check", [job_type], extra_items=extra_items)
    make_template("Water heater check")
    answer_required(tech_a.user, job, started, visit_id=visit.pk)
    answer(tech_a.user, job, started, "Gas pressure", "11", visit_id=visit.pk)
    for n in range(extra_items):
        answer(tech_a.user, job, started, f"Extra check {n}", True, visit_id=visit.pk)
    request = _rf_request(office)
    with CaptureQueriesContext(connection) as queries:
        context = office_context(request, job)
        html = render_to_string("closeout/_checklists_office.html", {"checklists_office": context, "job": job}, request=request)
    assert len(queries) == OFFICE_QUERIES
    assert "Out of range: 11 psi, allowed 3.5–10.5 psi" in html
    assert "version 1" in html
    assert "Alex Tech" in html
    assert f"visit {visit.number}" in html
    assert [t.name for t in context["addable"]] == ["Water heater check"]
    assert "Add a checklist to this job" in html


def test_the_office_adds_a_checklist_from_the_quality_tab(client_as, office, tech_a, job, template):
    extra = make_template("Water heater check")
    url = reverse("closeout:checklist_add", args=[job.pk])
    next_url = reverse("jobs:tab", args=[job.pk, "quality"])
    response = client_as(office).post(url, {"template_id": extra.pk, "next": next_url})
    assert (response.status_code, response["Location"]) == (302, next_url)
    assert ChecklistRun.objects.filter(job=job, template=extra).exists()

    assert client_as(office).post(url, {"template_id": "nonsense"}).status_code == 302
    assert client_as(tech_a.user).post(url, {"template_id": make_template("Third").pk}).status_code == 403
    assert ChecklistRun.objects.count() == 1


def test_the_office_listing_leaves_out_the_add_form_for_technicians(tech_a, job, template):
    context = office_context(_rf_request(tech_a.user), job)
    assert (context["can_add"], context["addable"]) == (False, [])
