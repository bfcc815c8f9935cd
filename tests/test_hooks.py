"""movements' extension points (movements/hooks.py), each tried with a stand-in plug-in, and the rule that the core
never names the apps that plug into it."""

import ast
import datetime
import re
from pathlib import Path

import pytest
import time_machine
from django.conf import settings as django_settings
from django.urls import get_resolver

from movements import hooks, readiness, transitions
from movements.models import Case, CaseChange, CaseTransition, TravelMedicalNeeds
from tests.conftest import case_in, make_case, make_user, pass_pre_embarkation

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = ("orientation", "travel", "exchange", "privacy")

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def standin_catalogue():
    """Every test here registers stand-in providers; the catalogue is put back afterwards."""
    with hooks.isolated():
        yield


@pytest.fixture
def standin_templates(settings):
    settings.TEMPLATES = [{**django_settings.TEMPLATES[0],
                           "DIRS": [*django_settings.TEMPLATES[0]["DIRS"], ROOT / "tests" / "templates"]}]


# --- the core names no plug-in -------------------------------------------------------------------------------


def plugin_url_names():
    names = set()

    def walk(patterns):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                walk(pattern.url_patterns)
            elif pattern.name and pattern.callback.__module__.split(".")[0] in PLUGINS:
                names.add(pattern.name)

    walk(get_resolver().url_patterns)
    return names


