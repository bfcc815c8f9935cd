import datetime

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Count, F, Func, IntegerField, Q, Subquery
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from movements import history, hooks, readiness, reads
from movements.access import access_for, visible_cases
from movements.compiled import compiled_once
from movements.models import NEEDS_ATTENTION, PRIORITY_RANK, Case, CaseState, CaseTransition, states_where
from movements.case_pages import (
    LIST_COLUMNS, PRIORITY_LABELS, STATE_LABELS, ListRow, add_principals, blocked_item_html, case_address,
    recent_row_html, soon_item_html, state_row_html,
)

# The states in which a blocker stops a family from flying soon (the state policy's "preparing" column).
ACTIONABLE = states_where("preparing")


@login_required
def start(request):
    """Where log-in leads: each role's work (`hooks.start_pages`), else the dashboard."""
    return redirect(hooks.start_pages.first(request.user, access_for(request.user)) or "dashboard")


@login_required
def dashboard(request):
    access = access_for(request.user)
    if not access.can_use_case_pages:
        start = hooks.start_pages.first(request.user, access)
        if start:
            return redirect(start)
    today = timezone.localdate()
    soon = settings.SAFAR_FLIES_SOON_DAYS
    within_soon = Q(flies_on__range=(today, today + datetime.timedelta(days=soon)))
    if access.sees_all_cases:
        # The same statements for everyone who sees every case (those of the day built and compiled once a day):
        # building them took the ORM a fifth of the page's time.
        def read(name, build, *, daily=False):
            key = ("dashboard", name, today, soon) if daily else ("dashboard", name)
            return compiled_once(key, lambda: build(Case.objects.all()))
    else:
        cases = visible_cases(request.user)

        def read(name, build, *, daily=False):
            return list(build(cases))

    # One query: the cases in each state, and (computed once, from the "needs attention" partial index rather than
    # tested against every case of the scan) how many are blocked where it matters, and how many of those fly soon.
    def state_counts(cases):
        attention = cases.filter(NEEDS_ATTENTION).order_by()
        return cases.order_by().values_list("state").annotate(
            n=Count("*"),  # COUNT(*), not COUNT(id): nothing to test for NULL
            blocked=Subquery(attention.values(n=Func("id", function="COUNT")), output_field=IntegerField()),
            soon=Subquery(attention.filter(within_soon).values(n=Func("id", function="COUNT")),
                          output_field=IntegerField()),
        )

    counts, blocked_total, soon_total = {}, 0, 0
    for state, n, blocked_total, soon_total in read("counts", state_counts, daily=True):
        counts[state] = n
    largest = max(counts.values(), default=0)
    per_state = [
        {"code": code, "label": label, "count": counts.get(code, 0),
         "percent": round(100 * counts.get(code, 0) / largest) if largest else 0}
        for code, label in CaseState.choices
    ]
    blocked = []
    if blocked_total:
        blocked = list(map(ListRow, read("blocked", lambda cases: cases.filter(NEEDS_ATTENTION).order_by(
            PRIORITY_RANK, "planned_travel_date", "id").values_list(*LIST_COLUMNS)[:12])))
    soon_blocked = []
    if soon_total:
        soon_blocked = list(map(ListRow, read("soon", lambda cases: cases.filter(NEEDS_ATTENTION, within_soon).order_by(
            "flies_on", PRIORITY_RANK, "id").values_list(*LIST_COLUMNS)[:8], daily=True)))
    if blocked or soon_blocked:
        add_principals(blocked + soon_blocked)  # their people, in one query for both cards
        # The two cards name each family's principal applicant: a read, as a page of the case list is.
        reads.record(reads.Kind.DASHBOARD, request=request,
                     cases=sorted({case.case_number for case in blocked + soon_blocked}), target="dashboard")
    for case in soon_blocked:
        case.days_left = (case.flies_on - today).days
    registry = readiness.requirements()
    hidden = {code for requirement in registry for code in requirement.confidential}
    for case in blocked + soon_blocked:
        case.shown_blockers = readiness.redacted(readiness.blocking(case.blockers), access, hidden_codes=hidden)
        case.blocker_groups = readiness.grouped(case.shown_blockers, registry=registry)
    # Evaluated here, not in the template: every query of the page is the view's.
    recent = read("recent", lambda cases: (
        CaseTransition.objects.filter(case__in=cases)
        .only("id", "at", "actor", "transition", "from_state", "to_state")
        .annotate(case_number=F("case__case_number"))
        .order_by("-at", "-id")[:15]
    )) if counts else []
    for entry in recent:
        entry.shown_actor = history.shown_actor(entry, access)
    # Addresses, labels and dates put together here, once (some 35 links and 50 dates a page), not by the template.
    address = case_address()
    for case in blocked + soon_blocked:
        case.address = address(case.case_number)
        case.state_label = STATE_LABELS.get(case.state, case.state)
        case.priority_label = PRIORITY_LABELS.get(case.priority, case.priority)
    for case in soon_blocked:
        case.flies_on_short = f"{case.flies_on:%a} {case.flies_on.day} {case.flies_on:%b}"  # as the date filter's "D j M"
    for entry in recent:
        entry.address = address(entry.case_number)
        entry.at_iso, entry.at_text = history.shown_time(entry.at)
        entry.from_label, entry.to_label = STATE_LABELS.get(entry.from_state, ""), STATE_LABELS.get(entry.to_state, "")
    list_address = reverse("case_list")
    for row in per_state:
        row["address"] = f"{list_address}?state={row['code']}"
        row["html"] = state_row_html(row)
    for case in soon_blocked:
        case.html = soon_item_html(case)
    for case in blocked:
        case.html = blocked_item_html(case)
    for entry in recent:
        entry.html = recent_row_html(entry)
    return render(
        request,
        "movements/dashboard.html",
        {
            "per_state": per_state,
            "total": sum(counts.values()),
            "blocked": blocked,
            "blocked_total": blocked_total,
            "soon_blocked": soon_blocked,
            "soon_total": soon_total,
            "soon_days": soon,
            "soon_url": f"{reverse('case_list')}?flies_within={soon}&blockers=yes&sort=travel_date",
            "recent": recent,
            "has_cases": access.can_use_case_pages,
            "cards": hooks.dashboard_cards.collect(request, access),
        },
    )
