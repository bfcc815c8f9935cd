"""The case page's member cards (movements/member_cards.py) against the template they replaced.

tests/templates/reference/member_card.html is the member loop's body as the case page's template wrote it; for
each role and a family that exercises every branch (needs, pregnancy, MEDIF, surveillance, a medical hold, no IME,
no documents, a phone read in a region, hostile names, notes a plug-in marked safe, blockers), the Python cards
must read the same.
"""

import datetime
import re

import pytest
from django.conf import settings as django_settings
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe

from movements import medical
from movements.access import access_for
from movements.member_cards import member_card_html
from movements.models import MedicalExam, TravelDocument, TravelMedicalNeeds
from tests.conftest import make_case, visible_text

pytestmark = pytest.mark.django_db
ROOT = django_settings.BASE_DIR


@pytest.fixture
def reference_templates(settings):
    settings.TEMPLATES = [{**django_settings.TEMPLATES[0],
                           "DIRS": [*django_settings.TEMPLATES[0]["DIRS"], ROOT / "tests" / "templates"]}]


@pytest.fixture
def family():
    case = make_case(4, planned_travel_date=datetime.date(2027, 1, 10))
    first, second, third, fourth = case.members.order_by("id")
    first.phone, first.phone_region, first.special_needs = "+992934904548", "TJ", "WCHR BLND"
    first.save()
    TravelDocument.objects.filter(person=first).update(mrz_line1="P<AFGKARIMI<<ZAHRA" + "<" * 26)
    TravelMedicalNeeds.objects.create(
        person=first, wheelchair="WCHS", stretcher=True, oxygen=True, medical_escort=True, pregnancy_weeks=31,
        pregnancy_weeks_on=datetime.date(2026, 11, 20), multiple_pregnancy=True,
        fit_to_fly_certificate_at=datetime.datetime(2026, 11, 27, 21, 30, tzinfo=datetime.timezone.utc),
        medif_required=True, medif_recorded_at=datetime.datetime(2026, 11, 28, 5, 5, tzinfo=datetime.timezone.utc))
    second.family_name, second.native_name = 'Karimi <script>alert("x")</script> & Sons', "<b>کریمی</b>"
    second.save()
    MedicalExam.objects.create(person=second, kind="ime", exam_date=timezone.localdate(), clinic="IOM",
                               outcome="M1", tb_status="inactive")
    TravelMedicalNeeds.objects.create(person=second, medif_required=True)
    MedicalExam.objects.create(person=third, kind="ime", exam_date=timezone.localdate(), clinic="IOM", outcome="M4")
    TravelDocument.objects.filter(person=third).delete()
    MedicalExam.objects.filter(person=fourth).delete()
    fourth.visa_reference, fourth.native_name = "", ""
    fourth.save()
    return case


def _members(case):
    members = list(case.members.select_related("medical_needs").prefetch_related("documents").order_by("id"))
    statuses = medical.statuses_for(members)
    notes = [[("Booked on <TK 255>", "ok"), (mark_safe('<a href="/travel/">on a departure</a>'), "warn")], [], [],
             [("Excluded & waiting", "warn")]]
    for person, person_notes, blockers in zip(members, notes, [["a", "b"], ["c"], [], []]):
        person.notes, person.blocker_list, person.medical = person_notes, blockers, statuses[person.pk]
    return members


def _same(markup):
    """Markup as a browser lays it out here: runs of white space are one, and none between two tags (the cards'
    containers are flex boxes and blocks; the spaces that show between inline badges are checked on the page)."""
    markup = re.sub(r'class="([^"]*?) "', r'class="\1"', re.sub(r"\s+", " ", markup))
    return re.sub(r">\s+<", "><", markup).replace(" </", "</").strip()


@pytest.mark.parametrize("can_edit_documents", [True, False])
def test_the_cards_read_as_the_template_wrote_them_for_every_role(reference_templates, family, personas,
                                                                  superuser, can_edit_documents):
    members = _members(family)
    for user in [*personas.values(), superuser]:
        access = access_for(user)
        for person in members:
            reference = render_to_string("reference/member_card.html", {
                "p": person, "case": family, "access": access, "can_edit_documents": can_edit_documents})
            card = member_card_html(person, case=family, access=access, can_edit_documents=can_edit_documents)
            assert _same(card) == _same(reference), (user.username, person.pk)
    card = member_card_html(members[0], case=family, access=access_for(personas["operations"]),
                            can_edit_documents=can_edit_documents)
    assert '<a href="/travel/">on a departure</a>' in card and "Booked on &lt;TK 255&gt;" in card


def test_the_case_page_shows_the_cards_with_what_each_role_may_see(client, family, ops, unhcr, medic):
    from movements import transitions

    transitions.approve(transitions.accept(family, by=ops), by=ops)
    client.force_login(ops)
    page = client.get(f"/cases/{family.case_number}/")
    text = visible_text(page)
    html = page.content.decode()
    assert "Wheelchair: " in text and "Pregnant: 31 weeks on 2026-11-20 (multiple)" in text
    assert "MEDIF sent 2026-11-28 10:05" in text  # 05:05 UTC in Dushanbe
    assert "fit-to-fly certificate 2026-11-28 02:30" in text
    assert "+992 93 490 4548 (read as TJ)" in text
    assert '<abbr class="badge ssr" title="BLND">BLND</abbr> <abbr' in html  # a space between badges
    assert "&lt;script&gt;" in html and "<script>alert" not in html
    assert re.search(r"\d+ things? to resolve — see “Can this family fly\?”", text)
    assert "Medical hold" in text and "No IME recorded" in text and "Surveillance on arrival" in text
    assert "None recorded." in text and "MRZ checked" in text
    client.force_login(unhcr)
    text = visible_text(client.get(f"/cases/{family.case_number}/"))
    assert "Karimi, Zahra" in text
    for hidden in ("Medical hold", "Wheelchair", "+992", "P0000", "COPR0", "Medical record"):
        assert hidden not in text, hidden
    client.force_login(medic)
    assert "Medical record" in visible_text(client.get(f"/cases/{family.case_number}/"))


