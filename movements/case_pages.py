"""The case list's pages: keyset pagination on the list's index, and a count that is exact only when cheap.

The list is ordered by (priority rank, referral date, id), the `case_list_order` index, or by (travel date, id),
the `case_travel_order` index (`ORDERS`). "Next" and "previous"
continue from the last or first row shown (`?after=KEY`, `?before=KEY`): the database walks the index from there,
so page 150 costs what page 1 costs. A page number in the address (`?page=7`, from a bookmark or "Last") still
works, by offset; the links it shows continue by key. Only the ids of a page are selected in list order; the
rows shown are then read by id with just the columns the list shows.

The total is counted only when the page does not already tell it (a first page that is not full holds every
match), and never past `COUNT_LIMIT`: beyond it the list says "more than 10,000".
"""

import datetime
import html
import re
from dataclasses import dataclass

from django.conf import settings
from django.utils.safestring import mark_safe
from django.db import connections
from django.db.models import BooleanField, DateField, F, Func, IntegerField, Value

from movements.models import (
    FLIES_ON_KEY, PRIORITY_RANK, Case, CaseState, Person, Priority, Relationship, native_lang,
)

COUNT_LIMIT = 10_000


@dataclass(frozen=True)
class ListOrder:
    """One order of the list and the index that serves it: its columns (a field, or an expression annotated under
    the given name), each an int or a date, and its page keys ("2.2026-11-02.412": the columns' values, dotted)."""

    name: str
    label: str
    columns: tuple  # ((name, expression or None for a field, "rank" (0-2), "int" or "date"), …)

    @property
    def names(self):
        return tuple(name for name, _expression, _kind in self.columns)

    def expressions(self):
        return [F(name) if expression is None else expression for name, expression, _kind in self.columns]

    def annotate(self, queryset):
        return queryset.annotate(**{name: expression for name, expression, _kind in self.columns
                                    if expression is not None})

    def parse(self, text):
        """The key's values from `?after=` / `?before=`, or None when it is not one of this order's."""
        parts = (text or "").split(".")
        if len(parts) != len(self.columns):
            return None
        values = []
        for part, (_name, _expression, kind) in zip(parts, self.columns):
            if kind == "rank":
                if part not in ("0", "1", "2"):
                    return None
                values.append(int(part))
            elif kind == "int":
                if not re.fullmatch(r"\d{1,18}", part):
                    return None
                values.append(int(part))
            else:
                if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", part):
                    return None
                try:
                    values.append(datetime.date.fromisoformat(part))
                except ValueError:
                    return None
        return tuple(values)

    def format(self, row):
        return ".".join(value.isoformat() if isinstance(value, datetime.date) else str(value) for value in row)

    def values(self, key):
        fields = {"rank": IntegerField(), "int": IntegerField(), "date": DateField()}
        return [Value(value, output_field=fields[kind]) for value, (_name, _expression, kind) in zip(key, self.columns)]


# The list's orders and their indexes (Case.Meta): by priority (emergencies first, then the oldest referral), and
# by travel date (the soonest first; cases without a date last).
BY_PRIORITY = ListOrder("priority", "Priority, then referral date",
                        (("list_rank", PRIORITY_RANK, "rank"), ("referral_date", None, "date"), ("id", None, "int")))
BY_TRAVEL_DATE = ListOrder("travel_date", "Travel date, soonest first",
                           (("list_travel", FLIES_ON_KEY, "date"), ("id", None, "int")))
ORDERS = {order.name: order for order in (BY_PRIORITY, BY_TRAVEL_DATE)}
ORDER = (PRIORITY_RANK, "referral_date", "id")  # the default order, as the dashboard and older callers name it
LIST_COLUMNS = ("id", "case_number", "progres_case_id", "state", "priority", "destination_country", "blocker_count",
                "flies_on", "blockers")


