"""The case page's readiness panel, its "Move this case" forms and its timeline, written in Python.

The template engine took about a millisecond of every view of the case page for the first two (a third of the
page's rendering, bench/load.py), and some 0.07 ms for each entry of the timeline; written here they are the same
markup, every value escaped with `conditional_escape` as the template engine would, as `movements.member_cards`
does for the members. templates/movements/case_detail.html places them; tests/test_case_detail.py compares them
with the templates they replaced (tests/templates/reference) and tests/test_readiness.py reads them back.
"""

from django.middleware.csrf import get_token
from django.utils.html import conditional_escape as _e
from django.utils.safestring import mark_safe

from movements import readiness


def _plural(count):
    return "" if count == 1 else "s"


def blocker_groups_html(groups, *, extra_class="", testid=""):
    """Readiness blockers grouped by kind (readiness.grouped): the kind in words, then who, each linked to the form
    that resolves it when this user may open it. The machine codes stay in data-code for scripts and tests."""
    classes = f"blockers grouped {_e(extra_class)}" if extra_class else "blockers grouped"
    out = [f'<ul class="{classes}"' + (f' data-testid="{_e(testid)}"' if testid else "") + ">"]
    for group in groups:
        count = len(group.items)
        out.append(f'<li data-code="{_e(group.code)}" class="blocker-group"><strong class="kind">{_e(group.title)}'
                   + (f" ({count:d})" if count > 1 else "") + ":</strong> ")
        if group.same_fact:
            family = group.family
            if family:
                out.append(f'<span class="family">{_e(family)}:</span> ')
            people = []
            for name, item in group.people:
                if item.url:
                    people.append(f'<a href="{_e(item.url)}" data-person="{_e(item.person_id)}">{_e(name)}</a>')
                else:
                    people.append(f"<span>{_e(name)}</span>")
            out.append((", " if family else "; ").join(people))
            detail = group.shared_detail
            if detail:
                out.append(f' <small class="detail">— {_e(detail)}</small>')
        else:
            out.append('<ul class="facts-list">')
            for item in group.items:
                if item.url:
                    who = f'<a href="{_e(item.url)}" data-person="{_e(item.person_id)}">{_e(item.name or "Case")}</a>'
                else:
                    who = _e(item.name)
                out.append(f"<li>{who}{' — ' if item.name else ''}{_e(item.fact)}</li>")
            out.append("</ul>")
        out.append("</li>")
    out.append("</ul>")
    return "".join(out)


def readiness_html(case, *, checks_readiness, blocking, before_boarding, blocker_groups, before_boarding_groups):
    """The "Can this family fly?" panel: the verdict, what blocks, what is due before boarding, what is checked."""
    if blocking:
        tone = "is-blocked"
    elif before_boarding:
        tone = "is-due"
    else:
        tone = "is-clear" if checks_readiness else ""
    out = [f'<section class="card readiness {tone}" aria-labelledby="h-ready" data-testid="readiness">',
           '<h2 id="h-ready">Can this family fly?</h2>']
    if not checks_readiness:
        state = case.get_state_display()
        if case.state == "referred":
            out.append("<p>Not yet: the referral has to be accepted first. Readiness is checked from then on.</p>")
        elif case.state in ("departed", "arrived"):
            out.append(f"<p>This case has {_e(state.lower())}.</p>")
        else:
            out.append(f"<p>No: this case is {_e(state.lower())}.</p>")
    elif blocking:
        count, kinds = len(blocking), len(blocker_groups)
        out.append(f'<p class="verdict no">Not yet — {count:d} thing{_plural(count)} to resolve'
                   + (f" ({kinds:d} kinds)" if kinds > 1 else "")
                   + f" before {_e(case.planned_travel or 'travel')}:</p>")
        out.append(blocker_groups_html(blocker_groups))
    elif not before_boarding:
        planned = case.planned_travel
        out.append('<p class="verdict yes">Yes — every readiness requirement is met'
                   + (f" for travel on {_e(planned)}" if planned else "") + ".</p>")
    if checks_readiness and before_boarding:
        lead = "Also due before boarding" if blocking else "Yes, once these are done in the days before boarding"
        out.append(f'<p class="verdict due">{lead} ({len(before_boarding):d}):</p>')
        out.append(blocker_groups_html(before_boarding_groups, extra_class="due", testid="before-boarding"))
    if checks_readiness:
        out.append("<details><summary>What is checked</summary><ul>")
        out.extend(f"<li>{_e(requirement.label)}</li>" for requirement in readiness.requirements())
        out.append("</ul></details>")
    out.append("</section>")
    return mark_safe("".join(out))  # noqa: S308 (every value above escaped by _e, or a number)


