"""Queries whose SQL never changes, built and compiled by the ORM once per process rather than on every request.

Building a queryset with subqueries and aggregates, and compiling it to SQL, costs the ORM a millisecond or two of
Python each time, for a statement that is the same on every request (a dashboard card asked of every page view, say).
`compiled_once` builds it the first time it is asked for in a process, keeps its SQL and parameters, and from then on
runs that statement as a raw query over the same model: the same rows, with the queryset's annotations as attributes.

Only for querysets that depend on nothing of the request or the moment (no user, no date, no clock): the key names
the query, and the first build is the one kept.
"""

from django.db import DEFAULT_DB_ALIAS

_statements = {}


def compiled_once(key, build, using=DEFAULT_DB_ALIAS):
    """`build()`'s queryset as a `RawQuerySet` of its SQL, compiled on first use in this process for `using`.

    Its rows are model instances with the annotations set as plain attributes (a database's own value: on SQLite a
    boolean annotation reads 0 or 1)."""
    found = _statements.get((key, using))
    if found is None:
        queryset = build()
        sql, params = queryset.query.get_compiler(using).as_sql()
        found = _statements[(key, using)] = (queryset.model, sql, tuple(params))
    model, sql, params = found
    return model.objects.raw(sql, params, using=using)
