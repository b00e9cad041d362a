"""Job dependencies (finish-to-start): a job waits for the jobs it depends on — its prerequisites — to
be work complete before its crew may start a visit (and, when its type says so, before it is
scheduled). Actions to add and remove a dependency, the reads the workspace, the list and the board
need, and the guards that dispatch and the job lifecycle call (installed from JobsConfig.ready).

A prerequisite holds its dependents up while it is new, scheduled, in progress or on hold; once work
complete (or invoiced, closed) it is done, and a cancelled prerequisite holds nobody up: the work it
stood for will not happen, and the office decides what the dependent does instead.
"""

from collections import deque
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Exists, OuterRef, QuerySet, Subquery, When

from serviceopus.accounts.models import User
from serviceopus.core.errors import ConflictError, DomainError

from .actions import _event, lock_job
from .guards import Blocker
from .models import Job, JobDependency, JobEvent, JobType
from .status import JobStatus

PERM = "jobs.edit_job"
S = JobStatus
# A prerequisite in one of these holds its dependents up.
BLOCKING_STATUSES = (S.NEW, S.SCHEDULED, S.IN_PROGRESS, S.ON_HOLD)
# A dependent in one of these still has its work ahead of it: only such jobs are shown as blocked.
WAITING_STATUSES = BLOCKING_STATUSES
# A job that is finished or cancelled takes no new prerequisite.
NO_NEW_PREREQUISITES = (S.WORK_COMPLETE, S.INVOICED, S.CLOSED, S.CANCELLED)
# Any fixed number: the key of the transaction lock that serialises changes to the dependency graph
# on PostgreSQL (see dependency_add).
GRAPH_LOCK_KEY = 0x6A6F6264  # "jobd"


class DependencyRefused(ConflictError):
    """A dependency that would make no sense (itself, twice, a cycle, a cancelled job): HTTP 409."""


# ---- actions ------------------------------------------------------------------------------------------


def _lock_graph() -> None:
    # Locking the two jobs of the new edge is not enough on PostgreSQL: A→B and C→D, added at once
    # while B→C and D→A exist, touch four different rows, and each walk misses the other's
    # uncommitted edge. One transaction lock for every change to the graph closes that gap (adding
    # a dependency is a rare office action). SQLite's IMMEDIATE transactions already run one at a time.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [GRAPH_LOCK_KEY])


def _path_between(start: int, goal: int) -> list[int] | None:
    """The chain of job ids start → … → goal following "depends on" links, or None when `goal` is not
    upstream of `start`. Breadth first, one query per level of the graph."""
    came_from: dict[int, int | None] = {start: None}
    frontier = [start]
    while frontier:
        level = list(JobDependency.objects.filter(job_id__in=frontier).values_list("job_id", "depends_on_id"))
        frontier = []
        for job_id, prereq_id in level:
            if prereq_id in came_from:
                continue
            came_from[prereq_id] = job_id
            if prereq_id == goal:
                path: deque[int] = deque()
                node: int | None = goal
                while node is not None:
                    path.appendleft(node)
                    node = came_from[node]
                return list(path)
            frontier.append(prereq_id)
    return None


