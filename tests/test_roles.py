"""Each role against each page (DESIGN.md, "Who uses it"): what it may open, change, and never see."""

import datetime

import pytest

from movements import transitions

from movements.models import Case, CaseTransition, Person, TravelDocument
from tests.conftest import make_case, page_text, visible_text

pytestmark = pytest.mark.django_db

PHONE = "+992934904548"
PHONE_SHOWN = "+992 93 490 4548"  # pages show numbers in international format
PHONE_FORMS = [PHONE, "992934904548", "934904548", "93 490 4548", "93-490-4548"]



@pytest.fixture
def case():
    case = make_case(2, planned_travel_date=datetime.date(2027, 1, 10))
    Person.objects.filter(case=case, relationship="PA").update(phone=PHONE)
    return Case.objects.get(pk=case.pk)


def pages(case):
    person = case.members.order_by("id").first()
    return {
        "dashboard": "/",
        "case list": "/cases/",
        "case": f"/cases/{case.case_number}/",
        "new case": "/cases/new/",
        "edit case": f"/cases/{case.case_number}/edit/",
        "documents": f"/cases/{case.case_number}/members/{person.pk}/documents/",
        "admin": "/admin/",
    }


# Status per role and page; the transition POST is tested separately below.
EXPECTED = {
    "operations": {"dashboard": 200, "case list": 200, "case": 200, "new case": 200, "edit case": 200,
                   "documents": 200, "admin": 302},
    "medical": {"dashboard": 200, "case list": 200, "case": 200, "new case": 403, "edit case": 403,
                "documents": 403, "admin": 302},
    "unhcr": {"dashboard": 200, "case list": 200, "case": 200, "new case": 403, "edit case": 403,
              "documents": 403, "admin": 302},
    "trainer": {"dashboard": 302, "case list": 403, "case": 404, "new case": 403, "edit case": 404,
                "documents": 404, "admin": 302},
    "escort": {"dashboard": 200, "case list": 403, "case": 404, "new case": 403, "edit case": 404,
               "documents": 404, "admin": 302},
}
MATRIX = [(role, page, status) for role, row in EXPECTED.items() for page, status in row.items()]


@pytest.mark.parametrize("role, page, status", MATRIX)
def test_each_role_gets_the_expected_answer_from_each_page(client, personas, case, role, page, status):
    client.force_login(personas[role])

    response = client.get(pages(case)[page])

    assert response.status_code == status
    if page == "admin":
        # No role is staff: the admin sends them to its own login page.
        assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("page", ["dashboard", "case list", "case", "new case", "edit case", "documents"])
