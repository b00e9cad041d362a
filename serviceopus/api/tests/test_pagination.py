"""Cursor pages: walking forward reaches every row once, walking back returns the same pages, and a
page costs a fixed number of queries."""

import pytest

from serviceopus.jobs.models import Priority
from tests.factories import CustomerFactory, JobFactory, JobTypeFactory, SkillFactory, TechnicianFactory

from .client import api_client, field_paths

pytestmark = pytest.mark.django_db


def _walk(api, path, params):  # type: ignore[no-untyped-def]
    """Every page from the first, following next_cursor; returns the pages' item ids."""
    pages, cursor = [], None
    while True:
        response = api.get(path, {**params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.content
        body = response.json()
        assert set(body) == {"items", "next_cursor", "prev_cursor"}
        pages.append(([item["id"] for item in body["items"]], body))
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


def test_customer_pages_cover_every_row_once_in_id_order(dispatcher):
    ids = [CustomerFactory().pk for _ in range(7)]
    pages = _walk(api_client(dispatcher), "/customers", {"limit": 3})
    assert [p[0] for p in pages] == [ids[0:3], ids[3:6], ids[6:7]]
    assert pages[0][1]["prev_cursor"] is None
    assert pages[-1][1]["next_cursor"] is None


def test_prev_cursor_returns_the_page_before(dispatcher):
    ids = [CustomerFactory().pk for _ in range(7)]
    api = api_client(dispatcher)
    pages = _walk(api, "/customers", {"limit": 3})
    back = api.get("/customers", {"limit": 3, "cursor": pages[2][1]["prev_cursor"]}).json()
    assert [c["id"] for c in back["items"]] == ids[3:6]
    first = api.get("/customers", {"limit": 3, "cursor": back["prev_cursor"]}).json()
    assert [c["id"] for c in first["items"]] == ids[0:3]
    assert first["prev_cursor"] is None


def test_job_pages_follow_the_chosen_sort(dispatcher):
    jobs = [JobFactory(priority=p) for p in (Priority.LOW, Priority.URGENT, Priority.NORMAL, Priority.URGENT, Priority.HIGH)]
    expected = [j.pk for j in sorted(jobs, key=lambda j: (-j.priority, -j.pk))]
    pages = _walk(api_client(dispatcher), "/jobs", {"limit": 2, "sort": "priority"})
    assert [i for ids, _ in pages for i in ids] == expected
    assert [len(ids) for ids, _ in pages] == [2, 2, 1]


def test_job_pages_sorted_oldest_first(dispatcher):
    ids = [JobFactory().pk for _ in range(5)]
    pages = _walk(api_client(dispatcher), "/jobs", {"limit": 2, "sort": "oldest"})
    assert [i for page, _ in pages for i in page] == ids


def test_technician_and_skill_lists_are_paged_too(dispatcher):
    techs = [TechnicianFactory().pk for _ in range(3)]
    skills = [SkillFactory().pk for _ in range(3)]
    api = api_client(dispatcher)
    assert [i for page, _ in _walk(api, "/technicians", {"limit": 2}) for i in page] == techs
    assert [i for page, _ in _walk(api, "/skills", {"limit": 2}) for i in page] == skills


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten"])
def test_limit_is_1_to_100(dispatcher, limit):
    response = api_client(dispatcher).get("/customers", {"limit": limit})
    assert response.status_code == 422
    assert field_paths(response) == {"query.limit"}


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "eyJ2IjpbIngiXSwiZCI6Im5leHQifQ",  # {"v":["x"],"d":"next"}: a string where an id belongs
        "eyJ2IjpbMV0sImQiOiJzaWRld2F5cyJ9",  # {"v":[1],"d":"sideways"}
        "eyJ2IjpbMSwyXSwiZCI6Im5leHQifQ",  # {"v":[1,2],"d":"next"}: too many values
    ],
)
def test_a_tampered_cursor_is_422(dispatcher, cursor):
    CustomerFactory()
    response = api_client(dispatcher).get("/customers", {"cursor": cursor})
    assert response.status_code == 422
    assert field_paths(response) == {"query.cursor"}


def test_a_cursor_beyond_any_id_is_an_empty_page_not_an_error(dispatcher):
    CustomerFactory()
    cursor = "eyJ2IjpbOTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5XSwiZCI6Im5leHQifQ"  # {"v":[999999999999999999999999],"d":"next"}
    response = api_client(dispatcher).get("/customers", {"cursor": cursor})
    assert response.status_code == 200
    assert response.json()["items"] == []


@pytest.mark.parametrize("path", ["/customers", "/technicians", "/skills", "/job-types"])
def test_list_query_counts_do_not_grow_with_rows(dispatcher, django_assert_max_num_queries, django_assert_num_queries, path):
    def add_rows(n: int) -> None:
        for _ in range(n):
            skill = SkillFactory()
            TechnicianFactory().skills.add(skill)
            JobTypeFactory().required_skills.add(skill)
            CustomerFactory()

    api = api_client(dispatcher)
    api.get(path)  # the token's first use is recorded once; count the steady state
    add_rows(3)
    with django_assert_max_num_queries(5) as few:
        assert len(api.get(path).json()["items"]) == 3
    add_rows(20)
    with django_assert_num_queries(len(few.captured_queries)):
        assert len(api.get(path).json()["items"]) == 23
