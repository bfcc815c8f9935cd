"""movements.compiled: a query built and compiled once per process, run afresh (on the rows of the moment) each time."""

import datetime

import pytest
from django.db.models import Count, Exists, Max, OuterRef, Q

from movements import compiled
from movements.models import Case, Person
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


@pytest.mark.django_db
def test_values_go_into_the_placeholders_places_and_annotations_convert_as_the_orm_does(fresh):
    builds = []

    def build(pk, relationship):
        builds.append((pk, relationship))
        return (Case.objects.filter(pk=pk)
                .annotate(has_child=Exists(Person.objects.filter(case=OuterRef("pk"), relationship=relationship)),
                          youngest=Max("members__date_of_birth")))

    two, three = make_case(2), make_case(3)
    for case in (two, three):
        expected = Case.objects.filter(pk=case.pk).annotate(
            has_child=Exists(Person.objects.filter(case=OuterRef("pk"), relationship="CHD")),
            youngest=Max("members__date_of_birth")).get()
        [row] = compiled.compiled_once("test.case", build, case.pk, "CHD")
        assert (row.pk, row.has_child, row.youngest) == (case.pk, expected.has_child, expected.youngest)
        assert type(row.has_child) is bool and isinstance(row.youngest, datetime.date)
    [row] = compiled.compiled_once("test.case", build, three.pk, "no such relationship")
    assert row.has_child is False
    assert compiled.compiled_once("test.case", build, 0, "CHD") == []
    assert len(builds) == 1


@pytest.mark.django_db
def test_a_value_the_query_does_not_take_is_refused_at_once(fresh):
    with pytest.raises(ValueError, match="does not use its value"):
        compiled.compiled_once("test.unused", lambda pk: Case.objects.all(), 5)
    with pytest.raises(TypeError):
        compiled.compiled_once("test.date", lambda day: Case.objects.filter(flies_on=day), datetime.date(2027, 1, 1))


@pytest.mark.django_db
@pytest.mark.parametrize("lookup", ["case_number__contains", "case_number__startswith", "case_number__iexact"])
def test_a_lookup_that_would_prepare_its_value_cannot_take_one(fresh, lookup):
    """The value goes into the statement as given: a lookup that escapes or wraps it (SQLite's `iexact` escapes `_`
    and `%`) would be run with a value it did not prepare, and is refused instead (on PostgreSQL `iexact` passes
    its value on unchanged, and is taken)."""
    from django.db import connection

    make_case(1)
    build = lambda number: Case.objects.filter(**{lookup: number})  # noqa: E731
    if lookup.endswith("iexact") and connection.vendor == "postgresql":
        assert compiled.compiled_once("test.lookup", build, "NO-SUCH_") == []
        return
    with pytest.raises(ValueError, match="does not use its value"):
        compiled.compiled_once("test.lookup", build, "NO-SUCH_")


@pytest.mark.django_db
def test_an_id_of_a_32_bit_column_can_be_a_value(fresh, ops):
    from django.contrib.auth.models import User

    [user] = compiled.compiled_once("test.user", lambda pk: User.objects.filter(pk=pk), ops.pk)
    assert user.username == ops.username


@pytest.mark.django_db
def test_a_member_saved_between_the_familys_statements_waits_for_the_next_read(fresh, monkeypatch):
    """The documents are read by case after the members: a member added in between (the admin saves a person and
    their passport together) is not there yet, and their document is left for the next read, not a KeyError."""
    from movements import family
    from movements.models import TravelDocument

    case = make_case(2)
    real = family.compiled_once

    def then_a_member_is_added(key, build, *values, **kwargs):
        rows = real(key, build, *values, **kwargs)
        if key == "family.members":
            newcomer = Person.objects.create(case=case, progres_individual_id="NEW-001", relationship="CHD",
                                             family_name="Karimi", given_name="Sara", sex="F",
                                             date_of_birth=datetime.date(2015, 1, 1))
            TravelDocument.objects.create(person=newcomer, document_type="passport", number="N0000001",
                                          issuing_country="AFG", expiry_date=datetime.date(2031, 1, 1))
        return rows

    monkeypatch.setattr(family, "compiled_once", then_a_member_is_added)
    people = family.members(case)

    assert len(people) == 2 and all(p.document_list == list(p.documents.all()) for p in people)


@pytest.mark.django_db
def test_rows_come_as_the_values_list_names_them_converted_as_the_orm_converts_them(fresh):
    """A grouped count has no model rows: a `values_list()` queryset's rows come as the tuples it would give (columns
    in its order, dates as dates and JSON as objects on SQLite too)."""
    case = make_case(2)
    Case.objects.filter(pk=case.pk).update(flies_on=datetime.date(2027, 1, 5), blockers=[{"code": "x"}])

    def build(pk):
        return (Case.objects.filter(pk=pk).annotate(people=Count("members"))
                .values_list("people", "flies_on", "blockers", "case_number"))

    for _ in range(2):
        assert compiled.compiled_once("test.rows", build, case.pk) == list(build(case.pk)) == [
            (2, datetime.date(2027, 1, 5), [{"code": "x"}], case.case_number)]


@pytest.mark.django_db
def test_the_dashboard_counts_what_flies_soon_from_each_days_today(fresh, client, ops):
    """Its statements of the day are kept by date: the next day's count is the next day's, not the first's."""
    import time_machine

    case = make_case(2, state="approved")
    Case.objects.filter(pk=case.pk).update(flies_on=datetime.date(2027, 1, 10), blocker_count=1,
                                           blockers=[{"code": "visa_missing", "message": "No visa"}])
    for day, soon in [(1, 1), (11, 0), (2, 1)]:
        with time_machine.travel(datetime.datetime(2027, 1, day, 9, tzinfo=datetime.UTC), tick=False):
            client.force_login(ops)
            assert client.get("/").context["soon_total"] == soon, day


@pytest.mark.django_db
def test_a_statement_that_would_load_related_objects_is_refused(fresh):
    with pytest.raises(TypeError, match="no related object"):
        compiled.compiled_once("test.related", lambda pk: Person.objects.filter(case_id=pk).select_related("case"), 1)
    with pytest.raises(TypeError, match="no related object"):
        compiled.compiled_once("test.prefetch", lambda pk: Person.objects.filter(case_id=pk)
                               .prefetch_related("documents"), 1)
