import pytest
from movements import transitions
from movements.models import Case, CaseTransition
from tests.conftest import make_case

@pytest.mark.django_db
def test_smoke(ops, client):
    case = make_case(2)
    assert case.case_number.startswith("DYU-")
    transitions.accept(case, by=ops)
    transitions.approve(case, by=ops)
    c = transitions.clear(case, by=ops)
    assert c.state == "ready"
    c = transitions.hold(c, by=ops, reason="TB")
    c = transitions.resume(c, by=ops)
    assert c.state == "ready"
    assert CaseTransition.objects.filter(case=c).count() == 6
    client.force_login(ops)
    r = client.get("/cases/")
    assert r.status_code == 200, r.content
    r = client.get(f"/cases/{c.case_number}/")
    assert r.status_code == 200
    print(r.content.decode()[:200])
    r = client.get("/")
    assert r.status_code == 200
    r = client.get("/cases/new/")
    assert r.status_code == 200
    r = client.get(f"/cases/{c.case_number}/edit/")
    assert r.status_code == 200
