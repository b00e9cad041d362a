"""Forms of the office's messaging pages. They shape the input and give the browser its hints; the
actions validate again (thread.py, templates.py), and their field errors come back onto these forms."""

from typing import Any

from django import forms

from serviceopus.core.errors import InvalidInput
from serviceopus.core.text import reject_nul

from .actions.thread import BODY_MAX, MANUAL_NOTICES
from .models import Channel, Notice

CHANNEL_CHOICES = [(Channel.EMAIL.value, "Email"), (Channel.SMS.value, "Text message")]


def apply_errors(form: forms.Form, exc: InvalidInput) -> None:
    """The action's field errors on the form's fields (the others above the form)."""
    for name, message in exc.fields.items():
        form.add_error(name if name in form.fields else None, message)
    if not exc.fields:
        form.add_error(None, exc.message)


class OfficeMessageForm(forms.Form):
    """A message to the customer. It always shows on the customer's job page; ticked channels also
    carry it by email and text message."""

    body = forms.CharField(
        label="Message to the customer",
        max_length=BODY_MAX,
        validators=[reject_nul],
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Write to the customer…"}),
    )
    channels = forms.MultipleChoiceField(
        label="Also send by", choices=CHANNEL_CHOICES, required=False, widget=forms.CheckboxSelectMultiple, initial=[Channel.EMAIL.value]
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class NoticeSendForm(forms.Form):
    """The "Send …" menu: a notice sent by hand."""

    notice = forms.ChoiceField(choices=[(n.value, n.label) for n in MANUAL_NOTICES])
    channels = forms.MultipleChoiceField(choices=CHANNEL_CHOICES, widget=forms.CheckboxSelectMultiple, initial=[c for c, _ in CHANNEL_CHOICES])


class TemplateForm(forms.Form):
    """The wording of one notice on one channel; `template_id` and `version` say what the editor was
    shown (none and 0: the default), so a stale save is refused."""

    subject = forms.CharField(label="Subject", required=False, max_length=200, validators=[reject_nul])
    body = forms.CharField(label="Message", validators=[reject_nul], widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "true"}))
    template_id = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    version = forms.IntegerField(min_value=0, widget=forms.HiddenInput)

    def __init__(self, *args: Any, channel: str, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.channel = channel
        if channel == Channel.SMS:
            # A text message has no subject: the field is not offered.
            del self.fields["subject"]
            self.fields["body"].widget.attrs["rows"] = 5
        else:
            self.fields["subject"].required = True

    def action_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {"subject": data.get("subject", ""), "body": data["body"], "version": data["version"], "template_id": data.get("template_id")}


NOTICE_LABELS = dict(Notice.choices)
