from .views import blockers, checklists, documents, incidents, quality, report, signatures

app_name = "closeout"
urlpatterns = [
    *blockers.urlpatterns,
    *checklists.urlpatterns,
    *documents.urlpatterns,
    *signatures.urlpatterns,
    *quality.urlpatterns,
    *incidents.urlpatterns,
    *report.urlpatterns,
]
