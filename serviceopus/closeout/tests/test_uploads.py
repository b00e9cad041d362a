"""Checking uploads (uploads.py): what is accepted and how it is stored, and the corpus of bad input
that must be refused or neutralised. The file-level checks need no database; the bad-input corpus
also goes through document_upload to show that a refusal stores nothing."""

import io
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image

from serviceopus.closeout import uploads
from serviceopus.closeout.actions.documents import document_upload
from serviceopus.closeout.models import Document
from serviceopus.closeout.uploads import UploadRefused, check_upload, clean_name
from serviceopus.jobs.models import JobEvent
from tests.factories import JobFactory

# ---- file makers (shared with the other document tests) ---------------------------------------------


def image_bytes(size: tuple[int, int] = (64, 48), color: tuple[int, ...] = (200, 30, 30), fmt: str = "JPEG", mode: str = "RGB", **save: object) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, fmt, **save)
    return buffer.getvalue()


def jpeg_with_exif() -> bytes:
    """A 60×40 JPEG, left half red and right half blue, whose EXIF says "rotate 90° clockwise to show"
    (orientation 6) and carries a camera make and a GPS position."""
    image = Image.new("RGB", (60, 40), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, 30, 40))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "TestCam"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (52.0, 30.0, 0.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (13.0, 24.0, 0.0)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, quality=95)
    return buffer.getvalue()


def png_bomb(side: int = 20000) -> bytes:
    """A valid PNG of side × side one-bit pixels, all zero: about 50 KB that decode to 400 megapixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" * (1 + side // 8)  # filter byte + packed bits
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row * 1000) for _ in range(side // 1000)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def content_types(main: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/word/document.xml" ContentType="{main}"/></Types>'
    ).encode()


DOCX_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
DOCM_MAIN = "application/vnd.ms-word.document.macroEnabled.main+xml"
SVG_WITH_SCRIPT = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" onload="alert(1)">'
    b"<script>fetch('/api/v1/tokens').then(r => r.text()).then(alert)</script><rect width='10' height='10'/></svg>"
)
HTML_PAYLOAD = b"<html><body><script>alert(document.cookie)</script></body></html>"


def upload(data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def media_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def media(settings, tmp_path):  # type: ignore[no-untyped-def]
    """A MEDIA_ROOT of this test's own, so that what it stores can be listed."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def refused(data: bytes, name: str = "file.bin", content_type: str = "application/octet-stream") -> UploadRefused:
    with pytest.raises(UploadRefused) as info:
        check_upload(upload(data, name, content_type))
    return info.value


# ---- accepted types ------------------------------------------------------------------------------


def test_jpeg_is_a_photo_reencoded_with_a_thumbnail():
    checked = check_upload(upload(image_bytes((1000, 500)), "furnace.jpg"))
    assert (checked.kind, checked.content_type, checked.extension) == ("photo", "image/jpeg", ".jpg")
    assert (checked.width, checked.height) == (1000, 500)
    with Image.open(io.BytesIO(checked.thumbnail)) as thumb:
        assert (thumb.format, thumb.size) == ("JPEG", (320, 160))
    with Image.open(io.BytesIO(checked.content)) as stored:
        assert (stored.format, stored.size) == ("JPEG", (1000, 500))


@pytest.mark.parametrize("fmt", ["PNG", "GIF", "WEBP"])
def test_other_image_formats_become_jpeg_when_opaque(fmt):
    checked = check_upload(upload(image_bytes(fmt=fmt), f"x.{fmt.lower()}", "application/octet-stream"))
    assert (checked.kind, checked.content_type) == ("photo", "image/jpeg")
    assert Image.open(io.BytesIO(checked.content)).format == "JPEG"


def test_transparent_png_stays_png_with_its_alpha():
    checked = check_upload(upload(image_bytes(mode="RGBA", color=(0, 128, 0, 100), fmt="PNG"), "logo.png"))
    assert (checked.content_type, checked.extension) == ("image/png", ".png")
    with Image.open(io.BytesIO(checked.content)) as stored:
        assert stored.mode == "RGBA"
        assert stored.getpixel((0, 0))[3] == 100
    assert Image.open(io.BytesIO(checked.thumbnail)).format == "JPEG"


def test_an_opaque_alpha_channel_is_no_reason_for_png():
    checked = check_upload(upload(image_bytes(mode="RGBA", color=(0, 128, 0, 255), fmt="PNG"), "screen.png"))
    assert checked.content_type == "image/jpeg"


