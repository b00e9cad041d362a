"""The webhook form. It shapes input and gives the browser its hints; the actions validate everything
again (subscriptions.clean_subscription) and their field errors come back onto the form."""

from typing import Any

from django import forms

from serviceopus.automation.models import EventType
from serviceopus.automation.models.events import WEBHOOK_TYPES
from serviceopus.core.errors import InvalidInput
from serviceopus.core.text import reject_nul

from .subscriptions import NAME_MAX, URL_MAX, clean_subscription

EVENT_HELP = {
    EventType.JOB_CREATED: "A job is created, from any source.",
    EventType.JOB_STATUS_CHANGED: "A job moves to another status.",
    EventType.VISIT_STATUS_CHANGED: "A visit moves on: en route, arrived, working, paused, departed, completed, cancelled.",
    EventType.BLOCKER_OPENED: "A job gets a new completion blocker: an incident reported or reopened, a closeout requirement added.",
    EventType.INVOICE_ISSUED: "An invoice is issued (numbered).",
    EventType.PAYMENT_RECORDED: "A payment is recorded against an invoice.",
}


class SubscriptionForm(forms.Form):
    name = forms.CharField(max_length=NAME_MAX, validators=[reject_nul], help_text="Who receives it, e.g. Accounting system.")
    url = forms.CharField(
        max_length=URL_MAX,
        label="URL",
        help_text="http:// or https://. Each event is POSTed here as JSON; no user name or password in the URL.",
        widget=forms.URLInput(attrs={"class": "mono", "spellcheck": "false", "autocomplete": "off", "placeholder": "https://example.com/hooks/service-opus"}),
    )
    event_types = forms.MultipleChoiceField(
        choices=[(t.value, t.label) for t in WEBHOOK_TYPES],
        widget=forms.CheckboxSelectMultiple,
        label="Events",
        error_messages={"required": "Choose at least one event."},
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    wide_fields = ("url", "event_types")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def explain_all(self) -> None:
        """On an invalid form, add the action's own findings for the fields the form passed (a bad URL
        next to a missing event), so that one round shows every error."""
        event_types = self.data.getlist("event_types") if hasattr(self.data, "getlist") else self.data.get("event_types")
        try:
            clean_subscription(name=self.data.get("name", ""), url=self.data.get("url", ""), event_types=event_types)
        except InvalidInput as exc:
            for name, message in exc.fields.items():
                if name in self.fields and name not in self.errors:
                    self.add_error(name, message)

    def apply_errors(self, exc: InvalidInput) -> None:
        for name, message in exc.fields.items():
            self.add_error(name if name in self.fields else None, message)
        if not exc.fields:
            self.add_error(None, exc.message)


class VersionForm(forms.Form):
    """The version the admin read, sent back with a rotate, pause, resume or delete."""

    version = forms.IntegerField(min_value=0)
