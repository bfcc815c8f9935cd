"""movements.compiled: a query built and compiled once per process, run afresh (on the rows of the moment) each time."""

import pytest
from django.db.models import Count, Q

from movements import compiled
from movements.models import Case
from tests.conftest import make_case


@pytest.fixture
def fresh(monkeypatch):
    monkeypatch.setattr(compiled, "_statements", {})


@pytest.mark.django_db
def test_the_query_is_built_once_and_read_afresh_each_time(fresh, django_assert_num_queries):
    builds = []

    def build():
        builds.append(1)
        return (Case.objects.filter(state="referred").annotate(people=Count("members"), urgent=Q(priority="urgent"))
                .order_by("case_number"))

    first = make_case(2)
    assert [(c.case_number, c.people) for c in compiled.compiled_once("test.referred", build)] == [
        (first.case_number, 2)]
    second = make_case(3, priority="urgent")
    with django_assert_num_queries(1):
        rows = list(compiled.compiled_once("test.referred", build))

    assert builds == [1]
    assert [(c.case_number, c.people, bool(c.urgent)) for c in rows] == [
        (first.case_number, 2, False), (second.case_number, 3, True)]
    assert isinstance(rows[0], Case) and rows[0].pk == first.pk


@pytest.mark.django_db
def test_the_ops_dashboard_card_builds_its_query_once(fresh, client, ops, monkeypatch):
    from travel import pages

    calls = []
    real = pages._waiting
    monkeypatch.setattr(pages, "_waiting", lambda departures: calls.append(1) or real(departures))
    client.force_login(ops)
    for _ in range(3):
        assert client.get("/").status_code == 200

    assert calls == [1]
