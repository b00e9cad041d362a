from django.http import HttpRequest
from django.urls import reverse


def navigation(request: HttpRequest) -> dict:
    """The role-aware main navigation: only the entries the signed-in user may open."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = [("Dashboard", reverse("jobs:dashboard"), "dashboard")]
    if user.is_technician:  # by role, so that no page pays a query for it; my_day 404s without a Technician row
        items.insert(0, ("My day", reverse("field:my_day"), "my_day"))
    items.append(("Jobs", reverse("jobs:list"), "list"))
    if user.has_perm("jobs.view_all_jobs"):
        items.append(("Board", reverse("jobs:board"), "board"))
    if user.has_perm("dispatch.view_board"):
        items.append(("Dispatch", reverse("dispatch:board"), "dispatch"))
    if user.has_perm("dispatch.view_board") or user.is_technician:  # technicians are sent on to their own week
        items.append(("Schedule", reverse("dispatch:week"), "schedule"))
    if user.has_perm("messaging.message_customer"):
        # No unread count in the label: it would cost every page a query (see messaging.queries.unread_count).
        items.append(("Inbox", reverse("messaging:inbox"), "inbox"))
    if user.has_perm("automation.work_tasks"):
        items.append(("Tasks", reverse("automation:tasks"), "tasks"))
    if user.has_perm("customers.view_customers"):
        items.append(("Customers", reverse("customers:list"), "customers"))
    if user.has_perm("jobs.view_all_jobs"):
        items.append(("Agreements", reverse("automation:plans"), "agreements"))
    if user.has_perm("billing.view_billing"):
        items.append(("Invoices", reverse("billing:invoices"), "invoices"))
    if user.has_perm("inventory.purchase"):
        items.append(("Purchasing", reverse("inventory:purchasing"), "purchasing"))
    if user.has_perm("inventory.view_stock"):
        items.append(("Stock", reverse("inventory:items"), "stock"))
    if user.has_perm("automation.manage_rules"):
        items.append(("Automation", reverse("automation:rules"), "automation"))
    if user.is_staff and user.has_perm("jobs.configure"):
        items.append(("Settings", reverse("admin:index"), "admin"))
    # The header's alert bell fetches its unread count itself (automation:alert_count), after load.
    return {"nav_items": items, "company_name": _company(), "alert_bell": user.has_perm("automation.view_alerts")}


def _company() -> str:
    from django.conf import settings

    return settings.COMPANY_NAME
