"""The case page's member cards, written in Python.

A family of seven made the template engine resolve some 700 variables for this section alone, a millisecond a
member on every view of the case page; the cards are the same markup written here, every value escaped with
`conditional_escape` as the template engine would (text a plug-in marked safe, such as a note with a link, stays
as it is). templates/movements/case_detail.html places them; tests/test_case_detail.py reads them back.
"""

from django.urls import reverse
from django.utils import timezone
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

from movements.family import documents_of
from movements.phones import international


def _e(value):
    return conditional_escape(value)


def _day(value):
    """`|date:"Y-m-d"`."""
    return value.isoformat() if value else ""


def _moment(value):
    """`|date:"Y-m-d H:i"`: an aware time in the current time zone, as the template engine shows it."""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _plural(count, word):
    return f"{count:d} {word}{'' if count == 1 else 's'}"


def _ssr_badges(codes):
    return " ".join(f'<abbr class="badge ssr" title="{_e(code)}">{_e(code)}</abbr>' for code in codes) + " " \
        if codes else "—"


def _facts(p, access):
    rows = [
        ("proGres id", _e(p.progres_individual_id)),
        ("Sex, born", f"{_e(p.sex)}, {_day(p.date_of_birth)} ({p.age:d} y)"),
        ("Nationality", _e(p.nationality)),
        ("Language", _e(p.get_language_display() or "—")),
    ]
    if access.can_see_contact:
        if p.phone:
            phone = _e(international(p.phone))
            if p.phone_region:
                phone += (' <small title="written without a country code; read as a number of this region">'
                          f"(read as {_e(p.phone_region)})</small>")
        else:
            phone = "—"
        rows.append(("Phone", phone))
    rows.append(("Special needs", _ssr_badges(p.ssr_codes if access.can_see_clearance_details
                                              else p.declared_ssr_codes)))
    if p.visa_reference:
        visa = _e(p.visa_reference) if access.can_see_documents else "recorded"
    else:
        visa = "<em>missing</em>"
    rows.append(("Visa / COPR", visa))
    return '<dl class="mini">' + "".join(f"<div><dt>{label}</dt><dd>{value}</dd></div>" for label, value in rows) \
        + "</dl>"


def _needs(n):
    items = []
    if n.wheelchair:
        items.append(f"Wheelchair: {_e(n.get_wheelchair_display())}")
    if n.stretcher:
        items.append("Stretcher")
    if n.oxygen:
        items.append("Oxygen")
    if n.medical_escort:
        items.append("Medical escort needed")
    if n.pregnancy_weeks is not None:
        text = f"Pregnant: {n.pregnancy_weeks:d} weeks on {_day(n.pregnancy_weeks_on)}"
        if n.multiple_pregnancy:
            text += " (multiple)"
        if n.fit_to_fly_certificate_at:
            text += f"; fit-to-fly certificate {_moment(n.fit_to_fly_certificate_at)}"
        items.append(text)
    if n.medif_required or n.medif_recorded_at:
        items.append("MEDIF " + (f"sent {_moment(n.medif_recorded_at)}" if n.medif_recorded_at
                                 else "required, not yet sent"))
    return '<ul class="needs">' + "".join(f"<li>{item}</li>" for item in items) + "</ul>"


def _medical(p, case, access):
    m = p.medical
    if m.on_medical_hold:
        parts = ['<span class="badge prio-emergency">Medical hold</span>']
    elif m.cleared_until:
        until = case.journey_end  # as the IME requirement asks: valid until the journey ends
        tone = "blocked" if until is not None and m.cleared_until < until else "clear"
        parts = [f'<span class="badge {tone}">Medically cleared until {_day(m.cleared_until)}</span>']
    else:
        parts = ['<span class="badge blocked">No IME recorded</span>']
    if m.surveillance:
        parts.append(f'<span class="badge prio-urgent" title="{_e(m.surveillance_text)}">Surveillance on arrival</span>')
    if m.needs:
        parts.append(_needs(m.needs))
    if m.surveillance:
        parts.append(f'<p class="small-note">{_e(m.surveillance_text)}.</p>')
    if access.can_see_medical:
        parts.append(f'<a class="small" href="{_e(reverse("medical_person", args=[p.pk]))}">Medical record'
                     f'<span class="visually-hidden"> of {_e(p.family_name)}, {_e(p.given_name)}</span></a>')
    return '<div class="medical-summary">' + "".join(parts) + "</div>"


def _documents(p, case, access, can_edit_documents):
    edit = ""
    if can_edit_documents:
        address = reverse("person_documents", args=[case.case_number, p.pk])
        edit = (f' <a class="small" href="{_e(address)}">edit<span class="visually-hidden"> the travel documents of '
                f'{_e(p.family_name)}, {_e(p.given_name)}</span></a>')
    items = []
    for d in documents_of(p):
        item = _e(d.get_document_type_display())
        if access.can_see_documents:
            item += f' <span class="mono">{_e(d.number)}</span> ({_e(d.issuing_country)})'
        item += f", valid until {_day(d.expiry_date)}"
        if d.mrz_line1:
            item += " · MRZ checked"
        items.append(f"<li>{item}</li>")
    listed = '<ul class="plain">' + "".join(items) + "</ul>" if items else "<p><em>None recorded.</em></p>"
    return f'<div class="docs"><h4>Travel documents{edit}</h4>{listed}</div>'


def member_card_html(p, *, case, access, can_edit_documents):
    """One member's `<article>`: `p` carries `notes`, `blocker_list` and `medical` (the case page sets them)."""
    parts = [
        f'<article class="member{" has-blockers" if p.blocker_list else ""}" id="member-{p.pk:d}"><header>',
        f'<h3 class="member-name">{_e(p.family_name)}, {_e(p.given_name)}</h3>',
    ]
    if p.native_name:
        parts.append(f' <span class="native" dir="auto" lang="{_e(p.native_lang)}">{_e(p.native_name)}</span>')
    parts.append(f' <span class="badge">{_e(p.get_relationship_display())}</span></header>')
    parts.append(_facts(p, access))
    if access.can_see_clearance_details:
        parts.append(_medical(p, case, access))
    for text, tone in p.notes:
        parts.append(f'<span class="member-note {_e(tone)}" data-testid="member-note">{_e(text)}</span>')
    parts.append(_documents(p, case, access, can_edit_documents))
    if p.blocker_list:
        count = len(p.blocker_list)
        parts.append(f'<p class="member-blocked"><a href="#h-ready">{_plural(count, "thing")} to resolve — see '
                     "“Can this family fly?”</a></p>")
    parts.append("</article>\n")
    return mark_safe("".join(parts))  # noqa: S308 (every value above escaped by _e, or a number, or a date)
