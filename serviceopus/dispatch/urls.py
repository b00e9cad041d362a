from django.urls import path  # noqa: F401

app_name = "dispatch"
urlpatterns: list = []

# -- board (views/board.py) --

# -- schedule: job tab actions, week views (views/schedule.py) --

# -- calendar feed (views/calendar.py) --
