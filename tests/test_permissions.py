"""The permissions matrix: every URL of the site × every role, on a job of one's own and on another's.

A URL missing from MATRIX fails `test_every_url_is_in_the_matrix`, so a new page cannot ship without
saying who may open it. Technicians ("tech") act on a job assigned to them; "tech_other" is the same
technician on a job assigned to someone else. Customers and tokens are not per-technician records.
"""

import io
from datetime import timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from serviceopus.jobs.status import JobStatus
from tests import (
    matrix_automation,
    matrix_billing,
    matrix_billing_finance,
    matrix_dependencies,
    matrix_inventory_jobs,
    matrix_inventory_phone,
    matrix_inventory_purchasing,
    matrix_messaging,
    matrix_planning,
    matrix_rules,
    matrix_tasks,
    matrix_webhooks,
)
from tests.factories import AssetFactory, ContactFactory, JobFactory, LineItemFactory, LocationFactory, VisitFactory

ROLES = ("owner", "manager", "dispatcher", "office", "tech", "tech_other", "anon")
OFFICE = {"owner": 200, "manager": 200, "dispatcher": 200, "office": 200}

# url name → (GET status per role). "anon" is always the redirect to sign-in unless stated.
MATRIX: dict[str, dict[str, int]] = {
    "jobs:dashboard": {**OFFICE, "tech": 200, "tech_other": 200},
    "jobs:list": {**OFFICE, "tech": 200, "tech_other": 200},
    "jobs:board": {**OFFICE, "tech": 403, "tech_other": 403},
    "jobs:create": {**OFFICE, "tech": 403, "tech_other": 403},
    "jobs:customer_fields": {**OFFICE, "tech": 403, "tech_other": 403},
    "jobs:detail": {**OFFICE, "tech": 200, "tech_other": 404},
    "jobs:tab": {**OFFICE, "tech": 200, "tech_other": 404},
    "jobs:edit": {**OFFICE, "tech": 403, "tech_other": 404},
    "jobs:quick": {**OFFICE, "tech": 200, "tech_other": 404},
    "jobs:line_item_edit": {**OFFICE, "tech": 200, "tech_other": 404},
    # POST-only URLs answer a GET with 405 once signed in.
    "jobs:bulk_transition": {**dict.fromkeys(OFFICE, 405), "tech": 405, "tech_other": 405},
    "jobs:transition": {**dict.fromkeys(OFFICE, 405), "tech": 405, "tech_other": 405},
    "jobs:line_item_add": {**dict.fromkeys(OFFICE, 405), "tech": 405, "tech_other": 405},
    "jobs:line_item_remove": {**dict.fromkeys(OFFICE, 405), "tech": 405, "tech_other": 405},
    "jobs:note_add": {**dict.fromkeys(OFFICE, 405), "tech": 405, "tech_other": 405},
    "customers:list": {**OFFICE, "tech": 404, "tech_other": 404},
    "customers:create": {**OFFICE, "tech": 404, "tech_other": 404},
    "customers:detail": {**OFFICE, "tech": 404, "tech_other": 404},
    "customers:edit": {**OFFICE, "tech": 404, "tech_other": 404},
    "customers:location_create": {**OFFICE, "tech": 404, "tech_other": 404},
    "customers:location_edit": {**OFFICE, "tech": 404, "tech_other": 404},
    "customers:contact_create": {**OFFICE, "tech": 404, "tech_other": 404},
    "customers:contact_edit": {**OFFICE, "tech": 404, "tech_other": 404},
    "customers:asset_create": {**OFFICE, "tech": 404, "tech_other": 404},
    "customers:asset_edit": {**OFFICE, "tech": 404, "tech_other": 404},
    "customers:options": {**OFFICE, "tech": 404, "tech_other": 404},
    # Signed-in users are sent on from the sign-in page.
    "accounts:login": {**dict.fromkeys(OFFICE, 302), "tech": 302, "tech_other": 302, "anon": 200},
    "accounts:logout": {**dict.fromkeys(OFFICE, 405), "tech": 405, "tech_other": 405, "anon": 405},
    "accounts:tokens": {**OFFICE, "tech": 200, "tech_other": 200},
    "accounts:token_revoke": {**dict.fromkeys(OFFICE, 405), "tech": 405, "tech_other": 405},
    # The technician's phone pages: My day is the signed-in technician's own (office roles have none).
    "field:my_day": {**dict.fromkeys(OFFICE, 404), "tech": 200, "tech_other": 200},
    "field:visit": {**OFFICE, "tech": 200, "tech_other": 404},
    "field:transition": {**dict.fromkeys(OFFICE, 405), "tech": 405, "tech_other": 405},
    "field:finish": {**dict.fromkeys(OFFICE, 405), "tech": 405, "tech_other": 405},
    # The job's Time tab: the office reviews; technicians add their own time on their jobs.
    "field:time_add": {**dict.fromkeys(OFFICE, 405), "tech": 405, "tech_other": 405},
    "field:time_approve": {**dict.fromkeys(OFFICE, 405), "tech": 405, "tech_other": 405},
    "field:time_correct": {**OFFICE, "tech": 403, "tech_other": 404},
    # Scheduling from the job's Crew & schedule tab (office only) and the week views: a technician sees
    # their own week (the team week sends them there) and manages their own calendar feed.
    "dispatch:visit_schedule": {**dict.fromkeys(OFFICE, 405), "tech": 405, "tech_other": 405},
    "dispatch:crew_suggest": {**OFFICE, "tech": 403, "tech_other": 404},
    "dispatch:visit_edit": {**OFFICE, "tech": 403, "tech_other": 404},
    "dispatch:visit_cancel": {**dict.fromkeys(OFFICE, 405), "tech": 405, "tech_other": 405},
    "dispatch:week": {**OFFICE, "tech": 302, "tech_other": 302},
    "dispatch:technician_week": {**OFFICE, "tech": 200, "tech_other": 404},
    "dispatch:time_off_add": {**dict.fromkeys(OFFICE, 405), "tech": 405, "tech_other": 405},
    "dispatch:time_off_remove": {**dict.fromkeys(OFFICE, 405), "tech": 405, "tech_other": 405},
    "dispatch:calendar": {**OFFICE, "tech": 200, "tech_other": 404},
    "dispatch:calendar_renew": {**dict.fromkeys(OFFICE, 405), "tech": 405, "tech_other": 405},
    "dispatch:calendar_revoke": {**dict.fromkeys(OFFICE, 405), "tech": 405, "tech_other": 405},
    # No sign-in (calendar apps cannot): an unknown token is a 404 for everyone.
    "dispatch:calendar_feed": {**dict.fromkeys(OFFICE, 404), "tech": 404, "tech_other": 404, "anon": 404},
    # The dispatch board is the office's: technicians get 403, as on the job board.
    "dispatch:board": {**OFFICE, "tech": 403, "tech_other": 403},
    "dispatch:changes": {**OFFICE, "tech": 403, "tech_other": 403},
    "dispatch:visit_quick": {**OFFICE, "tech": 403, "tech_other": 403},
    "dispatch:move": {**dict.fromkeys(OFFICE, 405), "tech": 405, "tech_other": 405},
    "dispatch:place_job": {**dict.fromkeys(OFFICE, 405), "tech": 405, "tech_other": 405},
    # Closeout writes on the job (POST only); the actions themselves check who may waive.
    "closeout:waive": {**dict.fromkeys(OFFICE, 405), "tech": 405, "tech_other": 405},
    "closeout:unwaive": {**dict.fromkeys(OFFICE, 405), "tech": 405, "tech_other": 405},
    "closeout:no_materials": {**dict.fromkeys(OFFICE, 405), "tech": 405, "tech_other": 405},
    "closeout:report": {**OFFICE, "tech": 200, "tech_other": 404},
    "closeout:document_upload": {**dict.fromkeys(OFFICE, 405), "tech": 405, "tech_other": 405},
    "closeout:document_file": {**OFFICE, "tech": 200, "tech_other": 404},
    "closeout:document_thumb": {**OFFICE, "tech": 200, "tech_other": 404},
    "closeout:document_edit": {**OFFICE, "tech": 200, "tech_other": 404},
    "closeout:document_delete": {**dict.fromkeys(OFFICE, 405), "tech": 405, "tech_other": 405},
    "closeout:signature_capture": {**dict.fromkeys(OFFICE, 405), "tech": 405, "tech_other": 405},
    "closeout:signature_image": {**OFFICE, "tech": 200, "tech_other": 404},
    "closeout:quality_add": {**dict.fromkeys(OFFICE, 405), "tech": 405, "tech_other": 405},
    "closeout:incident_report": {**dict.fromkeys(OFFICE, 405), "tech": 405, "tech_other": 405},
    "closeout:incident_edit": {**OFFICE, "tech": 200, "tech_other": 404},
    "closeout:incident_resolve": {**dict.fromkeys(OFFICE, 405), "tech": 405, "tech_other": 405},
    "closeout:incident_reopen": {**dict.fromkeys(OFFICE, 405), "tech": 405, "tech_other": 405},
    "closeout:incident_photo": {**dict.fromkeys(OFFICE, 405), "tech": 405, "tech_other": 405},
    "closeout:checklist_add": {**dict.fromkeys(OFFICE, 405), "tech": 405, "tech_other": 405},
    "closeout:checklist_answer": {**dict.fromkeys(OFFICE, 405), "tech": 405, "tech_other": 405},
    "closeout:checklist_clear": {**dict.fromkeys(OFFICE, 405), "tech": 405, "tech_other": 405},
}
# Apps with many pages keep their rows in a module of their own (same shape: MATRIX, extend_world(world),
# kwargs(name, world, role)), merged here.
MATRIX_PARTS = (
    matrix_inventory_jobs,
    matrix_inventory_purchasing,
    matrix_inventory_phone,
    matrix_billing,
    matrix_billing_finance,
    matrix_messaging,
    matrix_dependencies,
    matrix_rules,
    matrix_tasks,
    matrix_webhooks,
    matrix_automation,
    matrix_planning,
)
for part in MATRIX_PARTS:
    assert not set(part.MATRIX) & set(MATRIX), part.__name__
    MATRIX.update(part.MATRIX)
