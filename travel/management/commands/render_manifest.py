"""`manage.py render_manifest DEPARTURE_CODE --output FILE`: the departure's manifest PDF, logged like a download."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from travel.manifest import load_manifest, record_download, render_manifest
from travel.models import Departure


class Command(BaseCommand):
    help = "Write the manifest of a departure as a PDF (DRAFT until the departure is final)."

    def add_arguments(self, parser):
        parser.add_argument("code", metavar="DEPARTURE_CODE")
        parser.add_argument("--output", "-o", metavar="FILE",
                            help="where to write it (default: manifest-DEPARTURE_CODE.pdf here)")

    def handle(self, *args, code, output, **options):
        try:
            departure = Departure.objects.get(code=code)
        except Departure.DoesNotExist:
            raise CommandError(f"No departure {code!r}.") from None
        manifest = load_manifest(departure)
        pdf = render_manifest(departure, manifest=manifest)
        path = Path(output or f"manifest-{departure.code}.pdf")
        try:
            path.write_bytes(pdf)
        except OSError as e:
            raise CommandError(f"Cannot write {path}: {e.strerror}.") from None
        record_download(departure, actor="render_manifest (command line)", status=manifest.status,
                        passengers=len(manifest.rows), cases=[row.case_number for row in manifest.rows])
        cases = len(manifest.cases)
        self.stdout.write(f"{path}: {departure.code}, {manifest.status.upper()}, {len(manifest.rows)} passengers "
                          f"in {cases} case{'s' if cases != 1 else ''}, {len(pdf) // 1024} KiB.")