def test_no_module_or_template_of_movements_names_a_plugin():
    url_names = plugin_url_names()
    assert "orientation_sessions" in url_names  # the scan knows what a plug-in's page looks like
    found = []
    for path in sorted((ROOT / "movements").rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found += [f"{path}: import {a.name}" for a in node.names if a.name.split(".")[0] in PLUGINS]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in PLUGINS:
                found.append(f"{path}: from {node.module}")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
                if re.match(rf"^({'|'.join(PLUGINS)})[.:]\w", text) or text in url_names:
                    found.append(f"{path}:{node.lineno}: {text!r}")
    templates = [*sorted((ROOT / "templates" / "movements").rglob("*.html")), ROOT / "templates" / "base.html"]
    for path in templates:
        text = path.read_text()
        for name in re.findall(r"{%\s*url\s+['\"]([^'\"]+)['\"]", text):
            if name in url_names or name.split(":")[0] in PLUGINS:
                found.append(f"{path}: url {name}")
        found += [f"{path}: {m}" for m in re.findall(rf"perms\.(?:{'|'.join(PLUGINS)})\b", text)]
        found += [f"{path}: {m}" for m in re.findall(rf"{{%\s*(?:include|extends)\s+['\"](?:{'|'.join(PLUGINS)})/",
                                                     text)]
    assert found == []


def test_every_hook_says_when_it_fires_and_what_it_may_return():
    catalogue = hooks.catalogue()
    assert {"readiness_requirements", "travel_plans", "before_transition", "transition_owners", "resume_targets",
            "case_panels", "member_notes", "navigation", "start_pages", "dashboard_cards", "case_scopes",
            "demo_data", "fit_to_travel_overrides", "readiness_preload", "personal_data_read", "retention_shredders",
            "subject_records", "case_page_reads", "transition_locks"} <= set(catalogue)
    for name, hook in catalogue.items():
        assert len(hook.__doc__) > 80, name


# --- readiness: requirements gated by transition, travel plans ---------------------------------------------


def test_a_requirement_that_gates_only_boarding_lets_a_case_be_cleared_and_booked(ops):
    @readiness.register(code="standin_boarding_pass", label="Boarding pass printed", gates=("depart",))
    def boarding_pass(ctx):
        yield readiness.Blocker("no_boarding_pass", "no boarding pass printed")

    case = case_in("ready", ops)
    case = transitions.perform(case, "book", by=ops, performer="travel")
    assert case.state == "booked"
    assert "no_boarding_pass" in [b["code"] for b in case.blockers]  # blocking the next step now: boarding
    pass_pre_embarkation(case)

    with pytest.raises(transitions.TransitionError) as refused:
        transitions.perform(case, "depart", by=ops, performer="travel")

    assert refused.value.code == "blocked"
    assert [b.code for b in refused.value.blockers] == ["no_boarding_pass"]


def test_a_confidential_requirement_reads_as_pending_clearance_to_unhcr(unhcr):
    @readiness.register(code="standin_medical", label="x", confidential=("standin_secret",))
    def secret(ctx):
        yield readiness.Blocker("standin_secret", "Karimi, Zahra — X-ray pending", person_name="Karimi, Zahra")

    blockers = readiness.blockers_for(make_case(1))
    from movements.access import access_for

    shown = readiness.redacted(blockers, access_for(unhcr))
    assert [b.message for b in shown] == ["Karimi, Zahra — medical clearance for travel pending"]


def test_a_travel_plan_gives_readiness_the_departure_date_and_the_travelling_members():
    case = make_case(2, expiry=datetime.date(2027, 1, 9))
    zahra, ahmad = case.members.order_by("id")

    @hooks.travel_plans.register
    def standin_plan(for_case):
        if for_case.pk != case.pk:
            return None
        return readiness.TravelPlan(
            date=datetime.date(2027, 1, 10), member_ids=frozenset({zahra.pk}), label="DEP-20270110-YYZ",
            departs_at=datetime.datetime(2027, 1, 10, 1, 25, tzinfo=datetime.UTC),
        )

    blockers = readiness.blockers_for(case)

    assert [(b.code, b.person_id) for b in blockers] == [("document_expired", zahra.pk)]  # Ahmad stays behind
    assert "before departure DEP-20270110-YYZ on 2027-01-10" in blockers[0].message
    assert Case.objects.get(pk=case.pk).travel_date == datetime.date(2027, 1, 10)


@time_machine.travel(datetime.datetime(2027, 1, 8, 12, tzinfo=datetime.UTC), tick=False)
def test_the_pregnancy_certificate_window_counts_back_from_the_real_departure_time():
    case = make_case(1)
    needs = TravelMedicalNeeds.objects.create(
        person=case.members.get(), pregnancy_weeks=30, pregnancy_weeks_on=datetime.date(2027, 1, 8),
        fit_to_fly_certificate_at=datetime.datetime(2027, 1, 7, 1, 0, tzinfo=datetime.UTC),
    )
    departs = datetime.datetime(2027, 1, 10, 1, 25, tzinfo=datetime.UTC)  # 06:25 in Dushanbe

    @hooks.travel_plans.register
    def standin_plan(for_case):
        return readiness.TravelPlan(date=datetime.date(2027, 1, 10), departs_at=departs, label="DEP-1")

    def certificate_blockers():
        return [b.code for b in readiness.blockers_for(case, gate="depart") if b.code == "pregnancy_certificate"]

    # Issued 72 h 25 min before take-off: too early.
    assert certificate_blockers() == ["pregnancy_certificate"]
    # 71 h 55 min before: accepted — though a day-only rule (72 h before the end of 10 January in Dushanbe,
    # 7 January 19:00 UTC) would have refused it.
    needs.fit_to_fly_certificate_at = datetime.datetime(2027, 1, 7, 1, 30, tzinfo=datetime.UTC)
    needs.save()
    assert certificate_blockers() == []


def test_a_fit_to_travel_override_a_plugin_provides_lifts_only_that_travellers_missing_check():
    case = make_case(2)
    zahra, ahmad = case.members.order_by("id")

    @hooks.fit_to_travel_overrides.register
    def standin_overrides(ctx):
        return [zahra.pk]

    blockers = [(b.code, b.person_id) for b in readiness.blockers_for(case, gate="depart")
                if b.code == "fit_to_travel_missing"]

    assert blockers == [("fit_to_travel_missing", ahmad.pk)]


def test_cases_evaluated_together_are_preloaded_once_by_each_plugin():
    cases = [make_case(1), make_case(2)]
    seen = []

    @hooks.readiness_preload.register
    def standin_preload(contexts):
        seen.append(sorted(len(ctx.members) for ctx in contexts))
        for ctx in contexts:
            ctx.extra["standin"] = True

    contexts = readiness.contexts_for(cases, {})

    assert seen == [[1, 2]]
    assert all(ctx.extra["standin"] for ctx in contexts.values())
    assert [b.code for b in readiness.evaluate(cases[1], context=contexts[cases[1].pk])] == \
        [b.code for b in readiness.evaluate(cases[1])]


def test_an_owner_that_authorises_a_transition_decides_who_performs_it(ops):
    escort = make_user("eraj", "escort")
    hooks.transition_owners.register(lambda: None, key="standin", transitions=("book", "unbook"),
                                     authorises=("unbook",))
    case = transitions.book(case_in("ready", ops), by=ops, performer="standin")

    with pytest.raises(transitions.TransitionError) as refused:
        transitions.book(case_in("ready", ops), by=escort, performer="standin")
    unbooked = transitions.unbook(case, by=escort, reason="The family stays behind", performer="standin")

    assert refused.value.code == "forbidden"  # not authorised by the owner: the role's permission is asked
    assert unbooked.state == "ready"
    assert CaseTransition.objects.get(case=case, transition="unbook").user == escort
    with pytest.raises(transitions.TransitionError) as elsewhere:
        transitions.unbook(transitions.book(case, by=ops, performer="standin"), by=escort, reason="x")
    assert elsewhere.value.code == "owned_elsewhere"


# --- transitions: inside the transaction, vetoes, owners, where a resumed case returns ------------------------


def test_a_transition_hook_runs_inside_the_transaction_and_its_data_is_logged(ops):
    seen = []

    @hooks.before_transition.register
    def standin_seats(event):
        seen.append((event.name, event.from_state, event.to_state, Case.objects.get(pk=event.case.pk).state))
        if event.name == "hold" and event.from_state == "booked":
            CaseChange.objects.create(case=event.case, actor="stand-in", summary="2 seats released")
            event.data["released_from"] = "DEP-20270110-YYZ"

    case = case_in("booked", ops)
    held = transitions.hold(case, by=ops, reason="Family emergency", category="family")

    assert seen[-1] == ("hold", "booked", "on_hold", "booked")  # before the new state was saved
    record = CaseTransition.objects.filter(case=case).latest("id")
    assert record.data == {"released_from": "DEP-20270110-YYZ", "hold_category": "family"}
    assert held.changes.filter(summary="2 seats released").exists()


def test_a_plugin_locks_its_own_rows_before_the_transition_locks_the_case(ops):
    order = []

    @hooks.transition_locks.register
    def standin_departure_first(case, name):
        order.append(("plug-in locks", name, case.pk))

    @hooks.before_transition.register
    def standin_seats(event):
        order.append(("case locked", event.name, event.case.pk))

    case = case_in("booked", ops)
    order.clear()
    transitions.hold(case, by=ops, reason="Family emergency", category="family")

    assert order == [("plug-in locks", "hold", case.pk), ("case locked", "hold", case.pk)]


def test_a_veto_refuses_the_transition_and_nothing_of_it_or_the_plugins_work_is_saved(ops):
    case = case_in("booked", ops)

    @hooks.before_transition.register
    def standin_veto(event):
        CaseChange.objects.create(case=event.case, actor="stand-in", summary="half-done work")
        raise transitions.Veto("seats_locked", "The departure's list is final: unbook through the departure.")

    rows = CaseTransition.objects.filter(case=case).count()

    with pytest.raises(transitions.TransitionError) as refused:
        transitions.withdraw(case, by=ops, reason="Family withdrew")

    assert refused.value.code == "seats_locked"
    stored = Case.objects.get(pk=case.pk)
    assert (stored.state, stored.version) == ("booked", case.version)
    assert CaseTransition.objects.filter(case=case).count() == rows
    assert not CaseChange.objects.filter(summary="half-done work").exists()


def test_an_owned_transition_is_refused_elsewhere_and_not_offered_on_the_case_page(ops, client):
    hooks.transition_owners.register(lambda: None, key="standin", transitions=("book",),
                                     message="Cases are booked from a departure's page.")
    case = case_in("ready", ops)

    with pytest.raises(transitions.TransitionError) as refused:
        transitions.book(case, by=ops)
    assert (refused.value.code, refused.value.message) == ("owned_elsewhere", "Cases are booked from a departure's page.")
    assert "book" not in [s.name for s in transitions.available_transitions(case, ops)]
    client.force_login(ops)
    response = client.post(f"/cases/{case.case_number}/transition/", {"transition": "book", "version": case.version})
    assert Case.objects.get(pk=case.pk).state == "ready"
    assert "booked from a departure" in client.get(response["Location"]).content.decode()

    booked = transitions.book(case, by=ops, performer="standin")
    assert booked.state == "booked"


def test_resume_asks_the_plugins_where_the_case_returns(ops):
    @hooks.resume_targets.register
    def standin_released(case):
        return "ready" if case.held_from == "booked" else None

    held = transitions.hold(case_in("booked", ops), by=ops, reason="Family emergency", category="family")
    assert held.held_from == "booked"

    resumed = transitions.resume(held, by=ops)

    assert resumed.state == "ready"
    other = transitions.resume(transitions.hold(case_in("approved", ops), by=ops, reason="x", category="other"),
                               by=ops)
    assert other.state == "approved"


# --- pages: panels, notes, navigation, start pages, dashboard cards, scopes --------------------------------


def test_a_plugin_panel_and_member_note_appear_on_the_case_page(client, ops, standin_templates):
    @hooks.case_panels.register
    def standin_panel(request, case, access):
        return [hooks.Panel("standin/panel.html", {"line": f"On DEP-1 with {case.members.count()} seats"},
                            title="Departure")]

    @hooks.member_notes.register
    def standin_notes(people):
        return {p.pk: [("Seat 14C", "ok")] for p in people}

    case = make_case(2)
    client.force_login(ops)
    page = client.get(f"/cases/{case.case_number}/").content.decode()

    assert 'data-testid="standin-panel"' in page and "On DEP-1 with 2 seats" in page
    assert page.count("Seat 14C") == 2


def test_a_plugin_reads_with_the_case_on_its_page_and_nowhere_else(client, ops, standin_templates):
    from django.db import connection
    from django.db.models import Count, OuterRef, Subquery
    from django.test.utils import CaptureQueriesContext

    from movements import memo
    from movements.models import Person

    seen = []

    @hooks.case_page_reads.register
    def standin_reads():
        members = Person.objects.filter(case=OuterRef("pk")).order_by().values("case").annotate(n=Count("*"))
        return {"standin.members": Subquery(members.values("n"))}

    @hooks.case_panels.register
    def standin_panel(request, case, access):
        seen.append(memo.recall(("standin.members", case.pk), "not read"))
        return [hooks.Panel("standin/panel.html", {"line": f"Seats for {seen[-1]}"}, title="Departure")]

    case = make_case(3)
    client.force_login(ops)
    with CaptureQueriesContext(connection) as ctx:
        page = client.get(f"/cases/{case.case_number}/").content.decode()
    assert "Seats for 3" in page and seen == [3]
    [case_row] = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith('SELECT "movements_case".')]
    assert "COUNT(*)" in case_row
    assert not hasattr(Case.objects.get(pk=case.pk), "page_read_0")
    # Outside the page nothing is kept.
    assert memo.recall(("standin.members", case.pk), "not read") == "not read"



