"""On PostgreSQL a query a page asks again and again is prepared once per connection, not planned every time.

psycopg prepares a query once it has run 5 times on a connection (config/settings.py); PostgreSQL lists the
connection's prepared statements in `pg_prepared_statements`.
"""

import pytest
from django.db import connection

from movements.models import Case
from tests.conftest import make_case

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's"),
    pytest.mark.django_db,
]


def prepared_statements_reading_cases():
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s",
                       ['%FROM "movements_case"%'])
        return [row[0] for row in cursor.fetchall()]


def test_a_query_asked_five_times_is_prepared_and_gives_the_same_answers():
    case = make_case()
    answers = []
    before = prepared_statements_reading_cases()

    for _ in range(6):
        answers.append(Case.objects.filter(case_number=case.case_number).values_list("pk", flat=True).get())

    assert answers == [case.pk] * 6
    prepared = [s for s in prepared_statements_reading_cases() if s not in before]
    assert len(prepared) == 1
    # Server-side binding: the value travels apart from the statement (a placeholder in the text, not the number).
    assert "$1" in prepared[0] and case.case_number not in prepared[0]


def test_a_query_asked_fewer_times_is_not_prepared():
    case = make_case()
    before = prepared_statements_reading_cases()

    for _ in range(3):
        Case.objects.filter(case_number=case.case_number, priority="normal").exists()

    assert prepared_statements_reading_cases() == before
