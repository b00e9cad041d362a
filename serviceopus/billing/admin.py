"""Configuration kept in the admin site: company details and defaults, tax rates, labour rates.
Invoices, payments and the journal are only listed here: they change through billing.actions, which
keep numbers gapless, balances right and the journal complete."""

from django.contrib import admin

from serviceopus.jobs.admin import ViewOnlyMixin

from .models import AccountingEntry, BillingSettings, Invoice, LabourRate, Payment, TaxRate


@admin.register(BillingSettings)
class BillingSettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "company_name", "payment_terms_days", "default_tax_rate", "margin_warning_percent"]

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return not BillingSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(TaxRate)
class TaxRateAdmin(admin.ModelAdmin):
    list_display = ["name", "percent_label", "active"]
    list_filter = ["active"]


@admin.register(LabourRate)
class LabourRateAdmin(admin.ModelAdmin):
    list_display = ["billing_type", "hourly_rate_cents"]


@admin.register(Invoice)
class InvoiceAdmin(ViewOnlyMixin, admin.ModelAdmin):
    list_display = ["__str__", "kind", "status", "customer", "issue_date", "total_cents", "paid_cents", "credited_cents"]
    list_filter = ["kind", "status"]
    search_fields = ["number", "customer__name"]


@admin.register(Payment)
class PaymentAdmin(ViewOnlyMixin, admin.ModelAdmin):
    list_display = ["invoice", "kind", "method", "amount_cents", "received_on", "reference"]
    list_filter = ["kind", "method"]


@admin.register(AccountingEntry)
class AccountingEntryAdmin(ViewOnlyMixin, admin.ModelAdmin):
    list_display = ["seq", "kind", "invoice", "payment", "created_at"]
    list_filter = ["kind"]
