from django.urls import path

app_name = "dispatch"
urlpatterns: list = []

# -- board (views/board.py) --
from .views import board as board_views  # noqa: E402

urlpatterns += [
    path("", board_views.board, name="board"),
    path("board/changes/", board_views.changes, name="changes"),
    path("board/visits/<int:visit_id>/move/", board_views.move, name="move"),
    path("board/visits/<int:visit_id>/quick/", board_views.visit_quick, name="visit_quick"),
    path("board/jobs/<int:job_id>/place/", board_views.place_job, name="place_job"),
]

# -- plan day (views/planning.py) --
from .views import planning as planning_views  # noqa: E402

urlpatterns += [
    path("plan/", planning_views.plan_start, name="plan_start"),
    path("plan/<int:run_id>/", planning_views.plan_run, name="plan_run"),
    path("plan/<int:run_id>/progress/", planning_views.plan_progress, name="plan_progress"),
    path("plan/<int:run_id>/why/<int:visit_id>/", planning_views.plan_explain, name="plan_explain"),
    path("plan/<int:run_id>/cancel/", planning_views.plan_cancel, name="plan_cancel"),
    path("plan/<int:run_id>/accept/", planning_views.plan_accept, name="plan_accept"),
]

# -- schedule: job tab actions, week views (views/schedule.py) --
from .views import schedule as schedule_views  # noqa: E402

urlpatterns += [
    path("jobs/<int:job_id>/visits/", schedule_views.visit_schedule, name="visit_schedule"),
    path("jobs/<int:job_id>/visits/suggest/", schedule_views.crew_suggest, name="crew_suggest"),
    path("jobs/<int:job_id>/visits/<int:visit_id>/", schedule_views.visit_edit, name="visit_edit"),
    path("jobs/<int:job_id>/visits/<int:visit_id>/cancel/", schedule_views.visit_cancel, name="visit_cancel"),
    path("schedule/", schedule_views.week, name="week"),
    path("schedule/technicians/<int:technician_id>/", schedule_views.technician_week, name="technician_week"),
    path("schedule/technicians/<int:technician_id>/time-off/", schedule_views.time_off_add, name="time_off_add"),
    path("schedule/technicians/<int:technician_id>/time-off/<int:time_off_id>/remove/", schedule_views.time_off_remove, name="time_off_remove"),
]

# -- calendar feed (views/calendar.py) --
from django.urls import re_path  # noqa: E402

from .views import calendar as calendar_views  # noqa: E402

urlpatterns += [
    path("technicians/<int:technician_id>/calendar/", calendar_views.feed_settings, name="calendar"),
    path("technicians/<int:technician_id>/calendar/renew/", calendar_views.feed_renew, name="calendar_renew"),
    path("technicians/<int:technician_id>/calendar/revoke/", calendar_views.feed_revoke, name="calendar_revoke"),
    # No sign-in: the token is the credential (calendar apps cannot sign in).
    re_path(r"^calendar/(?P<token>[A-Za-z0-9_-]{16,128})\.ics$", calendar_views.feed, name="calendar_feed"),
]
