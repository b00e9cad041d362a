"""Customer messaging in the admin site, for staff who look into a delivery problem. The outbox, the
threads, approvals and portal links are only listed here: they change through the messaging actions
(which write the job's timeline, and keep the outbox's leases and statuses consistent with the worker).
A portal link's salt and hash are never shown: with the server's key the salt gives the secret. The
company's messaging settings may be edited; the templates are edited on their own page, which checks
each one compiles."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from serviceopus.jobs.admin import ViewOnlyMixin

from .models import ApprovalRequest, CustomerMessage, JobNotificationMute, MessageTemplate, MessagingSettings, OutboxMessage, PortalLink, PortalTokenFailure


@admin.register(MessagingSettings)
class MessagingSettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "office_email", "brand_color", "reminder_hours", "portal_link_days", "travel_speed_kmh"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not MessagingSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(MessageTemplate)
class MessageTemplateAdmin(ViewOnlyMixin, admin.ModelAdmin):
    list_display = ["notice", "channel", "subject", "updated_by", "updated_at", "version"]
    list_filter = ["notice", "channel"]


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ViewOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "created_at", "job", "notice", "channel", "recipient", "status", "attempts", "next_attempt_at", "sent_at", "last_error"]
    list_filter = ["status", "channel", "notice"]
    ordering = ["-created_at", "-id"]  # the latest first: a delivery problem is usually today's
    search_fields = ["uid", "recipient", "job__number", "provider_ref"]
    date_hierarchy = "created_at"
    list_select_related = ["job"]
    raw_id_fields = ["job", "visit", "resend_of", "created_by"]


@admin.register(CustomerMessage)
class CustomerMessageAdmin(ViewOnlyMixin, admin.ModelAdmin):
    list_display = ["job", "direction", "author_name", "created_at", "read_at"]
    list_filter = ["direction"]
    search_fields = ["job__number", "author_name"]
    list_select_related = ["job"]
    raw_id_fields = ["job", "author", "portal_link", "outbox"]


@admin.register(PortalLink)
class PortalLinkAdmin(ViewOnlyMixin, admin.ModelAdmin):
    list_display = ["job", "label", "created_at", "expires_at", "revoked_at", "last_opened_at", "open_count"]
    search_fields = ["job__number", "label"]
    list_select_related = ["job"]
    # Never the salt or the hash: with SECRET_KEY the salt is the link.
    exclude = ["salt", "token_hash"]
    raw_id_fields = ["job", "created_by", "revoked_by"]


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(ViewOnlyMixin, admin.ModelAdmin):
    list_display = ["__str__", "kind", "status", "total_cents", "requested_at", "decided_at"]
    list_filter = ["status", "kind"]
    search_fields = ["job__number", "title"]
    list_select_related = ["job"]
    raw_id_fields = ["job", "requested_by"]


@admin.register(JobNotificationMute)
class JobNotificationMuteAdmin(ViewOnlyMixin, admin.ModelAdmin):
    list_display = ["job", "muted_by", "muted_at"]
    list_select_related = ["job", "muted_by"]


@admin.register(PortalTokenFailure)
class PortalTokenFailureAdmin(ViewOnlyMixin, admin.ModelAdmin):
    list_display = ["address", "at"]
    search_fields = ["address"]
