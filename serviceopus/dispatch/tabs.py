"""The job workspace's "Crew & schedule" tab (registered in apps.py)."""

from typing import Any

from django.http import HttpRequest

from serviceopus.jobs.models import Job

from . import queries


def crew_tab(request: HttpRequest, job: Job, **extra: Any) -> dict[str, Any]:
    return {"tab_template": "dispatch/job_tab.html", "visits": queries.job_visits(job)}
