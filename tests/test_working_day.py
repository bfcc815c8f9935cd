"""Every role lands on its work, and what a timeline says does not give a hold's nature away (the working-day
issue, first items)."""

import pytest

from movements import transitions
from tests.conftest import PASSWORD, make_case, make_user, page_text

pytestmark = pytest.mark.django_db


def log_in(client, user):
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client.get(response["Location"])


@pytest.mark.parametrize("role, lands_on", [
    ("medical", "/medical/"),
    ("trainer", "/orientation/"),
    ("operations", "/"),
    ("unhcr", "/"),
])
def test_each_role_lands_on_its_work_after_logging_in(client, role, lands_on):
    user = make_user(f"someone-{role}", role)

    landing = log_in(client, user)

    assert landing.status_code == 302
    assert landing["Location"] == lands_on


def test_the_dashboard_is_still_open_to_medical_staff(client, medic):
    client.force_login(medic)
    assert client.get("/").status_code == 200


def test_unhcr_reads_a_neutral_actor_for_a_hold_and_its_resumption(client, medic, unhcr, ops):
    medic.first_name, medic.last_name = "Mehdi", "Medical"
    medic.save()
    case = transitions.hold(make_case(1), by=medic, reason="Active TB: treatment under way", category="medical")
    transitions.resume(case, by=medic)

    client.force_login(unhcr)
    seen_by_unhcr = page_text(client.get(f"/cases/{case.case_number}/"))
    client.force_login(ops)
    seen_by_ops = page_text(client.get(f"/cases/{case.case_number}/"))

    assert "Mehdi Medical" not in seen_by_unhcr
    assert seen_by_unhcr.count("by IOM staff") == 2
    assert seen_by_ops.count("by Mehdi Medical") == 2



def test_enrolling_a_case_not_yet_approved_says_so_once_for_the_whole_family(ops):
    import datetime

    from orientation import services
    from orientation.models import Session, SessionDay

    case = make_case(5)
    session = Session.objects.create(language="prs", location="Room 2")
    start = datetime.date.today() + datetime.timedelta(days=7)
    SessionDay.objects.bulk_create([SessionDay(session=session, number=n, date=start + datetime.timedelta(days=n))
                                    for n in (1, 2, 3)])

    with pytest.raises(services.OrientationError) as refused:
        services.enrol_case(session, case, by=ops)

    assert refused.value.code == "case_not_eligible"
    assert refused.value.message == (f"Case {case.case_number} is referred: only approved, ready or booked cases are "
                                     "enrolled in orientation.")
    assert not session.enrolments.exists()