def test_reencoding_strips_exif_and_applies_orientation():
    original = jpeg_with_exif()
    assert b"TestCam" in original
    checked = check_upload(upload(original, "IMG_0001.JPG"))
    assert b"TestCam" not in checked.content
    assert b"Exif" not in checked.content
    with Image.open(io.BytesIO(checked.content)) as stored:
        assert not stored.getexif()
        assert "exif" not in stored.info
        assert "icc_profile" not in stored.info
        # Turned upright: 40 wide, 60 tall, the red (left) half now on top.
        assert stored.size == (40, 60)
        top, bottom = stored.convert("RGB").getpixel((20, 5)), stored.convert("RGB").getpixel((20, 55))
    assert top[0] > 200
    assert top[2] < 60
    assert bottom[2] > 200
    assert bottom[0] < 60
    assert (checked.width, checked.height) == (40, 60)
    assert checked.sha256 == uploads.sha256_of(original)  # the key for "same file twice" is the upload


def test_pdf_is_kept_as_uploaded():
    data = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    checked = check_upload(upload(data, "permit.pdf", "application/pdf"))
    assert (checked.kind, checked.content_type, checked.extension, checked.content) == ("document", "application/pdf", ".pdf", data)
    assert checked.thumbnail is None


def test_ooxml_document_is_recognised_by_its_content_types():
    data = zip_bytes({"[Content_Types].xml": content_types(DOCX_MAIN), "word/document.xml": b"<w:document/>"})
    checked = check_upload(upload(data, "quote.zip", "application/zip"))  # the name says zip: the content decides
    assert (checked.content_type, checked.extension) == ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx")


def test_macro_enabled_office_file_is_refused():
    data = zip_bytes({"[Content_Types].xml": content_types(DOCM_MAIN), "word/vbaProject.bin": b"\x00" * 10})
    assert refused(data, "invoice.docx").reason == "macros"


def test_opendocument_is_recognised_by_its_mimetype_entry():
    data = zip_bytes({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": b"<office:document-content/>"})
    checked = check_upload(upload(data, "readings.ods"))
    assert (checked.content_type, checked.extension) == ("application/vnd.oasis.opendocument.spreadsheet", ".ods")


def test_opendocument_with_basic_macros_is_refused():
    data = zip_bytes({"mimetype": b"application/vnd.oasis.opendocument.text", "Basic/Standard/Module1.xml": b"Sub Main"})
    assert refused(data, "letter.odt").reason == "macros"


def test_any_other_zip_is_refused():
    assert refused(zip_bytes({"evil.exe": b"MZ\x90\x00"}), "photos.zip").reason == "type"


def test_legacy_office_files_by_their_streams():
    word = uploads.OLE2_MAGIC + b"\x00" * 100 + "WordDocument".encode("utf-16-le") + b"\x00\x00" + b"\x00" * 100
    checked = check_upload(upload(word, "old.doc"))
    assert (checked.content_type, checked.extension) == ("application/msword", ".doc")
    macros = uploads.OLE2_MAGIC + b"\x00" * 100 + "WordDocument".encode("utf-16-le") + b"\x00\x00" + "_VBA_PROJECT".encode("utf-16-le") + b"\x00\x00"
    assert refused(macros, "old.doc").reason == "macros"


def test_plain_text_and_csv():
    csv = check_upload(upload("tag,reading\nsupply,41.5 °F\n".encode(), "readings.csv", "text/csv"))
    assert (csv.content_type, csv.extension) == ("text/csv", ".csv")
    text = check_upload(upload(b"\xef\xbb\xbfGate code changed to 4411\r\n", "note.txt"))
    assert (text.content_type, text.extension) == ("text/plain", ".txt")


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64, "setup.exe"),
        (b"\x7fELF\x02\x01\x01" + b"\x00" * 64, "tool"),
        (HTML_PAYLOAD, "page.html"),
        (b"  \n<!DOCTYPE html><p>hi</p>", "notes.txt"),
        (b"#!/bin/sh\nrm -rf /\n", "fix.txt"),
        (b"\x1f\x8b\x08\x00" + b"\x00" * 20, "logs.gz"),
        (b"\xff\xfe\x00\x00not utf8 \xc3\x28", "weird.csv"),
    ],
)
def test_executables_markup_and_unknown_bytes_are_refused(data, name):
    assert refused(data, name).reason == "type"


def test_clean_name_keeps_a_safe_display_name():
    assert clean_name("../../etc/passwd.jpg") == "passwd.jpg"
    assert clean_name("C:\\Users\\me\\..\\photo.png") == "photo.png"
    assert clean_name("invoice\u202egpj.exe") == "invoicegpj.exe"  # no right-to-left override trick
    assert clean_name("a\x00b\nc\t.pdf") == "abc.pdf"
    assert clean_name("...") == "upload"
    long = clean_name("x" * 300 + ".jpeg")
    assert len(long) == 200
    assert long.endswith(".jpeg")


