"""Job dependencies (finish-to-start): the actions and their refusals (cycles included, also when two
opposite links are added at once), the guards on visit start, scheduling and the job's own start, the
Dependencies tab and its writes, and the "Waiting on …" badge on the list and the board."""

import re

import pytest
from django.urls import reverse

from serviceopus.core.errors import ConflictError, DomainError
from serviceopus.dispatch.actions import VisitRefused, visit_schedule, visit_transition
from serviceopus.dispatch.models import Visit
from serviceopus.dispatch.status import VisitStatus
from serviceopus.jobs import dependencies
from serviceopus.jobs.actions import TransitionRefused, job_transition
from serviceopus.jobs.dependencies import DependencyRefused, blocked_job_ids, blocking, dependency_add, dependency_remove
from serviceopus.jobs.models import Job, JobDependency, JobEvent
from serviceopus.jobs.status import JobStatus
from tests.dispatch_support import at, snapshot
from tests.factories import JobFactory, JobTypeFactory, LocationFactory, VisitFactory

from .pages import BOARD_QUERIES, HTMX, LIST_QUERIES, WORKSPACE_QUERIES, html

S = JobStatus
V = VisitStatus
# The workspace on the Dependencies tab: the workspace's own queries, both directions, and the
# customer's other open jobs offered as one-click picks.
DEPENDENCIES_TAB_QUERIES = WORKSPACE_QUERIES + 3


def _state() -> tuple:
    return (
        list(JobDependency.objects.order_by("pk").values()),
        list(Job.objects.order_by("pk").values()),
        list(JobEvent.objects.order_by("pk").values_list("pk", flat=True)),
    )


def _set_status(job: Job, status: str) -> None:
    Job.objects.filter(pk=job.pk).update(status=status)
    job.refresh_from_db()


@pytest.fixture
def pair(db):  # type: ignore[no-untyped-def]
    """Two open jobs at the same customer: the rough-in (A) and the trim-out (B)."""
    location = LocationFactory()
    a = JobFactory(location=location, customer=location.customer, status=S.SCHEDULED, number="J-000101")
    b = JobFactory(location=location, customer=location.customer, status=S.SCHEDULED, number="J-000102")
    return a, b


# ---- actions ------------------------------------------------------------------------------------------


def test_add_links_the_jobs_and_writes_both_timelines(dispatcher, pair):
    a, b = pair
    link = dependency_add(actor=dispatcher, job_id=b.pk, depends_on_id=a.pk)
    assert (link.job_id, link.depends_on_id, link.created_by) == (b.pk, a.pk, dispatcher)
    assert list(JobEvent.objects.filter(kind=JobEvent.Kind.DEPENDENCY).order_by("job_id").values_list("job_id", "message")) == [
        (a.pk, "J-000102 now waits for this job"),
        (b.pk, "Now waits for J-000101"),
    ]
    assert blocking(b) == [a]
    assert blocking(a) == []


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        ("self", "self"),
        ("duplicate", "duplicate"),
        ("dependent_cancelled", "cancelled"),
        ("prerequisite_cancelled", "cancelled"),
        ("dependent_finished", "finished"),
        ("reverse_exists", "cycle"),
    ],
)
def test_refused_adds_change_nothing(dispatcher, pair, setup, code):
    a, b = pair
    target = a
    if setup == "self":
        target = b
    elif setup == "duplicate":
        dependency_add(actor=dispatcher, job_id=b.pk, depends_on_id=a.pk)
    elif setup == "dependent_cancelled":
        _set_status(b, S.CANCELLED)
    elif setup == "prerequisite_cancelled":
        _set_status(a, S.CANCELLED)
    elif setup == "dependent_finished":
        _set_status(b, S.WORK_COMPLETE)
    elif setup == "reverse_exists":
        dependency_add(actor=dispatcher, job_id=a.pk, depends_on_id=b.pk)
    before = _state()
    with pytest.raises(DependencyRefused) as refused:
        dependency_add(actor=dispatcher, job_id=b.pk, depends_on_id=target.pk)
    assert refused.value.code == code
    assert refused.value.http_status == 409
    assert _state() == before


