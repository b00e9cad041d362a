"""The automation app's pages: service agreements and recurring jobs, workflow rules, follow-up tasks
and alerts, webhooks. One section per topic, each pointing at its own views module."""

from django.urls import path

from .views import plans

app_name = "automation"

urlpatterns = [
    # Service agreements and recurring jobs.
    path("agreements/", plans.plan_list, name="plans"),
    path("agreements/new/", plans.plan_create, name="plan_create"),
    path("agreements/<int:plan_id>/", plans.plan_detail, name="plan"),
    path("agreements/<int:plan_id>/edit/", plans.plan_edit, name="plan_edit"),
    path("agreements/<int:plan_id>/generate/", plans.plan_generate, name="plan_generate"),
    path("agreements/<int:plan_id>/skip/", plans.occurrence_skip, name="occurrence_skip"),
    path("agreements/<int:plan_id>/move/", plans.occurrence_move, name="occurrence_move"),
    # Workflow rules (views/rules.py).
    # Follow-up tasks and alerts (views/tasks.py, views/alerts.py).
    # Webhooks (views/webhooks.py).
]
