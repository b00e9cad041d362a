"""Dispatch pages: the board (board.py), the job's Crew & schedule tab and the week views
(schedule.py), the technician's calendar feed (calendar.py)."""
