"""On PostgreSQL, queries a connection repeats are prepared, and a query may still hold any number of parameters.

Safar binds parameters on the server so that psycopg can prepare a repeated query (config/postgresql). A
server-bound statement holds at most 65,535 parameters, and a large referral import, a retention run over many
cases or a long `IN` list asks more: such a query is bound on the client instead, quoted by psycopg.
"""

import pytest
from django.db import connection

from config.postgresql.base import MAX_BOUND_PARAMETERS
from movements.models import Case, Person
from tests.bulk import bulk_caseload
from tests.conftest import make_case

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements and the limit are PostgreSQL's"),
    pytest.mark.django_db,
]


def prepared_statements():
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


prepared_statements_on = pytest.mark.skipif(
    connection.settings_dict["ENGINE"] != "config.postgresql", reason="SAFAR_DB_PREPARED_STATEMENTS=0"
)


@prepared_statements_on
def test_parameters_are_bound_on_the_server():
    assert connection.features.uses_server_side_binding is True


@prepared_statements_on
def test_a_query_run_five_times_is_prepared_and_its_results_stay_right():
    cases = [make_case(), make_case()]

    found = [
        Case.objects.filter(case_number=case.case_number).values_list("pk", flat=True).get()
        for _ in range(4)
        for case in cases
    ]

    assert found == [cases[0].pk, cases[1].pk] * 4
    assert any('FROM "movements_case" WHERE "movements_case"."case_number" = $1' in s for s in prepared_statements())


def test_a_query_with_more_than_65535_parameters_runs():
    case = make_case()
    ids = [case.pk, *range(10**9, 10**9 + 70_000)]
    assert len(ids) > MAX_BOUND_PARAMETERS

    assert list(Case.objects.filter(pk__in=ids).values_list("case_number", flat=True)) == [case.case_number]


def test_a_query_read_through_a_named_cursor_may_hold_more_than_65535_parameters_too():
    # QuerySet.iterator() reads through a named cursor (DECLARE … CURSOR), as the status export does.
    cases = [make_case(), make_case()]
    ids = [case.pk for case in cases] + list(range(10**9, 10**9 + 70_000))

    found = list(Case.objects.filter(pk__in=ids).order_by("pk").values_list("case_number", flat=True).iterator(10))

    assert found == [case.case_number for case in cases]


def test_a_long_list_of_texts_bound_on_the_client_is_quoted():
    case = make_case()
    member = case.members.get()
    awkward = "O'Brien %s %(x)s \\ ; DROP TABLE movements_person; -- ٪ أحمد"
    Person.objects.filter(pk=member.pk).update(family_name=awkward)
    names = [f"name {i}'" for i in range(MAX_BOUND_PARAMETERS)] + [awkward]

    assert list(Person.objects.filter(family_name__in=names).values_list("pk", flat=True)) == [member.pk]
    assert Person.objects.filter(pk=member.pk).exists()


def test_a_bulk_insert_of_thousands_of_cases_saves_every_row():
    # One statement per 3,000 cases and per 9,000 people, as a large referral import writes them.
    bulk_caseload(3_000, members=3, batch=3_000)

    assert Case.objects.filter(case_number__startswith="BLK-").count() == 3_000
    assert Person.objects.filter(case__case_number__startswith="BLK-").count() == 9_000
