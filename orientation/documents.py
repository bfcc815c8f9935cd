"""Printed orientation documents: the certificate of participation and the paper attendance sheet.

Text is set by role (movements.pdf.Role): a name in Latin letters and the same name in Dari or Tajik Cyrillic
have one size and one weight. The attendance sheet of a closed session is the paper record of the attendance
that was recorded (P, L or A per day, corrections marked and listed); before that it is the form trainers fill
in by hand.
"""

from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.units import mm
from reportlab.platypus import Spacer, TableStyle

from movements.history import user_label
from movements.pdf import SANS, Document, Role, ScriptText, Table, paragraph

# Certificate roles.
ORGANISATION = Role(14)
TITLE = Role(30, bold=True)
LEAD = Role(13)
NAME = Role(24, bold=True)  # the Latin name and the name in the person's own script alike
BODY = Role(13)
SIGNATURE = Role(10)
# Attendance sheet roles.
HEADING = Role(16, bold=True)
SUBTITLE = Role(9)
CELL = Role(9)  # every cell of a row, names in every script included
HEAD = Role(8, bold=True)
MARK = Role(11, bold=True)
NOTE = Role(8)

MARK_LETTERS = {"present": "P", "late": "L", "absent": "A"}


def _dates(session):
    days = session.ordered_days
    if not days:
        return ""
    return f"{days[0].date:%d %B %Y} to {days[-1].date:%d %B %Y}" if len(days) > 1 else f"{days[0].date:%d %B %Y}"


def certificate_pdf(person, session):
    """One page, landscape: the person's name in Latin and in their own script, the session's facts."""
    doc = Document(title=f"Certificate of participation — {person.full_name}", margins=(25, 25, 22, 20),
                   numbered=False)
    days = session.ordered_days
    story = [
        paragraph("Canadian Orientation Abroad", ORGANISATION, align=TA_CENTER, color=colors.HexColor("#0b5cad")),
        Spacer(1, 6 * mm),
        paragraph("Certificate of participation", TITLE, align=TA_CENTER),
        Spacer(1, 10 * mm),
        paragraph("This certifies that", LEAD, align=TA_CENTER),
        Spacer(1, 5 * mm),
        ScriptText(f"{person.given_name} {person.family_name}", NAME, align=TA_CENTER),
    ]
    if person.native_name:
        story += [Spacer(1, 2 * mm), ScriptText(person.native_name, NAME, align=TA_CENTER)]
    story += [
        Spacer(1, 8 * mm),
        paragraph(
            f"took part in the {session.get_curriculum_display().lower()} orientation course held in "
            f"{session.location}, {_dates(session)} ({len(days)} day{'s' if len(days) != 1 else ''}, taught "
            f"in {session.get_language_display()}).",
            BODY, align=TA_CENTER, leading=19,
        ),
        Spacer(1, 18 * mm),
    ]
    trainers = ", ".join(user_label(t) for t in session.trainers.all())
    half = doc.width / 2 - 10 * mm
    # Both sides of the signature line are laid out in one role and aligned to the top of one row: one baseline.
    signature = Table(
        [["", ""], [ScriptText(f"Trainer: {trainers}", SIGNATURE),
                    ScriptText(f"Issued {timezone.localdate():%d %B %Y} · {session.code}", SIGNATURE, align=TA_RIGHT)]],
        colWidths=[half, doc.width - half],
    )
    signature.setStyle(TableStyle([
        ("LINEABOVE", (0, 1), (0, 1), 0.8, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, 0), 10 * mm),
        ("TOPPADDING", (0, 1), (-1, 1), 2 * mm),
    ]))
    story.append(signature)
    return doc.build(story)


def _recorded(session, enrolments):
    """{(enrolment id, day id): (letter, correction number or None)} and the corrections, in order."""
    from orientation.models import Attendance, AttendanceChange

    marks = {(a.enrolment_id, a.day_id): a for a in Attendance.objects.filter(enrolment__in=enrolments)}
    changes = (AttendanceChange.objects.filter(attendance__in=list(marks.values())).exclude(old_status="")
               .select_related("changed_by", "attendance__day", "attendance__enrolment__person")
               .order_by("attendance__enrolment_id", "attendance__day__number", "changed_at", "id"))
    order = {e.pk: i for i, e in enumerate(enrolments)}
    corrections = sorted(changes, key=lambda c: (order.get(c.attendance.enrolment_id, 0), c.attendance.day.number,
                                                 c.changed_at, c.pk))
    numbered = {}
    for number, change in enumerate(corrections, start=1):
        numbered.setdefault((change.attendance.enrolment_id, change.attendance.day_id), []).append(number)
    cells = {key: (MARK_LETTERS.get(a.status, "?"), numbered.get(key, [])) for key, a in marks.items()}
    return cells, corrections


