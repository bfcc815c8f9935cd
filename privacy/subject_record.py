"""A person's own record (a data subject request): everything Safar holds about one person, from every app
(`hooks.subject_records`), as JSON and as a PDF with the person's name in their own script.

Producing it is itself a read of personal data and is logged (kind `subject_record`) before the record is built,
so the record lists its own production.
"""

import json

from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.platypus import CondPageBreak, KeepTogether, Spacer, TableStyle

from movements import hooks, reads
from movements.pdf import (
    SANS, SANS_BOLD, Document, Role, ScriptText, Table, direction, is_rtl, missing_scripts, paragraph, printable,
)

TITLE = Role(16, bold=True)
NAME = Role(14, bold=True)
HEADING = Role(11, bold=True)
LABEL = Role(8, bold=True)
CELL = Role(8)
NOTE = Role(7.5)
LONG = 300  # characters: a longer value is printed under its table, where it may run across pages
CHUNK = 250  # a right-to-left text is laid out in pieces of about this many characters (a piece never splits)


def sections_for(person):
    return sorted(hooks.subject_records.collect(person), key=lambda s: (s.order, s.title))


def produce(person, *, request=None, actor=""):
    """Log the request, then gather the record: (sections, produced_at)."""
    reads.record(reads.Kind.SUBJECT_RECORD, request=request, actor=actor, cases=[person.case], person=person,
                 target=f"{person.case.case_number}, member {person.pk}")
    return sections_for(person), timezone.now()


def as_json(person, sections, produced_at):
    data = {
        "produced_at": timezone.localtime(produced_at).isoformat(),
        "person": {"progres_individual_id": person.progres_individual_id, "case_number": person.case.case_number,
                   "family_name": person.family_name, "given_name": person.given_name,
                   "native_name": person.native_name},
        "sections": [],
    }
    for section in sections:
        entry = {"title": section.title}
        if section.items:
            entry["items"] = {label: value for label, value in section.items}
        if section.columns:
            entry["rows"] = [dict(zip(section.columns, row)) for row in section.rows]
        if section.note:
            entry["note"] = section.note
        data["sections"].append(entry)
    return json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")


def filename(person, extension):
    return f"personal-record-{person.progres_individual_id}.{extension}"


def _text(value, role, width=None):
    """A value as flowables: right-to-left text shaped (in pieces, each kept whole), other text as a paragraph."""
    value = str(value)
    # A script with no shipped font is named, never drawn as empty boxes: a name wholly in it through `layout`,
    # which keeps the name in the text layer (for copying); in a longer text, the words it cannot print.
    if missing_scripts(value) and all(missing_scripts(word) for word in value.split()):
        return [ScriptText(value, role)]
    value = printable(value)
    if is_rtl(value):
        words, pieces, current = value.split(" "), [], ""
        for word in words:
            if current and len(current) + len(word) > CHUNK:
                pieces.append(current)
                current = word
            else:
                current = f"{current} {word}".strip()
        pieces.append(current)
        base = direction(value)  # every piece in the direction of the whole text
        return [ScriptText(piece, role, base=base) for piece in pieces]
    return [paragraph(value, role)]


