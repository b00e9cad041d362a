"""Where messaging plugs into the apps below it: the notifications their events cause (triggers.py),
and the job workspace's Messages tab. Called from MessagingConfig.ready, which can run more than once
(tests that reload apps): each hook is appended only if it is not there yet, so an event never
notifies twice."""


def _add_once(hooks: list, hook: object) -> None:
    if hook not in hooks:
        hooks.append(hook)


def install() -> None:
    from serviceopus.billing.actions.invoices import INVOICE_ISSUED_HOOKS
    from serviceopus.dispatch.actions import VISIT_SCHEDULE_HOOKS, VISIT_TRANSITION_HOOKS
    from serviceopus.jobs.actions import TRANSITION_HOOKS
    from serviceopus.jobs.views.workspace import register_tab

    from . import triggers
    from .views.tab import messages_tab

    _add_once(VISIT_SCHEDULE_HOOKS, triggers.visits_scheduled)
    _add_once(VISIT_TRANSITION_HOOKS, triggers.visit_moved)
    _add_once(TRANSITION_HOOKS, triggers.job_moved)
    _add_once(INVOICE_ISSUED_HOOKS, triggers.invoice_issued)
    register_tab("messages", messages_tab)