# The admin site (staff only) and the API (its own tests: serviceopus/*/tests/test_api.py) are checked
# elsewhere; here only that the admin refuses non-staff.
OUTSIDE_MATRIX_PREFIXES = ("admin:", "api:")


def _names(resolver: URLResolver, prefix: str = "") -> set[str]:
    names: set[str] = set()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = f"{prefix}{entry.namespace}:" if entry.namespace else prefix
            names |= _names(entry, ns)
        elif isinstance(entry, URLPattern) and entry.name:
            names.add(prefix + entry.name)
    return names


def test_every_url_is_in_the_matrix():
    names = {n for n in _names(get_resolver()) if not n.startswith(OUTSIDE_MATRIX_PREFIXES)}
    assert names - set(MATRIX) == set(), "add these URLs to the permissions matrix"
    assert set(MATRIX) - names == set(), "these matrix rows name no URL"


def _time_entry(job, technician):  # type: ignore[no-untyped-def]
    from serviceopus.field.models import TimeEntry

    end = timezone.now()
    return TimeEntry.objects.create(job=job, technician=technician, kind=TimeEntry.Kind.WORK, start=end - timedelta(hours=1), end=end)


def _photo(job, actor):  # type: ignore[no-untyped-def]
    """A photo really stored (with its thumbnail), so that serving it is what the matrix checks."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from serviceopus.closeout.actions.documents import document_upload

    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 80, 20 + job.pk % 200)).save(buffer, "JPEG")
    document, _ = document_upload(actor=actor, job_id=job.pk, upload=SimpleUploadedFile("site.jpg", buffer.getvalue()), tag="before")
    return document


def _signature(job, actor):  # type: ignore[no-untyped-def]
    import base64

    from PIL import Image, ImageDraw

    from serviceopus.closeout import signing
    from serviceopus.closeout.actions.signatures import signature_capture

    image = Image.new("RGBA", (300, 100), (0, 0, 0, 0))
    ImageDraw.Draw(image).line([(10, 80), (120, 20), (290, 70)], fill=(0, 0, 0, 255), width=4)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    data_url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    return signature_capture(
        actor=actor, job_id=job.pk, signer_name="Casey Customer", role="customer", image_data_url=data_url, signed_hash=signing.current_hash(job)
    )


def _incident(job, actor):  # type: ignore[no-untyped-def]
    from serviceopus.closeout.actions.incidents import incident_report

    return incident_report(actor=actor, job_id=job.pk, kind="complaint", severity="low", description="Mud on the carpet")


@pytest.fixture
def world(owner, manager, dispatcher, office, tech_a, tech_b):  # type: ignore[no-untyped-def]
    location = LocationFactory()
    own = JobFactory(location=location, customer=location.customer, technicians=[tech_a], status=JobStatus.SCHEDULED)
    other = JobFactory(technicians=[tech_b], status=JobStatus.SCHEDULED)
    world = {
        "users": {"owner": owner, "manager": manager, "dispatcher": dispatcher, "office": office, "tech": tech_a.user, "tech_other": tech_a.user},
        "own": own,
        "other": other,
        "own_item": LineItemFactory(job=own),
        "other_item": LineItemFactory(job=other),
        "contact": ContactFactory(customer=location.customer),
        "asset": AssetFactory(location=location),
        "location": location,
        # Visits: the technician is on the crew of own_visit and not of other_visit.
        "own_visit": VisitFactory(job=own, crew=[tech_a]),
        "other_visit": VisitFactory(job=other, crew=[tech_b]),
        "own_time": _time_entry(own, tech_a),
        "other_time": _time_entry(other, tech_b),
        "own_photo": _photo(own, owner),
        "other_photo": _photo(other, owner),
        "own_signature": _signature(own, owner),
        "other_signature": _signature(other, owner),
        "own_incident": _incident(own, owner),
        "other_incident": _incident(other, owner),
    }
    for part in MATRIX_PARTS:
        part.extend_world(world)
    return world


def _kwargs(name: str, world: dict, role: str) -> dict:
    job = world["other"] if role == "tech_other" else world["own"]
    item = world["other_item"] if role == "tech_other" else world["own_item"]
    visit = world["other_visit"] if role == "tech_other" else world["own_visit"]
    time_entry = world["other_time"] if role == "tech_other" else world["own_time"]
    photo = world["other_photo"] if role == "tech_other" else world["own_photo"]
    signature = world["other_signature"] if role == "tech_other" else world["own_signature"]
    incident = world["other_incident"] if role == "tech_other" else world["own_incident"]
    return {
        "jobs:detail": {"job_id": job.pk},
        "jobs:tab": {"job_id": job.pk, "tab": "line-items"},
        "jobs:edit": {"job_id": job.pk},
        "jobs:quick": {"job_id": job.pk},
        "jobs:transition": {"job_id": job.pk},
        "jobs:line_item_add": {"job_id": job.pk},
        "jobs:line_item_edit": {"job_id": job.pk, "item_id": item.pk},
        "jobs:line_item_remove": {"job_id": job.pk, "item_id": item.pk},
        "jobs:note_add": {"job_id": job.pk},
        "customers:detail": {"customer_id": world["location"].customer_id},
        "customers:edit": {"customer_id": world["location"].customer_id},
        "customers:location_create": {"customer_id": world["location"].customer_id},
        "customers:location_edit": {"location_id": world["location"].pk},
        "customers:contact_create": {"customer_id": world["location"].customer_id},
        "customers:contact_edit": {"contact_id": world["contact"].pk},
        "customers:asset_create": {"location_id": world["location"].pk},
        "customers:asset_edit": {"asset_id": world["asset"].pk},
        "accounts:token_revoke": {"token_id": 1},
        "field:visit": {"visit_id": visit.pk},
        "field:transition": {"visit_id": visit.pk},
        "field:finish": {"visit_id": visit.pk},
        "field:time_add": {"job_id": job.pk},
        "field:time_approve": {"job_id": job.pk, "entry_id": time_entry.pk},
        "field:time_correct": {"job_id": job.pk, "entry_id": time_entry.pk},
        "dispatch:visit_schedule": {"job_id": job.pk},
        "dispatch:crew_suggest": {"job_id": job.pk},
        "dispatch:visit_edit": {"job_id": job.pk, "visit_id": visit.pk},
        "dispatch:visit_cancel": {"job_id": job.pk, "visit_id": visit.pk},
        "dispatch:technician_week": {"technician_id": visit.crew.get().technician_id},
        "dispatch:time_off_add": {"technician_id": visit.crew.get().technician_id},
        "dispatch:time_off_remove": {"technician_id": visit.crew.get().technician_id, "time_off_id": 1},
        "dispatch:calendar": {"technician_id": visit.crew.get().technician_id},
        "dispatch:calendar_renew": {"technician_id": visit.crew.get().technician_id},
        "dispatch:calendar_revoke": {"technician_id": visit.crew.get().technician_id},
        "dispatch:calendar_feed": {"token": "x" * 43},
        "dispatch:visit_quick": {"visit_id": visit.pk},
        "dispatch:move": {"visit_id": visit.pk},
        "dispatch:place_job": {"job_id": job.pk},
        "closeout:waive": {"job_id": job.pk},
        "closeout:unwaive": {"job_id": job.pk},
        "closeout:no_materials": {"job_id": job.pk},
        "closeout:report": {"job_id": job.pk},
        "closeout:document_upload": {"job_id": job.pk},
        "closeout:document_file": {"job_id": job.pk, "document_id": photo.pk},
        "closeout:document_thumb": {"job_id": job.pk, "document_id": photo.pk},
        "closeout:document_edit": {"job_id": job.pk, "document_id": photo.pk},
        "closeout:document_delete": {"job_id": job.pk, "document_id": photo.pk},
        "closeout:signature_capture": {"job_id": job.pk},
        "closeout:signature_image": {"job_id": job.pk, "signature_id": signature.pk},
        "closeout:quality_add": {"job_id": job.pk},
        "closeout:incident_report": {"job_id": job.pk},
        "closeout:incident_edit": {"job_id": job.pk, "incident_id": incident.pk},
        "closeout:incident_resolve": {"job_id": job.pk, "incident_id": incident.pk},
        "closeout:incident_reopen": {"job_id": job.pk, "incident_id": incident.pk},
        "closeout:incident_photo": {"job_id": job.pk, "incident_id": incident.pk},
        "closeout:checklist_add": {"job_id": job.pk},
        "closeout:checklist_answer": {"job_id": job.pk, "template_id": 1, "item_key": "1"},
        "closeout:checklist_clear": {"job_id": job.pk, "template_id": 1, "item_key": "1"},
    }.get(name) or next((k for part in MATRIX_PARTS if (k := part.kwargs(name, world, role))), {})


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_get_matrix(name, world, client_as, client):
    seen, expected = {}, {}
    for role in ROLES:
        url = reverse(name, kwargs=_kwargs(name, world, role))
        http = client if role == "anon" else client_as(world["users"][role])
        seen[role] = http.get(url).status_code
        expected[role] = MATRIX[name].get(role, 302)
    assert seen == expected


# Writes: a technician's POST to someone else's job is a 404 and changes nothing; to their own job the
# action runs (with its own rules). Office roles reach the action.
POSTS = {
    "jobs:transition": {"to": JobStatus.IN_PROGRESS},
    "jobs:line_item_add": {"kind": "service", "description": "Extra", "quantity": "1", "unit_price": "10.00", "unit_cost": "0"},
    "jobs:note_add": {"body": "A note"},
    "jobs:line_item_remove": {},
}


@pytest.mark.parametrize("name", sorted(POSTS))
def test_technician_cannot_write_to_another_technicians_job(name, world, client_as):
    from serviceopus.jobs.models import Job, JobEvent, LineItem, Note

    before = (list(Job.objects.values()), LineItem.objects.count(), Note.objects.count(), JobEvent.objects.count())
    response = client_as(world["users"]["tech_other"]).post(reverse(name, kwargs=_kwargs(name, world, "tech_other")), POSTS[name])
    assert response.status_code == 404
    assert (list(Job.objects.values()), LineItem.objects.count(), Note.objects.count(), JobEvent.objects.count()) == before


@pytest.mark.parametrize("name", sorted(POSTS))
def test_technician_can_write_to_own_job(name, world, client_as):
    from serviceopus.jobs.models import JobEvent

    response = client_as(world["users"]["tech"]).post(reverse(name, kwargs=_kwargs(name, world, "tech")), POSTS[name])
    assert response.status_code in (200, 302)
    assert JobEvent.objects.filter(job=world["own"], actor=world["users"]["tech"]).count() == 1


def test_admin_is_for_staff_only(world, client_as):
    assert client_as(world["users"]["dispatcher"]).get("/admin/").status_code == 302
    assert client_as(world["users"]["tech"]).get("/admin/jobs/jobtype/").status_code == 302
    assert client_as(world["users"]["owner"]).get("/admin/jobs/jobtype/").status_code == 200
