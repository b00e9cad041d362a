"""Follow-up tasks: the "My tasks" page, the job workspace's Tasks tab (registered in hooks.install),
adding a task from the tab, the edit page, and Done / Reopen from either place.

Every write needs `automation.work_tasks` (the office roles). A task is reached through its job's access
rule first (a technician not on the job gets 404), then the capability is checked (403); technicians
read the Tasks tab of their own jobs and change nothing. Done and Reopen answer an HTMX row swap with
the row (and the counts at the top, out of band), a tab swap with the tab, and a plain POST with a
redirect back where it came from."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.jobs.models import Job
from serviceopus.jobs.queries import access_job_for_user
from serviceopus.jobs.views.conventions import require_perm, safe_next, wants_fragment
from serviceopus.jobs.views.workspace import render_workspace

from .. import task_queries as queries
from .. import tasks as actions
from ..models import FollowUpTask
from ..task_forms import TaskForm

PERM = actions.PERM
TAB = "tasks"
NAV = "tasks"


def tasks_tab(request: HttpRequest, job: Job, **extra: Any) -> dict[str, Any]:
    """The tab's context: one query for the tasks, and for those who may add one, one for the owners."""
    can_work = request.user.has_perm(PERM)
    today = timezone.localdate()
    tasks = queries.job_tasks(job, today)
    form = extra.get("task_form")
    if form is None and can_work:
        form = TaskForm(initial={"owner": f"user:{request.user.pk}"}, owners=queries.owner_choices())
    return {
        "tab_template": "automation/tasks/tab.html",
        "job_tasks": tasks,
        "open_task_count": sum(1 for t in tasks if t.done_at is None),
        "can_work_tasks": can_work,
        "task_form": form,
        "task_refused": extra.get("task_refused"),
        "tab_url": reverse("jobs:tab", args=[job.pk, TAB]),
        "today": today,
    }


def _tab_answer(request: HttpRequest, job_id: int, *, status: int = 200) -> HttpResponse:
    """The tab for an HTMX swap of #tab-area; otherwise back to the tab."""
    if wants_fragment(request, "tab-area"):
        return render_workspace(request, access_job_for_user(request.user, job_id), TAB, status=status)
    return redirect(reverse("jobs:tab", args=[job_id, TAB]))


@login_required
@require_GET
def my_tasks(request: HttpRequest) -> HttpResponse:
    require_perm(request, PERM)
    filters = queries.task_filters(request.user)
    which = request.GET.get("show", queries.OPEN)
    if which not in dict(filters):
        which = queries.OPEN
    today = timezone.localdate()
    page = queries.my_tasks_page(request.user, which=which, number=request.GET.get("page"), today=today)
    context = {
        "page": page,
        "tasks": page.object_list,
        "summary": queries.task_summary(request.user, which, today),
        "which": which,
        "filters": filters,
        "everyone": which == queries.ALL,
        "today": today,
        "next_url": request.get_full_path(),
        "nav_active": NAV,
    }
    return render(request, "automation/tasks/my_tasks.html", context)


@login_required
@require_POST
def task_add(request: HttpRequest, job_id: int) -> HttpResponse:
    job = access_job_for_user(request.user, job_id)
    require_perm(request, PERM)
    form = TaskForm(request.POST, owners=queries.owner_choices())
    status, refused = 422, None
    if form.is_valid():
        try:
            task = actions.task_create(actor=request.user, job_id=job.pk, **form.action_kwargs())
        except InvalidInput as exc:
            form.apply(exc)
        except DomainError as exc:
            status, refused = exc.http_status, exc.message
        else:
            messages.success(request, f"Task added: {task.title}.")
            return _tab_answer(request, job.pk)
    return render_workspace(request, job, TAB, status=status, task_form=form, task_refused=refused)


def _edit_page(request: HttpRequest, task: FollowUpTask, form: TaskForm, *, status: int = 200, refused: str | None = None) -> HttpResponse:
    back = safe_next(request, reverse("jobs:tab", args=[task.job_id, TAB]))
    context = {"task": task, "form": form, "refused": refused, "back": back, "nav_active": NAV}
    return render(request, "automation/tasks/edit.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def task_edit(request: HttpRequest, task_id: int) -> HttpResponse:
    """GET: the form. POST: save it at the version it was read; a stale one shows the task as it is now
    (409) with the reason, having changed nothing."""
    task = queries.access_task(request.user, task_id)
    require_perm(request, PERM)
    owners = queries.owner_choices()
    if request.method == "GET":
        return _edit_page(request, task, TaskForm.for_task(task, owners))
    form = TaskForm(request.POST, owners=owners)
    status, refused = 422, None
    if form.is_valid():
        version = form.cleaned_data["version"]
        try:
            if version is None:
                raise InvalidInput("This form is out of date; reload the page.")
            actions.task_update(actor=request.user, task_id=task.pk, version=version, **form.action_kwargs())
        except InvalidInput as exc:
            form.apply(exc)
        except ConflictError as exc:
            status, refused = exc.http_status, exc.message
            task = queries.access_task(request.user, task.pk)
            form = TaskForm.for_task(task, owners)
        except DomainError as exc:
            raise Http404(exc.message) from exc
        else:
            messages.success(request, "Task saved.")
            return redirect(safe_next(request, reverse("jobs:tab", args=[task.job_id, TAB])))
    return _edit_page(request, task, form, status=status, refused=refused)


def _flip(request: HttpRequest, task_id: int, *, done: bool) -> HttpResponse:
    task = queries.access_task(request.user, task_id)
    require_perm(request, PERM)
    status, refused = 200, None
    try:
        if done:
            actions.task_complete(actor=request.user, task_id=task.pk)
        else:
            actions.task_reopen(actor=request.user, task_id=task.pk)
    except ConflictError as exc:
        # Someone got there first: the task shows as it is now, with why nothing happened.
        status, refused = exc.http_status, exc.message
    except DomainError as exc:
        raise Http404(exc.message) from exc
    said = f"Done: {task.title}." if done else f"Reopened: {task.title}. It holds the job's close again."
    if wants_fragment(request, f"task-{task.pk}"):
        return _row(request, task.pk, status=status, refused=refused)
    if refused:
        messages.error(request, refused)
    else:
        messages.success(request, said)
    if wants_fragment(request, "tab-area"):
        return _tab_answer(request, task.job_id, status=status)
    return redirect(safe_next(request, reverse("automation:tasks")))


def _row(request: HttpRequest, task_id: int, *, status: int, refused: str | None) -> HttpResponse:
    """The My tasks row as it is now, and the counts at the top (out of band) for the filter shown."""
    today = timezone.localdate()
    which = request.POST.get("show", queries.OPEN)
    if which not in dict(queries.task_filters(request.user)):
        which = queries.OPEN
    task = queries.access_task(request.user, task_id)
    task.bucket = queries.bucket(task, today)
    context = {
        "task": task,
        "refused": refused,
        "which": which,
        "everyone": which == queries.ALL,
        "summary": queries.task_summary(request.user, which, today),
        "next_url": safe_next(request, reverse("automation:tasks")),
        "today": today,
        "oob": True,
    }
    response = render(request, "automation/tasks/my_tasks.html#row_swap", context, status=status)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


@login_required
@require_POST
def task_done(request: HttpRequest, task_id: int) -> HttpResponse:
    return _flip(request, task_id, done=True)


@login_required
@require_POST
def task_reopen(request: HttpRequest, task_id: int) -> HttpResponse:
    return _flip(request, task_id, done=False)
