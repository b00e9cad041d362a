"""The jobs_search text index: an FTS5 table on SQLite, a tsvector + GIN table on PostgreSQL."""

from django.db import migrations


def create(apps, schema_editor):  # type: ignore[no-untyped-def]
    from serviceopus.jobs.search import CREATE_SQL

    for sql in CREATE_SQL[schema_editor.connection.vendor]:
        schema_editor.execute(sql)


def drop(apps, schema_editor):  # type: ignore[no-untyped-def]
    from serviceopus.jobs.search import DROP_SQL

    schema_editor.execute(DROP_SQL)


class Migration(migrations.Migration):
    dependencies = [("jobs", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