def test_page_reads_are_compiled_once_and_answer_for_each_case_whoever_reads_it(client, ops, standin_templates):
    """The plug-ins' expressions are built and compiled once per process (movements.access), then read as columns
    of each case's row: the answer is each case's own, through a scope that joins other tables too."""
    from django.db.models import Count, OuterRef, Subquery

    from movements import memo
    from movements.models import Person

    calls, seen = [], []

    @hooks.case_page_reads.register
    def standin_reads():
        calls.append(1)
        members = Person.objects.filter(case=OuterRef("pk")).order_by().values("case").annotate(n=Count("*"))
        younger = members.filter(date_of_birth__gte=datetime.date(1988, 1, 1))
        return {"standin.members": Subquery(members.values("n")), "standin.younger": Subquery(younger.values("n"))}

    @hooks.case_panels.register
    def standin_panel(request, case, access):
        seen.append((case.case_number, memo.recall(("standin.members", case.pk)),
                     memo.recall(("standin.younger", case.pk))))
        return []

    three, two = make_case(3), make_case(2)
    escort = make_user("pilot", "escort")

    @hooks.case_scopes.register
    def standin_scope(for_user):  # joins the members' table, as a real scope would
        return Case.objects.filter(members__given_name__isnull=False, pk=two.pk).distinct() \
            if for_user.pk == escort.pk else None

    client.force_login(ops)
    for case in (three, two, three):
        assert client.get(f"/cases/{case.case_number}/").status_code == 200
    client.force_login(escort)
    assert client.get(f"/cases/{two.case_number}/").status_code == 200
    assert client.get(f"/cases/{three.case_number}/").status_code == 404

    younger = {case.pk: case.members.filter(date_of_birth__gte=datetime.date(1988, 1, 1)).count()
              for case in (three, two)}
    assert younger[three.pk] != 3, younger  # the second read differs from the first
    assert seen == [(three.case_number, 3, younger[three.pk]), (two.case_number, 2, younger[two.pk]),
                    (three.case_number, 3, younger[three.pk]), (two.case_number, 2, younger[two.pk])]
    assert len(calls) == 1