def test_anonymous_visitors_are_sent_to_the_login_page(client, case, page):
    url = pages(case)[page]

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_anonymous_visitors_are_sent_to_the_admin_login(client):
    response = client.get("/admin/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_the_login_page_answers(client):
    assert client.get("/accounts/login/").status_code == 200


def test_a_denied_page_says_why_in_the_house_layout(client, unhcr, case):
    client.force_login(unhcr)

    response = client.get(pages(case)["edit case"])

    assert response.status_code == 403
    assert "You may read this case but not change it." in response.content.decode()


# --- moving a case ------------------------------------------------------------------------------


def post_transition(client, case, name="accept", reason="", category=""):
    return client.post(
        f"/cases/{case.case_number}/transition/",
        {"transition": name, "version": case.version, "reason": reason, "category": category},
    )


def test_operations_may_move_a_case(client, ops, case):
    client.force_login(ops)

    response = post_transition(client, case)

    assert response.status_code == 302
    assert response["Location"] == f"/cases/{case.case_number}/"
    assert Case.objects.get(pk=case.pk).state == "in_processing"
    assert CaseTransition.objects.filter(case=case, transition="accept", user=ops).count() == 1


@pytest.mark.parametrize("role, status", [("medical", 403), ("unhcr", 403), ("trainer", 404), ("escort", 404)])
def test_other_roles_may_not_accept_a_referral(client, personas, case, role, status):
    client.force_login(personas[role])

    response = post_transition(client, case)

    assert response.status_code == status
    assert Case.objects.get(pk=case.pk).state == "referred"
    assert not CaseTransition.objects.filter(case=case, transition="accept").exists()


def test_medical_staff_may_put_a_case_on_hold_from_its_page(client, medic, case):
    client.force_login(medic)

    response = post_transition(client, case, "hold", reason="Active TB: treatment under way", category="medical")

    assert response.status_code == 302
    assert Case.objects.get(pk=case.pk).state == "on_hold"


def test_anonymous_visitors_cannot_move_a_case(client, case):
    response = post_transition(client, case)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert Case.objects.get(pk=case.pk).state == "referred"


def test_a_transition_refused_by_readiness_is_explained_not_forbidden(client, ops):
    case = make_case(1, visas=False)
    client.force_login(ops)
    for name in ["accept", "approve"]:
        post_transition(client, Case.objects.get(pk=case.pk), name)

    response = post_transition(client, Case.objects.get(pk=case.pk), "clear")

    assert response.status_code == 302
    page = visible_text(client.get(response["Location"]))
    assert "cannot be cleared for travel: 1 readiness blocker" in page
    assert "No visa / COPR reference: Karimi, Zahra" in page
    assert Case.objects.get(pk=case.pk).state == "approved"


def test_a_transition_from_a_stale_page_is_explained(client, ops, case):
    client.force_login(ops)
    stale = Case.objects.get(pk=case.pk)
    post_transition(client, stale, "accept")

    response = post_transition(client, stale, "hold", reason="Security check", category="security")

    assert response.status_code == 302
    assert "This case changed while you were looking at it" in client.get(response["Location"]).content.decode()
    assert Case.objects.get(pk=case.pk).state == "in_processing"


def test_only_the_transitions_a_role_may_make_are_offered(client, personas, case):
    buttons = {}
    for role in ["operations", "medical", "unhcr"]:
        client.force_login(personas[role])
        page = client.get(f"/cases/{case.case_number}/").content.decode()
        buttons[role] = {name for name in ["accept", "hold", "withdraw"] if f'name="do" value="{name}"' in page}

    assert buttons == {"operations": {"accept", "hold", "withdraw"}, "medical": {"hold"}, "unhcr": set()}


# --- what each role may see -----------------------------------------------------------------------


def secrets_of(case):
    people = list(case.members.all())
    documents = list(TravelDocument.objects.filter(person__case=case))
    assert documents and all(p.visa_reference for p in people)
    return {
        "phone": PHONE_FORMS,
        "passport numbers": [d.number for d in documents],
        "visa references": [p.visa_reference for p in people],
    }


def test_operations_see_phone_numbers_passport_numbers_and_visa_references(client, ops, case):
    client.force_login(ops)

    page = client.get(f"/cases/{case.case_number}/").content.decode()

    found = secrets_of(case)
    assert PHONE_SHOWN in page
    assert all(number in page for number in found["passport numbers"])
    assert all(reference in page for reference in found["visa references"])


@pytest.mark.parametrize("url", ["case", "case list", "dashboard"])
def test_unhcr_never_sees_phone_numbers_passport_numbers_or_visa_references(client, unhcr, case, url):
    client.force_login(unhcr)

    page = client.get(pages(case)[url]).content.decode()

    for kind, values in secrets_of(case).items():
        for value in values:
            assert value not in page, f"{kind} {value!r} shown to UNHCR on {url}"


def test_unhcr_still_reads_the_case_status_and_names(client, unhcr, case):
    client.force_login(unhcr)

    page = client.get(f"/cases/{case.case_number}/").content.decode()

    assert case.case_number in page
    assert "Karimi, Zahra" in page
    assert 'data-testid="case-state"' in page
    assert "Referred" in page


def test_unhcr_cannot_find_a_case_by_its_passport_number_or_phone(client, unhcr, case):
    client.force_login(unhcr)
    number = TravelDocument.objects.filter(person__case=case).first().number

    for probe in [number, PHONE, "934904548"]:
        page = client.get("/cases/", {"q": probe}).content.decode()
        assert case.case_number not in page, probe


def test_medical_staff_see_contact_details_and_document_numbers(client, medic, case):
    client.force_login(medic)

    page = client.get(f"/cases/{case.case_number}/").content.decode()

    assert PHONE_SHOWN in page
    assert all(number in page for number in secrets_of(case)["passport numbers"])


@pytest.mark.parametrize("role", ["medical", "unhcr"])
def test_readers_get_no_edit_links(client, personas, case, role):
    client.force_login(personas[role])

    page = client.get(f"/cases/{case.case_number}/").content.decode()

    assert f"/cases/{case.case_number}/edit/" not in page
    assert "/documents/" not in page


@pytest.mark.parametrize("role", ["trainer", "escort"])
def test_trainers_and_escorts_see_no_case_on_their_dashboard(client, personas, case, role):
    client.force_login(personas[role])

    page = client.get("/").content.decode()

    assert case.case_number not in page
    assert "Karimi" not in page


# --- the admin ------------------------------------------------------------------------------------


@pytest.fixture
def admin_client_for(client, superuser):
    client.force_login(superuser)
    return client


def test_the_admin_shows_a_cases_state_but_cannot_edit_it(admin_client_for, case):
    response = admin_client_for.get(f"/admin/movements/case/{case.pk}/change/")

    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="state"' not in page
    assert "Referred" in page
    assert "state" not in response.context["adminform"].form.fields
    assert "progres_case_id" in response.context["adminform"].form.fields


def test_the_admin_offers_no_way_to_delete_a_case(admin_client_for, case):
    change_page = admin_client_for.get(f"/admin/movements/case/{case.pk}/change/").content.decode()
    list_page = admin_client_for.get("/admin/movements/case/").content.decode()

    assert f"/admin/movements/case/{case.pk}/delete/" not in change_page
    assert "delete_selected" not in list_page
    assert admin_client_for.get(f"/admin/movements/case/{case.pk}/delete/").status_code == 403
    assert admin_client_for.post(f"/admin/movements/case/{case.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Case.objects.filter(pk=case.pk).exists()


def test_the_admin_cannot_add_change_or_delete_history(admin_client_for, case):
    row = CaseTransition.objects.filter(case=case).first()

    assert admin_client_for.get("/admin/movements/casetransition/").status_code == 200
    assert admin_client_for.get("/admin/movements/casetransition/add/").status_code == 403
    assert admin_client_for.get(f"/admin/movements/casetransition/{row.pk}/delete/").status_code == 403
    view = admin_client_for.get(f"/admin/movements/casetransition/{row.pk}/change/")
    assert view.status_code == 200
    assert 'name="reason"' not in view.content.decode()
    assert admin_client_for.post(
        f"/admin/movements/casetransition/{row.pk}/change/", {"reason": "rewritten"}
    ).status_code == 403
    assert CaseTransition.objects.get(pk=row.pk).reason == ""


@pytest.mark.django_db
def test_the_admin_exports_case_status_without_personal_data(superuser, client):
    from tests.conftest import make_case

    case = make_case(1)
    client.force_login(superuser)
    response = client.post("/admin/movements/case/export/", {
        "format": "0", "resource": "0", **{f"caseresource_{f}": "on" for f in ("case_number", "state", "priority")}
    })
    assert response.status_code == 200, response.content[:500]
    body = response.content.decode()
    assert case.case_number in body and "referred" in body
    assert "Karimi" not in body and "P0" not in body


@pytest.mark.django_db
def test_a_unhcr_staff_user_sees_no_visa_or_phone_in_the_admin(unhcr, client):
    from tests.conftest import make_case

    case = make_case(1)
    person = case.members.get()
    person.phone = "+992934904548"
    person.save()
    unhcr.is_staff = True
    unhcr.save()
    client.force_login(unhcr)
    for url in [f"/admin/movements/person/{person.pk}/change/", f"/admin/movements/case/{case.pk}/change/"]:
        page = client.get(url).content.decode()
        assert person.visa_reference not in page, url
        assert "934904548" not in page, url
        assert person.documents.get().number not in page, url


@pytest.mark.django_db
def test_a_unhcr_staff_user_reads_no_hold_reason_in_the_admin(unhcr, ops, client):
    from movements import transitions
    from tests.conftest import make_case

    case = transitions.hold(make_case(1), by=ops, reason="Security re-check requested by IRCC", category="security")
    unhcr.is_staff = True
    unhcr.save()
    client.force_login(unhcr)
    record = case.transitions.get(transition="hold")
    for url in [f"/admin/movements/case/{case.pk}/change/", f"/admin/movements/casetransition/{record.pk}/change/"]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "Security re-check" not in response.content.decode(), url


def test_a_unhcr_user_reads_neither_the_kind_nor_the_reason_of_a_hold_on_the_case_page(client, medic, unhcr, ops):
    case = transitions.hold(make_case(1), by=medic, reason="Active TB: treatment under way", category="medical")
    client.force_login(unhcr)

    page = page_text(client.get(f"/cases/{case.case_number}/"))

    assert "On hold" in page
    assert "Active TB" not in page
    assert "Medical" not in page.replace("medical clearance", "")  # neither the category nor a medical label
    client.force_login(ops)
    assert "Medical" in page_text(client.get(f"/cases/{case.case_number}/"))  # operations read the category


# --- roles and permissions read with the user (movements.auth_backend) -------------------------------------------


def test_the_user_from_the_session_brings_the_same_roles_and_permissions_as_a_query_of_their_own(personas):
    from django.contrib.auth.models import Group, Permission

    from movements import access
    from movements.auth_backend import ModelBackend

    ops = personas["operations"]
    # A group whose name is not a plain word, a second group with no permission, and a permission of the user's own.
    odd = Group.objects.create(name='Desk "7", Dushanbe\t\\ — ночь')
    odd.permissions.add(Permission.objects.get(codename="view_contact_details"))
    ops.groups.add(odd, Group.objects.create(name="empty"))
    ops.user_permissions.add(Permission.objects.get(codename="add_medicalexam"))
    for user in personas.values():
        from_session = ModelBackend().get_user(user.pk)
        assert from_session.safar_access_rows is not None
        asked = type(user).objects.get(pk=user.pk)
        assert not hasattr(asked, "safar_access_rows")
        assert access._resolve(from_session) == access._resolve(asked)
    roles = access._resolve(ModelBackend().get_user(ops.pk))[1]
    assert roles == {"operations", odd.name, "empty"}
    assert "movements.add_medicalexam" in access._resolve(ModelBackend().get_user(ops.pk))[0]


def test_a_superusers_own_permissions_and_an_unknown_user_read_as_before(superuser):
    from movements import access
    from movements.auth_backend import ModelBackend

    user = ModelBackend().get_user(superuser.pk)
    assert access.access_for(user).can_see_medical and access.access_for(user).sees_all_cases
    assert ModelBackend().get_user(10**9) is None


def test_a_role_taken_away_applies_on_the_next_page(client, ops, case):
    from django.contrib.auth.models import Group

    client.force_login(ops)
    assert client.get(f"/cases/{case.case_number}/").status_code == 200
    ops.groups.remove(Group.objects.get(name="operations"))
    assert client.get(f"/cases/{case.case_number}/").status_code == 404


def test_a_page_reads_the_user_and_their_permissions_in_one_query(client, ops):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(ops)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/cases/").status_code == 200
    asking = [q["sql"] for q in ctx.captured_queries if "auth_group" in q["sql"] or "auth_permission" in q["sql"]]
    assert len(asking) == 1
    assert '"auth_user"."username"' in asking[0] and "auth_user_groups" in asking[0]


def test_a_session_opened_before_the_backend_changed_stays_logged_in(client, ops, case):
    from django.contrib.auth import BACKEND_SESSION_KEY

    client.force_login(ops)
    session = client.session
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"  # as sessions were saved before
    session.save()
    assert client.get(f"/cases/{case.case_number}/").status_code == 200
    assert client.session[BACKEND_SESSION_KEY] == "movements.auth_backend.ModelBackend"
    assert client.get("/cases/").status_code == 200
