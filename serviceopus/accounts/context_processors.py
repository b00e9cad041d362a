from django.http import HttpRequest
from django.urls import reverse


def navigation(request: HttpRequest) -> dict:
    """The role-aware main navigation: only the entries the signed-in user may open."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = [("Dashboard", reverse("jobs:dashboard"), "dashboard")]
    items.append(("Jobs", reverse("jobs:list"), "list"))
    if user.has_perm("jobs.view_all_jobs"):
        items.append(("Board", reverse("jobs:board"), "board"))
    if user.has_perm("customers.view_customers"):
        items.append(("Customers", reverse("customers:list"), "customers"))
    if user.is_staff and user.has_perm("jobs.configure"):
        items.append(("Settings", reverse("admin:index"), "admin"))
    return {"nav_items": items, "company_name": _company()}


def _company() -> str:
    from django.conf import settings

    return settings.COMPANY_NAME
