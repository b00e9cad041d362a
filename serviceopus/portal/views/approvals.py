"""Not built yet."""

from django.http import Http404


def approval(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404


def approve(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404


def decline(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404
