"""The case list: search in any script, filters, pagination, and a query count that does not grow."""

import datetime

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
    bulk_caseload(400)  # each list's first page is full: its total is counted
    small, _ = list_queries(client)
    small_filtered, _ = list_queries(client, "/cases/?q=family1&state=approved&blockers=no&page=1")
    small_all, _ = list_queries(client, "/cases/?show=all")
    small_soon, _ = list_queries(client, SOON)
    bulk_caseload(1600, start=400)  # 2,000 cases make the point: the bench measures 10,000
    large, response = list_queries(client)
    large_filtered, _ = list_queries(client, "/cases/?q=family1&state=approved&blockers=no&page=1")
    large_all, response_all = list_queries(client, "/cases/?show=all")
    large_soon, response_soon = list_queries(client, SOON)
    assert response_all.context["total"] == 2_000
    assert response.context["total"] == 1_400  # arrived, rejected and withdrawn are one click away
    assert len(response.context["page"].object_list) == 50
    assert len(response_soon.context["page"].object_list) == 50
    assert (large, large_filtered, large_all, large_soon) == (small, small_filtered, small_all, small_soon)
    assert large <= 10
    assert large_soon <= 10


SOON = "/cases/?flies_within=30&blockers=&sort=travel_date"


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


def _numbers(response):
    return [c.case_number for c in response.context["page"].object_list]


@pytest.mark.django_db
def test_page_150_runs_the_same_queries_as_page_1_by_number_next_or_previous(client, ops, settings):
    settings.SAFAR_CASES_PER_PAGE = 5
    client.force_login(ops)
    bulk_caseload(800)
    first, r1 = list_queries(client, "/cases/?show=all")
    by_number, r150 = list_queries(client, "/cases/?show=all&page=150")
    page = r150.context["page"]
    assert page.number == 150 and page.has_previous and page.has_next
    following, r151 = list_queries(client, f"/cases/?show=all&after={page.last_key}&page=151")
    preceding, r149 = list_queries(client, f"/cases/?show=all&before={page.first_key}&page=149")
    assert first == by_number == following == preceding
    assert first <= 8
    # Next and previous continue exactly where a page number would have.
    assert _numbers(r151) == _numbers(list_queries(client, "/cases/?show=all&page=151")[1])
    assert _numbers(r149) == _numbers(list_queries(client, "/cases/?show=all&page=149")[1])
    assert r151.context["page"].number == 151 and r149.context["page"].number == 149
    assert r1.context["total"] == r150.context["total"] == 800


@pytest.mark.django_db
def test_walking_the_list_by_next_visits_every_case_once_in_priority_order(client, ops, settings):
    from movements.models import Case

    settings.SAFAR_CASES_PER_PAGE = 5
    client.force_login(ops)
    bulk_caseload(23)
    make_case(1, priority="emergency")
    rank = {"emergency": 0, "urgent": 1}
    expected = [c.case_number for c in sorted(Case.objects.all(), key=lambda c: (
        rank.get(c.priority, 2), c.referral_date, c.pk))]
    seen, url = [], "/cases/?show=all"
    while url:
        _, response = list_queries(client, url)
        seen += _numbers(response)
        page = response.context["page"]
        url = f"/cases/?show=all&after={page.last_key}&page={page.next_page_number}" if page.has_next else None
    assert seen == expected
    # and back again from the last page by "previous"
    back, url = [], "/cases/?show=all&page=5"
    while url:
        _, response = list_queries(client, url)
        back = _numbers(response) + back
        page = response.context["page"]
        url = f"/cases/?show=all&before={page.first_key}&page={page.previous_page_number}" if page.has_previous else None
    assert back == expected
    html = response.content.decode()
    assert 'rel="next"' in html and 'rel="prev"' not in html  # back on the first page: nothing before it
    assert page.number == 1


@pytest.mark.django_db
def test_a_foreign_key_in_the_address_is_ignored_and_a_page_past_the_end_shows_the_last(client, ops, settings):
    settings.SAFAR_CASES_PER_PAGE = 5
    client.force_login(ops)
    bulk_caseload(12)
    for junk in ["after=x", "after=3.2026-01-01.1", "before=1.2026-13-40.5", "after=%00", "page=-4", "page=zzz"]:
        _, response = list_queries(client, f"/cases/?show=all&{junk}")
        assert response.context["page"].number == 1, junk
        assert len(response.context["page"].object_list) == 5
    for past in ("99", str(10**20)):  # a number whose offset no database integer holds, too
        _, response = list_queries(client, f"/cases/?show=all&page={past}")
        assert response.status_code == 200
        assert response.context["page"].number == 3
        assert len(response.context["page"].object_list) == 2


@pytest.mark.django_db
def test_the_count_is_exact_below_the_limit_and_says_more_than_above_it(client, ops, monkeypatch):
    from movements import case_pages

    client.force_login(ops)
    bulk_caseload(60)
    _, response = list_queries(client, "/cases/?show=all")
    assert response.context["total"] == 60 and "(60)" in response.content.decode()
    assert "Page 1 of 2" in response.content.decode()
    monkeypatch.setattr(case_pages, "COUNT_LIMIT", 55)
    _, response = list_queries(client, "/cases/?show=all")
    assert response.context["total_capped"]
    html = response.content.decode()
    assert "(more than 55)" in html and "Page 1</span>" in html and "Last »" not in html


