from datetime import timedelta

from django.utils import timezone

from serviceopus.jobs import queries
from serviceopus.jobs.status import JobStatus
from tests.factories import JobFactory


def test_dashboard_chart_counts_per_local_day(dispatcher):
    now = timezone.localtime()
    JobFactory(created_at=now)
    JobFactory(created_at=now)
    JobFactory(created_at=now - timedelta(days=3), status=JobStatus.WORK_COMPLETE, completed_at=now - timedelta(days=1))
    JobFactory(created_at=now - timedelta(days=45))  # outside the window
    chart = queries.dashboard(dispatcher)["chart"]
    assert len(chart) == 30
    assert chart[-1]["day"] == now.date()
    assert chart[-1]["created"] == 2
    assert chart[-4]["created"] == 1
    assert chart[-2]["completed"] == 1
    assert sum(d["created"] for d in chart) == 3
    assert sum(d["completed"] for d in chart) == 1


def test_dashboard_counts_are_capped(dispatcher, monkeypatch):
    monkeypatch.setattr(queries, "COUNT_CAP", 3)
    JobFactory.create_batch(5, status=JobStatus.NEW)
    JobFactory(status=JobStatus.SCHEDULED)
    data = queries.dashboard(dispatcher)
    counts = {s: n for s, _, n in data["counts"]}
    assert counts["new"] == 4  # "3+": counting stops after the cap
    assert counts["scheduled"] == 1
    assert data["open_capped"] is True


def test_technician_sees_each_assigned_job_once(tech_a, tech_b):
    shared = JobFactory(technicians=[tech_a, tech_b])
    JobFactory(technicians=[tech_b])
    assert list(queries.jobs_visible_to(tech_a.user)) == [shared]


def test_a_technicians_list_count_is_their_assignments_filtered_or_not(tech_a, tech_b, monkeypatch):
    mine = [JobFactory(technicians=[tech_a], status=s) for s in (JobStatus.NEW, JobStatus.SCHEDULED, JobStatus.SCHEDULED)]
    JobFactory(technicians=[tech_b])
    JobFactory()
    assert queries.job_list_count(tech_a.user, queries.JobFilters()) == len(mine)
    assert queries.job_list_count(tech_a.user, queries.JobFilters(statuses=[JobStatus.SCHEDULED])) == 2
    monkeypatch.setattr(queries, "COUNT_CAP", 1)
    assert queries.job_list_count(tech_a.user, queries.JobFilters()) == 2  # capped: shown as "1+"
