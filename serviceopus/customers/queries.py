"""Reads for the customer pages and the API. Customers are office data: technicians reach a customer
only through the jobs assigned to them."""

from django.db.models import Count, Prefetch, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from serviceopus.accounts.models import User

from .models import Asset, Contact, Customer, Location


def _office_only(user: User) -> None:
    if not user.has_perm("customers.view_customers"):
        raise Http404("No such customer.")


def customers_for(user: User, q: str = "") -> QuerySet[Customer]:
    _office_only(user)
    qs = Customer.objects.all()
    # PostgreSQL refuses NUL in a query parameter (a 500); no stored name contains one anyway.
    q = q.replace("\x00", "").strip()[:100]
    if q:
        qs = qs.filter(name__icontains=q)
    return qs.order_by("name", "id")


def access_customer_for_user(user: User, customer_id: int) -> Customer:
    _office_only(user)
    return get_object_or_404(
        Customer.objects.prefetch_related(
            Prefetch("locations", queryset=Location.objects.prefetch_related("assets").annotate(job_count=Count("jobs"))),
            Prefetch("contacts", queryset=Contact.objects.all()),
        ),
        pk=customer_id,
    )


def access_location_for_user(user: User, location_id: int) -> Location:
    _office_only(user)
    return get_object_or_404(Location.objects.select_related("customer"), pk=location_id)


def access_contact_for_user(user: User, contact_id: int) -> Contact:
    _office_only(user)
    return get_object_or_404(Contact.objects.select_related("customer"), pk=contact_id)


def access_asset_for_user(user: User, asset_id: int) -> Asset:
    _office_only(user)
    return get_object_or_404(Asset.objects.select_related("location__customer"), pk=asset_id)
