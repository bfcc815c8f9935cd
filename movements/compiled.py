"""Queries whose SQL never changes, built and compiled by the ORM once per process rather than on every request.

Building a queryset with subqueries and aggregates, and compiling it to SQL, costs the ORM a millisecond or two of
Python each time (a few tenths for a plain one), for a statement that is the same on every request: a dashboard card
asked of every page view, a case page's history. `compiled_once` builds it the first time it is asked for in a
process, keeps its SQL and parameters, and from then on runs that statement as a raw query over the same model: the
same rows, with the queryset's annotations as attributes (or, for a `values_list()` queryset, the same tuples).

A statement may take values that change from call to call (a case's id, a case number): the queryset is built with a
placeholder for each, and each call puts its own values in the placeholders' places among the parameters. Anything
else the queryset depends on (the user, the date, the clock) must be part of the key, or not vary at all: the first
build under a key is the one kept.
"""

from typing import NamedTuple

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models.query import ValuesListIterable

_statements = {}
# A key may hold a date (a statement of today's): a long-running process would keep one more every day. Past this
# many, the kept statements are dropped and built again as they are asked for.
_KEPT = 256
# Values no query passes of its own: an id within a 32-bit column's range (Django will not compare a column with a
# value it cannot hold), and a text holding the characters a pattern lookup escapes or wraps. A value is put in its
# placeholder's place as given, so only a lookup that passes its value on unchanged can take one (`exact`, a
# foreign key): `contains`, `startswith` or SQLite's `iexact` change the placeholder, and the statement is refused
# when it is first built ("does not use its value") rather than run with a value the lookup did not prepare.
_INT_PLACEHOLDERS = tuple(2_147_483_000 + n for n in range(8))
_TEXT_PLACEHOLDERS = tuple(f"\x00placeholder_%{n}\\\x00" for n in range(8))


def compiled_once(key, build, *values, using=DEFAULT_DB_ALIAS):
    """The rows of `build(*placeholders)`'s queryset, compiled on first use in this process for `using`, run with
    `values` in the placeholders' places (an int for an int, a str for a str), as a list: model instances, each with
    the queryset's annotations as attributes, or a `values_list()`'s tuples (a grouped count has no model rows);
    every value as the ORM gives it (a boolean is a bool on SQLite too). No related object is loaded with them: a
    queryset that asks for one (`select_related`, `prefetch_related`) is refused."""
    statement = _statement(key, build, values, using)
    if statement.columns is not None:
        return _tuples(statement, values, using)
    rows = list(statement.model.objects.raw(statement.sql, statement.bound(values), using=using))
    if statement.annotations and rows:
        connection = connections[using]
        for name, expression, converters in statement.annotations:
            for row in rows:
                value = row.__dict__[name]
                for converter in converters:
                    value = converter(value, expression, connection)
                row.__dict__[name] = value
    return rows


def _tuples(statement, values, using):
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, statement.bound(values))
        rows = cursor.fetchall()
    if statement.columns:
        rows = [list(row) for row in rows]
        for row in rows:
            for position, expression, converters in statement.columns:
                value = row[position]
                for converter in converters:
                    value = converter(value, expression, connection)
                row[position] = value
    return [tuple(row) for row in rows]


class _Statement(NamedTuple):
    model: type
    sql: str
    params: tuple
    slots: tuple  # ((position among the parameters, which value), …)
    annotations: tuple  # ((name, expression, converters), …) for model rows
    columns: tuple | None  # ((position, expression, converters), …) for a values_list()'s tuples; None otherwise

    def bound(self, values):
        if not self.slots:
            return self.params
        params = list(self.params)
        for position, n in self.slots:
            params[position] = values[n]
        return params


def _statement(key, build, values, using):
    kinds = tuple(type(value) for value in values)
    found = _statements.get((key, kinds, using))
    if found is None:
        found = _compile(build, kinds, using)
        if len(_statements) >= _KEPT:
            _statements.clear()
        _statements[(key, kinds, using)] = found
    return found


def _compile(build, kinds, using):
    placeholders = []
    for n, kind in enumerate(kinds):
        if kind is int:
            placeholders.append(_INT_PLACEHOLDERS[n])
        elif kind is str:
            placeholders.append(_TEXT_PLACEHOLDERS[n])
        else:
            raise TypeError(f"a compiled statement takes ints and strs as values, not {kind.__name__}")
    queryset = build(*placeholders)
    if queryset.query.select_related or queryset._prefetch_related_lookups:
        # A raw query reads one model's columns by name: a related model's would be taken for its own.
        raise TypeError("a compiled statement loads no related object: select_related / prefetch_related")
    compiler = queryset.query.get_compiler(using)
    sql, params = compiler.as_sql()
    connection = connections[using]
    annotations, columns = [], []
    for position, (expression, _, alias) in enumerate(compiler.select):
        converters = tuple(connection.ops.get_db_converters(expression) + expression.get_db_converters(connection))
        if converters:
            columns.append((position, expression, converters))
            if alias in queryset.query.annotation_select:
                annotations.append((alias, expression, converters))
    if queryset._iterable_class is not ValuesListIterable:
        columns = None  # the SQL selects a values_list()'s columns in the order it names them
    slots = tuple((position, placeholders.index(param)) for position, param in enumerate(params)
                  if type(param) in (int, str) and param in placeholders)
    missing = set(range(len(placeholders))) - {n for _, n in slots}
    if missing:
        raise ValueError(f"the query does not use its value(s) {sorted(missing)} as parameters")
    return _Statement(queryset.model, sql, tuple(params), slots, tuple(annotations),
                      None if columns is None else tuple(columns))
