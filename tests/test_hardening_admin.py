"""The admin (hardening): a list filter is no back door to fields a role may not see, a NUL in a filter is a bad
request, and every export neutralises spreadsheet formulas the way the contract says."""

import csv
import io
import re

import pytest
from openpyxl import load_workbook

from movements import transitions
from movements.access import access_for
from movements.admin import may_look_up
from movements.models import Case, CaseTransition, Person
from movements.spreadsheets import neutralise
from tests.conftest import make_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(ops):
    case = make_case(2)
    person = case.members.order_by("id").first()
    person.phone = "+992934904548"
    person.save()
    transitions.accept(case, by=ops)
    return transitions.hold(case, by=ops, reason="Security re-check requested by IRCC", category="security")


def staff(user, client):
    user.is_staff = True
    user.save()
    client.force_login(user)
    return client


# --- filters on hidden fields -----------------------------------------------------------------------------

HIDDEN_FROM_UNHCR = [
    "/admin/movements/person/?phone__startswith=%2B99293",
    "/admin/movements/person/?phone=%2B992934904548",
    "/admin/movements/person/?visa_reference__startswith=COPR",
    "/admin/movements/person/?documents__number__startswith=P",
    "/admin/movements/person/?medical_exams__tb_status=active",
    "/admin/movements/person/?medical_needs__pregnancy_weeks__gte=20",
    "/admin/movements/case/?hold_reason__icontains=security",
    "/admin/movements/case/?blockers__icontains=medical",
    "/admin/movements/case/?members__visa_reference__startswith=COPR",
    "/admin/movements/case/?members__phone__startswith=%2B992",
    "/admin/movements/case/?members__documents__mrz_line2__contains=AFG",
    "/admin/movements/casetransition/?reason__icontains=security",
]


@pytest.mark.parametrize("url", HIDDEN_FROM_UNHCR)
def test_a_unhcr_staff_user_cannot_filter_on_what_their_role_may_not_see(url, unhcr, client, case):
    client = staff(unhcr, client)

    response = client.get(url)

    assert response.status_code == 400
    assert "934904548" not in response.content.decode() and "Security re-check" not in response.content.decode()


def test_the_unfiltered_lists_still_answer_for_a_unhcr_staff_user(unhcr, client, case):
    client = staff(unhcr, client)

    for url in ["/admin/movements/person/", "/admin/movements/case/", "/admin/movements/casetransition/",
                "/admin/movements/case/?state=on_hold", "/admin/movements/person/?family_name__startswith=Kar"]:
        assert client.get(url).status_code == 200, url


def test_operations_staff_may_filter_on_phones_and_hold_reasons_their_role_sees(ops, client, case):
    client = staff(ops, client)

    by_phone = client.get("/admin/movements/person/?phone=%2B992934904548")
    by_reason = client.get("/admin/movements/case/?hold_reason__icontains=security")

    assert by_phone.status_code == 200 and by_phone.context["cl"].result_count == 1
    assert by_reason.status_code == 200 and by_reason.context["cl"].result_count == 1


@pytest.mark.parametrize("model, lookup, allowed", [
    (Person, "family_name__startswith", True),
    (Person, "phone__startswith", False),
    (Person, "case__hold_reason", False),
    (Person, "case__state", True),
    (Case, "members__documents__number", False),
    (Case, "members__medical_exams__outcome", False),
    (Case, "members__enrolments__session__code", True),
    (CaseTransition, "case__members__visa_reference__iexact", False),
    (CaseTransition, "to_state", True),
])
def test_lookups_are_judged_along_every_relation_they_cross(unhcr, model, lookup, allowed):
    assert may_look_up(access_for(unhcr), model, lookup) is allowed


def test_a_nul_in_a_list_filter_is_a_bad_request_not_a_server_error(superuser, client, case):
    client.force_login(superuser)

    for url in ["/admin/movements/case/?state=%00", "/admin/movements/case/?q=%00",
                "/admin/movements/person/?family_name=a%00b", "/admin/auth/user/?username=%00",
                "/admin/movements/case/?state%00=referred"]:
        response = client.get(url)
        assert response.status_code == 400, url
        assert "That request could not be understood" in response.content.decode()