def attendance_sheet_pdf(session, enrolments):
    """The paper roll call: a row per participant, a box per day, a signature column; header on every page. A
    closed session's sheet carries the recorded marks, with each correction numbered and listed below."""
    from orientation.models import SessionState

    printed = timezone.localtime()
    closed = session.state == SessionState.CLOSED
    title = f"Attendance {'record' if closed else 'sheet'} — {session.code}"

    def continued(canv, document):
        # A sheet handed round the room comes apart: each later page says what it belongs to.
        if document.page > 1:
            canv.setFont(SANS, 9)
            canv.drawString(12 * mm, document.pagesize[1] - 9 * mm, f"{title} (continued) · {_dates(session)}")

    doc = Document(title=title, margins=(12, 12, 14, 16), header=continued,
                   footer_left=f"{session.code} · printed {printed:%Y-%m-%d %H:%M} ({printed.tzinfo})")
    days = session.ordered_days
    trainers = ", ".join(user_label(t) for t in session.trainers.all())
    story = [
        paragraph(title, HEADING),
        Spacer(1, 2 * mm),
        paragraph(
            f"{session.get_curriculum_display()} curriculum · taught in {session.get_language_display()} · "
            f"{session.location} · {_dates(session)} · trainer(s): {trainers or '—'}",
            SUBTITLE,
        ),
        paragraph("Attendance as recorded when the session closed: P present, L late, A absent; a number beside "
                  "a mark refers to the corrections listed below the table." if closed else
                  "Write P (present), L (late) or A (absent) in each day's box.", SUBTITLE),
        Spacer(1, 4 * mm),
    ]
    cells, corrections = _recorded(session, enrolments) if closed else ({}, [])
    head = ["#", "Name", "Name in own script", "Age", "Case"] + [f"Day {d.number}\n{d.date:%d %b}" for d in days]
    head.append("Signature")
    rows = [[ScriptText(h, HEAD) for h in head]]
    first_day = session.first_day
    for index, enrolment in enumerate(enrolments, start=1):
        person = enrolment.person
        marks = []
        for day in days:
            letter, numbers = cells.get((enrolment.pk, day.pk), ("", []))
            if closed and not letter:
                letter = "—"  # nothing was recorded that day
            marks.append(ScriptText(letter + (" " + ",".join(str(n) for n in numbers) if numbers else ""), MARK,
                                    align=TA_CENTER))
        rows.append([
            str(index),
            ScriptText(person.full_name, CELL),
            ScriptText(person.native_name, CELL) if person.native_name else "",
            str(person.age_on(first_day)) if first_day else "",
            person.case.case_number,
            *marks,
            "",
        ])
    widths = [9 * mm, 58 * mm, 58 * mm, 11 * mm, 33 * mm] + [19 * mm] * len(days) + [0]
    widths[-1] = doc.width - sum(widths[:-1])
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([
        ("FONT", (0, 1), (-1, -1), SANS, CELL.size),
        ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#555555")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8ecf1")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f7f8fa")]),
        ("TOPPADDING", (0, 1), (-1, -1), 5),
        ("BOTTOMPADDING", (0, 1), (-1, -1), 5),
    ]))
    story.append(table)
    story += [Spacer(1, 6 * mm), paragraph(f"Participants: {len(rows) - 1} · places: {session.capacity}", SUBTITLE)]
    if closed:
        story.append(Spacer(1, 3 * mm))
        if corrections:
            story.append(paragraph("Corrections", Role(9, bold=True)))
            for number, change in enumerate(corrections, start=1):
                a = change.attendance
                at = timezone.localtime(change.changed_at)
                story.append(ScriptText(
                    f"{number}. {a.enrolment.person.full_name}, day {a.day.number} ({a.day.date:%d %b}): "
                    f"{MARK_LETTERS.get(change.old_status, '?')} → {MARK_LETTERS.get(change.new_status, '?')} on "
                    f"{at:%Y-%m-%d %H:%M} by {user_label(change.changed_by) if change.changed_by else '—'}"
                    + (f" — {change.reason}" if change.reason else ""),
                    NOTE, align=TA_LEFT,
                ))
        else:
            story.append(paragraph("No mark was corrected.", NOTE))
    story += [
        Spacer(1, 12 * mm),
        Table([["Trainer's signature: ______________________________", "Date: ________________"]],
              colWidths=[120 * mm, 80 * mm], style=[("FONT", (0, 0), (-1, -1), SANS, 10)], hAlign="LEFT"),
    ]
    return doc.build(story)