def as_pdf(person, sections, produced_at):
    produced = timezone.localtime(produced_at)
    document = Document(title=f"Personal data held about {person.full_name}", pagesize=A4, margins=(18, 18, 18, 18),
                        footer_left=f"Personal record of {person.progres_individual_id} · {person.case.case_number} · "
                                    "Confidential — contains personal data")
    width = document.width
    room = document.template.height  # a page's frame
    story = [
        paragraph("Personal data held by Safar", TITLE),
        Spacer(1, 3 * mm),
        ScriptText(f"{person.given_name} {person.family_name}", NAME),
    ]
    if person.native_name:
        story.append(ScriptText(person.native_name, NAME))
    story += [
        Spacer(1, 2 * mm),
        paragraph(f"proGres individual id {person.progres_individual_id} · case {person.case.case_number} · "
                  f"produced {produced:%Y-%m-%d %H:%M} ({timezone.get_current_timezone_name()}) at the person's "
                  f"request.", CELL),
    ]
    for section in sections:
        story.append(Spacer(1, 5 * mm))
        body = [paragraph(section.title, HEADING), Spacer(1, 1.5 * mm)]
        later = []
        if section.items:
            rows = []
            for label, value in section.items:
                value = str(value)
                if len(value) > LONG:
                    later.append((label, value))
                    value = f"(below: {label})"
                rows.append([paragraph(label, LABEL), _text(value, CELL)])
            body.append(_table(rows, [48 * mm, width - 48 * mm], header=False))
        if section.columns:
            if section.rows:
                rows = [[paragraph(c, LABEL) for c in section.columns]]
                for number, row in enumerate(section.rows, start=1):
                    cells = []
                    for column, value in zip(section.columns, row):
                        value = str(value)
                        if len(value) > LONG:
                            later.append((f"{column}, row {number}", value))
                            value = f"(below: {column}, row {number})"
                        cells.append(_text(value, CELL))
                    rows.append(cells)
                body.append(_table(rows, _column_widths(section, width), header=True))
            else:
                body.append(paragraph("Nothing recorded.", CELL))
        # A title never ends a page: a section that fits on what is left of it stays whole, and one that does not
        # starts on the next page if less than KEEP_HEIGHT is left, else runs on from here. Kept together whole, a
        # section taller than a page (the access log's rows grow with every read) left a page blank.
        story.append(CondPageBreak(KEEP_HEIGHT))
        if sum(flowable.wrap(width, room)[1] for flowable in body) < room * 0.9:
            story.append(KeepTogether(body))
        else:
            story += body
        for label, value in later:
            story += [Spacer(1, 1.5 * mm), paragraph(label, LABEL), *_text(value, CELL)]
        if section.note:
            story += [Spacer(1, 1 * mm), paragraph(section.note, NOTE, color=colors.HexColor("#555555"))]
    return document.build(story)


PADDING = 6  # a cell's left and right padding together (_table)
KEEP_HEIGHT = 60 * mm


def _column_widths(section, width):
    """Widths for a section's columns: each at least as wide as its longest word (a departure code, a date and
    time, a state), so that none is broken in the middle when it can be helped; the room left goes to the columns
    with the longest texts. When even the longest words do not fit, each column gets its share of them."""
    def measure(text, bold=False):
        return pdfmetrics.stringWidth(text, SANS_BOLD if bold else SANS, CELL.size)

    columns = list(zip(*section.rows)) if section.rows else [() for _ in section.columns]
    need, want = [], []
    for head, values in zip(section.columns, columns):
        texts = [str(v) if len(str(v)) <= LONG else "" for v in values]
        words = [w for t in texts for w in t.split()] + [head]
        need.append(max(measure(w, bold=w == head) for w in words) + PADDING)
        want.append(max([measure(t) for t in texts] + [0]) + PADDING)
    if sum(need) >= width:
        return [width * n / sum(need) for n in need]
    more = [max(w - n, 0) for w, n in zip(want, need)]
    room = width - sum(need)
    if not sum(more):
        return [n + room / len(need) for n in need]
    return [n + room * m / sum(more) for n, m in zip(need, more)]


def _table(rows, widths, *, header):
    table = Table(rows, colWidths=widths, repeatRows=1 if header else 0)
    style = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#999999")),
        ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")))
    table.setStyle(TableStyle(style))
    return table


def find_person(text):
    """The person a request names: a proGres individual id, or a member's database id ("#12")."""
    from movements.models import Person

    text = (text or "").strip()
    if not text:
        return None
    people = Person.objects.select_related("case")
    if text.startswith("#") and text[1:].isdigit():
        return people.filter(pk=int(text[1:])).first()
    return people.filter(progres_individual_id=text.upper()).first()

