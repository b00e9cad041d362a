from django.apps import AppConfig


class CloseoutConfig(AppConfig):
    name = "serviceopus.closeout"
    label = "closeout"
    verbose_name = "Closeout"

    def ready(self) -> None:
        # The jobs and dispatch apps know nothing of closeout: it plugs into their hooks here.
        from serviceopus.dispatch.actions import RETURN_VISIT_HOOKS
        from serviceopus.jobs.guards import register_guard
        from serviceopus.jobs.views.workspace import register_header_panel, register_tab

        from .actions.checklists import carry_over_to_return_visit
        from .blockers import job_guard
        from .views import blockers as blocker_views
        from .views import documents, incidents, quality, signatures

        register_guard(job_guard)
        if carry_over_to_return_visit not in RETURN_VISIT_HOOKS:
            RETURN_VISIT_HOOKS.append(carry_over_to_return_visit)
        register_header_panel(blocker_views.header_panel)
        register_tab("documents", documents.documents_tab)
        register_tab("signatures", signatures.signatures_tab)
        register_tab("quality", quality.quality_tab)
        register_tab("incidents", incidents.incidents_tab)
