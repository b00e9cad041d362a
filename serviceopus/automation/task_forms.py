"""The follow-up task form (the job's Tasks tab adds with it, the edit page changes with it). It shapes
the input and gives the browser its hints; the actions in tasks.py check everything again and their
field errors come back onto this form."""

from datetime import date
from typing import Any

from django import forms

from serviceopus.accounts.models import User
from serviceopus.accounts.roles import Role
from serviceopus.core.errors import InvalidInput

from .models import FollowUpTask
from .tasks import NOTES_MAX, OWNER_ROLES, TITLE_MAX

DATE_MIN, DATE_MAX = date(2000, 1, 1), date(2100, 12, 31)


def owner_value(task: FollowUpTask) -> str:
    return f"user:{task.owner_id}" if task.owner_id else f"role:{task.owner_role}" if task.owner_role else ""


class TaskForm(forms.Form):
    """`owner` is one select: "user:<id>" for a person, "role:<role>" for anyone in an office role."""

    title = forms.CharField(max_length=TITLE_MAX, error_messages={"required": "Say what needs doing."})
    owner = forms.ChoiceField(
        label="For",
        error_messages={"required": "Give the task to a person or to a role.", "invalid_choice": "Choose an active office user or an office role."},
    )
    due_date = forms.DateField(required=False, label="Due", widget=forms.DateInput(attrs={"type": "date"}))
    notes = forms.CharField(required=False, max_length=NOTES_MAX, widget=forms.Textarea(attrs={"rows": 3}))
    version = forms.IntegerField(required=False, min_value=1, max_value=2**31 - 1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, owners: list[User], **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [
            ("", "Choose…"),
            ("People", [(f"user:{u.pk}", u.display_name) for u in owners]),
            ("Anyone who is…", [(f"role:{role}", Role(role).label) for role in OWNER_ROLES]),
        ]

    @classmethod
    def for_task(cls, task: FollowUpTask, owners: list[User]) -> "TaskForm":
        initial = {"title": task.title, "owner": owner_value(task), "due_date": task.due_date, "notes": task.notes, "version": task.version}
        return cls(initial=initial, owners=owners)

    def clean_due_date(self) -> date | None:
        value = self.cleaned_data["due_date"]
        if value is not None and not DATE_MIN <= value <= DATE_MAX:
            raise forms.ValidationError("Enter a date between 2000 and 2100.")
        return value

    def action_kwargs(self) -> dict[str, Any]:
        kind, _, key = self.cleaned_data["owner"].partition(":")
        return {
            "title": self.cleaned_data["title"],
            "notes": self.cleaned_data["notes"],
            "owner_id": int(key) if kind == "user" else None,
            "owner_role": key if kind == "role" else "",
            "due_date": self.cleaned_data["due_date"],
        }

    def apply(self, exc: InvalidInput) -> None:
        """The action's field errors next to their fields; the rest above the form."""
        if not exc.fields:
            self.add_error(None, exc.message)
        for name, message in exc.fields.items():
            self.add_error(name if name in self.fields else None, message)
