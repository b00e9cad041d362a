"""A seeded, realistic day of field service for the routing benchmark, as a `Problem` and its `Matrix`.

The default day: 30 technicians and 250 visits in a city about 40 km across. Technicians leave from and
return to their homes, spread over the city, on 8-hour shifts starting at 07:00, 07:30 or 08:00. Half
the visits lie in six neighbourhoods (a job often brings neighbours' jobs), the rest anywhere. Arrival
windows are 2, 3 or 4 hours on the half hour; durations run from 30 to 180 minutes, mostly short (mean
about 50 minutes), so the day is a little more than the crew can do and plans differ in how many visits
they serve. Five skills: each technician has one to three (every skill somebody's), seven visits in ten
need one. Every visit has the same priority, so "served, then travel" is the whole objective. With
`breaks`, each technician takes a 30-minute break starting 11:30 or later and ending by 14:00.

The same seed gives the same day on any machine (only `random.Random(seed)` and arithmetic).
"""

import math
import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from serviceopus.dispatch.planner.model import BreakWindow, Place, Problem, TechnicianInput, VisitInput
from serviceopus.dispatch.planner.travel import HaversineProvider, Matrix

TZ = ZoneInfo("America/Chicago")
DAY = date(2026, 3, 10)  # a Tuesday
CENTRE = Place(41.8781, -87.6298)
RADIUS_KM = 20.0
NEIGHBOURHOODS = 6
NEIGHBOURHOOD_KM = 2.5  # standard deviation of a visit's offset from its neighbourhood's centre
SKILLS = (1, 2, 3, 4, 5)
SHIFT_STARTS = ((7, 0), (7, 30), (8, 0))
SHIFT_HOURS = 8
# (minutes, relative frequency): most jobs are short, a few take half a day.
DURATIONS = ((30, 50), (45, 20), (60, 15), (90, 8), (120, 4), (180, 3))
WINDOW_HOURS = (2, 3, 4)
FIRST_WINDOW = (7, 0)
LAST_WINDOW = (14, 0)  # the latest a window may open
SKILLED_SHARE = 0.7
ROAD_FACTOR = 1.3
SPEED_KMH = 40.0
PROVIDER = HaversineProvider(road_factor=ROAD_FACTOR, speed_kmh=SPEED_KMH)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(DAY.year, DAY.month, DAY.day, hour, minute, tzinfo=TZ)


def _offset(centre: Place, east_km: float, north_km: float) -> Place:
    lat = centre.lat + north_km / 111.32
    lng = centre.lng + east_km / (111.32 * math.cos(math.radians(centre.lat)))
    return Place(round(lat, 6), round(lng, 6))


def _in_city(rng: random.Random) -> Place:
    """Uniform over the city's disc."""
    r, angle = RADIUS_KM * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
    return _offset(CENTRE, r * math.cos(angle), r * math.sin(angle))


def _near(rng: random.Random, centre: Place) -> Place:
    for _ in range(100):
        place = _offset(centre, rng.gauss(0, NEIGHBOURHOOD_KM), rng.gauss(0, NEIGHBOURHOOD_KM))
        east = (place.lng - CENTRE.lng) * 111.32 * math.cos(math.radians(CENTRE.lat))
        north = (place.lat - CENTRE.lat) * 111.32
        if math.hypot(east, north) <= RADIUS_KM:
            return place
    return centre


def generate_day(seed: int, *, technicians: int = 30, visits: int = 250, breaks: bool = False) -> Problem:
    """The day for `seed` (see the module's docstring). Technician ids are 1…, visit ids 1001…"""
    rng = random.Random(seed)
    crew = []
    for k in range(technicians):
        hour, minute = SHIFT_STARTS[rng.randrange(len(SHIFT_STARTS))]
        start = at(hour, minute)
        # The first skill goes round the list, so every skill has somebody once there are five people.
        skills = {SKILLS[k % len(SKILLS)]}
        skills.update(rng.sample(SKILLS, rng.randint(1, 3) - 1))
        home = _in_city(rng)
        rest = BreakWindow(at(11, 30), at(14, 0), 30) if breaks else None
        crew.append(
            TechnicianInput(
                id=k + 1,
                name=f"Technician {k + 1}",
                shift_start=start,
                shift_end=start + timedelta(hours=SHIFT_HOURS),
                start_place=home,
                end_place=home,
                skill_ids=frozenset(skills),
                break_window=rest,
            )
        )
    centres = [_in_city(rng) for _ in range(NEIGHBOURHOODS)]
    minutes, frequencies = zip(*DURATIONS, strict=True)
    latest_shift_end = max(t.shift_end for t in crew) if crew else at(16)
    first = FIRST_WINDOW[0] * 60 + FIRST_WINDOW[1]
    last = LAST_WINDOW[0] * 60 + LAST_WINDOW[1]
    work = []
    for i in range(visits):
        place = _near(rng, rng.choice(centres)) if rng.random() < 0.5 else _in_city(rng)
        duration = rng.choices(minutes, frequencies)[0]
        hours = rng.choice(WINDOW_HOURS)
        opens = first + 30 * rng.randrange((last - first) // 30 + 1)
        # A window must leave room to finish inside a shift: open no later than the last shift's end
        # less the visit and half an hour's travel, on the half hour.
        cutoff = latest_shift_end - timedelta(minutes=duration + 30)
        latest_open = cutoff.hour * 60 + cutoff.minute
        opens = min(opens, latest_open - latest_open % 30)
        window_start = at(opens // 60, opens % 60)
        required = frozenset({rng.choice(SKILLS)}) if rng.random() < SKILLED_SHARE else frozenset()
        work.append(
            VisitInput(
                id=1001 + i,
                place=place,
                duration_minutes=duration,
                window_start=window_start,
                window_end=window_start + timedelta(hours=hours),
                required_skill_ids=required,
                priority=2,
                label=f"V{1001 + i}",
            )
        )
    return Problem(day=DAY, technicians=tuple(crew), visits=tuple(work))


def day_matrix(problem: Problem) -> Matrix:
    """Haversine × 1.3 at 40 km/h between every place of the day (no database, no settings)."""
    return PROVIDER.matrix(problem.places())
