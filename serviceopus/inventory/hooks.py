"""How inventory plugs into the apps it builds on (called once from InventoryConfig.ready): the
material line hook, the materials-ready gate on scheduling, and the job workspace's Purchase orders tab,
readiness panel and materials section on the Line items tab. jobs and dispatch import nothing of inventory."""

from serviceopus.core.errors import ConflictError
from serviceopus.jobs.models import Job, JobType

from .readiness import job_readiness


def materials_gate(job: Job) -> None:
    """A job whose type requires its materials ready takes no scheduled visit while any is missing."""
    if not JobType.objects.filter(pk=job.job_type_id, requires_materials_ready=True).exists():
        return
    readiness = job_readiness(job)
    if readiness.missing:
        raise ConflictError(
            "materials_not_ready",
            f"{job.number} cannot be scheduled until its materials are ready. Missing: {readiness.summary()}.",
            missing=[
                {"sku": m.item.sku, "name": m.item.name, "quantity": m.short, "unit": m.item.unit, "orders": [o.label for o in m.orders]}
                for m in readiness.missing
            ],
        )


def install() -> None:
    from serviceopus.dispatch.actions import SCHEDULE_GUARDS
    from serviceopus.jobs.actions import LINE_ITEM_HOOKS, TRANSITION_HOOKS
    from serviceopus.jobs.views.workspace import register_header_panel, register_tab, register_tab_section

    from .actions.reservations import job_transition_hook, line_item_hook
    from .views import job_materials, job_tabs

    if line_item_hook not in LINE_ITEM_HOOKS:
        LINE_ITEM_HOOKS.append(line_item_hook)
    if job_transition_hook not in TRANSITION_HOOKS:
        TRANSITION_HOOKS.append(job_transition_hook)
    if materials_gate not in SCHEDULE_GUARDS:
        SCHEDULE_GUARDS.append(materials_gate)
    register_header_panel(job_tabs.readiness_panel)
    register_tab("purchase-orders", job_tabs.purchase_orders_tab)
    register_tab_section("line-items", job_materials.materials_section)
