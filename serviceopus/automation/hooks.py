"""Where automation plugs into the apps below it. Called from AutomationConfig.ready, which can run more
than once (tests that reload apps): each hook is added only if it is not there yet."""


def _add_once(hooks: list, hook: object) -> None:
    if hook not in hooks:
        hooks.append(hook)


def install() -> None:
    from serviceopus.billing.actions.invoices import INVOICE_ISSUED_HOOKS
    from serviceopus.billing.actions.payments import PAYMENT_RECORDED_HOOKS
    from serviceopus.billing.pricing import COVERAGE_PROVIDERS
    from serviceopus.closeout.actions.job_lock import BLOCKER_OPENED_HOOKS
    from serviceopus.dispatch.actions import VISIT_TRANSITION_HOOKS
    from serviceopus.jobs.actions import JOB_CREATED_HOOKS, TRANSITION_HOOKS

    from . import agreement_billing, events

    _add_once(JOB_CREATED_HOOKS, events.job_created)
    _add_once(TRANSITION_HOOKS, events.job_moved)
    _add_once(VISIT_TRANSITION_HOOKS, events.visit_moved)
    _add_once(BLOCKER_OPENED_HOOKS, events.blocker_opened)
    _add_once(INVOICE_ISSUED_HOOKS, events.invoice_issued)
    _add_once(PAYMENT_RECORDED_HOOKS, events.payment_recorded)
    _add_once(COVERAGE_PROVIDERS, agreement_billing.agreement_coverage)

    # Follow-up tasks: an open one holds the job's close; the workspace's Tasks tab.
    from serviceopus.jobs.guards import register_guard
    from serviceopus.jobs.views.workspace import register_tab

    from .guards import follow_up_guard
    from .views.tasks import tasks_tab

    register_guard(follow_up_guard)
    register_tab("tasks", tasks_tab)
