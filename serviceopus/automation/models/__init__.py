"""The automation app's tables, one module per topic: service agreements and recurring jobs (plans),
the event outbox the rules and webhooks read (events), workflow rules and their run log (rules),
follow-up tasks and alerts (tasks), outgoing webhooks (webhooks)."""

from .events import AutomationEvent, EventStatus, EventType
from .plans import Occurrence, OccurrenceStatus, PlanKind, PlanStatus, PricePeriod, RecurringPlan
from .rules import RuleRun, WorkflowRule
from .tasks import Alert, AlertLevel, FollowUpTask
from .webhooks import DeliveryStatus, WebhookDelivery, WebhookSubscription

__all__ = [
    "Alert",
    "AlertLevel",
    "AutomationEvent",
    "DeliveryStatus",
    "EventStatus",
    "EventType",
    "FollowUpTask",
    "Occurrence",
    "OccurrenceStatus",
    "PlanKind",
    "PlanStatus",
    "PricePeriod",
    "RecurringPlan",
    "RuleRun",
    "WebhookDelivery",
    "WebhookSubscription",
    "WorkflowRule",
]
