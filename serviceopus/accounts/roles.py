"""Roles and what each may do. One table, read by the auth backend (user.has_perm) and the navigation.

Permissions are named "<app>.<capability>"; Django's model permissions still apply to the admin site
for staff users on top of these.
"""

from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Service manager"
    DISPATCHER = "dispatcher", "Dispatcher"
    OFFICE = "office", "Office / accounting"
    TECHNICIAN = "technician", "Technician"


OFFICE_READ = {
    "jobs.view_all_jobs",
    "customers.view_customers",
    "crew.view_technicians",
    "dispatch.view_board",
    "inventory.view_stock",
    # The alert centre: each office user reads their own alerts.
    "automation.view_alerts",
}
OFFICE_WRITE = {
    "jobs.create_job",
    "jobs.edit_job",
    "jobs.transition_job",
    "jobs.bulk_transition",
    "jobs.edit_line_items",
    "jobs.add_note",
    "customers.edit_customers",
    "dispatch.schedule",
    "crew.edit_time_off",
    "dispatch.transition_visit",
    "field.review_time",
    "field.add_time",
    "closeout.record_evidence",
    "closeout.report_incident",
    "closeout.manage_incidents",
    "closeout.review_quality",
    "inventory.reserve",
    "inventory.manage_stock",
    "inventory.adjust_stock",
    "inventory.purchase",
    # Customer communication: portal links, messages, approval requests, resend/suppress notifications.
    "messaging.message_customer",
    # Follow-up tasks: create, edit, complete and reopen them on any job.
    "automation.work_tasks",
}

# Billing: invoices, payments, credit notes, job financials (margins) and the accounting export. Not a
# dispatcher's business, nor a technician's.
BILLING = {"billing.view_billing", "billing.invoice", "billing.record_payment", "billing.void_invoice", "billing.export"}

# Django model permissions for the configuration kept in the admin site (job types, tags, skills,
# technicians and their shifts), so a manager who is staff can use it without being a superuser.
CONFIGURATION = {
    f"{app}.{action}_{model}"
    for app, models in {
        "jobs": ("jobtype", "tag"),
        "crew": ("skill", "technician", "weeklyshift", "timeoff"),
        "dispatch": ("dispatchsettings",),
        "closeout": ("checklisttemplate", "checklistitem", "closeoutrequirement"),
        "inventory": ("inventorysettings", "vendor", "inventoryitem", "stocklocation"),
        "billing": ("billingsettings", "taxrate", "labourrate"),
        "messaging": ("messagingsettings",),
    }.items()
    for model in models
    for action in ("view", "add", "change", "delete")
}

# Decisions a manager takes: overriding the scheduling checks (with a reason, recorded), configuration.
MANAGING = {"crew.edit_technicians", "jobs.configure", "dispatch.override_checks", "closeout.waive_blocker", "messaging.edit_templates"}

CAPABILITIES: dict[str, frozenset[str]] = {
    # Workflow rules and webhooks act with wide reach (rules with their author's rights; webhooks send
    # job data out of the company): the admin configures them.
    Role.ADMIN: frozenset(
        OFFICE_READ | OFFICE_WRITE | BILLING | CONFIGURATION | MANAGING | {"accounts.manage_users", "automation.manage_rules", "automation.manage_webhooks"}
    ),
    Role.MANAGER: frozenset(OFFICE_READ | OFFICE_WRITE | BILLING | CONFIGURATION | MANAGING),
    Role.DISPATCHER: frozenset(OFFICE_READ | OFFICE_WRITE),
    Role.OFFICE: frozenset(OFFICE_READ | OFFICE_WRITE | BILLING),
    # A technician works only on the jobs assigned to them; queries.jobs_visible_to enforces "assigned".
    # Their visits: dispatch.actions checks they are on the crew; their own time: field.actions.
    # Closeout evidence (checklists, photos, signatures, "no materials used") and incident reports too;
    # materials used from their own truck on their visits (inventory.actions.reservations).
    Role.TECHNICIAN: frozenset(
        {
            "jobs.transition_job",
            "jobs.edit_line_items",
            "jobs.add_note",
            "dispatch.transition_visit",
            "field.add_time",
            "closeout.record_evidence",
            "closeout.report_incident",
            "inventory.record_usage",
        }
    ),
}