def test_a_technician_may_not_link_jobs(tech_a, pair):
    a, b = pair
    before = _state()
    with pytest.raises(DomainError) as refused:
        dependency_add(actor=tech_a.user, job_id=b.pk, depends_on_id=a.pk)
    assert refused.value.code == "forbidden"
    assert _state() == before


def test_unknown_job_is_not_found(dispatcher, pair):
    before = _state()
    with pytest.raises(DomainError) as refused:
        dependency_add(actor=dispatcher, job_id=pair[0].pk, depends_on_id=987654)
    assert refused.value.code == "not_found"
    assert _state() == before


def test_longer_cycles_are_refused_with_the_chain(dispatcher, db):
    a, b, c, d = (JobFactory(number=f"J-00020{i}") for i in range(4))
    dependency_add(actor=dispatcher, job_id=a.pk, depends_on_id=b.pk)
    dependency_add(actor=dispatcher, job_id=b.pk, depends_on_id=c.pk)
    # A → B → C: C may not wait for A.
    before = _state()
    with pytest.raises(DependencyRefused) as refused:
        dependency_add(actor=dispatcher, job_id=c.pk, depends_on_id=a.pk)
    assert refused.value.code == "cycle"
    assert refused.value.details["path"] == ["J-000200", "J-000201", "J-000202"]
    assert "J-000200 → J-000201 → J-000202" in refused.value.message
    assert _state() == before
    # A → B → C → D: D may not wait for A or B either.
    dependency_add(actor=dispatcher, job_id=c.pk, depends_on_id=d.pk)
    for start in (a, b):
        with pytest.raises(DependencyRefused) as refused:
            dependency_add(actor=dispatcher, job_id=d.pk, depends_on_id=start.pk)
        assert refused.value.code == "cycle"
    assert JobDependency.objects.count() == 3


def test_a_diamond_is_not_a_cycle(dispatcher, db):
    top, left, right, bottom = (JobFactory() for _ in range(4))
    for job, prereq in ((top, left), (top, right), (left, bottom), (right, bottom)):
        dependency_add(actor=dispatcher, job_id=job.pk, depends_on_id=prereq.pk)
    assert JobDependency.objects.count() == 4
    dependency_add(actor=dispatcher, job_id=top.pk, depends_on_id=bottom.pk)  # redundant, but no cycle
    assert JobDependency.objects.count() == 5


def test_remove_unlinks_and_writes_both_timelines(dispatcher, pair):
    a, b = pair
    link = dependency_add(actor=dispatcher, job_id=b.pk, depends_on_id=a.pk)
    dependency_remove(actor=dispatcher, dependency_id=link.pk, job_id=a.pk)
    assert not JobDependency.objects.exists()
    assert set(JobEvent.objects.filter(kind=JobEvent.Kind.DEPENDENCY, data__op="remove").values_list("job_id", "message")) == {
        (b.pk, "No longer waits for J-000101"),
        (a.pk, "J-000102 no longer waits for this job"),
    }


def test_remove_refuses_another_jobs_link_and_a_technician(dispatcher, tech_a, pair):
    a, b = pair
    link = dependency_add(actor=dispatcher, job_id=b.pk, depends_on_id=a.pk)
    stranger = JobFactory()
    before = _state()
    with pytest.raises(DomainError) as refused:
        dependency_remove(actor=dispatcher, dependency_id=link.pk, job_id=stranger.pk)
    assert refused.value.code == "not_found"
    with pytest.raises(DomainError) as refused:
        dependency_remove(actor=tech_a.user, dependency_id=link.pk)
    assert refused.value.code == "forbidden"
    assert _state() == before


