"""Queries whose SQL never changes, built and compiled by the ORM once per process rather than on every request.

Building a queryset with subqueries and aggregates, and compiling it to SQL, costs the ORM a millisecond or two of
Python each time (a few tenths for a plain one), for a statement that is the same on every request: a dashboard card
asked of every page view, a case page's history. `compiled_once` builds it the first time it is asked for in a
process, keeps its SQL and parameters, and from then on runs that statement as a raw query over the same model: the
same rows, with the queryset's annotations as attributes.

A statement may take values that change from call to call (a case's id, a case number): the queryset is built with a
placeholder for each, and each call puts its own values in the placeholders' places among the parameters. Anything
else the queryset depends on (the user, the date, the clock) must be part of the key, or not vary at all: the first
build under a key is the one kept.
"""

from django.db import DEFAULT_DB_ALIAS, connections

_statements = {}
# Values no query passes of its own: an id within a 32-bit column's range (Django will not compare a column with a
# value it cannot hold), and a text holding the characters a pattern lookup escapes or wraps. A value is put in its
# placeholder's place as given, so only a lookup that passes its value on unchanged can take one (`exact`, a
# foreign key): `contains`, `startswith` or SQLite's `iexact` change the placeholder, and the statement is refused
# when it is first built ("does not use its value") rather than run with a value the lookup did not prepare.
_INT_PLACEHOLDERS = tuple(2_147_483_000 + n for n in range(8))
_TEXT_PLACEHOLDERS = tuple(f"\x00placeholder_%{n}\\\x00" for n in range(8))


def compiled_once(key, build, *values, using=DEFAULT_DB_ALIAS):
    """The rows of `build(*placeholders)`'s queryset, compiled on first use in this process for `using`, run with
    `values` in the placeholders' places (an int for an int, a str for a str): a list of model instances, each with
    the queryset's annotations as attributes (as the ORM gives them: a boolean is a bool on SQLite too). No related
    object is loaded with them (`select_related` and `prefetch_related` are not kept)."""
    kinds = tuple(type(value) for value in values)
    found = _statements.get((key, kinds, using))
    if found is None:
        found = _statements[(key, kinds, using)] = _compile(build, kinds, using)
    model, sql, params, slots, annotations = found
    if slots:
        params = list(params)
        for position, n in slots:
            params[position] = values[n]
    rows = list(model.objects.raw(sql, params, using=using))
    if annotations and rows:
        connection = connections[using]
        for name, expression, converters in annotations:
            for row in rows:
                value = row.__dict__[name]
                for converter in converters:
                    value = converter(value, expression, connection)
                row.__dict__[name] = value
    return rows


def _compile(build, kinds, using):
    placeholders = []
    for n, kind in enumerate(kinds):
        if kind is int:
            placeholders.append(_INT_PLACEHOLDERS[n])
        elif kind is str:
            placeholders.append(_TEXT_PLACEHOLDERS[n])
        else:
            raise TypeError(f"compiled_once takes ints and strs as values, not {kind.__name__}")
    queryset = build(*placeholders)
    compiler = queryset.query.get_compiler(using)
    sql, params = compiler.as_sql()
    connection = connections[using]
    annotations = []
    for expression, _, alias in compiler.select:
        if alias in queryset.query.annotation_select:
            converters = connection.ops.get_db_converters(expression) + expression.get_db_converters(connection)
            if converters:
                annotations.append((alias, expression, tuple(converters)))
    slots = tuple((position, placeholders.index(param)) for position, param in enumerate(params)
                  if type(param) in (int, str) and param in placeholders)
    missing = set(range(len(placeholders))) - {n for _, n in slots}
    if missing:
        raise ValueError(f"the query does not use its value(s) {sorted(missing)} as parameters")
    return queryset.model, sql, tuple(params), slots, tuple(annotations)