# --- formulas in exports ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [
    ("=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"), ("+cmd", "'+cmd"), ("-2+3", "'-2+3"),
    ("@SUM(1)", "'@SUM(1)"), ("\tX", "'\tX"), ("\rX", "'\rX"),
    ("LPN", "LPN"), ("", ""), ("a=b", "a=b"), (-5, -5), (None, None), (3.5, 3.5),
])
def test_a_text_that_a_spreadsheet_would_run_gets_a_leading_quote_and_nothing_else_changes(value, expected):
    assert neutralise(value) == expected


def export(client, file_format):
    page = client.get("/admin/movements/case/export/").content.decode()
    formats = dict((label.strip().lower(), value) for value, label in
                   re.findall(r'<option value="(\d+)"[^>]*>([^<]+)</option>', page))
    response = client.post("/admin/movements/case/export/", {
        "format": formats[file_format], "resource": "0",
        **{f"caseresource_{f}": "on" for f in ("case_number", "state", "submission_category", "priority")},
    })
    assert response.status_code == 200, response.content[:300]
    return response.content


@pytest.fixture
def formula_cases(superuser, client):
    # Data that arrived some way other than the forms (which refuse it): the export must still be safe.
    cases = [make_case(1), make_case(1), make_case(1)]
    for case, category in zip(cases, ["=1+1", "@SUM(A1)", "-CMD"]):
        Case.objects.filter(pk=case.pk).update(submission_category=category)
    client.force_login(superuser)
    return client


def test_the_admins_csv_export_neutralises_every_formula(formula_cases):
    rows = list(csv.DictReader(io.StringIO(export(formula_cases, "csv").decode("utf-8-sig"))))

    assert sorted(row["submission_category"] for row in rows) == ["'-CMD", "'=1+1", "'@SUM(A1)"]
    assert {row["state"] for row in rows} == {"referred"}


def test_the_admins_xlsx_export_holds_the_formulas_as_plain_text(formula_cases):
    sheet = load_workbook(io.BytesIO(export(formula_cases, "xlsx"))).active
    header = [cell.value for cell in sheet[1]]
    column = header.index("submission_category")
    cells = [row[column] for row in sheet.iter_rows(min_row=2)]

    assert sorted(cell.value for cell in cells) == ["'-CMD", "'=1+1", "'@SUM(A1)"]
    assert {cell.data_type for cell in cells} == {"s"}  # text, not a formula


# --- what each role's staff user reaches --------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_escort_staff_user_sees_in_the_admin_only_the_departures_assigned_to_them(escort, ops, client):
    from tests.conftest import book, make_departure, make_user, ready_case
    from travel.models import Booking

    from django.contrib.auth.models import Permission

    mine = make_departure(ops, escorts=[escort])
    theirs = make_departure(ops, escorts=[make_user("farrukh", "escort")], pnr="Q9Z8Y7")
    book(ready_case(ops), ops, departure=mine)
    book(ready_case(ops), ops, departure=theirs)
    # Were the escort also given the bookings to read, they would be those of their own departures.
    escort.user_permissions.add(Permission.objects.get(codename="view_booking"))
    client = staff(escort, client)

    listing = client.get("/admin/travel/departure/").content.decode()
    bookings = client.get("/admin/travel/booking/")

    assert mine.code in listing and theirs.code not in listing
    assert client.get(f"/admin/travel/departure/{theirs.pk}/change/").status_code in (302, 404)
    assert bookings.status_code == 200
    shown = bookings.content.decode()
    assert Booking.objects.get(departure=mine).case.case_number in shown
    assert Booking.objects.get(departure=theirs).case.case_number not in shown
    # A hold that released seats on their departure does not name who held the case (a medical officer's hold).
    from movements.history import actor_label

    medic = make_user("mehdi", "medical")
    escort.user_permissions.add(Permission.objects.get(codename="view_departurelogentry"))
    transitions.hold(Booking.objects.get(departure=mine).case, by=medic, reason="Fever", category="medical")
    page = client.get(f"/admin/travel/departure/{mine.pk}/change/").content.decode()
    assert "put on hold while booked" in page and actor_label(medic) not in page


