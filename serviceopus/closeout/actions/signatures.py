"""Capturing a signature: the drawn image (a PNG from the pad), who signed in which role, and the
snapshot of what they signed with its SHA-256 (signing.py).

The signer agrees to the content shown on the screen at that moment. The pad sends back the hash it
showed; when the job's content no longer hashes the same (a line was changed while the customer was
signing) the signature is refused and nothing is stored: the signer must see what they sign."""

import base64
import binascii
import io
import re
import struct
import zlib

from django.core.files.base import ContentFile
from django.db import transaction
from PIL import Image, UnidentifiedImageError

from serviceopus.accounts.models import User
from serviceopus.core.errors import ConflictError, InvalidInput

from .. import signing
from ..models import Signature
from .job_lock import closeout_event, open_job, require, visit_of_job

MAX_IMAGE_BYTES = 1_000_000
MAX_SIDE = 4000
DATA_URL_PREFIX = "data:image/png;base64,"
# A 1 MB image is at most this many base64 characters: longer input is refused before decoding it.
MAX_DATA_URL_CHARS = len(DATA_URL_PREFIX) + (MAX_IMAGE_BYTES + 2) // 3 * 4
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
HASH_PATTERN = re.compile(r"^[0-9a-f]{64}$")


class ImageRefused(ValueError):
    """The pad's image is not one we store; the message says why, for the signer."""


def clean_signature_png(data_url: str) -> bytes:
    """The pad's data URL → a freshly encoded PNG (RGBA, no metadata). Refuses anything that is not a
    real PNG of sane size, and an empty pad (every pixel transparent, or every pixel the same)."""
    if not isinstance(data_url, str) or not data_url:
        raise ImageRefused("Draw the signature on the pad first.")
    if not data_url.startswith(DATA_URL_PREFIX):
        raise ImageRefused("The signature must be a PNG image from the pad.")
    if len(data_url) > MAX_DATA_URL_CHARS:
        raise ImageRefused("The signature image is too large (at most 1 MB).")
    try:
        raw = base64.b64decode(data_url[len(DATA_URL_PREFIX) :], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImageRefused("The signature image could not be read.") from exc
    if len(raw) > MAX_IMAGE_BYTES:
        raise ImageRefused("The signature image is too large (at most 1 MB).")
    if not raw.startswith(PNG_MAGIC):
        raise ImageRefused("The signature must be a PNG image from the pad.")
    if not _chunks_intact(raw):
        raise ImageRefused("The signature image could not be read.")
    try:
        with Image.open(io.BytesIO(raw), formats=["PNG"]) as image:
            width, height = image.size
            # Checked before decoding the pixels: a tiny file can claim a huge canvas.
            if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
                raise ImageRefused(f"The signature image must be at most {MAX_SIDE}×{MAX_SIDE} pixels.")
            rgba = image.convert("RGBA")
    except ImageRefused:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageRefused("The signature image could not be read.") from exc
    if _is_blank(rgba):
        raise ImageRefused("The pad is empty: sign before saving.")
    # A new image from the pixels alone: whatever chunks the upload carried (text, profiles) stay out.
    clean = Image.frombytes("RGBA", rgba.size, rgba.tobytes())
    out = io.BytesIO()
    clean.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _chunks_intact(raw: bytes) -> bool:
    """Every chunk whole with a correct CRC, ending with IEND. Checked here rather than left to
    Pillow, whose tolerance of truncated files is a process-wide switch another library may turn on
    (WeasyPrint does): a cut-off upload must never be stored as a half-drawn signature."""
    pos = len(PNG_MAGIC)
    while pos + 12 <= len(raw):
        (length,) = struct.unpack(">I", raw[pos : pos + 4])
        end = pos + 12 + length
        if end > len(raw):
            return False
        kind, data, (crc,) = raw[pos + 4 : pos + 8], raw[pos + 8 : end - 4], struct.unpack(">I", raw[end - 4 : end])
        if zlib.crc32(kind + data) != crc:
            return False
        if kind == b"IEND":
            return end == len(raw)
        pos = end
    return False


def _is_blank(rgba: Image.Image) -> bool:
    extrema = rgba.getextrema()
    if extrema[3][1] == 0:  # fully transparent
        return True
    return all(low == high for low, high in extrema)  # one colour everywhere: nothing drawn on it


def _clean_inputs(signer_name: str, role: str, image_data_url: str, signed_hash: str) -> tuple[str, bytes]:
    fields: dict[str, str] = {}
    name = (signer_name or "").strip() if isinstance(signer_name, str) else ""
    if not name:
        fields["signer_name"] = "Enter the name of the person signing."
    elif len(name) > 100 or "\x00" in name:
        fields["signer_name"] = "At most 100 characters, no NUL characters."
    if role not in Signature.Role.values:
        fields["role"] = "Choose customer or technician."
    if not isinstance(signed_hash, str) or not HASH_PATTERN.match(signed_hash):
        fields["signed_hash"] = "The hash of the content shown to the signer is missing; reload and sign again."
    png = b""
    try:
        png = clean_signature_png(image_data_url)
    except ImageRefused as refused:
        fields["image"] = str(refused)
    if fields:
        raise InvalidInput("The signature was not saved.", fields)
    return name, png


def signature_capture(
    *, actor: User, job_id: int, signer_name: str, role: str, image_data_url: str, signed_hash: str, visit_id: int | None = None
) -> Signature:
    """Store a signature of the job's current content. `signed_hash` is the hash the signer was shown;
    if the content changed since, raises ConflictError `content_changed` (nothing stored).

    Locks the job (open_job: not closed or cancelled) so the content cannot change between the hash
    check and the insert. The image file is written inside the transaction and deleted again if the
    transaction does not commit."""
    require(actor, "closeout.record_evidence", "You may not capture signatures.")
    name, png = _clean_inputs(signer_name, role, image_data_url, signed_hash)
    signature = Signature(signer_name=name, role=role, captured_by=actor)
    try:
        with transaction.atomic():
            job = open_job(job_id)
            visit = visit_of_job(job, visit_id, "The signature was not saved.")
            content = signing.signed_content(job)
            digest = signing.content_hash(content)
            if digest != signed_hash:
                raise ConflictError(
                    "content_changed",
                    "The content changed while signing; review and sign again.",
                    current_hash=digest,
                )
            signature.job, signature.visit, signature.content, signature.content_sha256 = job, visit, content, digest
            signature.image.save("signature.png", ContentFile(png), save=False)
            signature.save()
            closeout_event(
                job,
                actor,
                f"{Signature.Role(role).label} signature by {name} (content {digest[:12]}…)",
                data={"signature": signature.pk, "role": role, "sha256": digest, "visit": visit.pk if visit else None},
            )
    except BaseException:
        if signature.image.name:
            signature.image.storage.delete(signature.image.name)
        raise
    return signature
