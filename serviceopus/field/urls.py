from django.urls import path

from . import views

app_name = "field"
urlpatterns = [
    path("", views.my_day, name="my_day"),
    path("visits/<int:visit_id>/", views.visit_detail, name="visit"),
    path("visits/<int:visit_id>/status/", views.visit_transition, name="transition"),
    path("visits/<int:visit_id>/finish/", views.visit_finish, name="finish"),
    path("jobs/<int:job_id>/time/", views.time_add, name="time_add"),
    path("jobs/<int:job_id>/time/<int:entry_id>/approve/", views.time_approve, name="time_approve"),
    path("jobs/<int:job_id>/time/<int:entry_id>/correct/", views.time_correct, name="time_correct"),
]