@pytest.mark.django_db
def test_a_unhcr_staff_user_does_not_learn_from_the_admin_who_held_a_case(unhcr, medic, client):
    medical_hold = transitions.hold(make_case(1), by=medic, reason="Active TB", category="medical")
    record = medical_hold.transitions.get(transition="hold")
    client = staff(unhcr, client)

    listing = client.get("/admin/movements/casetransition/").content.decode()
    page = client.get(f"/admin/movements/casetransition/{record.pk}/change/").content.decode()

    assert record.actor  # what the admin showed in its list and on the record
    for text in (listing, page):
        assert record.actor not in text


# --- UNHCR's weekly delta follows what the admin changes ------------------------------------------------------------


def _admin_form_data(response):
    """What the admin's change page posts back as drawn: its form and every inline formset, with their values."""
    data = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms += [inline.formset.management_form, *inline.formset.forms]
    for form in forms:
        for field in form:
            value = field.value()
            if value is None or value is False:
                continue
            if isinstance(value, (list, tuple)):
                value = value[0] if value else ""
            data[field.html_name] = "on" if value is True else str(value)
    return data


@pytest.mark.django_db
def test_a_member_moved_to_another_case_in_the_admin_brings_both_cases_into_the_weekly_delta(superuser, client):
    import datetime

    from django.utils import timezone

    from movements.models import Case

    first, second = make_case(2), make_case(1)
    week_ago = timezone.now() - datetime.timedelta(days=7)
    Case.objects.filter(pk__in=[first.pk, second.pk]).update(status_changed_at=week_ago)
    moving = first.members.order_by("id").last()
    client.force_login(superuser)
    data = _admin_form_data(client.get(f"/admin/movements/person/{moving.pk}/change/"))
    data["case"] = str(second.pk)

    response = client.post(f"/admin/movements/person/{moving.pk}/change/", data)

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    assert set(Case.objects.filter(status_changed_at__gt=week_ago).values_list("pk", flat=True)) == {
        first.pk, second.pk}



@pytest.mark.django_db
@pytest.mark.parametrize("field, value, in_export", [("family_name", "Karimy", True), ("native_name", "کریمی", False)])
def test_a_name_corrected_in_the_admin_reaches_the_next_changed_since_export(client, superuser, field, value,
                                                                             in_export):
    import datetime

    from django.utils import timezone

    from movements.models import Case

    case = make_case(1)
    person = case.members.get()
    week_ago = timezone.now() - datetime.timedelta(days=7)
    Case.objects.filter(pk=case.pk).update(status_changed_at=week_ago)
    client.force_login(superuser)
    data = _admin_form_data(client.get(f"/admin/movements/person/{person.pk}/change/"))
    data[field] = value

    response = client.post(f"/admin/movements/person/{person.pk}/change/", data)

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    assert (Case.objects.get(pk=case.pk).status_changed_at > week_ago) is in_export

@pytest.mark.django_db
def test_the_moment_a_status_changed_never_goes_back():
    import datetime

    from django.utils import timezone

    from movements.models import Case, status_changed

    case = make_case(1)
    now = Case.objects.get(pk=case.pk).status_changed_at

    status_changed([case.pk], at=now - datetime.timedelta(days=3))  # told late, with when it happened

    assert Case.objects.get(pk=case.pk).status_changed_at == now
    status_changed([case.pk], at=now + datetime.timedelta(minutes=5))
    assert Case.objects.get(pk=case.pk).status_changed_at == now + datetime.timedelta(minutes=5)
    assert timezone.is_aware(Case.objects.get(pk=case.pk).status_changed_at)