def test_a_page_read_that_needs_a_join_is_read_as_it_is(client, ops):
    """`Count("members")` needs the members' table and a GROUP BY: not a column of the case's row alone, so it is
    built with each query rather than compiled once (movements.access)."""
    from django.db.models import Count

    from movements import memo

    seen = []

    @hooks.case_page_reads.register
    def standin_reads():
        return {"standin.count": Count("members")}

    @hooks.case_panels.register
    def standin_panel(request, case, access):
        seen.append(memo.recall(("standin.count", case.pk)))
        return []

    case = make_case(3)
    client.force_login(ops)
    assert client.get(f"/cases/{case.case_number}/").status_code == 200
    assert client.get(f"/cases/{make_case(2).case_number}/").status_code == 200
    assert seen == [3, 2]

def test_a_plugin_navigation_entry_start_page_and_dashboard_card(client, standin_templates):
    user = make_user("pilot")  # no role: nothing of the real plug-ins is shown to them

    @hooks.navigation.register
    def standin_nav(request, access):
        return [hooks.NavEntry("Flights", "/flights/", order=35)]

    client.force_login(user)
    page = client.get("/").content.decode()
    assert '<a href="/flights/">Flights</a>' in page
    assert "Your role has no case list" in page

    @hooks.dashboard_cards.register
    def standin_card(request, access):
        return [hooks.Panel("standin/card.html", {"line": "Two departures today"})]

    page = client.get("/").content.decode()
    assert "Two departures today" in page and "Your role has no case list" not in page

    @hooks.start_pages.register
    def standin_start(user, access):
        return "/flights/"

    assert client.get("/")["Location"] == "/flights/"


