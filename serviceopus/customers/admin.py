"""Customers are edited on the customer pages (through customers.actions, which check versions and
re-index the job search when a name or an address changes). The admin only looks: a change made here
would skip both."""

from django.contrib import admin
from django.http import HttpRequest

from .models import Asset, Contact, Customer, Location


class ReadOnlyMixin:
    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class LocationInline(ReadOnlyMixin, admin.TabularInline):
    model = Location
    fields = ("label", "street", "city", "region", "postal_code", "lat", "lng", "gate_code")
    show_change_link = True
    extra = 0


class ContactInline(ReadOnlyMixin, admin.TabularInline):
    model = Contact
    fields = ("name", "role", "email", "phone", "is_primary")
    extra = 0


class AssetInline(ReadOnlyMixin, admin.TabularInline):
    model = Asset
    fields = ("name", "make", "model", "serial", "install_date")
    show_change_link = True
    extra = 0


@admin.register(Customer)
class CustomerAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("name", "kind", "email", "phone", "created_at")
    list_filter = ("kind",)
    search_fields = ("name", "email", "phone")
    date_hierarchy = "created_at"
    inlines = (LocationInline, ContactInline)
    show_full_result_count = False


@admin.register(Location)
class LocationAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("one_line", "label", "customer", "gate_code")
    list_select_related = ("customer",)
    search_fields = ("street", "city", "postal_code", "customer__name")
    inlines = (AssetInline,)
    show_full_result_count = False


@admin.register(Contact)
class ContactAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("name", "role", "customer", "email", "phone", "is_primary")
    list_select_related = ("customer",)
    search_fields = ("name", "email", "phone", "customer__name")
    show_full_result_count = False


@admin.register(Asset)
class AssetAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("name", "make", "model", "serial", "install_date", "location")
    list_select_related = ("location",)
    search_fields = ("name", "make", "model", "=serial", "location__customer__name")
    show_full_result_count = False
