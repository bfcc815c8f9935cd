"""`manage.py export_unhcr_status [--format csv|xlsx] [--since YYYY-MM-DD] [--destination CAN] [--output FILE]`"""

import io
import sys

from django.core.management.base import BaseCommand, CommandError

from exchange import status
from movements import reads
from exchange.models import StatusExport


class Command(BaseCommand):
    help = "Write the UNHCR status export (one row per person; DESIGN.md) to a file, or to standard output."

    def add_arguments(self, parser):
        parser.add_argument("--format", default="csv", help="csv (default) or xlsx")
        parser.add_argument("--since", default="", help="only cases whose status changed on or after YYYY-MM-DD")
        parser.add_argument("--destination", default="", help="only cases going to this country (e.g. CAN)")
        parser.add_argument("--state", default="", help="only cases in this state (e.g. departed)")
        parser.add_argument("--output", default="", help="the file to write (standard output when not given)")

    def handle(self, *args, **options):
        fmt = options["format"].strip().lower()
        if fmt not in ("csv", "xlsx"):
            raise CommandError(f"Unknown format “{options['format']}”: use csv or xlsx.", returncode=1)
        try:
            status_filter = status.parse_filter(options["destination"], options["state"], options["since"])
        except status.FilterError as e:
            raise CommandError(f"--{e.field}: {e.message}", returncode=1) from None
        output = options["output"]
        if fmt == "xlsx" and not output and sys.stdout.isatty():
            raise CommandError("An XLSX workbook is binary: give --output FILE (or redirect standard output).",
                               returncode=1)
        total = status.count(status_filter)
        progress = Progress(total, self.stderr) if output and total >= Progress.FROM_ROWS else None
        try:
            if fmt == "csv":
                # UTF-8 bytes whatever the terminal's encoding: standard output and a file get the same export.
                handle = open(output, "wb") if output else _binary(self.stdout)
                try:
                    for number, chunk in enumerate(status.csv_chunks(status_filter)):
                        handle.write(chunk.encode("utf-8"))
                        if number and progress is not None:
                            progress(number)
                    handle.flush()
                finally:
                    if output:
                        handle.close()
            else:
                workbook, _rows = status.xlsx_file(status_filter, progress=progress)
                with workbook:
                    data = workbook.read()
                if output:
                    with open(output, "wb") as handle:
                        handle.write(data)
                else:
                    stream = _binary(self.stdout)
                    if isinstance(stream, _TextSink):
                        raise CommandError("An XLSX workbook is binary: give --output FILE (this standard output "
                                           "takes text only).", returncode=1)
                    stream.write(data)
                    stream.flush()
        except BrokenPipeError:  # `… | head`: the reader has what it wanted
            sys.stderr.close()
            return
        except OSError as e:
            where = output or "to standard output"
            raise CommandError(f"Cannot write {where}: {e.strerror or e}.", returncode=1) from None
        if progress is not None:
            progress.done()
        reads.record(reads.Kind.EXPORT, actor="command: export_unhcr_status", target=output or "(standard output)",
                     detail={"format": fmt, "filters": status_filter.as_dict(), "rows": total})
        StatusExport.objects.create(
            user=None, actor="command: export_unhcr_status", format=fmt, filters=status_filter.as_dict(),
            row_count=total, filename=output or "(standard output)",
        )
        if output:
            self.stderr.write(f"Wrote {total:,} row(s) to {output}.")


def _binary(stdout):
    """The byte stream under the command's standard output (sys.stdout's, or a caller's binary stream); for a text
    stream with none (a StringIO given to call_command), one that writes the UTF-8 text into it."""
    target = getattr(stdout, "_out", stdout)
    if hasattr(target, "buffer"):
        return target.buffer
    if isinstance(target, io.TextIOBase):
        return _TextSink(target)
    return target


class _TextSink:
    def __init__(self, text):
        self.text = text

    def write(self, data):
        self.text.write(data.decode("utf-8"))

    def flush(self):
        self.text.flush()


class Progress:
    """A progress bar on standard error for a large export, redrawn at most a hundred times."""

    FROM_ROWS = 1000

    def __init__(self, total, stream, width=30):
        self.total, self.stream, self.width = total, stream, width
        self.step = max(1, -(-total // 100))

    def __call__(self, done):
        if done % self.step and done != self.total:
            return
        filled = int(self.width * done / self.total) if self.total else self.width
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {done:,}/{self.total:,}", ending="")
        self.stream.flush()

    def done(self):
        self.stream.write("")