@pytest.mark.parametrize(
    ("status", "blocks"),
    [
        (S.NEW, True),
        (S.SCHEDULED, True),
        (S.IN_PROGRESS, True),
        (S.ON_HOLD, True),
        (S.WORK_COMPLETE, False),
        (S.INVOICED, False),
        (S.CLOSED, False),
        (S.CANCELLED, False),
    ],
)
def test_which_prerequisites_block(dispatcher, pair, status, blocks):
    a, b = pair
    dependency_add(actor=dispatcher, job_id=b.pk, depends_on_id=a.pk)
    _set_status(a, status)
    assert blocking(b) == ([a] if blocks else [])
    assert blocked_job_ids([a.pk, b.pk]) == ({b.pk} if blocks else set())


def test_blocked_job_ids_is_one_query(dispatcher, django_assert_num_queries, db):
    prereq = JobFactory()
    waiting = [JobFactory() for _ in range(5)]
    for job in waiting[:3]:
        dependency_add(actor=dispatcher, job_id=job.pk, depends_on_id=prereq.pk)
    with django_assert_num_queries(1):
        assert blocked_job_ids([j.pk for j in waiting]) == {j.pk for j in waiting[:3]}


# ---- guards -------------------------------------------------------------------------------------------


def test_a_crew_cannot_set_off_while_a_prerequisite_is_open(dispatcher, tech_a, pair):
    a, b = pair
    visit = VisitFactory(job=b, crew=[tech_a])
    dependency_add(actor=dispatcher, job_id=b.pk, depends_on_id=a.pk)
    before = snapshot()
    with pytest.raises(VisitRefused) as refused:
        visit_transition(actor=tech_a.user, visit_id=visit.pk, to=V.EN_ROUTE, expected=V.SCHEDULED)
    assert refused.value.code == "blocked_by_dependency"
    assert refused.value.message == "J-000102 waits for J-000101 (scheduled) to be work complete: the visit cannot start yet."
    assert refused.value.details["waiting_on"] == ["J-000101"]
    assert snapshot() == before
    _set_status(a, S.WORK_COMPLETE)
    visit = visit_transition(actor=tech_a.user, visit_id=visit.pk, to=V.EN_ROUTE, expected=V.SCHEDULED)
    assert visit.status == V.EN_ROUTE
    b.refresh_from_db()
    assert b.status == S.IN_PROGRESS


def test_an_en_route_crew_cannot_arrive_but_a_paused_one_may_resume(dispatcher, tech_a, pair):
    a, b = pair
    en_route = VisitFactory(job=b, crew=[tech_a], status=V.EN_ROUTE)
    paused = VisitFactory(job=b, crew=[tech_a], status=V.PAUSED, pause_reason="Lunch")
    dependency_add(actor=dispatcher, job_id=b.pk, depends_on_id=a.pk)
    before = snapshot()
    with pytest.raises(VisitRefused) as refused:
        visit_transition(actor=tech_a.user, visit_id=en_route.pk, to=V.ARRIVED)
    assert refused.value.code == "blocked_by_dependency"
    assert snapshot() == before
    # Work already under way is not stopped by a link added afterwards.
    assert visit_transition(actor=tech_a.user, visit_id=paused.pk, to=V.WORKING).status == V.WORKING


def test_a_cancelled_prerequisite_lets_the_crew_start(dispatcher, tech_a, pair):
    a, b = pair
    visit = VisitFactory(job=b, crew=[tech_a])
    dependency_add(actor=dispatcher, job_id=b.pk, depends_on_id=a.pk)
    _set_status(a, S.CANCELLED)
    assert visit_transition(actor=tech_a.user, visit_id=visit.pk, to=V.EN_ROUTE).status == V.EN_ROUTE


