"""The job workspace's Messages tab (registered in hooks.install) and what it posts, and the inbox.

The tab is for anyone who may open the job; technicians read it only. Every write needs
`messaging.message_customer`: the job is fetched through the same access query as the workspace (a
technician not on the job gets 404), then the capability is checked (403). Writes answer with the tab
when HTMX swaps #tab-area (status 409/422 for a refusal or form errors), else redirect back to it."""

from importlib import import_module
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from serviceopus.core.errors import DomainError, InvalidInput
from serviceopus.jobs.models import Job
from serviceopus.jobs.queries import access_job_for_user
from serviceopus.jobs.views.conventions import require_perm, wants_fragment
from serviceopus.jobs.views.workspace import render_workspace

from .. import queries
from ..actions import thread
from ..forms import NoticeSendForm, OfficeMessageForm, apply_errors
from ..models import Channel, Notice
from ..outbox import recipients

TAB = "messages"
PERM = thread.PERM
CHANNEL_WORDS = {Channel.EMAIL: "email", Channel.SMS: "text"}


def _section(module: str, name: str, request: HttpRequest, job: Job) -> dict[str, Any] | None:
    """Another part of messaging's section of the tab (portal links, approval requests), or None while
    that part is not there: the thread does not wait for it."""
    try:
        loader = getattr(import_module(module), name)
    except (ImportError, AttributeError):
        return None
    return loader(request, job)


def _channels(job: Job) -> list[dict[str, Any]]:
    """Each channel with the customer's address on it and whether it may be used."""
    addresses = recipients(job)
    opted_out = {Channel.EMAIL: job.customer.email_opt_out, Channel.SMS: job.customer.sms_opt_out}
    rows = []
    for value, label in ((Channel.EMAIL, "Email"), (Channel.SMS, "Text message")):
        note = "opted out" if opted_out[value] else "" if addresses[value] else "no " + ("address" if value == Channel.EMAIL else "number") + " on file"
        rows.append({"value": value.value, "label": label, "address": addresses[value], "usable": not note, "note": note})
    return rows


def messages_tab(request: HttpRequest, job: Job, **extra: Any) -> dict[str, Any]:
    can_message = request.user.has_perm(PERM)
    links = _section("serviceopus.messaging.views.links", "links_section", request, job)
    approvals = _section("serviceopus.messaging.views.approvals", "approvals_section", request, job)
    channels = _channels(job)
    usable = [c["value"] for c in channels if c["usable"]]
    return {
        "tab_template": "messaging/tab.html",
        "thread": queries.job_thread(job),
        "thread_limit": queries.THREAD_LIMIT,
        "can_message": can_message,
        "msg_channels": channels,
        "message_form": extra.get("message_form") or OfficeMessageForm(initial={"channels": usable[:1]}),
        "notice_form": extra.get("notice_form") or NoticeSendForm(initial={"channels": usable}),
        "manual_notices": thread.MANUAL_NOTICES,
        "has_links_section": links is not None,
        "has_approvals_section": approvals is not None,
        **(links or {}),
        **(approvals or {}),
    }


def _job(request: HttpRequest, job_id: int) -> Job:
    job = access_job_for_user(request.user, job_id)
    require_perm(request, PERM)
    return job


def _answer(request: HttpRequest, job_id: int, *, status: int = 200, **extra: Any) -> HttpResponse:
    """The tab for an HTMX swap; otherwise back to the tab (a plain form with field errors is shown
    again in the page, with its status)."""
    if wants_fragment(request, "tab-area") or (status == 422 and extra):
        return render_workspace(request, access_job_for_user(request.user, job_id), TAB, status=status, **extra)
    return redirect(reverse("jobs:tab", args=[job_id, TAB]))


def _refused(request: HttpRequest, job_id: int, exc: DomainError) -> HttpResponse:
    messages.error(request, exc.message)
    return _answer(request, job_id, status=exc.http_status)