@pytest.mark.django_db
def test_a_search_whose_first_page_is_not_full_is_not_counted_again(client, ops):
    client.force_login(ops)
    bulk_caseload(200)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/cases/?show=all&q=family17")
    numbers = _numbers(response)
    assert len(numbers) == 11  # family17, family170 … family179
    assert response.context["total"] == 11
    assert not [q for q in ctx.captured_queries if q["sql"].upper().startswith("SELECT COUNT(")]
    case_queries = [q for q in ctx.captured_queries if '"movements_person"' in q["sql"]]
    assert len(case_queries) == 2  # the ids (the search) and the rows shown (their principal applicants)


def test_a_search_that_fills_pages_counts_its_matches_in_the_same_query(client, ops, settings):
    settings.SAFAR_CASES_PER_PAGE = 5
    client.force_login(ops)
    bulk_caseload(200)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/cases/?show=all&q=family1")
    assert len(_numbers(response)) == 5
    assert response.context["total"] == 111  # family1, family10 … family19, family100 … family199
    assert not [q for q in ctx.captured_queries if q["sql"].upper().startswith("SELECT COUNT(")]
    assert "(111)" in response.content.decode()
    last = client.get("/cases/?show=all&q=family1&page=23")  # 111 = 22 full pages and one
    assert len(_numbers(last)) == 1 and last.context["total"] == 111


@pytest.mark.django_db
def test_the_destination_list_comes_from_the_reference_table_not_the_cases(client, ops):
    client.force_login(ops)
    make_case(1)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/cases/?destination=AUS")
    assert not [q for q in ctx.captured_queries if "DISTINCT" in q["sql"].upper()]
    html = response.content.decode()
    assert '<option value="AUS" selected>Australia</option>' in html
    assert '<option value="CAN">Canada</option>' in html
    assert response.context["total"] == 0


def _page_queries(client, url):
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return [q["sql"] for q in ctx.captured_queries]


@pytest.mark.django_db
def test_the_case_page_loads_members_documents_and_exams_once(client, ops):
    from movements import transitions

    client.force_login(ops)
    case = transitions.approve(transitions.accept(make_case(4), by=ops), by=ops)
    queries = _page_queries(client, f"/cases/{case.case_number}/")
    # Each of the family's tables once, for all its members (movements.family), whatever the panels read of them.
    for table in ["movements_person", "movements_traveldocument", "movements_medicalexam",
                  "movements_travelmedicalneeds"]:
        assert sum(f'FROM "{table}"' in q for q in queries) == 1, table


@pytest.mark.django_db
def test_permissions_and_roles_are_read_once_per_page(client, ops):
    from movements import transitions

    client.force_login(ops)
    case = transitions.approve(transitions.accept(make_case(3), by=ops), by=ops)
    for url in ["/", "/cases/", f"/cases/{case.case_number}/", "/cases/?q=karimi"]:
        queries = _page_queries(client, url)
        # With the user, in the same query (movements.auth_backend).
        assert sum("auth_permission" in q or "auth_group" in q for q in queries) == 1, url


@pytest.mark.django_db
def test_the_dashboard_runs_the_same_queries_for_60_or_600_cases_and_none_from_its_template(client, ops):
    client.force_login(ops)
    bulk_caseload(60)
    small = _page_queries(client, "/")
    bulk_caseload(540, start=60)
    large = _page_queries(client, "/")
    assert len(small) == len(large)
    assert sum(q.startswith('SELECT "movements_case"."state"') and "GROUP BY" in q for q in large) == 1
    assert not [q for q in large if q.upper().startswith("SELECT COUNT(")]
    response = client.get("/")
    assert isinstance(response.context["recent"], list) and isinstance(response.context["blocked"], list)


@pytest.mark.django_db
def test_a_row_shows_what_was_typed_escaped_and_links_to_the_case(client, ops):
    """The rows are written in Python (movements.case_pages.row_html): every value is escaped as a template would."""
    from movements.models import Person

    case = make_case(2, priority="urgent")
    type(case).objects.filter(pk=case.pk).update(flies_on=datetime.date(2027, 1, 5))
    Person.objects.filter(case=case, relationship="PA").update(
        family_name="O'Neil <b>", given_name='Ali "&"', native_name="<script>alert(1)</script>")
    client.force_login(ops)

    html = client.get("/cases/").content.decode()

    row = html[html.index(f'href="/cases/{case.case_number}/"'):]
    row = row[:row.index("</tr>")]
    assert "O&#x27;Neil &lt;b&gt;, Ali &quot;&amp;&quot;" in row
    assert '<small dir="auto" class="native">&lt;script&gt;alert(1)&lt;/script&gt;</small>' in row
    assert '<td data-label="People" class="num">2</td>' in row
    assert '<time datetime="2027-01-05">2027-01-05</time><br><small>planned</small>' in row
    assert '<span class="badge prio-urgent">Urgent</span>' in row
    assert "<script>" not in html


@pytest.mark.django_db
@pytest.mark.parametrize("typed", ["CAN ", " CAN", "XYZ"])
def test_a_destination_that_is_not_a_code_is_refused_and_marked_not_quietly_applied(client, ops, typed):
    make_case(1)
    client.force_login(ops)

    html = client.get("/cases/", {"destination": typed}).content.decode()

    assert "Some filters were not understood" in html
    assert '<select name="destination" id="id_destination" aria-invalid="true">' in html
    assert '<option value="" selected>Any destination</option>' in html


@pytest.mark.django_db
def test_a_filter_not_understood_is_ignored_alone_and_the_others_still_apply(client, ops):
    from movements import transitions

    approved = transitions.approve(transitions.accept(make_case(1), by=ops), by=ops)
    referred = make_case(1)
    client.force_login(ops)

    response = client.get("/cases/", {"state": "approved", "destination": "XYZ"})

    shown = _numbers(response)
    assert approved.case_number in shown and referred.case_number not in shown
    assert "Some filters were not understood and were ignored: Destination" in response.content.decode()
