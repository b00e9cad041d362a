"""Every read the follow-up task pages and the alert centre need, each a fixed number of queries
whatever the number of rows.

"My tasks" are the open tasks given to me, or to my role and to no one person in it. Managers and
owners also get "All": every open task, to see what the team owes."""

from dataclasses import dataclass
from datetime import date

from django.core.paginator import Page, Paginator
from django.db.models import Count, F, Q, QuerySet
from django.shortcuts import get_object_or_404

from serviceopus.accounts.models import User
from serviceopus.accounts.roles import Role
from serviceopus.jobs.models import Job
from serviceopus.jobs.queries import jobs_visible_to

from .models import Alert, FollowUpTask
from .tasks import OWNER_ROLES

TASK_PAGE_SIZE = 25
ALERT_PAGE_SIZE = 25
# A job's Tasks tab shows at most this many (rules could add many; the oldest done ones drop off).
JOB_TASK_LIMIT = 200

OPEN, OVERDUE, TODAY, DONE, ALL = "open", "overdue", "today", "done", "all"
FILTERS = {OPEN: "Open", OVERDUE: "Overdue", TODAY: "Due today", DONE: "Done", ALL: "Everyone's open tasks"}
# Open tasks first by due date (no date last, on both databases), then the order they were made.
OPEN_ORDER = (F("due_date").asc(nulls_last=True), "id")


def sees_all_tasks(user: User) -> bool:
    return user.role in (Role.ADMIN, Role.MANAGER)


def task_filters(user: User) -> list[tuple[str, str]]:
    return [(key, label) for key, label in FILTERS.items() if key != ALL or sees_all_tasks(user)]


def mine(user: User) -> Q:
    """Given to me, or to my role and not to one person."""
    return Q(owner=user) | Q(owner__isnull=True, owner_role=user.role)


def bucket(task: FollowUpTask, today: date) -> str:
    """Where an open task sits on the page: overdue, today, later or undated."""
    if task.done_at is not None:
        return "done"
    if task.due_date is None:
        return "undated"
    return "overdue" if task.due_date < today else "today" if task.due_date == today else "later"


@dataclass(frozen=True)
class TaskSummary:
    open: int
    overdue: int
    today: int


def task_scope(user: User, which: str) -> QuerySet[FollowUpTask]:
    everyone = which == ALL and sees_all_tasks(user)
    return FollowUpTask.objects.all() if everyone else FollowUpTask.objects.filter(mine(user))


def task_summary(user: User, which: str, today: date) -> TaskSummary:
    """The counts at the top of the page, in one query."""
    counts = (
        task_scope(user, which)
        .filter(done_at__isnull=True)
        .aggregate(open=Count("id"), overdue=Count("id", filter=Q(due_date__lt=today)), today=Count("id", filter=Q(due_date=today)))
    )
    return TaskSummary(open=counts["open"], overdue=counts["overdue"], today=counts["today"])


def my_tasks_page(user: User, *, which: str, number: object, today: date) -> Page:
    """One page of tasks for the filter `which` (an unknown one is "open"), with each task's job,
    customer and people, and `bucket` set: two queries (the count and the page)."""
    qs = task_scope(user, which)
    if which == DONE:
        qs = qs.filter(done_at__isnull=False).order_by("-done_at", "-id")
    else:
        qs = qs.filter(done_at__isnull=True)
        if which == OVERDUE:
            qs = qs.filter(due_date__lt=today)
        elif which == TODAY:
            qs = qs.filter(due_date=today)
        qs = qs.order_by(*OPEN_ORDER)
    page = Paginator(qs.select_related("job", "job__customer", "owner", "done_by"), TASK_PAGE_SIZE).get_page(number)
    page.object_list = list(page.object_list)
    for task in page.object_list:
        task.bucket = bucket(task, today)
    return page


def job_tasks(job: Job, today: date) -> list[FollowUpTask]:
    """The job's tasks, open ones first by due date, then the done ones newest first: one query."""
    qs = FollowUpTask.objects.filter(job_id=job.pk).select_related("owner", "done_by")
    tasks = list(qs.order_by(F("done_at").desc(nulls_first=True), *OPEN_ORDER)[:JOB_TASK_LIMIT])
    for task in tasks:
        task.bucket = bucket(task, today)
    return tasks


def owner_choices() -> list[User]:
    """The people a task may be given to: active office users, by name (one query)."""
    return list(User.objects.filter(is_active=True, role__in=OWNER_ROLES).order_by("first_name", "last_name", "username"))


def access_task(user: User, task_id: int) -> FollowUpTask:
    """The task with its job, customer and people, or Http404 when it does not exist or its job is not
    one this user may see (the job's own rule: a technician sees only their jobs)."""
    qs = FollowUpTask.objects.select_related("job", "job__customer", "owner", "done_by")
    if not user.has_perm("jobs.view_all_jobs"):
        qs = qs.filter(job__in=jobs_visible_to(user))
    return get_object_or_404(qs, pk=task_id)


def alerts_page(user: User, number: object) -> Page:
    """One page of the user's own alerts, newest first, with their jobs and customers: two queries."""
    qs = Alert.objects.filter(user=user).select_related("job", "job__customer").order_by("-created_at", "-id")
    page = Paginator(qs, ALERT_PAGE_SIZE).get_page(number)
    page.object_list = list(page.object_list)
    return page


def unread_alert_count(user: User) -> int:
    """How many of the user's alerts are unread: one query (the header's bell asks for it)."""
    return Alert.objects.filter(user=user, read_at__isnull=True).count()


def access_alert(user: User, alert_id: int) -> Alert:
    """One of the user's own alerts, or Http404 (another's alert is as good as missing)."""
    return get_object_or_404(Alert.objects.select_related("job", "job__customer"), pk=alert_id, user=user)
