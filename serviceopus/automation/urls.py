"""Service agreements and recurring jobs (the office's pages)."""

from django.urls import path

from . import views

app_name = "automation"

urlpatterns = [
    path("agreements/", views.plan_list, name="plans"),
    path("agreements/new/", views.plan_create, name="plan_create"),
    path("agreements/<int:plan_id>/", views.plan_detail, name="plan"),
    path("agreements/<int:plan_id>/edit/", views.plan_edit, name="plan_edit"),
    path("agreements/<int:plan_id>/generate/", views.plan_generate, name="plan_generate"),
    path("agreements/<int:plan_id>/skip/", views.occurrence_skip, name="occurrence_skip"),
    path("agreements/<int:plan_id>/move/", views.occurrence_move, name="occurrence_move"),
]
