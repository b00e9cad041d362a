"""The job workspace's Documents tab."""

from typing import Any

from django.http import HttpRequest

from serviceopus.dispatch.models import Visit
from serviceopus.jobs.models import Job

urlpatterns: list[Any] = []


def documents_tab(request: HttpRequest, job: Job, **extra: Any) -> dict[str, Any]:
    return {}


def phone_context(request: HttpRequest, visit: Visit, job: Job) -> dict[str, Any]:
    """Context of this topic's section on the technician's visit screen."""
    return {}
