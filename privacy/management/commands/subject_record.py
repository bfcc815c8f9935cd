"""`manage.py subject_record PROGRES_INDIVIDUAL_ID [--output-dir DIR]`: a person's own record, PDF and JSON."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from privacy import subject_record


class Command(BaseCommand):
    help = "Write everything Safar holds about one person (a data subject request) as a PDF and a JSON file."

    def add_arguments(self, parser):
        parser.add_argument("person", metavar="PROGRES_INDIVIDUAL_ID",
                            help="the person's proGres individual id (or #ID, the member's id in Safar)")
        parser.add_argument("--output-dir", default=".", help="where to write the two files (default: here)")

    def handle(self, *args, person, output_dir, **options):
        found = subject_record.find_person(person)
        if found is None:
            raise CommandError(f"No person with proGres individual id {person!r}.", returncode=1)
        folder = Path(output_dir)
        if not folder.is_dir():
            raise CommandError(f"{folder} is not a folder.", returncode=1)
        sections, produced = subject_record.produce(found, actor="command: subject_record")
        written = []
        for extension, content in (("pdf", subject_record.as_pdf(found, sections, produced)),
                                   ("json", subject_record.as_json(found, sections, produced))):
            path = folder / subject_record.filename(found, extension)
            try:
                path.write_bytes(content)
            except OSError as e:
                raise CommandError(f"Cannot write {path}: {e.strerror}.", returncode=1) from None
            written.append(str(path))
        self.stdout.write(f"The record of {found.progres_individual_id} ({found.case.case_number}): "
                          + ", ".join(written))