def test_a_case_scope_opens_some_cases_to_a_role_without_the_case_list(client):
    user = make_user("pilot", "escort")
    theirs, other = make_case(1), make_case(1)

    @hooks.case_scopes.register
    def standin_scope(for_user):
        return Case.objects.filter(pk=theirs.pk) if for_user.pk == user.pk else None

    client.force_login(user)
    assert client.get(f"/cases/{theirs.case_number}/").status_code == 200
    assert client.get(f"/cases/{other.case_number}/").status_code == 404


# --- demo data -----------------------------------------------------------------------------------------------


def test_seed_demo_lets_each_plugin_prepare_cases_and_add_its_own_records():
    from django.core.management import call_command

    calls = {"make_ready": 0, "finish": None}

    class StandinDemo:
        def __init__(self, demo):
            self.users = demo.users

        def make_ready(self, case):
            calls["make_ready"] += 1

        def finish(self, cases):
            calls["finish"] = len(cases)

    hooks.demo_data.register(StandinDemo, key="standin")

    call_command("seed_demo", stdout=open("/dev/null", "w"))

    assert calls["finish"] == Case.objects.count() == 40
    assert calls["make_ready"] >= 11  # every case cleared on its way, and the README's two


# --- personal data: reads, retention, a person's own record ---------------------------------------------------


