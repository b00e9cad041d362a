from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from serviceopus.accounts.roles import Role
from serviceopus.jobs.models import Job
from serviceopus.jobs.pagination import BadCursor, SortKey, decode_cursor, encode_cursor, paginate
from serviceopus.jobs.queries import JobFilters, job_list_page
from serviceopus.jobs.search import filter_by_text
from tests.factories import CustomerFactory, JobFactory, LocationFactory, UserFactory


def test_search_by_number_customer_address_and_scope(db):
    loc = LocationFactory(customer=CustomerFactory(name="Harriet Okonkwo"), street="742 Evergreen Terrace", postal_code="60614")
    job = JobFactory(location=loc, customer=loc.customer, scope="Water heater leaking at the relief valve", number="J-004217")
    JobFactory(scope="Panel upgrade")
    everything = Job.objects.all()
    for query in ["J-004217", "4217", "okonk", "Harriet Okonkwo", "evergreen", "60614", "relief valve", "WATER heat"]:
        assert list(filter_by_text(everything, query)) == [job], query
    assert not filter_by_text(everything, "okonkwo panel").exists()
    assert filter_by_text(everything, "   ").count() == 2  # no words: no filter


def test_search_ignores_query_syntax(db):
    JobFactory(scope="Replace the filter")
    for nasty in ['"', "filter*", "NEAR(a b)", "a & b | !c", "'); DROP TABLE jobs_job; --", "x:*"]:
        list(filter_by_text(Job.objects.all(), nasty))  # must not raise on either database


def test_mangled_cursor_is_refused():
    keys = [SortKey("id", True)]
    for bad in ["", "!!!", encode_cursor(["x"], "next"), encode_cursor([1], "sideways"), encode_cursor([1, 2], "next")]:
        try:
            decode_cursor(bad, keys)
        except BadCursor:
            continue
        raise AssertionError(f"accepted {bad!r}")


class KeysetPagination(TestCase):
    """Walking the pages forward and back visits every row exactly once, in order, for any data."""

    @settings(max_examples=15, deadline=None)
    @given(priorities=st.lists(st.integers(min_value=1, max_value=4), min_size=0, max_size=23), size=st.integers(min_value=1, max_value=7))
    def test_pages_cover_everything_once(self, priorities, size):
        Job.objects.all().delete()
        for p in priorities:
            JobFactory(priority=p)
        keys = [SortKey("priority", True), SortKey("id", True)]
        expected = list(Job.objects.order_by("-priority", "-id").values_list("id", flat=True))
        seen, cursor, pages = [], None, []
        while True:
            page = paginate(Job.objects.all(), keys, cursor=cursor, size=size)
            pages.append(page)
            seen += [j.pk for j in page.rows]
            if not page.next_cursor:
                break
            cursor = page.next_cursor
        assert seen == expected
        # and back again from the last page
        back = [j.pk for j in pages[-1].rows]
        cursor = pages[-1].prev_cursor
        while cursor:
            page = paginate(Job.objects.all(), keys, cursor=cursor, size=size)
            back = [j.pk for j in page.rows] + back
            cursor = page.prev_cursor
        assert back == expected


def test_technician_list_shows_only_assigned_jobs(tech_a, tech_b):
    mine = JobFactory(technicians=[tech_a])
    JobFactory(technicians=[tech_b])
    JobFactory()
    page = job_list_page(tech_a.user, JobFilters(), cursor=None)
    assert [j.pk for j in page.rows] == [mine.pk]
    office = UserFactory(role=Role.OFFICE)
    assert len(job_list_page(office, JobFilters(), cursor=None).rows) == 3
