"""The closeout sections of the technician's visit screen (field/visit.html): what still blocks the
work, the checklists, photos, "no materials used" and the signature pad. Each topic's view module
gives its section's context; this module gathers them for the field app's visit view."""

from typing import Any

from django.http import HttpRequest

from serviceopus.dispatch.models import Visit

from . import blockers
from .models import MaterialsConfirmation
from .views import checklists, documents, signatures


def visit_closeout(request: HttpRequest, visit: Visit) -> dict[str, Any]:
    job = visit.job
    states = blockers.closeout_state(job)
    return {
        "requirements": states,
        "open_blockers": [s for s in states if s.state == "open" and s.blocker and not s.blocker.office_only],
        "office_pending": [s for s in states if s.state == "open" and s.blocker and s.blocker.office_only],
        "needs_materials": any(s.code == "materials" for s in states),
        "no_materials": MaterialsConfirmation.objects.filter(job=job).first(),
        "checklists": checklists.phone_context(request, visit, job),
        "photos": documents.phone_context(request, visit, job),
        "signature": signatures.phone_context(request, visit, job),
    }
