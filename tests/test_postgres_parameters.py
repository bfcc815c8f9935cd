"""PostgreSQL binds no query's parameters on the server: a query may hold more than 65,535 of them.

Bound on the server (Django's `server_side_binding`, which prepared statements need), a query is limited to
65,535 parameters, and a large referral import, a retention run over many cases or a long `IN` list asks more.
This test fails if someone turns server-side binding on (README, "PostgreSQL").
"""

import pytest
from django.db import connection

from movements.models import Case
from tests.conftest import make_case

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the limit is PostgreSQL's server-side binding's"),
    pytest.mark.django_db,
]


def test_a_query_with_more_than_65535_parameters_runs():
    case = make_case()
    ids = [case.pk, *range(10**9, 10**9 + 70_000)]

    assert list(Case.objects.filter(pk__in=ids).values_list("case_number", flat=True)) == [case.case_number]