@login_required
@require_POST
def message_send(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job(request, job_id)
    form = OfficeMessageForm(request.POST)
    if form.is_valid():
        try:
            thread.office_message_send(actor=request.user, job_id=job.pk, body=form.cleaned_data["body"], channels=form.cleaned_data["channels"])
        except InvalidInput as exc:
            apply_errors(form, exc)
        except DomainError as exc:
            return _refused(request, job.pk, exc)
        else:
            sent = [CHANNEL_WORDS.get(c, c) for c in form.cleaned_data["channels"]]
            how = f" and sent by {' and '.join(sent)}" if sent else ""
            messages.success(request, f"Message posted on the customer's job page{how}.")
            return _answer(request, job.pk)
    return _answer(request, job.pk, status=422, message_form=form)


@login_required
@require_POST
def notify_now(request: HttpRequest, job_id: int) -> HttpResponse:
    """The "Send …" menu: the appointment confirmation or the portal link, now, by hand."""
    job = _job(request, job_id)
    form = NoticeSendForm(request.POST)
    if form.is_valid():
        try:
            written = thread.notice_send(actor=request.user, job_id=job.pk, notice=form.cleaned_data["notice"], channels=form.cleaned_data["channels"])
        except InvalidInput as exc:
            apply_errors(form, exc)
        except DomainError as exc:
            return _refused(request, job.pk, exc)
        else:
            label = Notice(form.cleaned_data["notice"]).label
            skipped = [m for m in written if m.skip_reason]
            if len(skipped) == len(written):
                messages.warning(request, f"{label} not sent: " + " ".join(m.skip_reason for m in skipped))
            else:
                note = (" Not by " + ", ".join(f"{CHANNEL_WORDS[m.channel]}: {m.skip_reason}" for m in skipped)) if skipped else ""
                messages.success(request, f"{label} is on its way to the customer.{note}")
            return _answer(request, job.pk)
    return _answer(request, job.pk, status=422, notice_form=form)


@login_required
@require_POST
def mute_toggle(request: HttpRequest, job_id: int) -> HttpResponse:
    """`mute=1` turns the job's automatic notifications off, `mute=0` on again."""
    job = _job(request, job_id)
    want = request.POST.get("mute")
    if want not in ("0", "1"):
        messages.error(request, "Say whether to turn automatic notifications off or on.")
        return _answer(request, job.pk, status=422)
    try:
        if want == "1":
            thread.notifications_mute(actor=request.user, job_id=job.pk)
        else:
            thread.notifications_unmute(actor=request.user, job_id=job.pk)
    except DomainError as exc:
        return _refused(request, job.pk, exc)
    messages.success(request, "Automatic notifications are off for this job." if want == "1" else "Automatic notifications are on again for this job.")
    return _answer(request, job.pk)


@login_required
@require_POST
def resend(request: HttpRequest, job_id: int, message_id: int) -> HttpResponse:
    job = _job(request, job_id)
    try:
        copy = thread.message_resend(actor=request.user, job_id=job.pk, message_id=message_id)
    except DomainError as exc:
        return _refused(request, job.pk, exc)
    messages.success(request, f"{copy.get_notice_display()} will be sent again to {copy.recipient}.")
    return _answer(request, job.pk)


@login_required
@require_POST
def suppress(request: HttpRequest, job_id: int, message_id: int) -> HttpResponse:
    job = _job(request, job_id)
    try:
        message = thread.message_suppress(actor=request.user, job_id=job.pk, message_id=message_id)
    except DomainError as exc:
        return _refused(request, job.pk, exc)
    messages.success(request, f"{message.get_notice_display()} ({message.get_channel_display().lower()}) will not be sent.")
    return _answer(request, job.pk)


@login_required
@require_POST
def mark_read(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job(request, job_id)
    try:
        count = thread.messages_mark_read(actor=request.user, job_id=job.pk)
    except DomainError as exc:
        return _refused(request, job.pk, exc)
    messages.success(request, f"Marked {count} message{'s' if count != 1 else ''} read." if count else "Nothing unread on this job.")
    return _answer(request, job.pk)


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    """What customers sent that nobody has read yet, and approval decisions not acknowledged."""
    require_perm(request, PERM)
    page, entries = queries.inbox_page(request.GET.get("page"))
    context = {
        "page": page,
        "entries": entries,
        "can_edit_templates": request.user.has_perm("messaging.edit_templates"),
        "nav_active": "inbox",
    }
    return render(request, "messaging/inbox.html", context)
