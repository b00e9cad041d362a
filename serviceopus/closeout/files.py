"""Serving a stored closeout file (a document, a thumbnail, a signature) after the caller's access
check: as a response a browser cannot turn into a page of ours."""

from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404


def stored_file_response(field: FieldFile, *, content_type: str, filename: str, as_attachment: bool, max_age: int) -> FileResponse:
    """The stored content type with nosniff, a sandboxing CSP in case it is opened anyway, no use by
    other sites; a stored file never changes (an edit changes its row), so this user's browser may
    keep it for `max_age` seconds, never a shared cache."""
    if not field.name:
        raise Http404("There is no such file.")
    try:
        handle = field.open("rb")
    except (FileNotFoundError, ValueError) as exc:
        raise Http404("The stored file is missing.") from exc
    response = FileResponse(handle, content_type=content_type, as_attachment=as_attachment, filename=filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["Cache-Control"] = f"private, max-age={max_age}"
    return response
