"""The scheduling forms of the job's Crew & schedule tab. They parse what the browser sends (a local date
and times) into what dispatch.actions takes (aware datetimes, technician ids); the domain rules
(window order, crew, availability) stay in the actions, whose field errors land back on these fields."""

from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.utils import timezone

from serviceopus.core.errors import InvalidInput
from serviceopus.crew.models import Technician

from .actions import MAX_DAYS
from .models import Visit

# The actions name some fields differently from the form.
ACTION_FIELDS = {"start": "start_time", "lead_id": "lead", "helper_ids": "helpers"}
SUGGEST_FIELDS = ("date", "start_time", "duration_minutes")


def _aware(day: date, moment: time) -> datetime:
    return timezone.make_aware(datetime.combine(day, moment))


class VisitForm(forms.Form):
    """Schedule a new visit (`for_new=True`: with the number of days) or edit one (with its version)."""

    date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    start_time = forms.TimeField(label="Start", required=False, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    duration_minutes = forms.IntegerField(label="Duration (minutes)", min_value=5, max_value=24 * 60, widget=forms.NumberInput(attrs={"step": 15}))
    window_start = forms.TimeField(label="Arrival from", required=False, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    window_end = forms.TimeField(label="Arrival until", required=False, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    lead = forms.TypedChoiceField(label="Lead technician", coerce=int, required=False, empty_value=None)
    helpers = forms.TypedMultipleChoiceField(coerce=int, required=False, widget=forms.CheckboxSelectMultiple)
    days = forms.IntegerField(
        label="Number of days", min_value=1, max_value=MAX_DAYS, initial=1, help_text="Multi-day work: one visit per day, same time and crew."
    )
    crew_notes = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))
    locked = forms.BooleanField(
        label="Lock for day planning", required=False, help_text="Plan day keeps this visit's technician and start (the customer was promised them)."
    )
    override_reason = forms.CharField(label="Override reason", required=False, max_length=300)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    # The one-click assign of a crew suggestion: the technician becomes the lead.
    assign = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, widget=forms.HiddenInput)

    def __init__(self, *args: Any, technicians: list[Technician], for_new: bool, **kwargs: Any) -> None:
        super().__init__(*args, label_suffix="", **kwargs)
        choices = [(t.pk, t.name) for t in technicians]
        self.fields["lead"].choices = [("", "No crew yet"), *choices]
        self.fields["helpers"].choices = choices
        self.fields["assign"].choices = choices
        self.for_new = for_new
        if not for_new:
            del self.fields["days"]
        else:
            del self.fields["locked"]

    @classmethod
    def initial_for_visit(cls, visit: Visit) -> dict[str, Any]:
        crew = list(visit.crew.all())
        initial: dict[str, Any] = {
            "duration_minutes": visit.duration_minutes,
            "lead": next((c.technician_id for c in crew if c.is_lead), None),
            "helpers": [c.technician_id for c in crew if not c.is_lead],
            "crew_notes": visit.crew_notes,
            "locked": visit.locked,
            "version": visit.version,
        }
        if visit.scheduled_start:
            start = timezone.localtime(visit.scheduled_start)
            initial.update(date=start.date(), start_time=start.time().replace(second=0, microsecond=0))
        if visit.window_start and visit.window_end:
            initial.update(window_start=timezone.localtime(visit.window_start).time(), window_end=timezone.localtime(visit.window_end).time())
        return initial

    @classmethod
    def initial_for_new(cls, duration_minutes: int) -> dict[str, Any]:
        return {"date": timezone.localdate() + timedelta(days=1), "start_time": time(8), "duration_minutes": min(max(duration_minutes, 5), 24 * 60), "days": 1}

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        day, start_time = data.get("date"), data.get("start_time")
        if "date" in self.errors or "start_time" in self.errors:
            return data
        if day and not start_time:
            self.add_error("start_time", "Choose a start time for this date.")
        elif start_time and not day:
            self.add_error("date", "Choose a date for this start time.")
        elif not day and (data.get("window_start") or data.get("window_end")):
            self.add_error("date", "Choose a date for the arrival window.")
        assign = data.get("assign")
        if assign:
            data["lead"] = assign
            data["helpers"] = [h for h in data.get("helpers") or [] if h != assign]
        return data

    def start(self) -> datetime | None:
        day, moment = self.cleaned_data.get("date"), self.cleaned_data.get("start_time")
        return _aware(day, moment) if day and moment else None

    def has_slot_for_suggestions(self) -> bool:
        """True when the date, start and duration are valid: enough to rank technicians."""
        return not any(name in self.errors for name in SUGGEST_FIELDS) and self.start() is not None and bool(self.cleaned_data.get("duration_minutes"))

    def suggestion_errors(self) -> None:
        if "date" not in self.errors and "start_time" not in self.errors and self.start() is None:
            self.add_error("start_time", "Choose a date and start time to get crew suggestions.")

    def schedule_kwargs(self) -> dict[str, Any]:
        """Arguments for actions.visit_schedule (and the time part of visit_update)."""
        data = self.cleaned_data
        day = data.get("date")
        # One end alone is passed on as it is: the action says which end is missing, next to it.
        window_start = _aware(day, data["window_start"]) if day and data.get("window_start") else None
        window_end = _aware(day, data["window_end"]) if day and data.get("window_end") else None
        kwargs = {
            "start": self.start(),
            "duration_minutes": data["duration_minutes"],
            "window_start": window_start,
            "window_end": window_end,
            "lead_id": data.get("lead"),
            "helper_ids": list(data.get("helpers") or []),
            "crew_notes": data.get("crew_notes") or "",
            "override_reason": (data.get("override_reason") or "").strip(),
        }
        if self.for_new:
            kwargs["days"] = data.get("days") or 1
        else:
            kwargs["locked"] = bool(data.get("locked"))
        return kwargs

    def apply(self, error: InvalidInput) -> None:
        """Put an action's field errors next to the matching fields; the rest above the form."""
        if not error.fields:
            self.add_error(None, error.message)
        for name, message in error.fields.items():
            target = ACTION_FIELDS.get(name, name)
            self.add_error(target if target in self.fields else None, message)


class CancelForm(forms.Form):
    reason = forms.CharField(label="Why is this visit cancelled?", max_length=200)
    # The status the canceller saw: if the crew has set off meanwhile, the cancel is refused.
    expected = forms.CharField(max_length=20, required=False, widget=forms.HiddenInput)


class TimeOffForm(forms.Form):
    """A technician's time off, from the technician's week page. Local date-times; the rules (order,
    length, overlap) are crew.actions.time_off_add's."""

    start = forms.DateTimeField(label="From", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))
    end = forms.DateTimeField(label="Until", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))
    reason = forms.CharField(label="Reason", max_length=200, required=False, widget=forms.TextInput(attrs={"placeholder": "e.g. Holiday, training"}))