def test_scheduling_waits_only_when_the_job_type_says_so(dispatcher, tech_a, db):
    strict = JobTypeFactory(name="Trim-out", dependencies_block_scheduling=True)
    prereq = JobFactory(status=S.SCHEDULED, number="J-000301")
    b = JobFactory(job_type=strict, number="J-000302")
    dependency_add(actor=dispatcher, job_id=b.pk, depends_on_id=prereq.pk)
    before = snapshot()
    with pytest.raises(ConflictError) as refused:
        visit_schedule(actor=dispatcher, job_id=b.pk, start=at(1, 9), lead_id=tech_a.pk)
    assert refused.value.code == "blocked_by_dependency"
    assert refused.value.message == "J-000302 cannot be scheduled until the jobs it depends on are work complete: J-000301 (scheduled)."
    assert snapshot() == before
    # The default type lets the visit be planned (only starting it waits).
    lenient = JobFactory(number="J-000303")
    dependency_add(actor=dispatcher, job_id=lenient.pk, depends_on_id=prereq.pk)
    [visit] = visit_schedule(actor=dispatcher, job_id=lenient.pk, start=at(1, 9), lead_id=tech_a.pk)
    assert visit.status == V.SCHEDULED
    # Once the prerequisite is done, the strict job schedules too.
    _set_status(prereq, S.WORK_COMPLETE)
    visit_schedule(actor=dispatcher, job_id=b.pk, start=at(2, 9), lead_id=tech_a.pk)
    b.refresh_from_db()
    assert b.status == S.SCHEDULED
    assert Visit.objects.filter(job=b).count() == 1


def test_the_job_itself_does_not_start_while_it_waits(dispatcher, pair):
    a, b = pair
    dependency_add(actor=dispatcher, job_id=b.pk, depends_on_id=a.pk)
    before = _state()
    with pytest.raises(TransitionRefused) as refused:
        job_transition(actor=dispatcher, job_id=b.pk, to=S.IN_PROGRESS)
    assert refused.value.code == "blocked"
    assert [(x["code"], x["items"]) for x in refused.value.details["blockers"]] == [("blocked_by_dependency", ["J-000101"])]
    assert _state() == before
    # The prerequisite itself may move on.
    assert job_transition(actor=dispatcher, job_id=a.pk, to=S.IN_PROGRESS).status == S.IN_PROGRESS


def test_install_registers_each_guard_once():
    from serviceopus.dispatch.actions import SCHEDULE_GUARDS, VISIT_START_GUARDS
    from serviceopus.jobs.guards import _GUARDS

    dependencies.install()
    assert SCHEDULE_GUARDS.count(dependencies.schedule_guard) == 1
    assert VISIT_START_GUARDS.count(dependencies.visit_start_guard) == 1
    assert _GUARDS.count(dependencies.transition_guard) == 1


# ---- the tab and its writes ---------------------------------------------------------------------------


def _text(response) -> str:  # type: ignore[no-untyped-def]
    """The page's text without its tags (a badge keeps its number on one line with a span)."""
    return re.sub(r"<[^>]+>", "", html(response))


def _tab(job: Job) -> str:
    return reverse("jobs:tab", args=[job.pk, "dependencies"])


def test_tab_shows_both_directions_in_a_fixed_number_of_queries(client_as, dispatcher, pair, django_assert_num_queries):
    a, b = pair
    dependency_add(actor=dispatcher, job_id=b.pk, depends_on_id=a.pk)
    client = client_as(dispatcher)
    with django_assert_num_queries(DEPENDENCIES_TAB_QUERIES):
        page = html(client.get(_tab(b)))
    assert "Waiting on J-000101" in page
    assert "Blocking this job" in page
    page = html(client_as(dispatcher).get(_tab(a)))
    assert "J-000102" in page
    assert "Waiting on this job" in page
    for _ in range(4):
        dependency_add(actor=dispatcher, job_id=JobFactory(location=a.location, customer=a.customer).pk, depends_on_id=a.pk)
        dependency_add(actor=dispatcher, job_id=b.pk, depends_on_id=JobFactory(location=a.location, customer=a.customer).pk)
    with django_assert_num_queries(DEPENDENCIES_TAB_QUERIES):
        assert client.get(_tab(b)).status_code == 200
    with django_assert_num_queries(DEPENDENCIES_TAB_QUERIES):
        assert client.get(_tab(a)).status_code == 200


def test_tab_when_the_prerequisite_is_done(client_as, dispatcher, pair):
    a, b = pair
    dependency_add(actor=dispatcher, job_id=b.pk, depends_on_id=a.pk)
    _set_status(a, S.WORK_COMPLETE)
    page = html(client_as(dispatcher).get(_tab(b)))
    assert "Nothing holds this job up" in page
    assert "Done" in page
    assert "Blocking this job" not in page


