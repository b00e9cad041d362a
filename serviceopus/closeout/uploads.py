"""Checking an uploaded file before anything is stored: what it really is (from its bytes, never from
its name or the browser's content type), whether it is small enough, and what we store of it.

Accepted: photos (JPEG, PNG, GIF, WebP), PDF, Office documents (docx/xlsx/pptx without macros, legacy
doc/xls/ppt without macros, OpenDocument text/spreadsheet/presentation) and plain UTF-8 text or CSV.
Everything else — SVG, HTML, scripts, executables, archives, anything unrecognised — is refused.

Images are decoded and re-encoded: what we store is pixels we wrote ourselves, so metadata (GPS,
camera serials), trailing payloads (a PNG followed by HTML) and malformed chunks do not survive.
Other files are stored byte for byte and only ever served as downloads (see views/documents.py).
"""

import contextlib
import hashlib
import io
import re
import unicodedata
import warnings
import zipfile
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from serviceopus.core.errors import InvalidInput

DEFAULT_MAX_UPLOAD_BYTES = 20 * 1024 * 1024
# 50 megapixels covers full-resolution phone cameras (48 MP sensors) with room to spare; decoding
# that takes ~150 MB as RGB. Anything larger is far more likely a decompression bomb than a photo.
DEFAULT_MAX_IMAGE_PIXELS = 50_000_000
THUMBNAIL_SIZE = 320
JPEG_QUALITY = 85
THUMBNAIL_QUALITY = 80
MAX_NAME_LENGTH = 200
# A [Content_Types].xml or ODF manifest is a few KB; a huge one is a zip bomb, not a document.
MAX_ZIP_MEMBER_BYTES = 1024 * 1024

IMAGE_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}

OOXML_MAIN_TYPES = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ".docx",
    ),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ".xlsx",
    ),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": (
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ".pptx",
    ),
}
OPENDOCUMENT_TYPES = {
    "application/vnd.oasis.opendocument.text": ".odt",
    "application/vnd.oasis.opendocument.spreadsheet": ".ods",
    "application/vnd.oasis.opendocument.presentation": ".odp",
}
# Legacy Office files are OLE2 containers; the stream names (UTF-16LE in the directory) say which.
OLE2_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
OLE2_STREAMS = (
    ("WordDocument", "application/msword", ".doc"),
    ("Workbook", "application/vnd.ms-excel", ".xls"),
    ("Book", "application/vnd.ms-excel", ".xls"),
    ("PowerPoint Document", "application/vnd.ms-powerpoint", ".ppt"),
)
OLE2_MACRO_STREAMS = ("_VBA_PROJECT", "VBA", "Macros")
# Browsers have sniffed HTML out of text/plain in the past; a "text" file that opens like markup is
# an HTML or SVG document in disguise, and a script with a #! line is no field note either.
MARKUP_START = re.compile(rb"^\s*(<|#!)")
MARKUP_ANYWHERE = re.compile(rb"<\s*(html|script|svg|body|iframe|!doctype|\?xml|object|embed)\b", re.IGNORECASE)


def stored_content_types() -> list[str]:
    """Every content type a stored file can have (what the file endpoints may answer with)."""
    types = ["image/jpeg", "image/png", "application/pdf", "text/plain", "text/csv"]
    types += [t for t, _ in OOXML_MAIN_TYPES.values()] + list(OPENDOCUMENT_TYPES) + [t for _, t, _ in OLE2_STREAMS]
    return list(dict.fromkeys(types))


