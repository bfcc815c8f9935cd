"""`manage.py apply_retention [--dry-run]`: anonymise closed cases past their retention, prune old log entries."""

from django.core.management.base import BaseCommand

from privacy import retention


class Command(BaseCommand):
    help = ("Remove the personal data of closed cases past their retention (SAFAR_RETENTION_DAYS, medical details "
            "after SAFAR_MEDICAL_RETENTION_DAYS), and access log and log-in records past theirs. --dry-run lists "
            "what would go, per kind, and changes nothing.")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="list what would be removed; change nothing")

    def handle(self, *args, dry_run, **options):
        if dry_run:
            plan = retention.preview()
            self.stdout.write(f"Dry run: nothing is changed. {len(plan.cases)} case(s) due for anonymisation, "
                              f"{len(plan.medical_cases)} for removal of medical details.")
            if plan.cases:
                self.stdout.write("Cases: " + " ".join(plan.cases))
            for line in plan.lines:
                self.stdout.write(f"  {line.rows:>7}  {line.kind:<24} {line.label}")
            self.stdout.write(f"  {plan.total_rows:>7}  row(s) in all")
            return
        run = retention.apply(actor="command: apply_retention")
        self.stdout.write(f"Retention applied: {run.cases} case(s) anonymised, {run.medical_cases} case(s)' medical "
                          f"details removed.")
        for line in run.removed:
            self.stdout.write(f"  {line['rows']:>7}  {line['kind']:<24} {line['label']}")
        self.stdout.write(f"  {run.total_rows:>7}  row(s) in all (logged as retention run {run.pk})")
