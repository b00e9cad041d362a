"""Incidents: reporting (the crew on their job, the office), editing with a version, the office's owner,
resolution and reopening, photos; an open incident keeps the job from being closed; the Incidents tab
and who may use it. Refused calls change nothing."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from serviceopus.closeout.actions.incidents import incident_add_photo, incident_reopen, incident_report, incident_resolve, incident_update
from serviceopus.closeout.blockers import completion_blockers
from serviceopus.closeout.models import CloseoutRequirement, Document, Incident
from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.jobs.actions import TransitionRefused, job_transition
from serviceopus.jobs.models import Job, JobEvent
from serviceopus.jobs.status import JobStatus
from tests.factories import JobFactory, UserFactory, VisitFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(tech_a):  # type: ignore[no-untyped-def]
    return JobFactory(status=JobStatus.IN_PROGRESS, technicians=[tech_a])


@pytest.fixture
def media(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def report(job, actor, **kwargs):  # type: ignore[no-untyped-def]
    values = {"kind": "property_damage", "severity": "high", "description": "Scratched the hallway floor moving the unit"} | kwargs
    return incident_report(actor=actor, job_id=job.pk, **values)


def snapshot():  # type: ignore[no-untyped-def]
    return list(Incident.objects.order_by("pk").values()), JobEvent.objects.count()


# ---- reporting and editing ---------------------------------------------------------------------------


def test_a_technician_reports_an_incident_on_their_job(job, tech_a):
    visit = VisitFactory(job=job, crew=[tech_a], status="working")
    incident = report(job, tech_a.user, visit_id=visit.pk)
    assert (incident.kind, incident.severity, incident.status, incident.visit, incident.reported_by, incident.owner) == (
        "property_damage", "high", "open", visit, tech_a.user, None,
    )  # fmt: skip
    assert incident.version == 1
    assert incident.reported_at is not None
    event = JobEvent.objects.get(job=job, kind=JobEvent.Kind.CLOSEOUT)
    assert event.message == "Incident reported: Property damage (high)"
    assert event.actor == tech_a.user


def test_the_office_names_an_owner_when_reporting(job, office, manager):
    incident = report(job, office, kind="complaint", severity="low", owner_id=manager.pk)
    assert incident.owner == manager
    assert "owner Mason Manager" in JobEvent.objects.get(job=job).message


def test_a_technician_cannot_name_the_owner(job, tech_a, manager):
    before = snapshot()
    with pytest.raises(DomainError) as refused:
        report(job, tech_a.user, owner_id=manager.pk)
    assert refused.value.code == "forbidden"
    assert snapshot() == before


@pytest.mark.parametrize(
    ("kwargs", "fields"),
    [
        ({"kind": "flood"}, {"kind"}),
        ({"severity": "extreme"}, {"severity"}),
        ({"description": "   "}, {"description"}),
        ({"description": "x" * 5001}, {"description"}),
        ({"description": "bad\x00"}, {"description"}),
        ({"owner_id": 999999}, {"owner"}),
        ({"kind": "", "severity": "", "description": ""}, {"kind", "severity", "description"}),
    ],
)
def test_bad_reports_are_refused(job, office, kwargs, fields):
    before = snapshot()
    with pytest.raises(InvalidInput) as refused:
        report(job, office, **kwargs)
    assert set(refused.value.fields) == fields
    assert snapshot() == before


def test_an_inactive_user_cannot_own_an_incident(job, office):
    gone = UserFactory(is_active=False)
    with pytest.raises(InvalidInput) as refused:
        report(job, office, owner_id=gone.pk)
    assert set(refused.value.fields) == {"owner"}


def test_a_visit_of_another_job_is_refused(job, office, tech_b):
    other = VisitFactory(crew=[tech_b])
    with pytest.raises(InvalidInput) as refused:
        report(job, office, visit_id=other.pk)
    assert set(refused.value.fields) == {"visit"}
    assert Incident.objects.count() == 0


def test_an_edit_carries_the_version_and_says_what_changed(job, tech_a, office, dispatcher):
    incident = report(job, tech_a.user)
    edited = incident_update(actor=tech_a.user, incident_id=incident.pk, version=1, changes={"severity": "critical", "description": "Gouged the floor"})
    assert (edited.severity, edited.description, edited.version) == ("critical", "Gouged the floor", 2)
    assert JobEvent.objects.filter(job=job).latest("id").message == "Incident updated: severity high → critical; description"
    owned = incident_update(actor=office, incident_id=incident.pk, version=2, changes={"owner_id": dispatcher.pk})
    assert (owned.owner, owned.version) == (dispatcher, 3)
    assert "owner nobody → Dana Dispatcher" in JobEvent.objects.filter(job=job).latest("id").message
    # The same values again: nothing changes, no new version, no event.
    events = JobEvent.objects.count()
    same = incident_update(actor=office, incident_id=incident.pk, version=3, changes={"owner_id": dispatcher.pk, "severity": "critical"})
    assert same.version == 3
    assert JobEvent.objects.count() == events


def test_a_stale_edit_is_refused_and_changes_nothing(job, tech_a, office):
    incident = report(job, tech_a.user)
    incident_update(actor=office, incident_id=incident.pk, version=1, changes={"severity": "low"})
    before = snapshot()
    with pytest.raises(ConflictError) as refused:
        incident_update(actor=tech_a.user, incident_id=incident.pk, version=1, changes={"description": "Mine"})
    assert refused.value.code == "stale"
    assert refused.value.http_status == 409
    assert refused.value.details["current"]["version"] == 2
    assert refused.value.details["current"]["severity"] == "low"
    assert snapshot() == before


def test_only_the_office_changes_the_owner(job, tech_a, manager):
    incident = report(job, tech_a.user)
    before = snapshot()
    with pytest.raises(DomainError) as refused:
        incident_update(actor=tech_a.user, incident_id=incident.pk, version=1, changes={"owner_id": manager.pk})
    assert refused.value.code == "forbidden"
    assert snapshot() == before


def test_a_resolved_incident_is_not_edited(job, tech_a, office):
    incident = report(job, tech_a.user)
    incident_resolve(actor=office, incident_id=incident.pk, resolution="Floor refinished")
    before = snapshot()
    with pytest.raises(ConflictError) as refused:
        incident_update(actor=office, incident_id=incident.pk, version=2, changes={"severity": "low"})
    assert refused.value.code == "resolved"
    assert snapshot() == before


# ---- resolving, reopening and closing the job --------------------------------------------------------


def test_an_open_incident_blocks_closing_until_resolved(job, tech_a, manager):
    incident = report(job, tech_a.user)
    Job.objects.filter(pk=job.pk).update(status=JobStatus.WORK_COMPLETE)
    with pytest.raises(TransitionRefused) as refused:
        job_transition(actor=manager, job_id=job.pk, to=JobStatus.CLOSED)
    assert refused.value.code == "blocked"
    assert "Property damage (high)" in refused.value.message
    assert Job.objects.get(pk=job.pk).status == JobStatus.WORK_COMPLETE

    resolved = incident_resolve(actor=manager, incident_id=incident.pk, resolution="Floor refinished at our cost", version=1)
    assert (resolved.status, resolved.resolution, resolved.resolved_by, resolved.version) == ("resolved", "Floor refinished at our cost", manager, 2)
    assert resolved.resolved_at is not None
    assert "Floor refinished at our cost" in JobEvent.objects.filter(job=job, kind=JobEvent.Kind.CLOSEOUT).latest("id").message
    assert job_transition(actor=manager, job_id=job.pk, to=JobStatus.CLOSED).status == JobStatus.CLOSED


def test_an_open_incident_is_a_completion_blocker_where_the_type_asks(job, tech_a, office):
    CloseoutRequirement.objects.create(job_type=job.job_type, kind="no_open_incident")
    incident = report(job, tech_a.user, kind="near_miss", severity="medium")
    assert [b.code for b in completion_blockers(job)] == ["no_open_incident"]
    incident_resolve(actor=office, incident_id=incident.pk, resolution="Toolbox talk held")
    assert completion_blockers(job) == []


def test_a_technician_cannot_resolve_or_reopen(job, tech_a, office):
    incident = report(job, tech_a.user)
    before = snapshot()
    with pytest.raises(DomainError) as refused:
        incident_resolve(actor=tech_a.user, incident_id=incident.pk, resolution="Fixed it")
    assert refused.value.code == "forbidden"
    incident_resolve(actor=office, incident_id=incident.pk, resolution="Fixed")
    after_resolve = snapshot()
    with pytest.raises(DomainError):
        incident_reopen(actor=tech_a.user, incident_id=incident.pk)
    assert snapshot() == after_resolve != before


def test_resolving_needs_a_resolution_and_an_open_incident(job, tech_a, office):
    incident = report(job, tech_a.user)
    before = snapshot()
    with pytest.raises(InvalidInput) as refused:
        incident_resolve(actor=office, incident_id=incident.pk, resolution="  ")
    assert set(refused.value.fields) == {"resolution"}
    with pytest.raises(ConflictError) as stale:
        incident_resolve(actor=office, incident_id=incident.pk, resolution="Done", version=7)
    assert stale.value.code == "stale"
    assert snapshot() == before
    incident_resolve(actor=office, incident_id=incident.pk, resolution="Done")
    with pytest.raises(ConflictError) as again:
        incident_resolve(actor=office, incident_id=incident.pk, resolution="Done twice")
    assert again.value.code == "already_resolved"


def test_reopening_holds_the_job_back_again(job, tech_a, manager):
    incident = report(job, tech_a.user)
    incident_resolve(actor=manager, incident_id=incident.pk, resolution="Refinished")
    reopened = incident_reopen(actor=manager, incident_id=incident.pk, reason="Customer says the mark is back", version=2)
    assert (reopened.status, reopened.resolution, reopened.resolved_by, reopened.resolved_at, reopened.version) == ("open", "", None, None, 3)
    event = JobEvent.objects.filter(job=job).latest("id")
    assert event.message == "Incident reopened: Property damage — Customer says the mark is back"
    assert event.data["previous_resolution"] == "Refinished"
    Job.objects.filter(pk=job.pk).update(status=JobStatus.WORK_COMPLETE)
    with pytest.raises(TransitionRefused):
        job_transition(actor=manager, job_id=job.pk, to=JobStatus.CLOSED)
    with pytest.raises(ConflictError) as again:
        incident_reopen(actor=manager, incident_id=incident.pk)
    assert again.value.code == "already_open"


def test_a_closed_job_takes_no_incident(job, office):
    Job.objects.filter(pk=job.pk).update(status=JobStatus.CLOSED)
    with pytest.raises(DomainError) as refused:
        report(job, office)
    assert refused.value.code == "job_locked"
    assert Incident.objects.count() == 0


# ---- the tab -----------------------------------------------------------------------------------------


def _post(client, name, job, incident=None, **data):  # type: ignore[no-untyped-def]
    args = [job.pk] if incident is None else [job.pk, incident.pk]
    return client.post(reverse(f"closeout:{name}", args=args), data)


def test_a_technician_reports_from_the_tab(job, tech_a, manager, client_as):
    response = _post(
        client_as(tech_a.user),
        "incident_report",
        job,
        kind="complaint",
        severity="medium",
        description="Customer unhappy with the noise",
        owner=str(manager.pk),
    )
    incident = Incident.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("jobs:tab", args=[job.pk, "incidents"]) + f"#incident-{incident.pk}"
    assert (incident.kind, incident.reported_by, incident.owner) == ("complaint", tech_a.user, None), "the crew's form names no owner"


def test_a_bad_report_shows_the_form_again(job, office, client_as):
    response = _post(client_as(office), "incident_report", job, kind="", severity="high", description="")
    assert response.status_code == 422
    html = response.content.decode()
    assert "Choose what happened." in html
    assert "Describe what happened." in html
    assert Incident.objects.count() == 0


def test_the_tab_shows_incidents_with_severity_owner_status_and_actions(job, tech_a, office, manager, client_as):
    open_one = report(job, tech_a.user, severity="critical", kind="injury", description="Helper cut a hand")
    done = report(job, office, kind="complaint", severity="low", description="Late arrival", owner_id=manager.pk)
    incident_resolve(actor=office, incident_id=done.pk, resolution="Apologised; discount given")
    html = client_as(office).get(reverse("jobs:tab", args=[job.pk, "incidents"])).content.decode()
    assert "1 open — the job cannot be closed" in html
    first = html.index(f'id="incident-{open_one.pk}"')
    second = html.index(f'id="incident-{done.pk}"')
    assert first < second, "open incidents come first"
    assert "sev-critical" in html[first:second]
    assert "No owner yet" in html[first:second]
    assert reverse("closeout:incident_resolve", args=[job.pk, open_one.pk]) in html
    assert "Apologised; discount given" in html[second:]
    assert "Mason Manager" in html[second:]
    assert reverse("closeout:incident_reopen", args=[job.pk, done.pk]) in html
    assert 'data-confirm="Resolve this injury?' in html


def test_technicians_see_no_resolve_or_reopen(job, tech_a, client_as):
    incident = report(job, tech_a.user)
    html = client_as(tech_a.user).get(reverse("jobs:tab", args=[job.pk, "incidents"])).content.decode()
    assert reverse("closeout:incident_edit", args=[job.pk, incident.pk]) in html
    assert reverse("closeout:incident_resolve", args=[job.pk, incident.pk]) not in html
    assert 'name="owner"' not in html


def test_permissions_on_the_tab_urls(job, tech_a, tech_b, office, client_as):
    incident = report(job, tech_a.user)
    tech, other = client_as(tech_a.user), client_as(tech_b.user)
    assert _post(tech, "incident_resolve", job, incident, text="Done", version="1").status_code == 403
    assert _post(tech, "incident_reopen", job, incident, version="1").status_code == 403
    assert tech.get(reverse("closeout:incident_edit", args=[job.pk, incident.pk])).status_code == 200
    for name in ("incident_resolve", "incident_reopen", "incident_edit", "incident_photo"):
        assert _post(other, name, job, incident, text="x", version="1").status_code == 404
    assert _post(other, "incident_report", job, kind="injury", severity="low", description="x").status_code == 404
    assert other.get(reverse("jobs:tab", args=[job.pk, "incidents"])).status_code == 404
    for name in ("incident_report", "incident_resolve", "incident_reopen", "incident_photo"):
        args = [job.pk] if name == "incident_report" else [job.pk, incident.pk]
        assert client_as(office).get(reverse(f"closeout:{name}", args=args)).status_code == 405
    assert Incident.objects.get().status == "open"
    assert Incident.objects.count() == 1
    # An incident of another job is not reachable through this one.
    foreign = report(JobFactory(technicians=[tech_b]), office)
    assert client_as(office).get(reverse("closeout:incident_edit", args=[job.pk, foreign.pk])).status_code == 404


def test_a_stale_edit_on_the_tab_is_a_409_showing_the_incident_as_it_is(job, tech_a, office, client_as):
    incident = report(job, tech_a.user)
    incident_update(actor=office, incident_id=incident.pk, version=1, changes={"description": "Changed by the office"})
    response = _post(client_as(tech_a.user), "incident_edit", job, incident, kind="property_damage", severity="low", description="My version", version="1")
    assert response.status_code == 409
    html = response.content.decode()
    assert "Someone changed this incident meanwhile" in html
    assert "Changed by the office" in html
    assert 'name="version" value="2"' in html
    assert Incident.objects.get().description == "Changed by the office"


def test_the_office_edits_and_assigns_an_owner_on_the_tab(job, tech_a, office, manager, client_as):
    incident = report(job, tech_a.user)
    response = _post(
        client_as(office), "incident_edit", job, incident, kind="property_damage", severity="medium", description="Scratch", version="1", owner=str(manager.pk)
    )
    assert response.status_code == 302
    incident.refresh_from_db()
    assert (incident.severity, incident.description, incident.owner, incident.version) == ("medium", "Scratch", manager, 2)


def test_resolve_and_reopen_from_the_tab(job, tech_a, office, client_as):
    incident = report(job, tech_a.user)
    client = client_as(office)
    empty = _post(client, "incident_resolve", job, incident, text="", version="1")
    assert empty.status_code == 422
    assert "Say how the incident was resolved." in empty.content.decode()
    assert _post(client, "incident_resolve", job, incident, text="Refinished", version="1").status_code == 302
    assert Incident.objects.get().status == "resolved"
    stale = _post(client, "incident_reopen", job, incident, text="", version="1")
    assert stale.status_code == 409
    assert Incident.objects.get().status == "resolved"
    assert _post(client, "incident_reopen", job, incident, text="Back again", version="2").status_code == 302
    assert Incident.objects.get().status == "open"


# Session, user, the job with its header (job, assets, skills, technicians, tags), the closeout panel
# (requirements); the tab: incidents with people and visit, their photos, the job's visits (report
# form) and the owner choices (the office's forms).
INCIDENTS_TAB_QUERIES = 12


@pytest.mark.parametrize("count", [1, 6])
def test_the_tab_reads_a_fixed_number_of_queries(job, tech_a, office, manager, client_as, django_assert_num_queries, count):
    VisitFactory(job=job, crew=[tech_a])
    for n in range(count):
        incident = report(job, tech_a.user, description=f"Incident {n}")
        if n % 2:
            incident_update(actor=office, incident_id=incident.pk, version=1, changes={"owner_id": manager.pk})
            incident_resolve(actor=office, incident_id=incident.pk, resolution="Done")
    client = client_as(office)
    with django_assert_num_queries(INCIDENTS_TAB_QUERIES):
        response = client.get(reverse("jobs:tab", args=[job.pk, "incidents"]))
    assert response.content.decode().count('class="card inc-card') == count


# ---- photos (stored by the documents topic) ----------------------------------------------------------


def _photo(name: str = "damage.jpg", colour: tuple[int, int, int] = (200, 40, 40)) -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, format="JPEG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/jpeg")


def test_a_photo_is_attached_to_the_incident(job, tech_a, media):
    visit = VisitFactory(job=job, crew=[tech_a])
    incident = report(job, tech_a.user, visit_id=visit.pk)
    document, created = incident_add_photo(actor=tech_a.user, incident_id=incident.pk, upload=_photo(), caption="Hallway")
    assert created
    assert (document.job, document.incident, document.visit, document.tag, document.kind, document.customer_visible) == (
        job, incident, visit, "damage", "photo", False,
    )  # fmt: skip
    assert list(incident.photos.all()) == [document]


def test_photos_from_the_tab_show_on_the_incident(job, tech_a, tech_b, client_as, media):
    incident = report(job, tech_a.user)
    response = client_as(tech_a.user).post(
        reverse("closeout:incident_photo", args=[job.pk, incident.pk]), {"photos": [_photo("a.jpg"), _photo("b.jpg", (0, 90, 0))]}
    )
    assert response.status_code == 302
    photos = list(Document.objects.filter(incident=incident).order_by("pk"))
    assert len(photos) == 2
    html = client_as(tech_a.user).get(reverse("jobs:tab", args=[job.pk, "incidents"])).content.decode()
    for photo in photos:
        assert reverse("closeout:document_file", args=[job.pk, photo.pk]) in html
    refused = client_as(tech_b.user).post(reverse("closeout:incident_photo", args=[job.pk, incident.pk]), {"photos": [_photo("c.jpg", (0, 0, 90))]})
    assert refused.status_code == 404
    assert Document.objects.count() == 2


def test_a_file_that_is_not_an_image_is_refused_with_a_message(job, tech_a, client_as, media):
    incident = report(job, tech_a.user)
    bad = SimpleUploadedFile("evil.jpg", b"<script>alert(1)</script>", content_type="image/jpeg")
    response = client_as(tech_a.user).post(reverse("closeout:incident_photo", args=[job.pk, incident.pk]), {"photos": [bad]}, follow=True)
    assert response.status_code == 200
    assert Document.objects.count() == 0
