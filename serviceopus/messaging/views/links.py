"""Not built yet."""

from django.http import Http404


def link_create_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404


def link_revoke_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404
