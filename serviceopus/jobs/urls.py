from django.urls import path

from . import views
from .views.dependencies import dependency_add, dependency_remove

app_name = "jobs"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("jobs/", views.job_list, name="list"),
    path("jobs/board/", views.board, name="board"),
    path("jobs/bulk-status/", views.bulk_transition, name="bulk_transition"),
    path("jobs/new/", views.job_create, name="create"),
    path("jobs/new/customer-fields/", views.customer_fields, name="customer_fields"),
    path("jobs/<int:job_id>/", views.job_detail, name="detail"),
    path("jobs/<int:job_id>/tab/<slug:tab>/", views.job_detail, name="tab"),
    path("jobs/<int:job_id>/edit/", views.job_edit, name="edit"),
    path("jobs/<int:job_id>/quick/", views.job_quick, name="quick"),
    path("jobs/<int:job_id>/transition/", views.job_transition, name="transition"),
    path("jobs/<int:job_id>/line-items/", views.line_item_add, name="line_item_add"),
    path("jobs/<int:job_id>/line-items/<int:item_id>/", views.line_item_edit, name="line_item_edit"),
    path("jobs/<int:job_id>/line-items/<int:item_id>/remove/", views.line_item_remove, name="line_item_remove"),
    path("jobs/<int:job_id>/notes/", views.note_add, name="note_add"),
    path("jobs/<int:job_id>/dependencies/", dependency_add, name="dependency_add"),
    path("jobs/<int:job_id>/dependencies/<int:dependency_id>/remove/", dependency_remove, name="dependency_remove"),
]
