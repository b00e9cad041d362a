"""Small presentation helpers for the job pages: durations, the status choices a user may pick."""

from decimal import Decimal

from django import template

from serviceopus.jobs.status import ALLOWED, BOARD_COLUMNS, TECHNICIAN_TARGETS, HoldReason, JobStatus

register = template.Library()


@register.filter
def duration(minutes: int | None) -> str:
    """90 → "1 h 30 min"; 45 → "45 min"; 2880 → "2 d"."""
    if not minutes:
        return "—"
    days, rest = divmod(int(minutes), 60 * 24)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{mins} min" if mins else ""]
    return " ".join(p for p in parts if p)


@register.filter
def status_label(status: str) -> str:
    return JobStatus(status).label if status in JobStatus.values else status


def targets_for(status: str, user: object = None) -> list[tuple[str, str]]:
    """The statuses `status` may become, in board order; a technician gets only the field states."""
    allowed = ALLOWED.get(status, frozenset())
    if getattr(user, "is_technician", False):
        allowed = allowed & TECHNICIAN_TARGETS
    return [(s, JobStatus(s).label) for s in BOARD_COLUMNS if s in allowed]


@register.simple_tag(takes_context=True)
def status_targets(context: template.Context, status: str) -> list[tuple[str, str]]:
    return targets_for(status, context.get("user"))


@register.simple_tag(takes_context=True)
def move_options(context: template.Context, status: str) -> list[tuple[str, str]]:
    """The board's "Move to…" choices: going on hold is one option per reason ("on_hold:parts")."""
    options: list[tuple[str, str]] = []
    for value, label in targets_for(status, context.get("user")):
        if value == JobStatus.ON_HOLD:
            options += [(f"{value}:{reason}", f"On hold — {reason_label.lower()}") for reason, reason_label in HoldReason.choices]
        else:
            options.append((value, label))
    return options


@register.filter
def get_item(mapping: dict, key: str) -> object:
    return mapping.get(key) if isinstance(mapping, dict) else None


@register.filter
def percent_of(part: int, whole: int) -> str:
    """Share of `whole` as a whole percent ("37%"); "—" when there is nothing to divide by."""
    if not whole:
        return "—"
    return f"{round(part * 100 / whole)}%"


@register.filter
def qty(value: Decimal | None) -> str:
    """A quantity without trailing zeros: 1.000 → "1", 2.500 → "2.5"."""
    if value is None:
        return ""
    return f"{Decimal(value).normalize():f}"
