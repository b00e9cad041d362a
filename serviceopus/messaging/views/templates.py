"""Not built yet."""

from django.http import Http404


def template_list(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404


def template_edit(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404
