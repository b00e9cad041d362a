"""Configuration kept in the admin site: the stock policy, vendors, items and stock places. Stock
itself (movements, balances, reservations, purchase orders) is only listed here: it changes through
inventory.actions, which keep the ledger and the balances in step."""

from django.contrib import admin

from serviceopus.jobs.admin import ViewOnlyMixin

from .models import InventoryItem, InventorySettings, PurchaseOrder, Reservation, StockBalance, StockLocation, StockMovement, Vendor


@admin.register(InventorySettings)
class InventorySettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "allow_negative_stock"]

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return not InventorySettings.objects.exists()

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Vendor)
class VendorAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "phone", "lead_time_days", "active"]
    list_filter = ["active"]
    search_fields = ["name", "email"]


@admin.register(InventoryItem)
class InventoryItemAdmin(admin.ModelAdmin):
    list_display = ["sku", "name", "unit", "default_cost_cents", "default_price_cents", "reorder_point_milli", "preferred_vendor", "active"]
    list_filter = ["active", "preferred_vendor"]
    search_fields = ["sku", "name"]


@admin.register(StockLocation)
class StockLocationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "technician", "active"]
    list_filter = ["kind", "active"]
    autocomplete_fields = ["technician"]


@admin.register(StockBalance)
class StockBalanceAdmin(ViewOnlyMixin, admin.ModelAdmin):
    list_display = ["item", "location", "on_hand_milli", "reserved_milli"]
    list_filter = ["location"]
    search_fields = ["item__sku", "item__name"]
    list_select_related = ["item", "location"]


@admin.register(StockMovement)
class StockMovementAdmin(ViewOnlyMixin, admin.ModelAdmin):
    list_display = ["created_at", "kind", "item", "quantity_milli", "from_location", "to_location", "job", "actor"]
    list_filter = ["kind"]
    search_fields = ["item__sku", "job__number", "reason"]
    list_select_related = ["item", "from_location", "to_location", "job", "actor"]


@admin.register(Reservation)
class ReservationAdmin(ViewOnlyMixin, admin.ModelAdmin):
    list_display = ["job", "item", "location", "quantity_milli", "allocated_milli", "issued_milli", "returned_milli", "status"]
    list_filter = ["status"]
    search_fields = ["job__number", "item__sku"]
    list_select_related = ["job", "item", "location"]


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(ViewOnlyMixin, admin.ModelAdmin):
    list_display = ["__str__", "vendor", "status", "expected_on", "created_at"]
    list_filter = ["status", "vendor"]
    search_fields = ["number", "vendor__name"]