class UploadRefused(InvalidInput):
    """The file is not one we accept; `reason` is a stable code (empty, too_large, type, image, …).
    The message names the file, so a batch upload can report each refusal on its own line."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message, {"file": message})
        self.reason = reason


@dataclass(frozen=True)
class CheckedUpload:
    """What will be stored for one accepted upload."""

    kind: str  # Document.Kind value: "photo" or "document"
    content_type: str
    extension: str  # of the stored file, from the detected type (".jpg", ".pdf", …)
    content: bytes  # the bytes to store: re-encoded for images, as uploaded otherwise
    sha256: str  # of the bytes as uploaded, so the same file sent twice is recognised
    original_name: str  # sanitised, for display only
    thumbnail: bytes | None = None
    width: int | None = None
    height: int | None = None


def max_upload_bytes() -> int:
    return int(getattr(settings, "CLOSEOUT_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES))


def max_image_pixels() -> int:
    return int(getattr(settings, "CLOSEOUT_MAX_IMAGE_PIXELS", DEFAULT_MAX_IMAGE_PIXELS))


def human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.0f} MB" if size % (1024 * 1024) == 0 else f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} bytes"


def clean_name(name: str | None) -> str:
    """The name to show for an upload: its last path component only, without control or formatting
    characters (a right-to-left override can disguise "gpj.exe" as "exe.jpg"), at most 200 characters
    with the extension kept. Never used as a path: stored names are random (models.random_upload_name)."""
    raw = unicodedata.normalize("NFC", str(name or ""))
    base = re.split(r"[\\/]", raw)[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Zl", "Zp"))
    base = " ".join(base.split()).strip(" .")
    if not base:
        return "upload"
    if len(base) > MAX_NAME_LENGTH:
        stem, dot, ext = base.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            base = stem[: MAX_NAME_LENGTH - len(ext) - 1].rstrip(" .") + "." + ext
        else:
            base = base[:MAX_NAME_LENGTH]
    return base


def read_upload(upload: IO[bytes] | Any, limit: int, label: str) -> bytes:
    """All of the upload's bytes, refusing it once it is known to be larger than `limit`: the size the
    upload reports is checked first, then no more than limit + 1 bytes are read (the reported size
    could be wrong)."""
    reported = getattr(upload, "size", None)
    if isinstance(reported, int) and reported > limit:
        raise UploadRefused("too_large", f"{label} is {human_size(reported)}; files may be at most {human_size(limit)}.")
    if hasattr(upload, "seek"):
        with contextlib.suppress(OSError, ValueError):
            upload.seek(0)
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise UploadRefused("too_large", f"{label} is larger than {human_size(limit)}, the most a file may be.")
    if not data:
        raise UploadRefused("empty", f"{label} is empty (0 bytes); nothing was uploaded.")
    return bytes(data)


def check_upload(upload: IO[bytes] | Any) -> CheckedUpload:
    """Check one uploaded file (a Django UploadedFile or any file object with a name) and return what to
    store, or raise UploadRefused saying why not. Reads the file; stores nothing."""
    data, original_name = read(upload)
    return inspect(data, original_name)


def read(upload: IO[bytes] | Any) -> tuple[bytes, str]:
    """The upload's bytes (size-checked) and its display name. Cheap: lets a caller recognise a file it
    already has (by sha256) before paying for `inspect`."""
    original_name = clean_name(getattr(upload, "name", ""))
    return read_upload(upload, max_upload_bytes(), f"“{original_name}”"), original_name


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def inspect(data: bytes, original_name: str) -> CheckedUpload:
    """What to store for these uploaded bytes, or UploadRefused. Images are decoded and re-encoded here."""
    label = f"“{original_name}”"
    if not data:
        raise UploadRefused("empty", f"{label} is empty (0 bytes); nothing was uploaded.")
    if len(data) > max_upload_bytes():
        raise UploadRefused("too_large", f"{label} is larger than {human_size(max_upload_bytes())}, the most a file may be.")
    sha256 = sha256_of(data)
    common = {"sha256": sha256, "original_name": original_name}

    image_format = _image_format(data)
    if image_format:
        return _checked_image(data, image_format, label, common)
    if data.startswith(b"%PDF-"):
        return CheckedUpload(kind="document", content_type="application/pdf", extension=".pdf", content=data, **common)
    if data.startswith(b"PK\x03\x04"):
        content_type, extension = _zip_document(data, label)
        return CheckedUpload(kind="document", content_type=content_type, extension=extension, content=data, **common)
    if data.startswith(OLE2_MAGIC):
        content_type, extension = _ole2_document(data, label)
        return CheckedUpload(kind="document", content_type=content_type, extension=extension, content=data, **common)
    if _is_plain_text(data):
        is_csv = original_name.lower().endswith(".csv")
        # Text versus CSV cannot be told from the bytes; the name only picks the label, the checks are the same.
        return CheckedUpload(
            kind="document",
            content_type="text/csv" if is_csv else "text/plain",
            extension=".csv" if is_csv else ".txt",
            content=data,
            **common,
        )
    raise UploadRefused("type", f"{label} is not a file type we accept. Upload photos (JPEG, PNG, GIF, WebP), PDFs, Office documents or plain text.")


# ---- images -------------------------------------------------------------------------------------


def _image_format(data: bytes) -> str:
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return ""


def _checked_image(data: bytes, image_format: str, label: str, common: dict[str, str]) -> CheckedUpload:
    image = _decode(data, image_format, label)
    try:
        has_alpha = _has_transparency(image)
        if has_alpha:
            pixels = image.convert("RGBA")
            content = _encode(pixels, "PNG")
            content_type, extension = "image/png", ".png"
        else:
            pixels = image.convert("RGB")
            content = _encode(pixels, "JPEG", quality=JPEG_QUALITY)
            content_type, extension = "image/jpeg", ".jpg"
        thumbnail = _thumbnail(pixels)
        return CheckedUpload(
            kind="photo",
            content_type=content_type,
            extension=extension,
            content=content,
            thumbnail=thumbnail,
            width=pixels.width,
            height=pixels.height,
            **common,
        )
    except (OSError, ValueError, MemoryError) as exc:
        raise UploadRefused("image", f"{label} could not be processed as an image.") from exc


def _decode(data: bytes, image_format: str, label: str) -> Image.Image:
    """Decode the whole image (only as the format its bytes claim), refusing it when it is damaged or
    larger than we are willing to decode. Returns it upright (EXIF orientation applied), in sRGB."""
    limit = max_image_pixels()
    bomb = UploadRefused("too_many_pixels", f"{label} is too large an image to process (more than {limit // 1_000_000} megapixels).")
    broken = UploadRefused("image", f"{label} is not a valid {image_format} image (it may be damaged or cut off).")
    with warnings.catch_warnings():
        # Pillow warns, then errors, on images over its own pixel limit; either is a refusal here.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=[image_format]) as probe:
                if probe.width * probe.height > limit or probe.width < 1 or probe.height < 1:
                    raise bomb
                probe.verify()
            image = Image.open(io.BytesIO(data), formats=[image_format])
            if getattr(image, "n_frames", 1) > 1:
                image.seek(0)  # an animated GIF/WebP keeps its first frame
            image.load()
            icc_profile = image.info.get("icc_profile")
            image = ImageOps.exif_transpose(image) or image
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise bomb from exc
        except UploadRefused:
            raise
        except UnidentifiedImageError as exc:
            raise broken from exc
        except Exception as exc:
            # Pillow's decoders raise many kinds of error on crafted input; each means "not a valid image".
            raise broken from exc
    return _to_srgb(image, icc_profile)


def _to_srgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """Convert pixels from the embedded colour profile to sRGB, so dropping the profile with the rest
    of the metadata does not shift the colours (phones shoot in Display P3)."""
    if not icc_profile or image.mode not in ("RGB", "RGBA"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        converted = ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode=image.mode)
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image  # a broken profile: keep the pixels as they are
    return converted or image


def _has_transparency(image: Image.Image) -> bool:
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        alpha = image.convert("RGBA").getchannel("A")
        low, _ = alpha.getextrema()
        return bool(low < 255)
    return False


def _encode(image: Image.Image, image_format: str, **options: Any) -> bytes:
    """Fresh bytes from pixels only: no EXIF, XMP, ICC, comments or text chunks are passed to the encoder."""
    buffer = io.BytesIO()
    if image_format == "JPEG":
        image.save(buffer, "JPEG", optimize=True, **options)
    else:
        image.save(buffer, image_format, optimize=True)
    return buffer.getvalue()


def _thumbnail(image: Image.Image) -> bytes:
    thumb = image.copy()
    thumb.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE), Image.Resampling.LANCZOS)
    if thumb.mode == "RGBA":
        # Thumbnails are JPEG: transparent areas show on white, as they would on the page.
        background = Image.new("RGB", thumb.size, (255, 255, 255))
        background.paste(thumb, mask=thumb.getchannel("A"))
        thumb = background
    return _encode(thumb.convert("RGB"), "JPEG", quality=THUMBNAIL_QUALITY)


# ---- documents ----------------------------------------------------------------------------------


def _zip_member(archive: zipfile.ZipFile, name: str) -> bytes | None:
    try:
        info = archive.getinfo(name)
    except KeyError:
        return None
    if info.file_size > MAX_ZIP_MEMBER_BYTES:
        return None
    with archive.open(info) as member:
        return member.read(MAX_ZIP_MEMBER_BYTES + 1)[:MAX_ZIP_MEMBER_BYTES]


def _zip_document(data: bytes, label: str) -> tuple[str, str]:
    """An OOXML (docx/xlsx/pptx) or OpenDocument file; any other ZIP is refused."""
    unsupported = UploadRefused("type", f"{label} is a ZIP archive, not an Office document we accept.")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            content_types = _zip_member(archive, "[Content_Types].xml")
            if content_types is not None:
                return _ooxml_type(content_types, names, label)
            mimetype = _zip_member(archive, "mimetype")
            if mimetype is not None:
                return _opendocument_type(mimetype, names, label)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError, RuntimeError, ValueError) as exc:
        raise UploadRefused("type", f"{label} looks like an Office document but is damaged.") from exc
    raise unsupported


def _ooxml_type(content_types: bytes, names: list[str], label: str) -> tuple[str, str]:
    declared = {m.decode("ascii", "replace").strip().lower() for m in re.findall(rb'ContentType\s*=\s*"([^"]{1,200})"', content_types)}
    if any("macroenabled" in t or "vbaproject" in t for t in declared) or any(n.lower().endswith("vbaproject.bin") for n in names):
        raise UploadRefused("macros", f"{label} contains macros; macro-enabled Office files are not accepted. Save it as .docx, .xlsx or .pptx.")
    for main_type, result in OOXML_MAIN_TYPES.items():
        if main_type in declared:
            return result
    raise UploadRefused("type", f"{label} is not a Word, Excel or PowerPoint document we accept.")


def _opendocument_type(mimetype: bytes, names: list[str], label: str) -> tuple[str, str]:
    kind = mimetype.decode("ascii", "replace").strip()
    if kind not in OPENDOCUMENT_TYPES:
        raise UploadRefused("type", f"{label} is not an OpenDocument text, spreadsheet or presentation.")
    if any(n.startswith(("Basic/", "Scripts/")) for n in names):
        raise UploadRefused("macros", f"{label} contains macros; documents with macros are not accepted.")
    return kind, OPENDOCUMENT_TYPES[kind]


def _ole2_document(data: bytes, label: str) -> tuple[str, str]:
    """A legacy .doc/.xls/.ppt. Without parsing the container, the directory's UTF-16 stream names say
    what it holds; a VBA project means macros, which are refused."""

    def has_stream(name: str) -> bool:
        return name.encode("utf-16-le") + b"\x00\x00" in data

    if any(has_stream(name) for name in OLE2_MACRO_STREAMS):
        raise UploadRefused("macros", f"{label} contains macros; Office files with macros are not accepted.")
    for stream, content_type, extension in OLE2_STREAMS:
        if has_stream(stream):
            return content_type, extension
    raise UploadRefused("type", f"{label} is not a Word, Excel or PowerPoint document we accept.")


def _is_plain_text(data: bytes) -> bool:
    if b"\x00" in data:
        return False
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    if MARKUP_START.match(body) or MARKUP_ANYWHERE.search(body[:4096]):
        return False
    # Other control characters than tab, newlines and form feed mean binary data that happens to decode.
    return not any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\f" for ch in text[:65536])
