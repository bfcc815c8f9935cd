"""Hostile referral files at their real size: peak memory and time of `import_referrals --dry-run` on each.

Builds (once, in a temporary folder) the files a tester used against the import, and imports each in a fresh
process, which reports its peak resident memory (getrusage maxrss: the whole process, Django included) and the
time the import took. Target: every file under the upload limit imports or is refused within 512 MB and 30 s.

- one-cell.xlsx: 1.5 MB, one inline-string cell that unpacks to 1.5 GB
- one-cell-lying.xlsx: the same, its worksheet declaring 90 MB (under the unpacked limit) instead of 1.5 GB
- shared-strings.xlsx: 3 million shared strings in about 9 MB
- every-cell-wrong.csv: 9.5 MB, 100,000 rows, every cell of every row wrong (1.5 million errors)
- largest-valid.xlsx: 100,000 valid rows (the row limit), checked and planned against an empty database

Run: `.venv/bin/python bench/hostile_files.py [--keep DIR]`.
"""

import csv
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

HEADER = [
    "progres_case_id", "progres_individual_id", "relationship", "family_name", "given_name", "native_name", "sex",
    "date_of_birth", "nationality", "phone", "destination_country", "priority", "submission_category",
    "referral_date", "special_needs",
]
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '{strings}</Types>'
)
STRINGS_TYPE = (
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Referrals" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/>{strings}</Relationships>'
)
STRINGS_REL = (
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
    'Target="sharedStrings.xml"/>'
)
SHEET_START = '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
SHEET_END = "</sheetData></worksheet>"


def column_letter(index):
    return "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[index]


def inline_row(number, values):
    cells = "".join(
        f'<c r="{column_letter(i)}{number}" t="inlineStr"><is><t>{value}</t></is></c>' for i, value in enumerate(values)
    )
    return f'<row r="{number}">{cells}</row>'


def workbook_skeleton(archive, shared_strings=False):
    archive.writestr("[Content_Types].xml", CONTENT_TYPES.format(strings=STRINGS_TYPE if shared_strings else ""))
    archive.writestr("_rels/.rels", ROOT_RELS)
    archive.writestr("xl/workbook.xml", WORKBOOK)
    archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS.format(strings=STRINGS_REL if shared_strings else ""))


def one_cell_xlsx(path, cell_bytes=1_500_000_000):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        workbook_skeleton(archive)
        with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write((SHEET_START + inline_row(1, HEADER) + '<row r="2"><c r="A2" t="inlineStr"><is><t>').encode())
            chunk = b"A" * (16 * 1024 * 1024)
            left = cell_bytes
            while left > 0:
                sheet.write(chunk[:left])
                left -= len(chunk)
            sheet.write(("</t></is></c></row>" + SHEET_END).encode())