def test_technicians_read_the_tab_without_the_forms(client_as, dispatcher, tech_a, pair):
    a, b = pair
    b.technicians.add(tech_a)
    dependency_add(actor=dispatcher, job_id=b.pk, depends_on_id=a.pk)
    page = html(client_as(tech_a.user).get(_tab(b)))
    assert "Waiting on J-000101" in page
    assert reverse("jobs:dependency_add", args=[b.pk]) not in page
    assert "Remove" not in page


def test_add_by_number_from_the_waiting_side(client_as, office, pair):
    a, b = pair
    response = client_as(office).post(reverse("jobs:dependency_add", args=[b.pk]), {"number": "j-101", "direction": "waits_for"})
    assert response.status_code == 302
    assert response["Location"] == _tab(b)
    assert list(JobDependency.objects.values_list("job_id", "depends_on_id")) == [(b.pk, a.pk)]


def test_add_from_the_prerequisite_side_with_a_pick_answers_the_tab(client_as, office, pair):
    a, b = pair
    page = html(client_as(office).get(_tab(a)))
    assert 'name="pick" value="J-000102"' in page  # the customer's other open job, offered
    response = client_as(office).post(
        reverse("jobs:dependency_add", args=[a.pk]), {"number": "", "pick": "J-000102", "direction": "holds_up"}, HTTP_HX_TARGET="tab-area", **HTMX
    )
    assert response.status_code == 200
    assert "J-000102 now waits for J-000101." in html(response)
    assert list(JobDependency.objects.values_list("job_id", "depends_on_id")) == [(b.pk, a.pk)]


@pytest.mark.parametrize(
    ("data", "status", "text"),
    [
        ({"number": "", "direction": "waits_for"}, 422, "Enter the number of the other job."),
        ({"number": "J-999999", "direction": "waits_for"}, 422, "There is no job J-999999."),
        ({"number": "J-000101", "direction": "sideways"}, 422, "Select a valid choice."),
        ({"number": "J-000102", "direction": "waits_for"}, 409, "A job cannot depend on itself."),
    ],
)
def test_refused_adds_from_the_tab_say_why_and_change_nothing(client_as, office, pair, data, status, text):
    _, b = pair
    before = _state()
    response = client_as(office).post(reverse("jobs:dependency_add", args=[b.pk]), data, HTTP_HX_TARGET="tab-area", **HTMX)
    assert response.status_code == status
    assert text in html(response)
    assert _state() == before


def test_a_cycle_from_the_tab_is_a_409(client_as, office, pair):
    a, b = pair
    dependency_add(actor=office, job_id=a.pk, depends_on_id=b.pk)
    before = _state()
    response = client_as(office).post(
        reverse("jobs:dependency_add", args=[b.pk]), {"number": "J-000101", "direction": "waits_for"}, HTTP_HX_TARGET="tab-area", **HTMX
    )
    assert response.status_code == 409
    assert "J-000101 already waits for J-000102" in html(response)
    assert _state() == before


def test_technicians_cannot_write(client_as, dispatcher, tech_a, tech_b, pair):
    a, b = pair
    b.technicians.add(tech_a)
    link = dependency_add(actor=dispatcher, job_id=b.pk, depends_on_id=a.pk)
    before = _state()
    own, other = client_as(tech_a.user), client_as(tech_b.user)
    assert own.post(reverse("jobs:dependency_add", args=[b.pk]), {"number": "J-000101", "direction": "holds_up"}).status_code == 403
    assert own.post(reverse("jobs:dependency_remove", args=[b.pk, link.pk])).status_code == 403
    assert other.post(reverse("jobs:dependency_add", args=[b.pk]), {"number": "J-000101", "direction": "holds_up"}).status_code == 404
    assert other.post(reverse("jobs:dependency_remove", args=[b.pk, link.pk])).status_code == 404
    assert _state() == before


