"""Not built yet."""

from django.http import Http404


def message_send(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404


def mute_toggle(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404


def resend(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404


def suppress(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404


def notify_now(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404


def inbox(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404