# ---- the bad-input corpus, through the action: refused or neutralised, nothing half-stored ------------


@pytest.fixture
def job(db):  # type: ignore[no-untyped-def]
    return JobFactory()


def assert_refused_and_nothing_stored(owner, job, media, data: bytes, name: str, reason: str) -> None:
    events = JobEvent.objects.count()
    with pytest.raises(UploadRefused) as info:
        document_upload(actor=owner, job_id=job.pk, upload=upload(data, name), tag="before")
    assert info.value.reason == reason
    assert info.value.fields == {"file": info.value.message}
    assert not Document.objects.exists()
    assert JobEvent.objects.count() == events
    assert media_files(media) == []


def test_polyglot_png_followed_by_html_is_neutralised(owner, job, media):
    """A real PNG with an HTML page after its end: stored as pixels we wrote, the HTML is gone."""
    polyglot = image_bytes(fmt="PNG") + HTML_PAYLOAD
    document, created = document_upload(actor=owner, job_id=job.pk, upload=upload(polyglot, "shot.png", "text/html"))
    assert created
    assert document.content_type == "image/jpeg"
    stored = (media / document.file.name).read_bytes()
    assert b"<script" not in stored
    assert b"<html" not in stored
    assert Image.open(io.BytesIO(stored)).format == "JPEG"


def test_png_header_followed_by_html_is_refused(owner, job, media):
    """Only the signature of a PNG, then a page: not an image, and not accepted as anything else."""
    assert_refused_and_nothing_stored(owner, job, media, b"\x89PNG\r\n\x1a\n" + HTML_PAYLOAD, "x.png", "image")


def test_svg_with_a_script_is_refused(owner, job, media):
    assert_refused_and_nothing_stored(owner, job, media, SVG_WITH_SCRIPT, "diagram.svg", "type")


def test_path_traversal_name_is_only_a_display_name(owner, job, media):
    document, _ = document_upload(actor=owner, job_id=job.pk, upload=upload(image_bytes(), "../../../../etc/cron.d/evil.jpg"))
    assert document.original_name == "evil.jpg"
    files = media_files(media)
    assert len(files) == 2  # the photo and its thumbnail, both under the media folder's closeout/
    for path in files:
        assert path.resolve().is_relative_to((media / "closeout").resolve())
        assert "evil" not in path.name
        assert ".." not in str(path.relative_to(media))
    assert document.file.name.startswith("closeout/")
    assert len(Path(document.file.name).stem) == 32


def test_zero_byte_file_is_refused(owner, job, media):
    assert_refused_and_nothing_stored(owner, job, media, b"", "empty.jpg", "empty")


def test_file_one_byte_over_the_limit_is_refused(owner, job, media, settings):
    limit = uploads.DEFAULT_MAX_UPLOAD_BYTES
    assert settings.CLOSEOUT_MAX_UPLOAD_BYTES == limit == 20 * 1024 * 1024
    assert_refused_and_nothing_stored(owner, job, media, b"a" * (limit + 1), "big.txt", "too_large")


def test_file_at_the_limit_is_accepted(owner, job, media, settings):
    settings.CLOSEOUT_MAX_UPLOAD_BYTES = 4096
    document, created = document_upload(actor=owner, job_id=job.pk, upload=upload(b"a" * 4096, "exactly.txt"))
    assert created
    assert document.size == 4096
    with pytest.raises(UploadRefused, match="4 KB"):
        document_upload(actor=owner, job_id=job.pk, upload=upload(b"b" * 4097, "over.txt"))


def test_a_size_the_upload_misreports_is_still_enforced(settings):
    settings.CLOSEOUT_MAX_UPLOAD_BYTES = 100
    lying = upload(b"c" * 101, "small.txt")
    lying.size = 10
    with pytest.raises(UploadRefused) as info:
        check_upload(lying)
    assert info.value.reason == "too_large"


def test_decompression_bomb_is_refused(owner, job, media):
    bomb = png_bomb()
    assert len(bomb) < 200_000
    assert_refused_and_nothing_stored(owner, job, media, bomb, "bomb.png", "too_many_pixels")


def test_image_just_over_our_pixel_limit_is_refused_before_decoding(settings):
    settings.CLOSEOUT_MAX_IMAGE_PIXELS = 100 * 100
    assert refused(image_bytes((101, 100)), "big.jpg").reason == "too_many_pixels"
    assert check_upload(upload(image_bytes((100, 100)))).kind == "photo"


def test_truncated_image_is_refused(owner, job, media):
    whole = image_bytes((400, 300), fmt="PNG", compress_level=0)
    assert_refused_and_nothing_stored(owner, job, media, whole[: len(whole) // 2], "cut.png", "image")
