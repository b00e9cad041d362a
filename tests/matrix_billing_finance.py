"""Permissions matrix rows for job financials and invoice documents; merged into tests/test_permissions.py.

An invoice's PDF is billing information: who may not see billing gets a 404 (as for an invoice that does
not exist), technicians included, whether or not they worked on the job. Setting a job's estimate is a
POST from the Financials tab (the tab itself is jobs:tab)."""

OFFICE = ("owner", "manager", "dispatcher", "office")

# url name → GET status per role (see test_permissions.MATRIX)
MATRIX: dict[str, dict[str, int]] = {
    "finance:invoice_pdf": {"owner": 200, "manager": 200, "dispatcher": 404, "office": 200, "tech": 404, "tech_other": 404},
    "finance:estimate_capture": {**dict.fromkeys(OFFICE, 405), "tech": 405, "tech_other": 405},
}


def extend_world(world: dict) -> None:
    """Add the records these URLs need to the shared world: a draft invoice for the technician's job's customer."""
    from serviceopus.billing.models import Invoice

    invoice = Invoice.objects.create(customer=world["own"].customer)
    invoice.jobs.add(world["own"])
    world["fin_invoice"] = invoice


def kwargs(name: str, world: dict, role: str) -> dict:
    """URL kwargs for one of these rows ({} when the name is not one of them)."""
    job = world["other"] if role == "tech_other" else world["own"]
    return {
        "finance:invoice_pdf": {"invoice_id": world["fin_invoice"].pk},
        "finance:estimate_capture": {"job_id": job.pk},
    }.get(name, {})