def test_remove_from_the_tab(client_as, manager, pair):
    a, b = pair
    link = dependency_add(actor=manager, job_id=b.pk, depends_on_id=a.pk)
    stranger = JobFactory()
    before = _state()
    response = client_as(manager).post(reverse("jobs:dependency_remove", args=[stranger.pk, link.pk]), HTTP_HX_TARGET="tab-area", **HTMX)
    assert response.status_code == 404
    assert _state() == before
    response = client_as(manager).post(reverse("jobs:dependency_remove", args=[a.pk, link.pk]), HTTP_HX_TARGET="tab-area", **HTMX)
    assert response.status_code == 200
    assert "Dependency removed." in html(response)
    assert not JobDependency.objects.exists()


# ---- the list and the board ---------------------------------------------------------------------------


def test_list_and_board_mark_waiting_jobs_without_extra_queries(client_as, dispatcher, django_assert_num_queries, pair):
    a, b = pair
    client = client_as(dispatcher)
    with django_assert_num_queries(LIST_QUERIES):
        assert "Waiting on" not in html(client.get(reverse("jobs:list")))
    for _ in range(5):
        dependency_add(actor=dispatcher, job_id=JobFactory(status=S.NEW).pk, depends_on_id=a.pk)
    dependency_add(actor=dispatcher, job_id=b.pk, depends_on_id=a.pk)
    with django_assert_num_queries(LIST_QUERIES):
        page = _text(client.get(reverse("jobs:list")))
    assert page.count("Waiting on J-000101") == 6
    with django_assert_num_queries(BOARD_QUERIES):
        page = _text(client.get(reverse("jobs:board")))
    assert page.count("Waiting on J-000101") == 6
    # Done prerequisite: no badge anywhere.
    _set_status(a, S.WORK_COMPLETE)
    assert "Waiting on" not in html(client.get(reverse("jobs:list")))
    assert "Waiting on" not in html(client.get(reverse("jobs:board")))


def test_a_finished_dependent_is_not_marked(client_as, dispatcher, pair):
    a, b = pair
    dependency_add(actor=dispatcher, job_id=b.pk, depends_on_id=a.pk)
    _set_status(b, S.CLOSED)
    assert "Waiting on" not in html(client_as(dispatcher).get(reverse("jobs:list")))


# ---- concurrency --------------------------------------------------------------------------------------


def _adder(actor, pairs):  # type: ignore[no-untyped-def]
    def add(i: int) -> str:
        job_id, depends_on_id = pairs[i]
        try:
            dependency_add(actor=actor, job_id=job_id, depends_on_id=depends_on_id)
        except DependencyRefused as refused:
            return refused.code
        return "added"

    return add


@pytest.mark.django_db(transaction=True)
def test_opposite_adds_at_once_exactly_one_wins(dispatcher):
    from tests.test_concurrency import run_at_once

    for _ in range(5):
        a, b = JobFactory(), JobFactory()
        results = run_at_once(2, _adder(dispatcher, [(a.pk, b.pk), (b.pk, a.pk)]))
        assert sorted(results) == ["added", "cycle"]
        assert JobDependency.objects.filter(job__in=[a, b]).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_adds_closing_one_cycle_through_four_jobs_exactly_one_wins(dispatcher):
    """A→B and C→D touch four different job rows; with B→C and D→A in place, together they would close
    A→B→C→D→A. The graph lock makes one of them see the other."""
    from tests.test_concurrency import run_at_once

    for _ in range(3):
        a, b, c, d = (JobFactory() for _ in range(4))
        dependency_add(actor=dispatcher, job_id=b.pk, depends_on_id=c.pk)
        dependency_add(actor=dispatcher, job_id=d.pk, depends_on_id=a.pk)
        results = run_at_once(2, _adder(dispatcher, [(a.pk, b.pk), (c.pk, d.pk)]))
        assert sorted(results) == ["added", "cycle"]
        assert JobDependency.objects.filter(job__in=[a, b, c, d]).count() == 3
