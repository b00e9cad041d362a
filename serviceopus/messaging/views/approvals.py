"""Not built yet."""

from django.http import Http404


def approval_new(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404


def approval_detail(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404


def approval_withdraw(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404
