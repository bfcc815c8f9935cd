"""The case list: search in any script, filters, pagination, and a query count that does not grow."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from movements.search import person_search_text
from tests.bulk import bulk_caseload
from tests.conftest import make_case


def list_queries(client, url="/cases/"):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response


@pytest.mark.django_db
def test_the_number_of_queries_does_not_grow_with_the_number_of_cases(client, ops):
    client.force_login(ops)
    bulk_caseload(60)
    small, _ = list_queries(client)
    small_filtered, _ = list_queries(client, "/cases/?q=family1&state=approved&blockers=no&page=1")
    bulk_caseload(1940, start=60)  # 2,000 cases make the point: the bench measures 10,000
    large, response = list_queries(client)
    large_filtered, _ = list_queries(client, "/cases/?q=family1&state=approved&blockers=no&page=1")
    assert response.context["total"] == 2_000
    assert len(response.context["page"].object_list) == 50
    assert large == small
    assert large_filtered == small_filtered
    assert large <= 10


@pytest.mark.django_db
def test_it_finds_cases_by_latin_name_native_name_case_number_and_progres_id(client, ops):
    client.force_login(ops)
    target = make_case(2)
    other = make_case(1)
    other.members.update(family_name="Rahmonov", given_name="Firuz", native_name="Фирӯз Раҳмонов",
                         search_text=person_search_text("Rahmonov", "Firuz", "Фирӯз Раҳмонов"))
    for q in ["karimi", "KARIMI", "کریمی", "زهرا", target.case_number, target.progres_case_id,
              f"{target.progres_case_id}-02".lower()]:
        _, response = list_queries(client, f"/cases/?q={q}")
        numbers = [c.case_number for c in response.context["page"].object_list]
        assert numbers == [target.case_number], q
    # Cyrillic is matched without regard to case, even on SQLite; Arabic-keyboard letters match Persian ones.
    _, response = list_queries(client, "/cases/?q=РАҲМОНОВ")
    assert [c.case_number for c in response.context["page"].object_list] == [other.case_number]
    _, response = list_queries(client, "/cases/?q=كريمي")  # Arabic kaf and yeh
    assert [c.case_number for c in response.context["page"].object_list] == [target.case_number]


@pytest.mark.django_db
def test_it_filters_by_state_priority_destination_and_blockers(client, ops):
    client.force_login(ops)
    urgent = make_case(1, priority="urgent")
    blocked = make_case(1, visas=False)
    from movements import transitions

    blocked = transitions.accept(blocked, by=ops)
    _, r = list_queries(client, "/cases/?priority=urgent")
    assert [c.pk for c in r.context["page"].object_list] == [urgent.pk]
    _, r = list_queries(client, "/cases/?state=in_processing")
    assert [c.pk for c in r.context["page"].object_list] == [blocked.pk]
    _, r = list_queries(client, "/cases/?blockers=yes")
    assert [c.pk for c in r.context["page"].object_list] == [blocked.pk]
    _, r = list_queries(client, "/cases/?destination=CAN")
    assert r.context["total"] == 2


@pytest.mark.django_db
def test_bad_filter_values_are_ignored_with_a_message_not_a_crash(client, ops):
    client.force_login(ops)
    make_case(1)
    _, r = list_queries(client, "/cases/?state=flying&page=zzz&priority=%00")
    assert "Some filters were not understood" in r.content.decode()


@pytest.mark.django_db
def test_the_case_page_runs_the_same_queries_for_a_family_of_one_or_seven(client, ops):
    from movements import transitions

    client.force_login(ops)
    counts = []
    for size in (1, 7):
        case = transitions.approve(transitions.accept(make_case(size), by=ops), by=ops)
        client.get(f"/cases/{case.case_number}/")
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"/cases/{case.case_number}/").status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]
