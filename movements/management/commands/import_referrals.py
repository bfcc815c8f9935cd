"""`python manage.py import_referrals FILE [--dry-run]`: the referral import of DESIGN.md from the shell."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from movements.referral_import import run_import


class Command(BaseCommand):
    help = "Import a UNHCR referral file (CSV or XLSX). All or nothing; prints every error and exits 1 on any."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the referral file, .csv or .xlsx")
        parser.add_argument("--dry-run", action="store_true", help="check and show what would change; save nothing")

    def handle(self, *args, **options):
        path = Path(options["file"])
        limit = settings.SAFAR_MAX_UPLOAD_BYTES
        try:
            with path.open("rb") as file:
                data = file.read(limit + 1)  # what is past the limit is never read: the file is refused anyway
                size = max(len(data), path.stat().st_size)
        except OSError as e:
            raise CommandError(f"Cannot read {path}: {e.strerror}.") from None
        if size > limit:
            self.stdout.write(
                f"{path.name}: refused, nothing was imported. The file is {size / 1_048_576:,.1f} MB; the largest "
                f"accepted is {limit / 1_048_576:.1f} MB. Split it into smaller files."
            )
            raise SystemExit(1)
        report = run_import(data, path.name, dry_run=options["dry_run"], every_error=True)
        if report.errors:
            self.stdout.write(f"{path.name}: refused, nothing was imported. {report.error_count:,} error(s):")
            self.stdout.write("row\tcolumn\tvalue\tproblem")
            for issue in report.errors:
                self.stdout.write(f"{issue.row or '-'}\t{issue.column or '-'}\t{issue.shown_value}\t{issue.message}")
            for line in report.omitted:  # (only past EVERY_ERROR's bound: one line per kind)
                self.stdout.write(line["text"])
            raise SystemExit(1)
        self.stdout.write(f"{path.name}: {report.summary()}")
        for individual, fields in sorted(report.updated_people.items()):
            self.stdout.write(f"  updated {individual}: {', '.join(fields)}")
        for case_id, fields in sorted(report.updated_cases.items()):
            self.stdout.write(f"  updated case {case_id}: {', '.join(fields)}")
