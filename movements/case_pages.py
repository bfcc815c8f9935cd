"""The case list's pages: keyset pagination on the list's index, and a count that is exact only when cheap.

The list is ordered by (priority rank, referral date, id), the `case_list_order` index. "Next" and "previous"
continue from the last or first row shown (`?after=KEY`, `?before=KEY`): the database walks the index from there,
so page 150 costs what page 1 costs. A page number in the address (`?page=7`, from a bookmark or "Last") still
works, by offset; the links it shows continue by key. Only the ids of a page are selected in list order; the
rows shown are then read by id with just the columns the list shows.

The total is counted only when the page does not already tell it (a first page that is not full holds every
match), and never past `COUNT_LIMIT`: beyond it the list says "more than 10,000".
"""

import datetime
import re
from dataclasses import dataclass

from django.conf import settings
from django.db.models import BooleanField, Count, DateField, F, Func, IntegerField, OuterRef, Subquery, Value

from movements.models import PRIORITY_RANK, Case, Person, Relationship

COUNT_LIMIT = 10_000
# The list's order and its index (Case.Meta: case_list_order).
ORDER = (PRIORITY_RANK, "referral_date", "id")
LIST_COLUMNS = ("id", "case_number", "progres_case_id", "state", "priority", "destination_country", "blocker_count")
_KEY = re.compile(r"^([0-2])\.(\d{4}-\d{2}-\d{2})\.(\d{1,18})$")


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


def parse_key(text):
    """(rank, referral date, id) from `?after=` / `?before=`, or None when it is not one of ours."""
    match = _KEY.match(text or "")
    if not match:
        return None
    try:
        day = datetime.date.fromisoformat(match[2])
    except ValueError:
        return None
    return int(match[1]), day, int(match[3])


def _parse_number(text):
    try:
        number = int(text)
    except (TypeError, ValueError):
        return 1
    return max(number, 1)


def _key_values(key):
    rank, day, pk = key
    return [Value(rank, output_field=IntegerField()), Value(day, output_field=DateField()),
            Value(pk, output_field=IntegerField())]


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


def page_of_cases(queryset, params, rows=None):
    """The page of `queryset` the request's `page`, `after` or `before` asks for, rows annotated for the list.

    `rows(ids)` turns the page's ids into the objects shown (by default: the list's columns and annotations)."""
    per_page = settings.SAFAR_CASES_PER_PAGE
    number = _parse_number(params.get("page"))
    after, before = parse_key(params.get("after")), parse_key(params.get("before"))
    ranked = queryset.annotate(list_rank=PRIORITY_RANK)
    key_columns = [F("list_rank"), F("referral_date"), F("id")]
    keys = ("list_rank", "referral_date", "id")
    if after is not None:
        found = list(ranked.filter(RowCompare(key_columns, ">", _key_values(after)))
                     .order_by(*ORDER).values_list(*keys)[: per_page + 1])
        has_previous, has_next = True, len(found) > per_page
        found = found[:per_page]
    elif before is not None:
        found = list(ranked.filter(RowCompare(key_columns, "<", _key_values(before)))
                     .order_by(*(expression.desc() for expression in (PRIORITY_RANK, F("referral_date"), F("id"))))
                     .values_list(*keys)[: per_page + 1])
        has_previous, has_next = len(found) > per_page, True
        found = list(reversed(found[:per_page]))
        if not has_previous:
            number = 1
    else:
        offset = (number - 1) * per_page
        found = list(ranked.order_by(*ORDER).values_list(*keys)[offset: offset + per_page + 1])
        if not found and number > 1:
            # Past the end (an old bookmark): the last page, as Django's paginator does.
            total, _capped = _bounded_count(queryset)
            number = max(1, -(-total // per_page))
            offset = (number - 1) * per_page
            found = list(ranked.order_by(*ORDER).values_list(*keys)[offset: offset + per_page + 1])
        has_previous, has_next = number > 1, len(found) > per_page
        found = found[:per_page]
    ids = [row[2] for row in found]
    if after is None and before is None and not has_next:
        total, capped = (number - 1) * per_page + len(found), False  # the last page tells the total
    else:
        total, capped = _bounded_count(queryset)
    shown = rows(ids) if rows is not None else list_rows(ids)
    first_key = last_key = ""
    if found:
        first_key = f"{found[0][0]}.{found[0][1].isoformat()}.{found[0][2]}"
        last_key = f"{found[-1][0]}.{found[-1][1].isoformat()}.{found[-1][2]}"
    return CasePage(object_list=shown, number=number, has_previous=has_previous, has_next=has_next, total=total,
                    total_capped=capped, per_page=per_page, first_key=first_key, last_key=last_key)


def annotate_for_list(queryset):
    """What a list row shows: the principal applicant's names and the number of members."""
    principal = Person.objects.filter(case=OuterRef("pk"), relationship=Relationship.PA)
    members = Person.objects.filter(case=OuterRef("pk")).order_by().values("case").annotate(n=Count("pk"))
    return queryset.annotate(
        member_count=Subquery(members.values("n")[:1]),
        pa_family_name=Subquery(principal.values("family_name")[:1]),
        pa_given_name=Subquery(principal.values("given_name")[:1]),
        pa_native_name=Subquery(principal.values("native_name")[:1]),
    )


def list_rows(ids):
    """The cases of `ids`, in that order, with only the columns the list shows."""
    if not ids:
        return []
    found = {case.pk: case for case in annotate_for_list(Case.objects.filter(pk__in=ids).only(*LIST_COLUMNS))}
    return [found[pk] for pk in ids if pk in found]