def dependency_add(*, actor: User, job_id: int, depends_on_id: int) -> JobDependency:
    """Make job `job_id` wait for job `depends_on_id`. Refuses (DependencyRefused, nothing written) a
    job depending on itself, a dependency that exists, a cancelled job on either side, a dependent
    that is already finished, and a cycle — the walk runs with both jobs locked (in id order, so two
    opposite adds cannot deadlock) and the graph lock held, so of two adds that would close a cycle
    together exactly one wins. Writes a timeline event on both jobs."""
    if not actor.has_perm(PERM):
        raise DomainError("forbidden", "You may not change job dependencies.")
    if job_id == depends_on_id:
        raise DependencyRefused("self", "A job cannot depend on itself.")
    with transaction.atomic():
        locked: dict[int, Job] = {}
        for pk in sorted((job_id, depends_on_id)):
            try:
                locked[pk] = lock_job(pk)
            except Job.DoesNotExist:
                raise DomainError("not_found", "No such job.") from None
        _lock_graph()
        job, prereq = locked[job_id], locked[depends_on_id]
        for one in (job, prereq):
            if one.status == S.CANCELLED:
                raise DependencyRefused("cancelled", f"{one.number} is cancelled: restore it before linking it to other jobs.")
        if job.status in NO_NEW_PREREQUISITES:
            raise DependencyRefused("finished", f"{job.number} is already {JobStatus(job.status).label.lower()}: it has nothing left to wait for.")
        if JobDependency.objects.filter(job=job, depends_on=prereq).exists():
            raise DependencyRefused("duplicate", f"{job.number} already waits for {prereq.number}.")
        path = _path_between(prereq.pk, job.pk)
        if path is not None:
            numbers = dict(Job.objects.filter(pk__in=path).values_list("pk", "number"))
            chain = " → ".join(numbers[pk] for pk in path)
            raise DependencyRefused(
                "cycle",
                f"{prereq.number} already waits for {job.number} ({chain}), so {job.number} cannot wait for {prereq.number}.",
                path=[numbers[pk] for pk in path],
            )
        try:
            with transaction.atomic():
                link = JobDependency.objects.create(job=job, depends_on=prereq, created_by=actor)
        except IntegrityError:  # the unique constraint, should a writer ever bypass the locks
            raise DependencyRefused("duplicate", f"{job.number} already waits for {prereq.number}.") from None
        data = {"op": "add", "job": job.pk, "depends_on": prereq.pk}
        _event(job, actor, JobEvent.Kind.DEPENDENCY, new=prereq.number, message=f"Now waits for {prereq.number}", data=data)
        _event(prereq, actor, JobEvent.Kind.DEPENDENCY, new=job.number, message=f"{job.number} now waits for this job", data=data)
    return link


def dependency_remove(*, actor: User, dependency_id: int, job_id: int | None = None) -> None:
    """Remove a dependency. `job_id`, when given, must be one of its two jobs (the page it was removed
    from); otherwise DomainError "not_found". Writes a timeline event on both jobs."""
    if not actor.has_perm(PERM):
        raise DomainError("forbidden", "You may not change job dependencies.")
    with transaction.atomic():
        link = JobDependency.objects.filter(pk=dependency_id).values("job_id", "depends_on_id").first()
        if link is None or (job_id is not None and job_id not in (link["job_id"], link["depends_on_id"])):
            raise DomainError("not_found", "This dependency no longer exists. Reload to see the job's dependencies.")
        locked = {pk: lock_job(pk) for pk in sorted((link["job_id"], link["depends_on_id"]))}
        _lock_graph()
        if not JobDependency.objects.filter(pk=dependency_id).delete()[0]:
            raise DomainError("not_found", "This dependency no longer exists. Reload to see the job's dependencies.")
        job, prereq = locked[link["job_id"]], locked[link["depends_on_id"]]
        data = {"op": "remove", "job": job.pk, "depends_on": prereq.pk}
        _event(job, actor, JobEvent.Kind.DEPENDENCY, old=prereq.number, message=f"No longer waits for {prereq.number}", data=data)
        _event(prereq, actor, JobEvent.Kind.DEPENDENCY, old=job.number, message=f"{job.number} no longer waits for this job", data=data)


# ---- queries ------------------------------------------------------------------------------------------


def blocking(job: Job) -> list[Job]:
    """The job's prerequisites that still hold it up, by number (one query)."""
    return list(Job.objects.filter(dependent_links__job=job, status__in=BLOCKING_STATUSES).order_by("number"))


def blocked_job_ids(job_ids: list[int]) -> set[int]:
    """Which of `job_ids` wait for at least one open prerequisite (one query), for lists."""
    return set(
        JobDependency.objects.filter(job_id__in=job_ids, job__status__in=WAITING_STATUSES, depends_on__status__in=BLOCKING_STATUSES).values_list(
            "job_id", flat=True
        )
    )


def with_waiting_on(qs: QuerySet[Job]) -> QuerySet[Job]:
    """Annotate each job with `waiting_on`: the number of its first open prerequisite, or None (also
    for jobs past the point of waiting). A correlated subquery on the (job, depends_on) index, read
    only for the rows of the page: the list and the board show the badge without another query."""
    first_open = (
        JobDependency.objects.filter(job=OuterRef("pk"), depends_on__status__in=BLOCKING_STATUSES)
        .order_by("depends_on__number")
        .values("depends_on__number")[:1]
    )
    return qs.annotate(waiting_on=Case(When(status__in=WAITING_STATUSES, then=Subquery(first_open)), default=None))