class RowCompare(Func):
    """SQL's row comparison `(a, b, c) > (x, y, z)`: PostgreSQL answers it with a range scan of an index on
    (a, b, c), where the equivalent ORs of single comparisons would scan from the first column's bound."""

    output_field = BooleanField()

    def __init__(self, left, operator, right):
        if operator not in (">", "<"):
            raise ValueError(operator)
        self.operator, self.width = operator, len(left)
        super().__init__(*left, *right)

    def as_sql(self, compiler, connection, **extra):
        parts, params = [], []
        for expression in self.get_source_expressions():
            sql, expression_params = compiler.compile(expression)
            parts.append(sql)
            params.extend(expression_params)
        left, right = ", ".join(parts[: self.width]), ", ".join(parts[self.width:])
        return f"({left}) {self.operator} ({right})", params


def parse_key(text, order=BY_PRIORITY):
    """The key's values from `?after=` / `?before=`, or None when it is not one of ours."""
    return order.parse(text)


# A page number past any list (a billion cases): beyond it, the offset would overflow the database's integer.
MAX_PAGE_NUMBER = 10**9 // 5


def _parse_number(text):
    try:
        number = int(text)
    except (TypeError, ValueError):
        return 1
    return min(max(number, 1), MAX_PAGE_NUMBER)


