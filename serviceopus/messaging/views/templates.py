"""The notification templates page (owners and managers: `messaging.edit_templates`): every notice on
every channel with the wording in use, and an editor with the variables, a preview rendered with sample
values, and "Reset to default"."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template import Context
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.jobs.views.conventions import require_perm

from ..actions import templates as actions
from ..forms import TemplateForm, apply_errors
from ..models import Channel, MessageTemplate, Notice
from ..notices import DEFAULTS, ENGINE, SMS_MAX_CHARS, VARIABLES

PERM = actions.PERM
NAV = "inbox"


def _sample() -> dict[str, str]:
    """The sample values, with the company's own name and phone where billing has them."""
    from serviceopus.billing.models import BillingSettings

    company = BillingSettings.current()
    return actions.SAMPLE | {"company_name": company.company_name or actions.SAMPLE["company_name"], "company_phone": company.company_phone}


def _preview(subject: str, body: str, sample: dict[str, str]) -> dict[str, str] | None:
    """The message as a customer would read it with sample values; None when it does not render."""
    try:
        return {
            "subject": ENGINE.from_string(subject).render(Context(sample, autoescape=False)).strip() if subject else "",
            "body": ENGINE.from_string(body).render(Context(sample, autoescape=False)).strip(),
        }
    except Exception:  # the form shows why; the preview just stays empty
        return None


@login_required
@require_GET
def template_list(request: HttpRequest) -> HttpResponse:
    require_perm(request, PERM)
    rows_by_key = {(t.notice, t.channel): t for t in MessageTemplate.objects.select_related("updated_by")}
    rows = []
    for notice in actions.EDITABLE:
        for channel in (Channel.EMAIL, Channel.SMS):
            own = rows_by_key.get((notice, channel))
            default = DEFAULTS[(notice, channel)]
            rows.append(
                {
                    "notice": notice,
                    "notice_label": Notice(notice).label,
                    "channel": channel.value,
                    "channel_label": channel.label,
                    "subject": own.subject if own else default.subject,
                    "body": own.body if own else default.body,
                    "own": own,
                }
            )
    return render(request, "messaging/templates_list.html", {"rows": rows, "nav_active": NAV})


def _editor(
    request: HttpRequest, notice: str, channel: str, form: TemplateForm, own: MessageTemplate | None, *, status: int = 200, **extra: Any
) -> HttpResponse:
    sample = _sample()
    if form.is_bound and hasattr(form, "cleaned_data"):
        subject, body = form.cleaned_data.get("subject", "") or "", form.cleaned_data.get("body", "") or ""
    else:
        subject, body = form.initial.get("subject", ""), form.initial.get("body", "")
    context = {
        "form": form,
        "notice": notice,
        "notice_label": Notice(notice).label,
        "channel": channel,
        "channel_label": Channel(channel).label,
        "own": own,
        "default": DEFAULTS[(notice, channel)],
        "variables": VARIABLES,
        "sample": sample,
        "preview": _preview(subject, body, sample) if body and not form.errors else None,
        "sms_max": SMS_MAX_CHARS,
        "nav_active": NAV,
        **extra,
    }
    return render(request, "messaging/template_edit.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def template_edit(request: HttpRequest, notice: str, channel: str) -> HttpResponse:
    """GET: the editor. POST `action=preview`: the preview of what was typed, nothing saved; `save`:
    save it; `reset`: back to the default wording."""
    require_perm(request, PERM)
    if notice not in actions.EDITABLE or channel not in Channel.values:
        raise Http404("No such template.")
    own = MessageTemplate.objects.filter(notice=notice, channel=channel).first()
    default = DEFAULTS[(notice, channel)]
    if request.method == "GET":
        initial = {
            "subject": own.subject if own else default.subject,
            "body": own.body if own else default.body,
            "template_id": own.pk if own else None,
            "version": own.version if own else 0,
        }
        return _editor(request, notice, channel, TemplateForm(initial=initial, channel=channel), own)

    action = request.POST.get("action", "save")
    back = reverse("messaging:template_edit", args=[notice, channel])
    form = TemplateForm(request.POST, channel=channel)
    if action == "reset":
        if not form.is_valid() and ("version" in form.errors or "template_id" in form.errors):
            messages.error(request, "The form was incomplete; reload the page and try again.")
            return redirect(back)
        try:
            actions.template_reset(
                actor=request.user, notice=notice, channel=channel, version=form.cleaned_data["version"], template_id=form.cleaned_data.get("template_id")
            )
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect(back)
        messages.success(request, f"{Notice(notice).label} ({Channel(channel).label.lower()}) uses the default wording again.")
        return redirect(back)
    if not form.is_valid():
        return _editor(request, notice, channel, form, own, status=422)
    if action == "preview":
        try:
            actions.validate(channel, form.cleaned_data.get("subject", ""), form.cleaned_data["body"])
        except InvalidInput as exc:
            apply_errors(form, exc)
            return _editor(request, notice, channel, form, own, status=422)
        return _editor(request, notice, channel, form, own, previewing=True)
    try:
        actions.template_save(actor=request.user, notice=notice, channel=channel, **form.action_kwargs())
    except InvalidInput as exc:
        apply_errors(form, exc)
        return _editor(request, notice, channel, form, own, status=422)
    except ConflictError as exc:
        form.add_error(None, exc.message)
        current = MessageTemplate.objects.filter(notice=notice, channel=channel).first()
        return _editor(request, notice, channel, form, current, status=409, stale=True)
    messages.success(request, f"Saved the {Channel(channel).label.lower()} wording of “{Notice(notice).label}”.")
    return redirect(back)