def has_open_prerequisite(qs: QuerySet[Job]) -> QuerySet[Job]:
    """Only the jobs of `qs` that wait for an open prerequisite (a filter for lists)."""
    return qs.filter(status__in=WAITING_STATUSES).filter(Exists(JobDependency.objects.filter(job=OuterRef("pk"), depends_on__status__in=BLOCKING_STATUSES)))


@dataclass
class DependencyRow:
    link: JobDependency
    other: Job  # the prerequisite on "waits for", the dependent on "holds up"
    blocking: bool


def job_dependencies(job: Job) -> dict[str, Any]:
    """Both directions for the Dependencies tab (two queries)."""
    waits_for = [
        DependencyRow(link, link.depends_on, link.depends_on.status in BLOCKING_STATUSES and job.status in WAITING_STATUSES)
        for link in JobDependency.objects.filter(job=job).select_related("depends_on__customer", "depends_on__job_type").order_by("depends_on__number")
    ]
    holds_up = [
        DependencyRow(link, link.job, job.status in BLOCKING_STATUSES and link.job.status in WAITING_STATUSES)
        for link in JobDependency.objects.filter(depends_on=job).select_related("job__customer", "job__job_type").order_by("job__number")
    ]
    blocking_numbers = [r.other.number for r in waits_for if r.blocking]
    return {"waits_for": waits_for, "holds_up": holds_up, "blocked": bool(blocking_numbers), "blocking_numbers": blocking_numbers}


def _numbers(jobs: list[Job]) -> str:
    return ", ".join(f"{j.number} ({JobStatus(j.status).label.lower()})" for j in jobs)


# ---- guards -------------------------------------------------------------------------------------------


def schedule_guard(job: Job) -> None:
    """dispatch.SCHEDULE_GUARDS: a job whose type says so takes no first visit time while it waits."""
    if not JobType.objects.filter(pk=job.job_type_id, dependencies_block_scheduling=True).exists():
        return
    open_ = blocking(job)
    if open_:
        raise ConflictError(
            "blocked_by_dependency",
            f"{job.number} cannot be scheduled until the jobs it depends on are work complete: {_numbers(open_)}.",
            waiting_on=[j.number for j in open_],
        )


def visit_start_guard(*, actor: User, visit: Any, to: str) -> None:
    """dispatch.VISIT_START_GUARDS: no crew sets off to, or starts at, a job that still waits."""
    from serviceopus.dispatch.actions import VisitRefused

    job = Job.objects.get(pk=visit.job_id)
    open_ = blocking(job)
    if open_:
        raise VisitRefused(
            "blocked_by_dependency",
            f"{job.number} waits for {_numbers(open_)} to be work complete: the visit cannot start yet.",
            current_status=visit.status,
            version=visit.version,
            waiting_on=[j.number for j in open_],
        )


def transition_guard(job: Job, to: str) -> list[Blocker]:
    """jobs.guards: the job itself does not go in progress (nor, when its type says so, scheduled)
    while it waits. Going back to work after work complete or an invoice is not starting it."""
    starting = to == S.IN_PROGRESS and job.status in (S.NEW, S.SCHEDULED, S.ON_HOLD)
    scheduling = to == S.SCHEDULED and job.status in (S.NEW, S.ON_HOLD)
    if not (starting or scheduling):
        return []
    if scheduling and not JobType.objects.filter(pk=job.job_type_id, dependencies_block_scheduling=True).exists():
        return []
    open_ = blocking(job)
    if not open_:
        return []
    return [
        Blocker(
            "blocked_by_dependency",
            f"It waits for {_numbers(open_)} to be work complete.",
            [j.number for j in open_],
            tab="dependencies",
        )
    ]


def install() -> None:
    """Plug the guards into dispatch and the job lifecycle (JobsConfig.ready; safe to call twice)."""
    from serviceopus.dispatch.actions import SCHEDULE_GUARDS, VISIT_START_GUARDS

    from .guards import register_guard

    if schedule_guard not in SCHEDULE_GUARDS:
        SCHEDULE_GUARDS.append(schedule_guard)
    if visit_start_guard not in VISIT_START_GUARDS:
        VISIT_START_GUARDS.append(visit_start_guard)
    register_guard(transition_guard)
