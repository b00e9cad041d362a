"""The job workspace's parts: the readiness panel under the header and the Purchase orders tab."""

from typing import Any

from django.http import HttpRequest

from serviceopus.jobs.models import Job


def readiness_panel(request: HttpRequest, job: Job) -> dict[str, Any]:
    return {}


def purchase_orders_tab(request: HttpRequest, job: Job, **extra: Any) -> dict[str, Any]:
    return {}
