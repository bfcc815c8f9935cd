"""Printed orientation documents: the certificate of participation and the paper attendance sheet."""

from xml.sax.saxutils import escape

from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer, Table, TableStyle

from movements.history import user_label
from movements.pdf import SANS, SANS_BOLD, Document, name_paragraph


def _style(name, size, bold=False, align=TA_CENTER, leading=None, color=colors.black):
    return ParagraphStyle(name, fontName=SANS_BOLD if bold else SANS, fontSize=size, leading=leading or size * 1.3,
                          alignment=align, textColor=color)


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
        Paragraph("Canadian Orientation Abroad", _style("org", 14, color=colors.HexColor("#0b5cad"))),
        Spacer(1, 6 * mm),
        Paragraph("Certificate of participation", _style("title", 30, bold=True)),
        Spacer(1, 10 * mm),
        Paragraph("This certifies that", _style("lead", 13)),
        Spacer(1, 5 * mm),
        Paragraph(escape(f"{person.given_name} {person.family_name}"), _style("name", 26, bold=True)),
    ]
    if person.native_name:
        story += [Spacer(1, 2 * mm), name_paragraph(person.native_name, size=22, bold=True, align=TA_CENTER)]
    story += [
        Spacer(1, 8 * mm),
        Paragraph(
            escape(
                f"took part in the {session.get_curriculum_display().lower()} orientation course held in "
                f"{session.location}, {_dates(session)} ({len(days)} day{'s' if len(days) != 1 else ''}, taught "
                f"in {session.get_language_display()})."
            ),
            _style("body", 13, leading=19),
        ),
        Spacer(1, 18 * mm),
    ]
    trainers = ", ".join(user_label(t) for t in session.trainers.all())
    signature = Table(
        [["", ""], [f"Trainer: {trainers}", f"Issued {timezone.localdate():%d %B %Y} · {session.code}"]],
        colWidths=[110 * mm, 110 * mm],
    )
    signature.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), SANS, 10),
        ("LINEABOVE", (0, 1), (0, 1), 0.8, colors.black),
        ("ALIGN", (1, 1), (1, 1), "RIGHT"),
        ("TOPPADDING", (0, 0), (-1, 0), 10 * mm),
    ]))
    story.append(signature)
    return doc.build(story)


def attendance_sheet_pdf(session, enrolments):
    """The paper roll call: a row per participant, a box per day, a signature column; header on every page."""
    def footer(canvas, document):
        canvas.setFont(SANS, 8)
        canvas.drawString(12 * mm, 9 * mm, f"{session.code} · printed {timezone.localtime():%Y-%m-%d %H:%M}")

    doc = Document(title=f"Attendance sheet — {session.code}", margins=(12, 12, 14, 16), footer=footer)
    days = session.ordered_days
    trainers = ", ".join(user_label(t) for t in session.trainers.all())
    story = [
        Paragraph(f"Attendance sheet — {session.code}", _style("h", 16, bold=True, align=0)),
        Spacer(1, 2 * mm),
        Paragraph(
            escape(
                f"{session.get_curriculum_display()} curriculum · taught in {session.get_language_display()} · "
                f"{session.location} · {_dates(session)} · trainer(s): {trainers or '—'}"
            ),
            _style("sub", 9, align=0),
        ),
        Paragraph("Write P (present), L (late) or A (absent) in each day's box.", _style("legend", 9, align=0)),
        Spacer(1, 4 * mm),
    ]
    head = ["#", "Name", "Name in own script", "Age", "Case"] + [f"Day {d.number}\n{d.date:%d %b}" for d in days]
    head.append("Signature")
    header_style = _style("th", 8, bold=True, align=0)
    rows = [[Paragraph(h.replace("\n", "<br/>"), header_style) for h in head]]
    first_day = session.first_day
    for index, enrolment in enumerate(enrolments, start=1):
        person = enrolment.person
        rows.append([
            str(index),
            name_paragraph(person.full_name, size=9),
            name_paragraph(person.native_name, size=10) if person.native_name else "",
            str(person.age_on(first_day)) if first_day else "",
            person.case.case_number,
            *["" for _ in days],
            "",
        ])
    widths = [9 * mm, 58 * mm, 58 * mm, 11 * mm, 33 * mm] + [19 * mm] * len(days) + [0]
    widths[-1] = doc.width - sum(widths[:-1])
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([
        ("FONT", (0, 1), (-1, -1), SANS, 9),
        ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#555555")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8ecf1")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f7f8fa")]),
        ("TOPPADDING", (0, 1), (-1, -1), 5),
        ("BOTTOMPADDING", (0, 1), (-1, -1), 5),
    ]))
    story.append(table)
    story += [
        Spacer(1, 10 * mm),
        Paragraph(f"Participants: {len(rows) - 1} · places: {session.capacity}", _style("tot", 9, align=0)),
        Spacer(1, 12 * mm),
        Table([["Trainer's signature: ______________________________", "Date: ________________"]],
              colWidths=[120 * mm, 80 * mm], style=[("FONT", (0, 0), (-1, -1), SANS, 10)]),
    ]

    return doc.build(story)