@dataclass
class CasePage:
    object_list: list
    number: int
    has_previous: bool
    has_next: bool
    total: int | None = None  # exact when counted under COUNT_LIMIT, else COUNT_LIMIT
    total_capped: bool = False
    per_page: int = 50
    first_key: str = ""
    last_key: str = ""

    @property
    def num_pages(self):
        if self.total is None or self.total_capped:
            return None
        return max(1, -(-self.total // self.per_page))

    @property
    def has_other_pages(self):
        return self.has_previous or self.has_next

    @property
    def previous_page_number(self):
        return max(self.number - 1, 1)

    @property
    def next_page_number(self):
        return self.number + 1


def _bounded_count(queryset):
    counted = queryset.order_by().values("pk")[: COUNT_LIMIT + 1].count()
    return min(counted, COUNT_LIMIT), counted > COUNT_LIMIT


def page_of_cases(queryset, params, rows=None, order=BY_PRIORITY, count_along=False):
    """The page of `queryset` in `order` that the request's `page`, `after` or `before` asks for, rows annotated for
    the list.

    `rows(ids)` turns the page's ids into the objects shown (by default: the list's columns, read by the page's own
    query, and what it shows of their people). `count_along`: count the matches in the page's own query (a window
    count) rather than in a second one — for a search, whose matches the database gathers in full to sort them
    anyway; an index walk stops at the page."""
    per_page = settings.SAFAR_CASES_PER_PAGE
    number = _parse_number(params.get("page"))
    along = None  # (total, capped) when the page's query counted the matches
    after, before = order.parse(params.get("after")), order.parse(params.get("before"))
    ranked = order.annotate(queryset)
    keys = order.names
    ascending = [F(name).asc() for name in keys]
    key_columns = [F(name) for name in keys]
    # The page's rows come with its keys (`with_rows`): the index is walked in a subquery for the ids of the page (an
    # index-only walk, past 7,450 rows for page 150), and only those rows of the table are read, with the list's
    # columns. A search's window count gathers every match: it takes their keys only, then the page's rows by id.
    with_rows = rows is None and not count_along
    fetched = (*keys, *(c for c in LIST_COLUMNS if c not in keys)) if with_rows else keys

    def walk(queryset):
        """`queryset` (ranked, ordered, sliced): its rows' `fetched` columns in list order."""
        if not with_rows:
            return list(queryset.values_list(*keys))
        page_rows = order.annotate(Case.objects.filter(pk__in=queryset.values("pk")))
        return list(page_rows.order_by(*ascending).values_list(*fetched))

    if after is not None:
        found = walk(ranked.filter(RowCompare(key_columns, ">", order.values(after))).order_by(*ascending)
                     [: per_page + 1])
        has_previous, has_next = True, len(found) > per_page
        found = found[:per_page]
    elif before is not None:
        found = walk(ranked.filter(RowCompare(key_columns, "<", order.values(before)))
                     .order_by(*(F(name).desc() for name in keys))[: per_page + 1])
        has_previous, has_next = len(found) > per_page, True
        found = found[-per_page:]  # in list order: the one beyond the page is the first
        if not has_previous:
            number = 1
    else:
        offset = (number - 1) * per_page
        if count_along:
            counted = _matches_counted(ranked, order, offset, per_page + 1)
            found = [row[:-1] for row in counted]
            if counted or number == 1:
                matches = counted[0][-1] if counted else 0
                along = (min(matches, COUNT_LIMIT), matches > COUNT_LIMIT)
        else:
            found = walk(ranked.order_by(*ascending)[offset: offset + per_page + 1])
        if not found and number > 1:
            # Past the end (an old bookmark): the last page, as Django's paginator does.
            total, _capped = _bounded_count(queryset)
            number = max(1, -(-total // per_page))
            offset = (number - 1) * per_page
            found = walk(ranked.order_by(*ascending)[offset: offset + per_page + 1])
        has_previous, has_next = number > 1, len(found) > per_page
        found = found[:per_page]
    shown = None
    if with_rows:
        position = [fetched.index(c) for c in LIST_COLUMNS]
        shown = add_principals([ListRow(tuple(row[i] for i in position)) for row in found])
        found = [row[: len(keys)] for row in found]
    ids = [row[-1] for row in found]
    if along is not None:
        total, capped = along
    elif after is None and before is None and not has_next:
        total, capped = (number - 1) * per_page + len(found), False  # the last page tells the total
    else:
        total, capped = _bounded_count(queryset)
    if shown is None:
        shown = rows(ids) if rows is not None else list_rows(ids)
    first_key = last_key = ""
    if found:
        first_key, last_key = order.format(found[0]), order.format(found[-1])
    return CasePage(object_list=shown, number=number, has_previous=has_previous, has_next=has_next, total=total,
                    total_capped=capped, per_page=per_page, first_key=first_key, last_key=last_key)


def _matches_counted(ranked, order, offset, limit):
    """The page's keys in list order, each row ending with the number of all matches, in one query.

    The matches are gathered first and then sorted: on PostgreSQL an `OFFSET 0` keeps the planner from walking the
    list's index and testing every case against the search (the whole table, since the window count needs every
    match), where gathering them from the filters' own indexes (the state, the trigram indexes) reads a few."""
    connection = connections[ranked.db]
    inner = ranked.order_by().values_list(*order.names).query
    inner_sql, params = inner.get_compiler(using=ranked.db).as_sql()
    fence = " OFFSET 0" if connection.vendor == "postgresql" else ""
    columns = ", ".join(connection.ops.quote_name(name) for name in order.names)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns}, COUNT(*) OVER () FROM ({inner_sql}{fence}) matches "  # noqa: S608
                       f"ORDER BY {columns} LIMIT %s OFFSET %s", (*params, limit, offset))
        rows = cursor.fetchall()
    dates = [i for i, (_name, _expression, kind) in enumerate(order.columns) if kind == "date"]
    if dates and connection.vendor != "postgresql":  # SQLite hands dates back as text
        rows = [tuple(datetime.date.fromisoformat(v) if i in dates and isinstance(v, str) else v
                      for i, v in enumerate(row)) for row in rows]
    return rows


STATE_LABELS, PRIORITY_LABELS = dict(CaseState.choices), dict(Priority.choices)


def case_address():
    """case number → its page's address, for lists: reversed once per list rather than once per row."""
    from urllib.parse import quote

    from django.urls import reverse

    before, after = reverse("case_detail", args=["CASE-NUMBER"]).split("CASE-NUMBER")
    return lambda number: f"{before}{quote(number, safe='')}{after}"


def add_principals(cases):
    """Give each case what a list row shows of its people, read in one query for all of them: `member_count` and
    the principal applicant's `pa_family_name`, `pa_given_name` and `pa_native_name` (None without a PA)."""
    cases = list(cases)
    counts, principals = dict.fromkeys((case.pk for case in cases), 0), {}
    people = (Person.objects.filter(case_id__in=list(counts)).order_by("case_id", "id")
              .values_list("case_id", "relationship", "family_name", "given_name", "native_name"))
    for case_id, relationship, family_name, given_name, native_name in people:
        counts[case_id] += 1
        if relationship == Relationship.PA:
            principals.setdefault(case_id, (family_name, given_name, native_name))
    for case in cases:
        case.member_count = counts[case.pk]
        case.pa_family_name, case.pa_given_name, case.pa_native_name = principals.get(case.pk, (None, None, None))
        case.pa_native_lang = native_lang(case.pa_native_name)
    return cases


class ListRow:
    """What a row of the list shows of a case: the `LIST_COLUMNS` as attributes, read as plain values. A `Case` is
    more than a list needs: building one copies every field for django-fsm's concurrency check, which cost a
    fifty-row page some 2 ms."""

    def __init__(self, values):
        self.__dict__.update(zip(LIST_COLUMNS, values))

    @property
    def pk(self):
        return self.id


def list_rows(ids):
    """The cases of `ids`, in that order, with only the columns the list shows and what it shows of their people."""
    if not ids:
        return []
    found = {row.id: row for row in map(ListRow, Case.objects.filter(pk__in=ids).values_list(*LIST_COLUMNS))}
    return add_principals(found[pk] for pk in ids if pk in found)


# The list's rows, written here rather than by a template: the template engine spent some 15 ms a page resolving
# the fifty rows' hundred-odd variables one by one. Every value is escaped (`_e`, the standard library's
# html.escape, which Django's own escape calls) before it is placed; the row is marked safe once, whole.
_TRAVEL_NOTE = {"booked": "<br><small>booked</small>", "departed": "", "arrived": ""}  # else only planned
_PLANNED = "<br><small>planned</small>"
_CLEAR_STATES = frozenset({"approved", "ready", "booked"})


def _e(value):
    return html.escape(str(value), quote=True)


def row_html(case, *, address, blocker_kinds):
    """One `<tr>` of the case list (templates/movements/case_list.html places them in its table)."""
    state = case.state
    state_label, priority_label = STATE_LABELS.get(state, state), PRIORITY_LABELS.get(case.priority, case.priority)
    if case.pa_family_name:
        applicant = f"{_e(case.pa_family_name)}, {_e(case.pa_given_name)}"
        if case.pa_native_name:
            lang = native_lang(case.pa_native_name)
            lang = f' lang="{lang}"' if lang else ""
            applicant += f'<br><small dir="auto"{lang} class="native">{_e(case.pa_native_name)}</small>'
    else:
        applicant = "<em>no PA recorded</em>"
    if case.flies_on:
        day = case.flies_on.isoformat()
        travel = f'<time datetime="{day}">{day}</time>{_TRAVEL_NOTE.get(state, _PLANNED)}'
    else:
        travel = "—"
    if case.priority != "normal":
        priority = f'<span class="badge prio-{_e(case.priority)}">{_e(priority_label)}</span>'
    else:
        priority = "Normal"
    count = case.blocker_count
    if count:
        readiness = f'<span class="badge blocked">{count:d} blocker{"" if count == 1 else "s"}</span>'
        if blocker_kinds:
            readiness += f'<small class="kinds">{_e(" · ".join(blocker_kinds))}</small>'
    elif state in _CLEAR_STATES:
        readiness = '<span class="badge clear">clear</span>'
    else:
        readiness = "—"
    return mark_safe(  # noqa: S308 (every value above escaped by _e, or a number, or an ISO date)
        f'<tr><td data-label="Case"><a class="code-nowrap" href="{_e(address)}">{_e(case.case_number)}</a><br>'
        f'<small>{_e(case.progres_case_id)}</small></td>'
        f'<td data-label="Principal applicant">{applicant}</td>'
        f'<td data-label="People" class="num">{case.member_count or 0:d}</td>'
        f'<td data-label="Travel date" class="nowrap" data-testid="travel-date">{travel}</td>'
        f'<td data-label="State"><span class="badge state-{_e(state)}">{_e(state_label)}</span></td>'
        f'<td data-label="Priority">{priority}</td>'
        f'<td data-label="Destination">{_e(case.destination_country)}</td>'
        f'<td data-label="Readiness">{readiness}</td></tr>\n'
    )


# --- the dashboard's rows --------------------------------------------------------------------------------------
# Some 45 rows a view (the cards of blocked cases, the states, the recent changes), written here for the reason
# `row_html` is: the template engine spent about a millisecond and a half on them. templates/movements/dashboard.html
# places them; tests/test_working_day.py and tests/test_case_list.py read them back.


def _kinds_line(case):
    return " · ".join(_e(group.summary) for group in case.blocker_groups)


def _applicant(case):
    """The principal applicant's family name, escaped ("—" when none is recorded); the rows add the given name."""
    return _e(case.pa_family_name or "—")


def soon_item_html(case):
    """A case that flies within the next days and is blocked: when, who, its state, what blocks it."""
    days = case.days_left
    when = "today" if days == 0 else "tomorrow" if days == 1 else f"in {days:d} days"
    given = f", {_e(case.pa_given_name)}" if case.pa_given_name else ""
    return mark_safe(  # noqa: S308 (every value escaped by _e, or a number, or an ISO date)
        f'<li><time class="date" datetime="{case.flies_on.isoformat()}">{_e(case.flies_on_short)}</time> '
        f'<small class="days">{when}</small> <a class="code-nowrap" href="{_e(case.address)}">'
        f'{_e(case.case_number)}</a> {_applicant(case)}{given} '
        f'<span class="badge state-{_e(case.state)}">{_e(case.state_label)}</span>'
        f'<br><small class="blocker-line">{_kinds_line(case)}</small></li>\n'
    )


def blocked_item_html(case):
    """An approved, ready or booked case that is blocked: who, its state and priority, what blocks it."""
    priority = f' <span class="badge prio-{_e(case.priority)}">{_e(case.priority_label)}</span>' \
        if case.priority != "normal" else ""
    return mark_safe(  # noqa: S308 (every value escaped by _e)
        f'<li><a class="code-nowrap" href="{_e(case.address)}">{_e(case.case_number)}</a> '
        f'{_applicant(case)}, {_e(case.pa_given_name or "")} '
        f'<span class="badge state-{_e(case.state)}">{_e(case.state_label)}</span>{priority}'
        f'<br><small class="blocker-line">{_kinds_line(case)}</small></li>\n'
    )


def state_row_html(row):
    """A state's bar: its name linking to its cases, a bar as long as its share of the largest, its count."""
    return mark_safe(  # noqa: S308 (every value escaped by _e, or a number)
        f'<tr><th scope="row"><a href="{_e(row["address"])}">{_e(row["label"])}</a></th>'
        '<td class="bar"><svg class="bar-track" viewBox="0 0 100 1" preserveAspectRatio="none" aria-hidden="true" '
        f'focusable="false"><rect class="fill state-{_e(row["code"])}" width="{row["percent"]:d}" height="1"/></svg>'
        f'</td><td class="num">{row["count"]:d}</td></tr>\n'
    )


def recent_row_html(entry):
    """A recent state change: when, which case, from what to what, by whom."""
    return mark_safe(  # noqa: S308 (every value escaped by _e)
        f'<tr><td><time datetime="{_e(entry.at_iso)}">{_e(entry.at_text)}</time></td>'
        f'<td><a class="code-nowrap" href="{_e(entry.address)}">{_e(entry.case_number)}</a></td>'
        f'<td>{_e(entry.transition)}: {_e(entry.from_label or "new")} → {_e(entry.to_label)}</td>'
        f'<td>{_e(entry.shown_actor)}</td></tr>\n'
    )
