"""The service report PDF."""

from typing import Any

urlpatterns: list[Any] = []
