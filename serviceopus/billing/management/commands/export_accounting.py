"""Print the accounting export to stdout: `manage.py export_accounting --since N --format json|csv
--kind invoices|payments|all [--limit L]`. For CSV the cursor to store (next_since) goes to stderr, so
stdout is the file and nothing else. See docs/accounting-export.md."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from serviceopus.billing import export


def _non_negative(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = "Export issued invoices, credit notes, voids, payments and refunds recorded after a cursor, as JSON or CSV."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", type=_non_negative, default=0, help="The next_since of the previous export (0: from the start).")
        parser.add_argument("--format", choices=export.FORMATS, default="json")
        parser.add_argument("--kind", choices=list(export.KINDS), default=None, help="Default: all for JSON, invoices for CSV.")
        parser.add_argument("--limit", type=int, default=export.DEFAULT_LIMIT, help=f"At most this many journal entries (1 to {export.MAX_LIMIT}).")

    def handle(self, *args: Any, **options: Any) -> None:
        fmt = options["format"]
        kind = options["kind"] or ("all" if fmt == "json" else "invoices")
        if fmt == "csv" and kind == "all":
            raise CommandError("CSV is laid out per kind: choose --kind invoices or --kind payments.")
        if not 1 <= options["limit"] <= export.MAX_LIMIT:
            raise CommandError(f"--limit must be 1 to {export.MAX_LIMIT}.")
        batch = export.entries_since(options["since"], options["limit"], kind)
        self.stdout.write(export.render(batch, fmt), ending="")
        if fmt == "csv":
            self.stderr.write(f"next_since={batch.next_since} has_more={'true' if batch.has_more else 'false'}")
