"""Signatures: what a signature covers and its hash, stale signatures (and the customer-signature
blocker coming back), the pad's image checks, the outdated-hash refusal, and the pages (the visit
screen's section, the Signatures tab, the image) with who may see and do what."""

import base64
import hashlib
import io
import json
import os
from pathlib import Path

import pytest
from django.urls import reverse
from PIL import Image, ImageDraw, ImageFile, PngImagePlugin

from serviceopus.closeout import signing
from serviceopus.closeout.actions.signatures import signature_capture
from serviceopus.closeout.blockers import completion_blockers
from serviceopus.closeout.models import CloseoutRequirement, Signature
from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.jobs.actions import line_item_update
from serviceopus.jobs.models import JobEvent
from serviceopus.jobs.status import JobStatus
from tests.factories import JobFactory, LineItemFactory, VisitFactory

pytestmark = pytest.mark.django_db

PREFIX = "data:image/png;base64,"


# ---- helpers (the API tests use them too) ------------------------------------------------------------


def drawn(size: tuple[int, int] = (300, 120)) -> Image.Image:
    """A transparent pad with a stroke on it, as signature_pad.js sends."""
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    ImageDraw.Draw(image).line([(10, size[1] - 20), (size[0] // 4, 20), (size[0] // 2, size[1] - 30), (size[0] - 10, 30)], fill=(15, 23, 42, 255), width=3)
    return image


def png_bytes(image: Image.Image, **options) -> bytes:  # type: ignore[no-untyped-def]
    out = io.BytesIO()
    image.save(out, format="PNG", **options)
    return out.getvalue()


def data_url(raw: bytes, prefix: str = PREFIX) -> str:
    return prefix + base64.b64encode(raw).decode()


def png_data_url(image: Image.Image | None = None) -> str:
    return data_url(png_bytes(image or drawn()))


def media_files(root: Path) -> list[Path]:
    return sorted(p for p in Path(root).rglob("*") if p.is_file()) if Path(root).exists() else []


@pytest.fixture
def media(settings, tmp_path):  # type: ignore[no-untyped-def]
    """A MEDIA_ROOT of this test's own, so that what it stores can be listed."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def job(tech_a):  # type: ignore[no-untyped-def]
    """An in-progress job of technician Alex with two lines and a visit of his."""
    job = JobFactory(status=JobStatus.IN_PROGRESS, technicians=[tech_a], scope="Replace the igniter; test the furnace")
    LineItemFactory(job=job, description="Igniter", quantity="1", unit_price_cents=4500, unit_cost_cents=2000)
    LineItemFactory(job=job, kind="labour", description="Labour", quantity="1.5", unit_price_cents=9000, taxable=False)
    return job


@pytest.fixture
def visit(job, tech_a):  # type: ignore[no-untyped-def]
    return VisitFactory(job=job, crew=[tech_a], status="working")


def sign(job, actor, *, role="customer", name="Pat Customer", image=None, signed_hash=None, visit=None):  # type: ignore[no-untyped-def]
    return signature_capture(
        actor=actor,
        job_id=job.pk,
        signer_name=name,
        role=role,
        image_data_url=image if image is not None else png_data_url(),
        signed_hash=signed_hash if signed_hash is not None else signing.current_hash(job),
        visit_id=visit.pk if visit else None,
    )


def snapshot():  # type: ignore[no-untyped-def]
    return Signature.objects.count(), JobEvent.objects.count()


# ---- what a signature covers -------------------------------------------------------------------------


def test_the_hash_covers_exactly_scope_lines_and_totals(job, tech_a, media):
    signature = sign(job, tech_a.user)
    assert set(signature.content) == {"job", "scope", "lines", "totals"}
    assert signature.content == {
        "job": job.number,
        "scope": "Replace the igniter; test the furnace",
        "lines": [
            {"kind": "service", "description": "Igniter", "quantity": "1", "unit_price_cents": 4500, "total_cents": 4500},
            {"kind": "labour", "description": "Labour", "quantity": "1.5", "unit_price_cents": 9000, "total_cents": 13500},
        ],
        "totals": {"subtotal_cents": 18000, "taxable_cents": 4500},
    }
    canonical = json.dumps(signature.content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert signature.content_sha256 == hashlib.sha256(canonical).hexdigest() == signing.current_hash(job)


def test_what_the_customer_does_not_see_does_not_make_it_stale(job, tech_a, office, media):
    """The company's cost is not part of the deal: changing it leaves the signature current."""
    signature = sign(job, tech_a.user)
    line = job.line_items.get(description="Igniter")
    line_item_update(
        actor=office, line_item_id=line.pk, version=line.version, kind=line.kind, description=line.description,
        quantity=line.quantity, unit_price_cents=line.unit_price_cents, unit_cost_cents=2500, taxable=line.taxable,
    )  # fmt: skip
    assert signing.current_hash(job) == signature.content_sha256


def test_a_changed_line_makes_the_signature_stale_and_the_blocker_comes_back(job, tech_a, office, media):
    CloseoutRequirement.objects.create(job_type=job.job_type, kind="customer_signature")
    assert [b.message for b in completion_blockers(job)] == ["No customer signature yet."]
    sign(job, tech_a.user, role="technician", name="Alex Tech")
    assert [b.code for b in completion_blockers(job)] == ["customer_signature"], "a technician's signature is not the customer's"
    signature = sign(job, tech_a.user)
    assert completion_blockers(job) == []

    line = job.line_items.get(description="Igniter")
    line_item_update(
        actor=office, line_item_id=line.pk, version=line.version, kind=line.kind, description=line.description,
        quantity=line.quantity, unit_price_cents=5000, unit_cost_cents=line.unit_cost_cents, taxable=line.taxable,
    )  # fmt: skip
    assert signing.current_hash(job) != signature.content_sha256
    [blocker] = completion_blockers(job)
    assert blocker.code == "customer_signature"
    assert "stale" in blocker.message

    # Signing the new content again clears it; the old signature stays, flagged stale.
    sign(job, tech_a.user)
    assert completion_blockers(job) == []
    assert Signature.objects.filter(job=job, role="customer").count() == 2


def test_a_signature_is_stored_with_its_image_and_on_the_timeline(job, visit, tech_a, media):
    signature = sign(job, tech_a.user, visit=visit)
    assert (signature.signer_name, signature.role, signature.visit, signature.captured_by) == ("Pat Customer", "customer", visit, tech_a.user)
    assert signature.signed_at is not None
    name = signature.image.name
    assert name.startswith("closeout/")
    assert name.endswith(".png")
    assert len(Path(name).stem) == 32
    [stored] = media_files(media)
    with Image.open(stored) as image:
        assert (image.format, image.size, image.mode) == ("PNG", (300, 120), "RGBA")
    event = JobEvent.objects.get(job=job, kind=JobEvent.Kind.CLOSEOUT)
    assert event.actor == tech_a.user
    assert "Pat Customer" in event.message
    assert event.data["sha256"] == signature.content_sha256
    assert event.data["signature"] == signature.pk


def test_the_image_is_re_encoded_without_what_came_with_it(job, tech_a, media):
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "<script>alert(1)</script>")
    signature = sign(job, tech_a.user, image=data_url(png_bytes(drawn(), pnginfo=info)))
    stored = signature.image.read()
    assert b"<script>" not in stored
    assert stored.startswith(b"\x89PNG")


# ---- refusals ----------------------------------------------------------------------------------------


def test_signing_with_an_outdated_hash_is_refused_and_stores_nothing(job, tech_a, office, media):
    shown = signing.current_hash(job)
    # The office changes a line while the customer is signing.
    LineItemFactory(job=job, description="Filter", unit_price_cents=1500)
    before = snapshot()
    with pytest.raises(ConflictError) as refused:
        sign(job, tech_a.user, signed_hash=shown)
    assert refused.value.code == "content_changed"
    assert refused.value.http_status == 409
    assert refused.value.message == "The content changed while signing; review and sign again."
    assert refused.value.details["current_hash"] == signing.current_hash(job)
    assert snapshot() == before
    assert media_files(media) == []


def _jpeg() -> bytes:
    out = io.BytesIO()
    drawn().convert("RGB").save(out, format="JPEG")
    return out.getvalue()


def _noise_png(side: int) -> bytes:
    """Random pixels do not compress: a real PNG well over 1 MB."""
    return png_bytes(Image.frombytes("RGBA", (side, side), os.urandom(side * side * 4)))


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><path d="M0 0L10 10" stroke="black"/></svg>'


@pytest.mark.parametrize(
    ("image", "says"),
    [
        (lambda: data_url(_jpeg()), "must be a PNG"),
        (lambda: data_url(_jpeg(), "data:image/jpeg;base64,"), "must be a PNG"),
        (lambda: data_url(SVG, "data:image/svg+xml;base64,"), "must be a PNG"),
        (lambda: data_url(SVG), "must be a PNG"),
        (lambda: PREFIX + "not base64!!", "could not be read"),
        (lambda: data_url(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40), "could not be read"),
        (lambda: data_url(png_bytes(drawn())[:60]), "could not be read"),
        (lambda: data_url(png_bytes(Image.new("RGBA", (5000, 10), (0, 0, 0, 255)))), "at most 4000×4000"),
        (lambda: data_url(png_bytes(Image.new("L", (10, 4001), 0))), "at most 4000×4000"),
        (lambda: PREFIX + "A" * 1_400_000, "too large"),
        (lambda: data_url(png_bytes(Image.new("RGBA", (300, 120), (0, 0, 0, 0)))), "empty"),
        (lambda: data_url(png_bytes(Image.new("RGB", (300, 120), (255, 255, 255)))), "empty"),
        (lambda: "", "Draw the signature"),
    ],
    ids=["jpeg-as-png", "jpeg", "svg", "svg-as-png", "garbage", "png-header-only", "truncated", "too-wide", "too-tall", "too-large", "blank", "white", "none"],
)
def test_bad_images_are_refused_and_nothing_is_stored(job, tech_a, media, image, says):
    before = snapshot()
    with pytest.raises(InvalidInput) as refused:
        sign(job, tech_a.user, image=image())
    assert set(refused.value.fields) == {"image"}
    assert says in refused.value.fields["image"]
    assert snapshot() == before
    assert media_files(media) == []


@pytest.mark.parametrize("cut", [60, -12, -1])
def test_a_cut_off_png_is_refused_even_when_pillow_tolerates_truncation(job, tech_a, media, monkeypatch, cut):
    """WeasyPrint switches Pillow to accept truncated files, process-wide; the pad's check does not rely on it."""
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(InvalidInput) as refused:
        sign(job, tech_a.user, image=data_url(png_bytes(drawn())[:cut]))
    assert refused.value.fields["image"] == "The signature image could not be read."
    assert Signature.objects.count() == 0


def test_a_png_with_a_bad_checksum_is_refused(job, tech_a, media):
    raw = bytearray(png_bytes(drawn()))
    raw[40] ^= 0xFF  # inside the first data chunk after IHDR
    with pytest.raises(InvalidInput) as refused:
        sign(job, tech_a.user, image=data_url(bytes(raw)))
    assert refused.value.fields["image"] == "The signature image could not be read."


def test_a_png_over_one_megabyte_is_refused(job, tech_a, media):
    raw = _noise_png(600)
    assert len(raw) > 1_000_000
    with pytest.raises(InvalidInput) as refused:
        sign(job, tech_a.user, image=data_url(raw))
    assert "too large" in refused.value.fields["image"]
    assert Signature.objects.count() == 0


@pytest.mark.parametrize(
    ("kwargs", "fields"),
    [
        ({"name": "   "}, {"signer_name"}),
        ({"name": "x" * 101}, {"signer_name"}),
        ({"name": "Pat\x00"}, {"signer_name"}),
        ({"role": "manager"}, {"role"}),
        ({"signed_hash": "abc"}, {"signed_hash"}),
        ({"name": "", "role": "", "image": ""}, {"signer_name", "role", "image"}),
    ],
)
def test_bad_input_is_refused_with_field_errors(job, tech_a, media, kwargs, fields):
    before = snapshot()
    with pytest.raises(InvalidInput) as refused:
        sign(job, tech_a.user, **kwargs)
    assert set(refused.value.fields) == fields
    assert snapshot() == before


def test_a_visit_of_another_job_is_refused(job, tech_a, media):
    other = VisitFactory(crew=[tech_a])
    with pytest.raises(InvalidInput) as refused:
        sign(job, tech_a.user, visit=other)
    assert set(refused.value.fields) == {"visit"}
    assert Signature.objects.count() == 0
    assert media_files(media) == []


@pytest.mark.parametrize("status", [JobStatus.CLOSED, JobStatus.CANCELLED])
def test_a_closed_or_cancelled_job_takes_no_signature(job, tech_a, media, status):
    job.status = status
    job.save(update_fields=["status"])
    with pytest.raises(DomainError) as refused:
        sign(job, tech_a.user)
    assert refused.value.code == "job_locked"
    assert Signature.objects.count() == 0
    assert media_files(media) == []


# ---- the visit screen --------------------------------------------------------------------------------


def test_the_visit_screen_shows_what_is_signed_with_the_pad(job, visit, tech_a, client_as, media):
    response = client_as(tech_a.user).get(reverse("field:visit", args=[visit.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="signature"' in html
    assert "data-signature-pad" in html
    assert "data-signature-clear" in html
    assert signing.current_hash(job) in html
    assert "Igniter" in html
    assert "$180.00" in html
    assert reverse("closeout:signature_capture", args=[job.pk]) in html
    assert 'id="incidents"' in html
    assert reverse("jobs:tab", args=[job.pk, "incidents"]) in html


def _post(client, job, visit, *, htmx=True, **data):  # type: ignore[no-untyped-def]
    body = {"signer_name": "Pat Customer", "role": "customer", "image": png_data_url(), "signed_hash": signing.current_hash(job), "visit": visit.pk, **data}
    headers = {"HX-Request": "true", "HX-Target": "signature"} if htmx else {}
    return client.post(reverse("closeout:signature_capture", args=[job.pk]), body, headers=headers)


def test_the_pad_saves_and_sends_the_phone_back_to_the_visit(job, visit, tech_a, client_as, media):
    response = _post(client_as(tech_a.user), job, visit)
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("field:visit", args=[visit.pk])
    signature = Signature.objects.get()
    assert (signature.visit, signature.captured_by, signature.role) == (visit, tech_a.user, "customer")

    plain = _post(client_as(tech_a.user), job, visit, htmx=False, next=reverse("field:visit", args=[visit.pk]))
    assert plain.status_code == 302
    assert plain["Location"] == reverse("field:visit", args=[visit.pk])
    assert Signature.objects.count() == 2


def test_the_pad_answers_409_in_place_when_the_content_changed(job, visit, tech_a, client_as, media):
    shown = signing.current_hash(job)
    LineItemFactory(job=job, description="Filter", unit_price_cents=1500)
    response = _post(client_as(tech_a.user), job, visit, signed_hash=shown)
    assert response.status_code == 409
    html = response.content.decode()
    assert "The content changed while signing; review and sign again." in html
    # The section comes back with the new content and hash to sign, and the name typed.
    assert signing.current_hash(job) in html
    assert shown not in html
    assert "Filter" in html
    assert 'value="Pat Customer"' in html
    assert html.count('id="signature"') == 1
    assert 'id="incidents"' not in html
    assert Signature.objects.count() == 0
    assert media_files(media) == []


def test_the_pad_answers_422_with_the_reason_for_a_blank_image(job, visit, tech_a, client_as, media):
    blank = data_url(png_bytes(Image.new("RGBA", (300, 120), (0, 0, 0, 0))))
    response = _post(client_as(tech_a.user), job, visit, image=blank, signer_name="")
    assert response.status_code == 422
    html = response.content.decode()
    assert "The pad is empty: sign before saving." in html
    assert "Enter the name of the person signing." in html
    assert Signature.objects.count() == 0


def test_without_htmx_a_refusal_shows_the_signatures_tab(job, visit, office, client_as, media):
    shown = signing.current_hash(job)
    LineItemFactory(job=job, description="Filter", unit_price_cents=1500)
    response = _post(client_as(office), job, visit, htmx=False, signed_hash=shown)
    assert response.status_code == 409
    assert "The content changed while signing" in response.content.decode()
    assert Signature.objects.count() == 0


def test_a_technician_cannot_sign_on_another_technicians_job(job, visit, tech_b, client_as, media):
    response = _post(client_as(tech_b.user), job, visit)
    assert response.status_code == 404
    assert Signature.objects.count() == 0


def test_a_visit_of_another_job_is_a_404(job, visit, tech_a, client_as, media):
    other = VisitFactory(crew=[tech_a])
    response = _post(client_as(tech_a.user), job, other)
    assert response.status_code == 404
    assert Signature.objects.count() == 0


# ---- the tab and the image ---------------------------------------------------------------------------


def test_the_tab_shows_each_signature_current_or_stale_with_what_was_signed(job, tech_a, office, client_as, media):
    old = sign(job, tech_a.user, name="Pat Customer")
    LineItemFactory(job=job, description="Filter", unit_price_cents=1500)
    new = sign(job, tech_a.user, name="Pat Again")
    response = client_as(office).get(reverse("jobs:tab", args=[job.pk, "signatures"]))
    assert response.status_code == 200
    html = response.content.decode()
    old_card = html[html.index(f'id="signature-{old.pk}"') :]
    new_card = html[html.index(f'id="signature-{new.pk}"') : html.index(f'id="signature-{old.pk}"')]
    assert "Current" in new_card
    assert "Stale" not in new_card
    assert "Stale — content changed after signing" in old_card.split("</article>")[0]
    assert old.content_sha256 in html
    assert new.content_sha256 in html
    assert reverse("closeout:signature_image", args=[job.pk, old.pk]) in html
    assert "What was signed" in html
    assert "Filter" in new_card


def test_the_image_is_served_only_to_who_may_see_the_job(job, tech_a, tech_b, office, client_as, client, media):
    signature = sign(job, tech_a.user)
    url = reverse("closeout:signature_image", args=[job.pk, signature.pk])
    for user in (office, tech_a.user):
        response = client_as(user).get(url)
        assert response.status_code == 200
        assert response["Content-Type"] == "image/png"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    assert client_as(tech_b.user).get(url).status_code == 404
    assert client.get(url).status_code == 302
    other_job = JobFactory(technicians=[tech_b])
    assert client_as(office).get(reverse("closeout:signature_image", args=[other_job.pk, signature.pk])).status_code == 404


def test_capture_is_post_only(job, office, client_as):
    assert client_as(office).get(reverse("closeout:signature_capture", args=[job.pk])).status_code == 405


# Session, user, the job with its header (job, assets, skills, technicians, tags), the closeout panel
# (requirements), then the tab: the line items (the current hash, computed once) and the signatures.
SIGNATURES_TAB_QUERIES = 10


@pytest.mark.parametrize("count", [1, 6])
def test_the_tab_reads_a_fixed_number_of_queries(job, tech_a, office, client_as, media, django_assert_num_queries, count):
    for n in range(count):
        sign(job, tech_a.user, name=f"Signer {n}")
    client = client_as(office)
    url = reverse("jobs:tab", args=[job.pk, "signatures"])
    with django_assert_num_queries(SIGNATURES_TAB_QUERIES):
        response = client.get(url)
    assert response.content.decode().count('class="card sig-card') == count
