"""The job workspace's "Time" tab (registered in apps.py)."""

from typing import Any

from django.http import HttpRequest

from serviceopus.jobs.models import Job

from .models import TimeEntry


def time_tab(request: HttpRequest, job: Job, **extra: Any) -> dict[str, Any]:
    entries = list(TimeEntry.objects.filter(job=job).select_related("technician__user").order_by("start", "id"))
    return {"tab_template": "field/time_tab.html", "entries": entries}
