"""The automation app's pages: service agreements and recurring jobs, workflow rules, follow-up tasks
and alerts, webhooks. One section per topic, each pointing at its own views module."""

from django.urls import path

from .views import alerts, plans, rules, tasks, webhooks

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
    path("automation/rules/", rules.rule_list, name="rules"),
    path("automation/rules/new/", rules.rule_create, name="rule_create"),
    path("automation/rules/<int:rule_id>/", rules.rule_detail, name="rule"),
    path("automation/rules/<int:rule_id>/edit/", rules.rule_edit, name="rule_edit"),
    path("automation/rules/<int:rule_id>/enabled/", rules.rule_set_enabled, name="rule_set_enabled"),
    path("automation/rules/<int:rule_id>/duplicate/", rules.rule_duplicate, name="rule_duplicate"),
    path("automation/rules/<int:rule_id>/delete/", rules.rule_delete, name="rule_delete"),
    # Follow-up tasks and alerts (views/tasks.py, views/alerts.py).
    path("tasks/", tasks.my_tasks, name="tasks"),
    path("tasks/<int:task_id>/edit/", tasks.task_edit, name="task_edit"),
    path("tasks/<int:task_id>/done/", tasks.task_done, name="task_done"),
    path("tasks/<int:task_id>/reopen/", tasks.task_reopen, name="task_reopen"),
    path("jobs/<int:job_id>/tasks/", tasks.task_add, name="task_add"),
    path("alerts/", alerts.alert_list, name="alerts"),
    path("alerts/count/", alerts.alert_count, name="alert_count"),
    path("alerts/read-all/", alerts.alerts_read_all, name="alerts_read_all"),
    path("alerts/<int:alert_id>/open/", alerts.alert_open, name="alert_open"),
    path("alerts/<int:alert_id>/read/", alerts.alert_read, name="alert_read"),
    # Webhooks (views/webhooks.py).
    path("automation/webhooks/", webhooks.webhook_list, name="webhooks"),
    path("automation/webhooks/new/", webhooks.webhook_create, name="webhook_create"),
    path("automation/webhooks/<int:subscription_id>/", webhooks.webhook_detail, name="webhook"),
    path("automation/webhooks/<int:subscription_id>/edit/", webhooks.webhook_edit, name="webhook_edit"),
    path("automation/webhooks/<int:subscription_id>/secret/", webhooks.webhook_secret, name="webhook_secret"),
    path("automation/webhooks/<int:subscription_id>/rotate/", webhooks.webhook_rotate, name="webhook_rotate"),
    path("automation/webhooks/<int:subscription_id>/toggle/", webhooks.webhook_toggle, name="webhook_toggle"),
    path("automation/webhooks/<int:subscription_id>/delete/", webhooks.webhook_delete, name="webhook_delete"),
    path("automation/webhooks/<int:subscription_id>/ping/", webhooks.webhook_ping, name="webhook_ping"),
    path("automation/webhooks/<int:subscription_id>/deliveries/<int:delivery_id>/redeliver/", webhooks.webhook_redeliver, name="webhook_redeliver"),
]
