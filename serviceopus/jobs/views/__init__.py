"""The job pages, one module per page family; urls.py reaches them through these names."""

from .board import board, job_transition
from .dashboard import dashboard
from .editing import customer_fields, job_create, job_edit
from .listing import bulk_transition, job_list, job_quick
from .workspace import job_detail, line_item_add, line_item_edit, line_item_remove, note_add

__all__ = [
    "board",
    "bulk_transition",
    "customer_fields",
    "dashboard",
    "job_create",
    "job_detail",
    "job_edit",
    "job_list",
    "job_quick",
    "job_transition",
    "line_item_add",
    "line_item_edit",
    "line_item_remove",
    "note_add",
]
