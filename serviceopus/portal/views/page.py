"""Not built yet."""

from django.http import Http404


def open_link(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404


def job_page(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404


def progress(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404


def message_send(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404


def document(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404


def report(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404


def invoice_pdf(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404


def technician_photo(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404
