"""The visit (dispatch) lifecycle as data: one table, enforced by actions.visit_transition.

unscheduled → scheduled → en_route → arrived → working ⇄ paused → departed → completed, plus cancelled.
`unscheduled` holds a drafted visit (a return visit, say) that has no time or crew yet; scheduling it
(actions.visit_schedule) makes it `scheduled`. *Departed* ends on-site time; *completed* closes the
visit with an outcome.
"""

from django.db import models


class VisitStatus(models.TextChoices):
    UNSCHEDULED = "unscheduled", "Unscheduled"
    SCHEDULED = "scheduled", "Scheduled"
    EN_ROUTE = "en_route", "En route"
    ARRIVED = "arrived", "Arrived"
    WORKING = "working", "Working"
    PAUSED = "paused", "Paused"
    DEPARTED = "departed", "Departed"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


class Outcome(models.TextChoices):
    FINISHED = "finished", "Finished"
    RETURN_NEEDED = "return_needed", "Return needed"


V = VisitStatus
ALLOWED: dict[str, frozenset[str]] = {
    V.UNSCHEDULED: frozenset({V.CANCELLED}),  # scheduling goes through visit_schedule, not a transition
    V.SCHEDULED: frozenset({V.EN_ROUTE, V.CANCELLED}),
    V.EN_ROUTE: frozenset({V.ARRIVED, V.SCHEDULED, V.CANCELLED}),  # back to scheduled: turned around
    V.ARRIVED: frozenset({V.WORKING, V.DEPARTED}),
    V.WORKING: frozenset({V.PAUSED, V.DEPARTED}),
    V.PAUSED: frozenset({V.WORKING, V.DEPARTED}),
    V.DEPARTED: frozenset({V.COMPLETED}),
    V.COMPLETED: frozenset(),
    V.CANCELLED: frozenset(),
}

# Visits that still hold a place in someone's day (double-booking checks, the board, "my day").
ACTIVE = (V.SCHEDULED, V.EN_ROUTE, V.ARRIVED, V.WORKING, V.PAUSED)
# Visits that are over, one way or the other.
FINAL = (V.COMPLETED, V.CANCELLED)
# The crew is at the customer's site.
ON_SITE = (V.ARRIVED, V.WORKING, V.PAUSED)
# Each status's button label on the technician's visit screen.
ACTION_LABELS = {
    V.EN_ROUTE: "Start travel",
    V.ARRIVED: "Arrived",
    V.WORKING: "Start work",
    V.PAUSED: "Pause",
    V.DEPARTED: "Depart",
    V.COMPLETED: "Complete visit",
    V.SCHEDULED: "Turn back",
    V.CANCELLED: "Cancel visit",
}
# Who may move a visit to each status: technicians do the field steps on their own visits; the office
# may also act on their behalf (a crew without signal calls in).
OFFICE_ONLY_TARGETS = frozenset({V.CANCELLED})


def next_actions(status: str) -> list[tuple[str, str]]:
    """The buttons the phone shows for a visit in `status`: (status, label), in the order of the field flow."""
    order = [V.EN_ROUTE, V.ARRIVED, V.WORKING, V.PAUSED, V.DEPARTED, V.COMPLETED, V.SCHEDULED]
    return [(s, ACTION_LABELS[s]) for s in order if s in ALLOWED[status]]