def transitions_html(request, case, transitions, *, url, typed, hold_categories, blocked, due_before_boarding):
    """The "Move this case" section: one form per transition this user may take from here (disabled, with why,
    while readiness blocks it), each with its reason and, for a hold, its kind; a refused try's reason typed back
    in (`typed`, movements.kept)."""
    if not transitions:
        return ""
    typed = typed or {}
    token = _e(get_token(request))
    out = ['<section class="card" aria-labelledby="h-actions">', '<h2 id="h-actions">Move this case</h2>',
           '<p class="help" id="reason-note">Reasons are read by operations staff: never write a diagnosis here.</p>',
           '<div class="actions-row">']
    for t in transitions:
        name = _e(t.name)
        classes = "transition with-reason" if t.reason_required else "transition"
        confirm = f' data-confirm="{_e(t.confirm)}"' if t.confirm else ""
        out.append(f'<form method="post" action="{_e(url)}" class="{classes}"{confirm}>'
                   f'<input type="hidden" name="csrfmiddlewaretoken" value="{token}">'
                   f'<input type="hidden" name="transition" value="{name}">'
                   f'<input type="hidden" name="version" value="{case.version:d}">')
        if t.name == "hold":
            chosen = typed.get("category") if typed.get("transition") == "hold" else None
            out.append('<label for="category-hold">Kind of hold</label>'
                       '<select id="category-hold" name="category" required><option value="">— choose —</option>')
            out.extend(f'<option value="{_e(value)}"{" selected" if chosen == value else ""}>{_e(label)}</option>'
                       for value, label in hold_categories)
            out.append("</select>")
        if t.reason_required:
            again = typed.get("reason", "") if typed.get("transition") == t.name else ""
            out.append(f'<label for="reason-{name}">Reason to {_e(t.label.lower())}</label>'
                       f'<textarea id="reason-{name}" name="reason" rows="2" required maxlength="2000" '
                       f'aria-describedby="reason-note">{_e(again)}</textarea>')
        if (t.checks_readiness and blocked) or (t.name == "depart" and due_before_boarding):
            out.append(f'<button type="submit" disabled aria-describedby="why-{name}">{_e(t.label)}</button>'
                       f'<small id="why-{name}">Resolve what is listed above first.</small>')
        else:
            style = "danger" if t.style == "danger" else "primary"
            out.append(f'<button type="submit" class="{style}" name="do" value="{name}">{_e(t.label)}</button>')
        out.append("</form>")
    out.append("</div></section>")
    return mark_safe("".join(out))  # noqa: S308 (every value above escaped by _e, or a number)


def timeline_html(entries, *, show_reasons):
    """The case's history, newest first (`history.timeline`, each entry's time, summary, author and facts already
    shown as this user may read them by the view): a state change as "clear: Approved → Ready to travel", a data
    change as its summary, and the reason to those who read reasons."""
    out = ['<section class="card" aria-labelledby="h-timeline">', '<h2 id="h-timeline">Timeline</h2>',
           '<ol class="timeline">']
    for entry in entries:
        transition = getattr(entry, "transition", "")
        if transition:
            what = (f"<strong>{_e(transition)}</strong>: {_e(entry.get_from_state_display() or 'new')} → "
                    f"{_e(entry.get_to_state_display())}")
        else:
            what = _e(entry.shown_summary)
        reason = getattr(entry, "reason", "")
        out.append(f'<li><time datetime="{_e(entry.at_iso)}">{_e(entry.at_text)}</time> {what} '
                   f'<span class="by">by {_e(entry.shown_actor)}</span>'
                   + (f"<q>{_e(reason)}</q>" if reason and show_reasons else ""))
        if entry.shown_data:
            out.append('<dl class="log-data">' + "".join(f"<div><dt>{_e(label)}</dt><dd>{_e(text)}</dd></div>"
                                                        for label, text in entry.shown_data) + "</dl>")
        out.append("</li>")
    if not entries:
        out.append("<li>No history yet.</li>")
    out.append("</ol></section>")
    return mark_safe("".join(out))  # noqa: S308 (every value above escaped by _e)
