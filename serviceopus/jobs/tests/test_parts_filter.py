"""Parts readiness on the list and the board: the badge, the "blocked by parts" filter, and query
counts that do not change with it. The state comes from real reservations (inventory actions)."""

from django.urls import reverse

from serviceopus.inventory.actions.reservations import material_reserve
from serviceopus.jobs.models import Job
from serviceopus.jobs.status import JobStatus
from tests.factories import ItemFactory, JobFactory, WarehouseFactory

from .pages import BOARD_QUERIES, LIST_QUERIES, html, make_jobs


def _blocked_job(office, number: str) -> Job:
    job = JobFactory(number=number, status=JobStatus.NEW)
    item, warehouse = ItemFactory(sku=f"P-{number}"), WarehouseFactory(name="Main warehouse")
    material_reserve(actor=office, job_id=job.pk, item_id=item.pk, location_id=warehouse.pk, quantity="2", backorder=True)
    job.refresh_from_db()
    assert job.parts_readiness == "blocked"
    return job


def test_the_list_shows_the_badge_and_filters_blocked_by_parts(client_as, dispatcher, office):
    blocked = _blocked_job(office, "J-BLOCK1")
    other = JobFactory(number="J-PLAIN1", status=JobStatus.NEW)
    client = client_as(dispatcher)
    page = html(client.get(reverse("jobs:list")))
    assert "Blocked by parts" in page
    rows = client.get(reverse("jobs:list") + "?parts=blocked").context["page"].rows
    assert [j.pk for j in rows] == [blocked.pk]
    assert other.pk not in [j.pk for j in rows]
    assert "Blocked by parts" in html(client.get(reverse("jobs:list")))  # saved view link


def test_an_unknown_parts_value_is_reported_and_ignored(client_as, dispatcher):
    JobFactory(status=JobStatus.NEW)
    response = client_as(dispatcher).get(reverse("jobs:list") + "?parts=nonsense")
    assert response.status_code == 200
    assert len(response.context["page"].rows) == 1
    assert "Ignored" in html(response)


def test_the_board_filters_blocked_by_parts(client_as, dispatcher, office):
    blocked = _blocked_job(office, "J-BLOCK2")
    JobFactory(status=JobStatus.NEW)
    columns = client_as(dispatcher).get(reverse("jobs:board") + "?parts=blocked").context["columns"]
    assert [j.pk for c in columns for j in c.jobs] == [blocked.pk]
    assert "Blocked by parts" in html(client_as(dispatcher).get(reverse("jobs:board")))


def test_the_parts_filter_keeps_the_query_count(client_as, dispatcher, office, django_assert_num_queries):
    client = client_as(dispatcher)
    make_jobs(5)
    _blocked_job(office, "J-BLOCK3")
    with django_assert_num_queries(LIST_QUERIES):
        client.get(reverse("jobs:list") + "?parts=blocked")
    make_jobs(30)
    Job.objects.filter(pk__in=Job.objects.exclude(parts_readiness="blocked").order_by("id").values("id")[:10]).update(parts_readiness="blocked")
    with django_assert_num_queries(LIST_QUERIES):
        rows = client.get(reverse("jobs:list") + "?parts=blocked").context["page"].rows
    assert len(rows) == 11
    with django_assert_num_queries(BOARD_QUERIES):
        client.get(reverse("jobs:board") + "?parts=blocked")
