"""Create the jobs of every active agreement and recurring plan over its horizon. Safe to run as often
as wanted, and from several machines at once: an occurrence already taken is never taken again."""

from datetime import date

from django.core.management.base import BaseCommand, CommandParser

from serviceopus.automation.recurrence import generate_all


class Command(BaseCommand):
    help = "Create the jobs of active service agreements and recurring plans, up to each plan's horizon."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--today", type=date.fromisoformat, default=None, help="Generate as if today were this day (YYYY-MM-DD).")

    def handle(self, *args: object, **options: object) -> None:
        count, problems = generate_all(today=options["today"])  # type: ignore[arg-type]
        for problem in problems:
            self.stderr.write(problem)
        self.stdout.write(f"Created {count} job{'s' if count != 1 else ''}.")