def test_no_app_imports_the_access_log_they_all_tell_the_core_hook():
    found = []
    for app in ("movements", "orientation", "travel", "exchange"):
        for path in sorted((ROOT / app).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "privacy":
                    found.append(f"{path}: from {node.module}")
                elif isinstance(node, ast.Import):
                    found += [f"{path}: import {a.name}" for a in node.names if a.name.split(".")[0] == "privacy"]
    assert found == []


def test_a_read_is_told_once_to_a_standin_listener(client, ops):
    heard = []
    hooks.personal_data_read.unregister("privacy.access_log.keep_read")
    hooks.personal_data_read.register(heard.append, key="standin")
    case = make_case(2)
    client.force_login(ops)
    client.get(f"/cases/{case.case_number}/", REMOTE_ADDR="192.0.2.7")
    (read,) = heard
    assert (read.kind, read.user, read.address, read.case_numbers) == ("case", ops, "192.0.2.7", (case.case_number,))


def test_with_nobody_listening_reads_cost_nothing(client, ops):
    from privacy.models import AccessLogEntry

    for key in [r.key for r in hooks.personal_data_read.registrations]:
        hooks.personal_data_read.unregister(key)
    case = make_case(1)
    client.force_login(ops)
    assert client.get(f"/cases/{case.case_number}/").status_code == 200
    assert not AccessLogEntry.objects.exists()


def test_a_standin_shredder_gets_the_due_cases_with_their_names_and_its_count_is_listed(ops):
    from django.utils import timezone

    from privacy import retention

    seen = []

    class Standin(hooks.Shredder):
        kind, label, description = "standin", "Stand-in", "Counts the batch's people."

        def count(self, batch):
            seen.append(batch)
            return len(batch.person_ids)

        def shred(self, batch):
            return len(batch.person_ids)

    hooks.retention_shredders.register(lambda: [Standin()], key="standin")
    case = case_in("rejected", ops)
    with time_machine.travel(timezone.now() + datetime.timedelta(days=400), tick=False):
        plan = retention.preview()
        run = retention.apply(actor="test")
    assert {line.kind: line.rows for line in plan.lines}["standin"] == 2
    assert seen[0].case_ids == (case.pk,)
    assert "Karimi, Zahra" in seen[0].names and "زهرا کریمی" in seen[0].names
    assert {line["kind"]: line["rows"] for line in run.removed}["standin"] == 2


def test_a_standin_section_appears_in_a_persons_record(db):
    import json

    from privacy import subject_record

    hooks.subject_records.register(
        lambda person: [hooks.RecordSection("Stand-in", items=(("Shoe size", "42"),), order=1)], key="standin")
    person = make_case(1).members.get()
    sections, produced = subject_record.produce(person, actor="test")
    data = json.loads(subject_record.as_json(person, sections, produced))
    assert data["sections"][0] == {"title": "Stand-in", "items": {"Shoe size": "42"}}
