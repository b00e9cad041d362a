"""Closeout pages and fragments, one module per topic; each module's `urlpatterns` is gathered in
urls.py and each tab loader is registered with the job workspace in apps.py."""
