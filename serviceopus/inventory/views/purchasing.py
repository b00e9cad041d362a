"""The purchasing page: what jobs are short of and nobody has ordered yet, grouped by vendor, with one
action that drafts a purchase order per vendor and delivery place; and the items below their reorder
point, for restocking. Office only (inventory.purchase)."""

from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.timesince import timesince
from django.views.decorators.http import require_GET, require_POST

from serviceopus.core.errors import DomainError
from serviceopus.jobs.views.conventions import require_perm

from .. import queries
from ..actions import purchasing as actions
from ..models import Vendor
from ..quantity import show
from ..queries import Need
from .stock import item_row

NAV = "purchasing"
PERM = "inventory.purchase"


@dataclass
class VendorGroup:
    vendor: Vendor | None
    needs: list[Need] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"vendor-{self.vendor.pk}" if self.vendor else "no-vendor"


def group_by_vendor(needs: list[Need]) -> list[VendorGroup]:
    """to_order() comes sorted by vendor name with the vendorless last; keep that order."""
    groups: dict[int | None, VendorGroup] = {}
    for need in needs:
        # Pages speak decimals: the texts the rows show.
        need.on_order_text = show(need.on_order_milli)  # type: ignore[attr-defined]
        need.short_text = show(need.short_milli)  # type: ignore[attr-defined]
        need.waited = timesince(need.reservation.created_at, depth=1)  # type: ignore[attr-defined]
        key = need.vendor.pk if need.vendor else None
        groups.setdefault(key, VendorGroup(need.vendor)).needs.append(need)
    return list(groups.values())


@login_required
@require_GET
def purchasing(request: HttpRequest) -> HttpResponse:
    require_perm(request, PERM)
    groups = group_by_vendor(queries.to_order())
    context = {
        "groups": groups,
        "orderable": sum(len(g.needs) for g in groups if g.vendor),
        "restock": [item_row(row) for row in queries.items_page(below_reorder=True)],
        "nav_active": NAV,
    }
    return render(request, "inventory/purchasing/page.html", context)


@login_required
@require_POST
def purchasing_draft(request: HttpRequest) -> HttpResponse:
    require_perm(request, PERM)
    ticked = [int(value) for value in request.POST.getlist("reservation_ids") if value.isdigit()]
    try:
        drafts = actions.drafts_for_shortfalls(actor=request.user, reservation_ids=ticked or None)
    except DomainError as refused:
        if refused.code == "forbidden":
            raise PermissionDenied(refused.message) from refused
        messages.warning(request, refused.message)
        return redirect("inventory:purchasing")
    links = format_html_join(", ", '<a href="{}">Draft #{} · {}</a>', ((reverse("inventory:po_detail", args=[po.pk]), po.pk, po.vendor.name) for po in drafts))
    count = len(drafts)
    messages.success(
        request, format_html("{} draft purchase order{} created: {}. Check each one, then mark it as ordered.", count, "" if count == 1 else "s", links)
    )
    return redirect("inventory:purchasing")


urlpatterns = [
    path("purchasing/", purchasing, name="purchasing"),
    path("purchasing/draft/", purchasing_draft, name="purchasing_draft"),
]
