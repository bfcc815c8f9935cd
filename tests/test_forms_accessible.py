"""Forms as a screen reader meets them: every field's error and help text is tied to it (each id Django's
aria-describedby names exists on the page), and a form sent back with errors says so in its title and puts the
focus on the summary of what to mend."""

import re

import pytest

from movements.once import new_token
from tests.conftest import make_case

pytestmark = pytest.mark.django_db


def described_but_missing(html):
    ids = set(re.findall(r'\bid="([^"]+)"', html))
    wanted = {ref for refs in re.findall(r'aria-describedby="([^"]+)"', html) for ref in refs.split()}
    return sorted(wanted - ids)


@pytest.mark.parametrize("who, url, body", [
    ("medic", "/medical/people/{person}/exams/new/", {"submission": "", "clinic": ""}),
    ("ops", "/cases/new/", {"members-TOTAL_FORMS": "1", "members-INITIAL_FORMS": "0"}),
    ("ops", "/departures/new/?mode=air", {"submission": new_token(), "legs-TOTAL_FORMS": "1",
                                          "legs-INITIAL_FORMS": "0"}),
    ("ops", "/orientation/sessions/new/", {"submission": new_token()}),
])
def test_a_form_sent_back_ties_each_message_to_its_field_and_takes_the_focus_to_the_summary(
        request, client, who, url, body):
    client.force_login(request.getfixturevalue(who))
    url = url.format(person=make_case(1).members.get().pk)
    drawn = client.get(url).content.decode()

    answer = client.post(url, body)

    page = answer.content.decode()
    assert answer.status_code == 400
    assert described_but_missing(drawn) == [] and described_but_missing(page) == []
    assert 'aria-invalid="true"' in page
    assert re.search(r'<div class="errorbox" role="alert" tabindex="-1" autofocus>', page)
    assert re.search(r"<title>Error: ", page)
    assert "<title>Error: " not in drawn
