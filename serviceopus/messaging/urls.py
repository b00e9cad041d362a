"""The office's side of customer communication: a job's Messages tab and what it posts, and the
notification templates."""

from django.urls import path

from .views import approvals, links, tab, templates

app_name = "messaging"

urlpatterns = [
    # Portal links (views/links.py)
    path("jobs/<int:job_id>/messages/links/new/", links.link_create_view, name="link_create"),
    path("jobs/<int:job_id>/messages/links/<int:link_id>/revoke/", links.link_revoke_view, name="link_revoke"),
    # The thread and notifications (views/tab.py)
    path("jobs/<int:job_id>/messages/send/", tab.message_send, name="message_send"),
    path("jobs/<int:job_id>/messages/mute/", tab.mute_toggle, name="mute"),
    path("jobs/<int:job_id>/messages/<int:message_id>/resend/", tab.resend, name="resend"),
    path("jobs/<int:job_id>/messages/<int:message_id>/suppress/", tab.suppress, name="suppress"),
    path("jobs/<int:job_id>/messages/notify/", tab.notify_now, name="notify"),
    path("jobs/<int:job_id>/messages/read/", tab.mark_read, name="mark_read"),
    path("inbox/", tab.inbox, name="inbox"),
    # Approval requests (views/approvals.py)
    path("jobs/<int:job_id>/approvals/new/", approvals.approval_new, name="approval_new"),
    path("jobs/<int:job_id>/approvals/<int:approval_id>/", approvals.approval_detail, name="approval"),
    path("jobs/<int:job_id>/approvals/<int:approval_id>/withdraw/", approvals.approval_withdraw, name="approval_withdraw"),
    # Notification templates (views/templates.py)
    path("settings/notifications/", templates.template_list, name="templates"),
    path("settings/notifications/<str:notice>/<str:channel>/", templates.template_edit, name="template_edit"),
]