def lying_xlsx(source, path, declared=90 * 1024 * 1024):
    """Copy of `source` whose worksheet declares `declared` bytes unpacked (central directory and local header)."""
    data = bytearray(Path(source).read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    size = declared.to_bytes(4, "little")
    data[info.header_offset + 22:info.header_offset + 26] = size  # local file header: uncompressed size
    name = info.filename.encode()
    position = data.find(b"PK\x01\x02")
    while data[position + 46:position + 46 + len(name)] != name:
        position = data.find(b"PK\x01\x02", position + 4)
    data[position + 24:position + 28] = size  # central directory: uncompressed size
    Path(path).write_bytes(bytes(data))


def shared_strings_xlsx(path, count=3_000_000):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        workbook_skeleton(archive, shared_strings=True)
        with archive.open("xl/sharedStrings.xml", "w") as strings:
            strings.write(
                f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
                f'spreadsheetml/2006/main" count="{count}" uniqueCount="{count}">'.encode()
            )
            batch = []
            for n in range(count):
                batch.append(f"<si><t>{n:x}</t></si>")
                if len(batch) == 100_000:
                    strings.write("".join(batch).encode())
                    batch = []
            strings.write(("".join(batch) + "</sst>").encode())
        cells = "".join(f'<c r="{column_letter(i)}1" t="s"><v>{i}</v></c>' for i in range(len(HEADER)))
        archive.writestr("xl/worksheets/sheet1.xml", SHEET_START + f'<row r="1">{cells}</row>' + SHEET_END)


def every_cell_wrong_csv(path, rows=100_000, size=9_500_000):
    wrong = ["x", "y", "Q", "1", "2", "", "Q", "31/02", "ZZ", "0", "ZZ", "asap", "1", "31/02", "ZZZZ"]
    line = len((",".join(wrong) + "\r\n").encode())
    # native_name (the sixth column) is wrong by a control character, and padded with Arabic digits (2 bytes
    # each) to the size
    wrong[5] = "\u0661" * max(0, (size // rows - line - 1) // 2) + "\x07"
    with open(path, "w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(HEADER)
        for n in range(rows):
            writer.writerow(wrong)


def largest_valid_xlsx(path, rows=100_000):
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(HEADER)
    for n in range(rows):
        case, member = divmod(n, 4)
        sheet.append([
            f"870-26C{case:05d}", f"870-26C{case:05d}-{member + 1:02d}", "PA" if member == 0 else "CHD",
            "Karimi", ["Zahra", "Ahmad", "Omid", "Hadia"][member], "زهرا کریمی", "F", "1990-05-17", "AFG",
            "+992 93 123 4567" if member == 0 else "", "CAN", "normal", "LPN", "2026-03-01", "",
        ])
    workbook.save(path)


FILES = [
    ("one-cell.xlsx", one_cell_xlsx),
    ("one-cell-lying.xlsx", None),
    ("shared-strings.xlsx", shared_strings_xlsx),
    ("every-cell-wrong.csv", every_cell_wrong_csv),
    ("largest-valid.xlsx", largest_valid_xlsx),
]


def build(folder):
    for name, builder in FILES:
        path = folder / name
        if path.exists():
            continue
        print(f"building {name} …", flush=True)
        if name == "one-cell-lying.xlsx":
            lying_xlsx(folder / "one-cell.xlsx", path)
        else:
            builder(path)


def measure(path):
    """In this (fresh) process: import the file as `import_referrals --dry-run` does; print a JSON line."""
    import django

    django.setup()
    from django.test.utils import setup_databases, setup_test_environment, teardown_databases

    from movements.referral_import import run_import

    setup_test_environment()
    databases = setup_databases(verbosity=0, interactive=False)
    try:
        data = Path(path).read_bytes()
        started, cpu = time.perf_counter(), time.process_time()
        report = run_import(data, Path(path).name, dry_run=True)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        teardown_databases(databases, verbosity=0)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    first = report.errors[0].message if report.errors else report.summary()
    print(json.dumps({
        "file": Path(path).name, "size_mb": len(data) / 1_000_000, "peak_mb": peak_mb, "seconds": seconds, "cpu": cpu,
        "errors": report.error_count, "kept": len(report.errors), "report_kb": len(json.dumps(report.as_dict())) / 1024,
        "outcome": first[:150],
    }))


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--measure":
        measure(sys.argv[2])
        return
    keep = Path(sys.argv[2]) if len(sys.argv) == 3 and sys.argv[1] == "--keep" else None
    with tempfile.TemporaryDirectory(prefix="safar-hostile-") as temporary:
        folder = keep or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        build(folder)
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: 'time' is wall time, 'cpu' this "
              "process's; size in MB (10^6 bytes), peak resident memory in MiB")
        print(f"{'file':<22} {'size':>8} {'peak':>9} {'time':>7} {'cpu':>7} {'errors':>10} {'kept':>5} {'report':>8}  outcome")
        for name, _ in FILES:
            result = subprocess.run(
                [sys.executable, __file__, "--measure", str(folder / name)], capture_output=True, text=True,
                timeout=600,
            )
            if result.returncode != 0:
                print(f"{name}: failed\n{result.stderr[-2000:]}")
                continue
            r = json.loads(result.stdout.strip().splitlines()[-1])
            print(f"{r['file']:<22} {r['size_mb']:>6.1f}MB {r['peak_mb']:>7.0f}MB {r['seconds']:>6.1f}s {r['cpu']:>6.1f}s "
                  f"{r['errors']:>10,} {r['kept']:>5} {r['report_kb']:>6.0f}KB  {r['outcome']}")


if __name__ == "__main__":
    main()