def test_the_principal_applicant_comes_first_then_the_spouse_then_the_oldest(client, ops):
    case = make_case(4)
    first, spouse, child, baby = case.members.order_by("id")
    first.date_of_birth = datetime.date(1999, 1, 1)  # the PA younger than the spouse (1990) and a child (1995)
    first.save()
    client.force_login(ops)
    html = client.get(f"/cases/{case.case_number}/").content.decode()
    positions = [html.index(f'id="member-{p.pk}"') for p in (first, spouse, child, baby)]
    assert positions == sorted(positions)
    child.date_of_birth = datetime.date(1980, 1, 1)
    child.save()
    html = client.get(f"/cases/{case.case_number}/").content.decode()
    order = sorted((first, spouse, child, baby), key=lambda p: html.index(f'id="member-{p.pk}"'))
    assert order == [first, spouse, child, baby]  # as the manifest lists a family
    spouse.relationship = "CHD"
    spouse.save()
    html = client.get(f"/cases/{case.case_number}/").content.decode()
    order = sorted((first, spouse, child, baby), key=lambda p: html.index(f'id="member-{p.pk}"'))
    assert order == [first, child, spouse, baby]


@pytest.mark.parametrize("name, lang", [
    ("زهرا کریمی", "fa"),  # Dari
    ("ګلالۍ احمدزۍ", "ps"),  # Pashto: ګ and ۍ are its own letters
    ("Фирӯз Раҳмонов", "tg"),  # Tajik
    ("Ўғилой Каримова", "uz"),  # Uzbek: ў is its own letter
    ("Zahra", ""),
])
def test_a_name_in_its_own_script_is_tagged_with_the_language_that_writes_it(name, lang):
    from movements.models import native_lang

    assert native_lang(name) == lang


# --- the readiness panel, the moves and the timeline (movements.case_sections) --------------------------------


@pytest.fixture
def cases_in_every_kind(ops, medic):
    """A case for each way the three sections read: not yet checked, blocked, clear, held, booked with what is due
    before boarding (a fit-to-travel check), and one whose history carries hostile text and a refused move's reason."""
    from movements import transitions
    from tests.conftest import make_departure, ready_case
    from travel import services

    referred = make_case(1)
    blocked = transitions.approve(transitions.accept(make_case(3, visas=False), by=ops), by=ops)
    clear = transitions.approve(transitions.accept(make_case(2), by=ops), by=ops)
    held = transitions.hold(transitions.accept(make_case(1), by=ops), by=medic, category="medical",
                            reason='TB <script>alert("x")</script> & rest')
    booked = ready_case(ops, members=2)
    services.book_case(make_departure(ops), booked, by=ops)
    noted = transitions.accept(make_case(2, notes='Says "<b>hi</b>" & waves'), by=ops)
    return [referred, blocked, clear, held, booked, noted]


def test_the_sections_written_in_python_read_as_their_templates_wrote_them(
        client, reference_templates, cases_in_every_kind, personas, superuser, ops, monkeypatch):
    from movements import case_sections, readiness

    calls = []
    for name in ("readiness_html", "transitions_html", "timeline_html"):
        def spy(*args, _real=getattr(case_sections, name), _name=name, **kwargs):
            result = _real(*args, **kwargs)
            calls.append((_name, args, kwargs, result))
            return result
        monkeypatch.setattr(case_sections, name, spy)
    # A refused hold (the page was out of date) brings its reason and kind back into the form.
    noted = cases_in_every_kind[-1]
    client.force_login(ops)
    client.post(f"/cases/{noted.case_number}/transition/", {
        "transition": "hold", "version": noted.version - 1, "category": "documents", "reason": "Wait <for> it & see"})

    for user in [*personas.values(), superuser]:
        client.force_login(user)
        for case in cases_in_every_kind:
            client.get(f"/cases/{case.case_number}/")
    assert {name for name, *_ in calls} == {"readiness_html", "transitions_html", "timeline_html"}
    assert any(kwargs.get("typed") for name, args, kwargs, result in calls if name == "transitions_html")

    token = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')
    for name, args, kwargs, result in calls:
        if name == "readiness_html":
            case = args[0]
            reference = render_to_string("reference/case_readiness.html", {
                "case": case, "checks_readiness": kwargs["checks_readiness"], "blockers": kwargs["blocking"],
                "before_boarding": kwargs["before_boarding"], "blocker_groups": kwargs["blocker_groups"],
                "before_boarding_groups": kwargs["before_boarding_groups"], "requirements": readiness.requirements()})
        elif name == "transitions_html":
            request, case, offered = args
            reference = render_to_string("reference/case_transitions.html", {
                "case": case, "transitions": offered, "transition_url": kwargs["url"], "typed": kwargs["typed"],
                "hold_categories": kwargs["hold_categories"], "blockers": kwargs["blocked"],
                "before_boarding": kwargs["due_before_boarding"]}, request=request)
        else:
            reference = render_to_string("reference/case_timeline.html", {
                "timeline": args[0], "access": {"can_see_clearance_details": kwargs["show_reasons"]}})
        assert _same(token.sub("", result)) == _same(token.sub("", reference)), (name, _same(result))
    shown = " ".join(result for _name, _args, _kwargs, result in calls)
    assert "&lt;script&gt;" in shown and "<script>alert" not in shown and "Wait &lt;for&gt; it &amp; see" in shown
