"""The job workspace's Quality tab."""

from typing import Any

from django.http import HttpRequest

from serviceopus.jobs.models import Job

urlpatterns: list[Any] = []


def quality_tab(request: HttpRequest, job: Job, **extra: Any) -> dict[str, Any]:
    return {}
