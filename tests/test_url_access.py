"""Every address of Safar (the admin excepted), tried as every role (DESIGN.md, "Who uses it"): the server itself
lets in the roles the policy below names, and refuses the others.

One table, POLICY, says for each URL name how it is tried (GET for pages and downloads, POST for actions) and
which roles may use it. A role it names must not be refused (no 401, 403, 404, 405, nor a redirect to the log-in
page); a POST may still answer 200, 302 or 400 with a message. Any other signed-in role gets 403 or 404 (404
where the code hides that the thing exists), and an anonymous visitor a redirect to the log-in page (401 or 403
from the API). A refused request changes nothing in the database and shows no personal data; an allowed one
shows none of what DESIGN.md says that role must never see. An address of the project missing from the table
(one added later, without a declared policy) fails the first test.

The objects that fill the addresses (a case with members, a departure with a booking and a split at the gate, an
orientation session, an import, an override, an exclusion) are built once for the module, inside a transaction
rolled back at its end; each test runs in a savepoint of it.
"""

import datetime
import hashlib
import logging
import shutil
import subprocess
import types
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Callable
from urllib.parse import urlencode

import pytest
import time_machine
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from movements import transitions
from movements.models import Person, ReferralUpload, TravelDocument
from orientation.models import Session
from tests.conftest import (
    make_case, make_departure, make_user, next_arrival_day, pass_pre_embarkation, ready_case, replay_roles,
)
from travel import boarding, services
from travel.models import Booking, Passenger

pytestmark = pytest.mark.django_db

OPS, MEDICAL, TRAINER, ESCORT, UNHCR, DPO = "operations", "medical", "trainer", "escort", "unhcr", "dpo"
NO_ROLE, ANONYMOUS = "no role", "anonymous"
ROLES = (OPS, MEDICAL, TRAINER, ESCORT, UNHCR, DPO)
SIGNED_IN = frozenset(ROLES + (NO_ROLE,))
EVERYONE = SIGNED_IN | {ANONYMOUS}

LOGIN = "/accounts/login/"
REFUSALS = {401, 403, 404, 405}


# --- the policy -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    method: str
    allowed: frozenset
    params: dict = field(default_factory=dict)  # the URL's arguments, each read from the world
    query: Callable | None = None  # world → query string parameters
    data: Callable | None = None  # (world, role) → the POST's fields

    def url(self, world, *, name, **overrides):
        kwargs = {key: get(world) for key, get in self.params.items()} | overrides
        url = reverse(name, kwargs=kwargs)
        return url + (f"?{urlencode(self.query(world))}" if self.query else "")


def GET(*roles, query=None, **params):
    return Rule("GET", frozenset().union(*map(_set, roles)), params, query=query)


def POST(*roles, data=None, **params):
    return Rule("POST", frozenset().union(*map(_set, roles)), params, data=data)


def _set(roles):
    return {roles} if isinstance(roles, str) else set(roles)


# What fills the addresses (see `world` below).
CASE = attrgetter("case.case_number")  # a case being processed (its pages' forms are open), two members
CASE_MEMBER = attrgetter("case_member.pk")  # its principal applicant
FAMILY = attrgetter("family.case_number")  # the Karimis, five, booked on FLIGHT
TRAVELLER = attrgetter("zahra.pk")  # their principal applicant, who completed orientation in SESSION
SESSION = attrgetter("session.code")  # the family's orientation session, which the trainer trains
FLIGHT = attrgetter("flight.code")  # a final departure at the gate, the escort's
BOOKING = attrgetter("booking.pk")  # the family's booking on it
SPLIT = attrgetter("split.pk")  # a split the escort asked for at the gate (Yasin, a no-show, stays)
OVERRIDE = attrgetter("override.pk")  # a fit-to-travel override medical staff recorded for Zahra
EXCLUSION = attrgetter("exclusion.pk")  # a member of another case left out of travel
UPLOAD = attrgetter("upload.pk")  # a referral file previewed, waiting for confirmation
REASON = "Given by the access test"


def _transition(w, role):
    # Medical staff place medical holds; operations any other kind (movements.transitions).
    return {"transition": "hold", "category": "medical" if role == MEDICAL else "security", "reason": REASON,
            "version": w.case.version}


POLICY = {
    # --- open to anyone ------------------------------------------------------------------------------------------
    "healthz": GET(EVERYONE),
    "login": GET(EVERYONE),
    "logout": POST(EVERYONE),
    # --- any signed-in user ---------------------------------------------------------------------------------------
    "password_change": GET(SIGNED_IN),
    "password_change_done": GET(SIGNED_IN),
    "start": GET(SIGNED_IN),  # each role's start page
    "dashboard": GET(SIGNED_IN),  # trainers and the dpo are sent on to their pages; a user without a role sees none
    # --- cases ----------------------------------------------------------------------------------------------------
    "case_list": GET(OPS, MEDICAL, UNHCR),
    "case_detail": GET(OPS, MEDICAL, UNHCR, case_number=FAMILY),
    "case_create": GET(OPS),
    "case_edit": GET(OPS, case_number=CASE),
    "case_transition": POST(OPS, MEDICAL, case_number=CASE, data=_transition),
    "person_documents": GET(OPS, case_number=CASE, person_id=CASE_MEMBER),  # travel documents
    "import_list": GET(OPS),
    "import_detail": GET(OPS, upload_id=UPLOAD),
    "import_confirm": POST(OPS, upload_id=UPLOAD),
    "import_discard": POST(OPS, upload_id=UPLOAD),
    # --- medical records: medical staff only ------------------------------------------------------------------------
    "medical_work_list": GET(MEDICAL),
    "medical_person": GET(MEDICAL, person_id=TRAVELLER),
    "medical_exam_create": GET(MEDICAL, person_id=TRAVELLER),
    # --- orientation ----------------------------------------------------------------------------------------------
    "orientation_sessions": GET(OPS, TRAINER),
    "orientation_suggestions": GET(OPS),
    "orientation_declined": GET(OPS, person_id=CASE_MEMBER),
    "orientation_session_create": GET(OPS),
    "orientation_session": GET(OPS, TRAINER, code=SESSION),
    "orientation_enrol": POST(OPS, code=SESSION, data=lambda w, role: {"case_number": w.waiting.case_number}),
    "orientation_remove": POST(OPS, code=SESSION, data=lambda w, role: {"case_number": w.waiting.case_number,
                                                                         "reason": REASON}),
    "orientation_session_start": POST(OPS, code=SESSION),
    "orientation_session_close": POST(OPS, code=SESSION),
    "orientation_session_reopen": POST(OPS, code=SESSION, data=lambda w, role: {"reason": REASON}),
    "orientation_roll_call": GET(OPS, TRAINER, code=SESSION, number=lambda w: 1),
    "orientation_attendance_sheet": GET(OPS, TRAINER, code=SESSION),
    "orientation_certificate": GET(OPS, TRAINER, code=SESSION, person_id=TRAVELLER),
    # --- departures: operations, and an escort on the departures assigned to them ------------------------------------
    "departure_board": GET(OPS, ESCORT),
    "departure_create": GET(OPS),
    "departure_detail": GET(OPS, ESCORT, code=FLIGHT),
    "departure_edit": GET(OPS, code=FLIGHT),
    "departure_manifest": GET(OPS, ESCORT, code=FLIGHT),
    "departure_apd": GET(OPS, code=FLIGHT),  # advance passenger data: document numbers
    "departure_apd_xlsx": GET(OPS, code=FLIGHT),
    "departure_book": POST(OPS, code=FLIGHT, data=lambda w, role: {"case_number": w.waiting.case_number}),
    "departure_cancel_booking": POST(OPS, code=FLIGHT, booking_id=BOOKING, data=lambda w, role: {"reason": REASON}),
    "departure_record_exception": POST(OPS, code=FLIGHT, data=lambda w, role: {
        "rule": "arrival_weekday", "granted_by": "IRCC", "reason": REASON}),
    "departure_action": POST(OPS, code=FLIGHT, action=lambda w: "reopen", data=lambda w, role: {
        "reason": REASON, "version": w.flight.version}),
    "departure_exclude_member": POST(OPS, data=lambda w, role: {"person": w.waiting_member.pk, "reason": REASON}),
    "departure_include_member": POST(OPS, exclusion_id=EXCLUSION, data=lambda w, role: {"reason": REASON}),
    # --- the day of travel ----------------------------------------------------------------------------------------
    "travel_boarding": GET(OPS, ESCORT, code=FLIGHT),
    "travel_boarding_mark": POST(OPS, ESCORT, code=FLIGHT, data=lambda w, role: {
        "mark": f"{w.zahra_passenger.pk}:boarded", "token": "access-test"}),
    "travel_boarding_decide": POST(OPS, ESCORT, code=FLIGHT, data=lambda w, role: {
        "case_number": w.family.case_number, "decision": "split", "reason": REASON}),
    "travel_boarding_split": POST(OPS, code=FLIGHT, split_id=SPLIT, data=lambda w, role: {"decision": "approve"}),
    "travel_boarding_close": POST(OPS, ESCORT, code=FLIGHT),
    "travel_arrival": GET(OPS, ESCORT, code=FLIGHT),
    "travel_incident": GET(OPS, ESCORT, code=FLIGHT, query=lambda w: {"case": w.family.case_number}),
    "travel_override": POST(MEDICAL, data=lambda w, role: {"person": w.ahmad.pk, "reason": REASON}),
    "travel_override_revoke": POST(MEDICAL, override_id=OVERRIDE, data=lambda w, role: {"reason": REASON}),
    # --- status exports and the API: UNHCR liaison and operations ---------------------------------------------------
    "exports": GET(OPS, UNHCR, query=lambda w: {"format": "csv"}),  # the download itself
    "api_root": GET(OPS, UNHCR),
    "api_cases": GET(OPS, UNHCR),
    "api_schema": GET(OPS, UNHCR),
    "api_docs": GET(OPS, UNHCR),
    "api_not_found": GET(rest=lambda world: "cases/1/"),  # any other address under /api/: 404 for all, in JSON
    # --- data protection: the dpo only -------------------------------------------------------------------------------
    "privacy_access_log": GET(DPO),
    "privacy_subject": GET(DPO, query=lambda w: {"person": w.zahra.progres_individual_id}),
    "privacy_subject_pdf": GET(DPO, query=lambda w: {"person": w.zahra.progres_individual_id}),
    "privacy_subject_json": GET(DPO, query=lambda w: {"person": w.zahra.progres_individual_id}),
    "privacy_retention": GET(DPO),
    "privacy_retention_apply": POST(DPO),
}

# What DESIGN.md says each role must never see, as markers planted in the world (see `world`): checked in every
# answer that role is given (pages, CSV, JSON, and PDFs read back with pdftotext).
NEVER_SEE = {
    OPS: ["medical reason"],
    MEDICAL: [],
    TRAINER: ["medical reason", "medical hold reason", "phone", "document number", "a case outside their session"],
    ESCORT: ["medical reason", "medical hold reason", "a case outside their departures", "a departure not theirs"],
    UNHCR: ["medical reason", "medical hold reason", "phone", "document number"],
    DPO: [],
    NO_ROLE: ["personal data"],
}



# --- the world ------------------------------------------------------------------------------------------------

UTC = datetime.timezone.utc
BOOKED_ON = datetime.datetime(2026, 11, 20, 5, tzinfo=UTC)
FLIGHT_DAY = datetime.date(2026, 12, 9)
GATE = datetime.datetime(2026, 12, 8, 23, 0, tzinfo=UTC)  # 04:00 in Dushanbe; TK 255 leaves at 05:45
PHONE = "+992934904548"
DOCUMENTS = ("P7319264", "P7319265")
VISAS = ("COPR7319264", "COPR7319265")
MEDICAL_REASON = "Cardiologist cleared her stent on 7 December"
HOLD_REASON = "Sputum culture pending, treatment under way"


def _build():
    # The roles come from data migrations, and a transactional test earlier in the run flushes them.
    if Group.objects.filter(name__in=ROLES).count() < len(ROLES):
        replay_roles()
    w = types.SimpleNamespace()
    # The personas of conftest, the dpo of test_privacy_access_log, and a user without a role.
    w.users = {
        OPS: make_user("olga", OPS, first_name="Olga", last_name="Ops"), MEDICAL: make_user("mehdi", MEDICAL),
        TRAINER: make_user("tahmina", TRAINER), ESCORT: make_user("eraj", ESCORT), UNHCR: make_user("ursula", UNHCR),
        DPO: make_user("dina", DPO, first_name="Dina", last_name="Protection"), NO_ROLE: make_user("nadia"),
    }
    ops, medic, escort = w.users[OPS], w.users[MEDICAL], w.users[ESCORT]

    # A case being processed; a family of five on the escort's final departure, whose orientation session the
    # trainer trains; another departure, which the escort does not accompany. The principal applicants have a
    # phone, a passport and a visa number that only operations and medical staff may read.
    w.case = transitions.perform(make_case(2), "accept", by=ops)
    w.family = ready_case(ops, members=5)
    for n, case in enumerate((w.case, w.family)):
        principal = case.members.get(relationship="PA")
        Person.objects.filter(pk=principal.pk).update(phone=PHONE, visa_reference=VISAS[n])
        TravelDocument.objects.filter(person=principal).update(number=DOCUMENTS[n])
    w.case_member = w.case.members.get(relationship="PA")
    w.zahra = w.family.members.get(relationship="PA")
    w.session = Session.objects.filter(enrolments__person=w.zahra).get()
    w.session.trainers.add(w.users[TRAINER])
    w.flight = make_departure(ops, day=FLIGHT_DAY, escorts=[escort])
    w.booking = services.book_case(w.flight, w.family, by=ops)
    w.flight = services.finalise_departure(w.flight, by=ops)
    w.elsewhere = ready_case(ops, members=1)
    w.other_flight = make_departure(ops, day=next_arrival_day(FLIGHT_DAY), pnr="M3RX7Q",
                                    escorts=[make_user("elyor", ESCORT)])
    services.book_case(w.other_flight, w.elsewhere, by=ops)

    # A case medical staff put on hold, saying why (operations read hold reasons; UNHCR, trainers, escorts never).
    w.held = transitions.perform(transitions.perform(make_case(1), "accept", by=ops), "hold", by=medic,
                                 category="medical", reason=HOLD_REASON)

    # An approved family waiting for orientation (the suggestions name them).
    w.unoriented = transitions.perform(transitions.perform(make_case(2, orientation=False), "accept", by=ops),
                                       "approve", by=ops)

    # A ready case waiting for a flight; a member of another one excluded from travel.
    w.waiting = ready_case(ops, members=2)
    w.waiting_member = w.waiting.members.get(given_name="Ahmad")
    parted = ready_case(ops, members=2)
    w.exclusion = services.exclude_member(parted.members.get(given_name="Ahmad"), by=ops, reason=REASON)

    # A referral file previewed and not yet confirmed.
    content = b"progres_case_id,progres_individual_id\n"
    w.upload = ReferralUpload.objects.create(filename="referrals.csv", content=content, size=len(content),
                                             sha256=hashlib.sha256(content).hexdigest(), uploaded_by=ops,
                                             status=ReferralUpload.Status.PREVIEWED)
    return w


def _at_the_gate(w, clock):
    """The day of travel: everyone checked fit to travel, Yasin a no-show, the escort asks that the family fly
    without him, and medical staff let Zahra board on an override."""
    clock.move_to(GATE)
    ops, medic, escort = w.users[OPS], w.users[MEDICAL], w.users[ESCORT]
    pass_pre_embarkation(w.family)
    people = {p.given_name: p for p in w.family.members.all()}
    w.ahmad = people["Ahmad"]  # no override yet: medical staff may record one
    w.zahra_passenger = Passenger.objects.get(departure=w.flight, person=people["Zahra"])
    boarding.mark(w.flight, Passenger.objects.get(departure=w.flight, person=people["Yasin"]), "no_show", by=escort)
    w.split = boarding.request_split(w.flight, w.family, by=escort, reason="Yasin stays with his uncle").split
    w.override = boarding.record_override(w.flight, people["Zahra"], by=medic, reason=MEDICAL_REASON)
    for name in ("case", "flight", "family", "zahra"):
        getattr(w, name).refresh_from_db()
    assert Booking.objects.get(pk=w.booking.pk).is_active
    w.markers = {
        "medical reason": [MEDICAL_REASON],
        "medical hold reason": [HOLD_REASON],
        "phone": ["934904548", "93 490 4548", "93-490-4548"],
        "document number": [*DOCUMENTS, *VISAS],
        "a case outside their session": [w.case.case_number, w.waiting.case_number, w.held.case_number,
                                         w.unoriented.case_number],
        "a case outside their departures": [w.case.case_number, w.elsewhere.case_number, w.waiting.case_number,
                                            w.held.case_number, w.unoriented.case_number],
        "a departure not theirs": [w.other_flight.code],
        "personal data": ["Karimi", "کریمی", w.case.case_number, w.family.case_number],
    }


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Built once, at a frozen time (booked three weeks ahead, then at the gate), in a transaction rolled back when
    the module ends; each test runs in a savepoint of it and sees the same clock."""
    fast = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    # Each refusal is logged as a warning with its traceback; formatting hundreds of them would be most of the time.
    quiet = logging.getLogger("django.request")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with django_db_blocker.unblock(), fast, time_machine.travel(BOOKED_ON, tick=False) as clock:
            with transaction.atomic():
                w = _build()
                _at_the_gate(w, clock)
                w.client, w.sessions = Client(), {}
                for role, user in w.users.items():
                    w.client.force_login(user)
                    w.sessions[role] = w.client.cookies.pop(settings.SESSION_COOKIE_NAME).value
                yield w
                transaction.set_rollback(True)
    finally:
        quiet.setLevel(level)


# --- asking ---------------------------------------------------------------------------------------------------


def signed_in(world, role):
    """The module's one client (a new one would load the middleware again, WhiteNoise's scan of the static files
    included), as `role` and nobody else: with that role's session (opened once, in `world`) or none."""
    client = world.client
    client.cookies.clear()
    if role != ANONYMOUS:
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[role]
    return client


def ask(world, name, role, client=None, **overrides):
    rule = POLICY[name]
    client = client or signed_in(world, role)
    url = rule.url(world, name=name, **overrides)
    if rule.method == "POST":
        return client.post(url, rule.data(world, role) if rule.data else {})
    return client.get(url)


def body_text(response):
    """What an answer shows, as text: a page, JSON or CSV as it is, a PDF read back with pdftotext."""
    # (Read through the test client, which closes a streamed answer itself without closing the connection.)
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if content.startswith(b"%PDF"):
        if not shutil.which("pdftotext"):
            return ""
        content = subprocess.run(["pdftotext", "-", "-"], input=content, capture_output=True, check=True).stdout
    return content.decode("utf-8", errors="replace")


def shown(text, world, what):
    return [marker for key in what for marker in world.markers[key] if marker in text]


def refused_to_login(response):
    return response.status_code == 302 and response["Location"].startswith(f"{LOGIN}?next=")


TRACKED_APPS = ("auth", "movements", "orientation", "travel", "exchange", "privacy")


def database_state():
    """Every row of the project's tables (and of the users and roles): a refused request changes none."""
    state = {}
    with connection.cursor() as cursor:
        for label in TRACKED_APPS:
            for model in apps.get_app_config(label).get_models(include_auto_created=True):
                table, pk = connection.ops.quote_name(model._meta.db_table), model._meta.pk.column
                cursor.execute(f"SELECT * FROM {table} ORDER BY {connection.ops.quote_name(pk)}")
                state[model._meta.db_table] = [
                    tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in cursor.fetchall()]
    return state


def changed_tables(before, after):
    return sorted(table for table in before if before[table] != after[table])


# --- the tests ------------------------------------------------------------------------------------------------


def project_url_names():
    """The names of every address of the project, the admin's and the static files' excepted (an unnamed one is
    listed by its pattern: it has no policy)."""
    static = tuple(url.strip("/") for url in (settings.STATIC_URL, settings.MEDIA_URL) if url and url.strip("/"))
    names = set()

    def walk(patterns, prefix=""):
        for entry in patterns:
            route = prefix + str(entry.pattern).lstrip("^")
            if static and route.startswith(static):
                continue
            if isinstance(entry, URLResolver):
                if entry.namespace != "admin":
                    walk(entry.url_patterns, route)
            elif isinstance(entry, URLPattern):
                names.add(entry.name or f"(unnamed) /{route}")

    walk(get_resolver().url_patterns)
    return names


def test_every_address_of_the_project_has_a_declared_policy_and_every_policy_an_address():
    names = project_url_names()

    assert sorted(names - POLICY.keys()) == [], "addresses without an access policy in POLICY"
    assert sorted(POLICY.keys() - names) == [], "policies of addresses that no longer exist"


def _cases():
    for name in POLICY:
        for role in ROLES + (NO_ROLE, ANONYMOUS):
            yield pytest.param(name, role, id=f"{name}-{role.replace(' ', '_')}")


@pytest.mark.parametrize("name, role", list(_cases()))
def test_each_role_is_let_in_or_refused_as_the_policy_says(world, name, role):
    rule = POLICY[name]
    allowed = role in rule.allowed
    client = signed_in(world, role)
    before = None if allowed else database_state()

    response = ask(world, name, role, client)
    status = response.status_code
    text = body_text(response)

    if allowed:
        assert status not in REFUSALS and not refused_to_login(response), f"{role} refused: {status}"
        assert status < 500
        assert shown(text, world, NEVER_SEE.get(role, [])) == [], f"{role} is shown what they must never see"
        return
    if role == ANONYMOUS:
        api = name.startswith("api_")
        assert refused_to_login(response) or (api and status in (401, 403)), f"anonymous answered {status}"
    else:
        assert status in (403, 404), f"{role} answered {status}"
    assert shown(text, world, ["personal data", "phone", "document number", "medical reason",
                               "medical hold reason"]) == []
    assert changed_tables(before, database_state()) == [], "a refused request changed the database"


DEPARTURE_PAGES = [name for name, rule in POLICY.items()
                   if rule.method == "GET" and rule.params.get("code") is FLIGHT and ESCORT in rule.allowed]
SESSION_PAGES = [name for name, rule in POLICY.items()
                 if rule.method == "GET" and rule.params.get("code") is SESSION and TRAINER in rule.allowed
                 and "person_id" not in rule.params]


@pytest.mark.parametrize("name", DEPARTURE_PAGES)
def test_an_escort_gets_nothing_of_a_departure_not_assigned_to_them(world, name):
    assert ask(world, name, ESCORT, code=world.other_flight.code).status_code == 404
    assert ask(world, name, OPS, code=world.other_flight.code).status_code not in REFUSALS


@pytest.mark.parametrize("name", SESSION_PAGES)
def test_a_trainer_gets_nothing_of_a_session_they_do_not_train(world, name):
    other = Session.objects.filter(enrolments__person__case=world.case).distinct().get()
    assert ask(world, name, TRAINER, code=other.code).status_code == 404
    assert ask(world, name, OPS, code=other.code).status_code not in REFUSALS


def test_what_a_role_must_never_see_is_planted_where_others_may_see_it(world):
    """The markers are really on the pages (and read from the PDFs): their absence above means something."""
    assert shown(body_text(ask(world, "case_detail", OPS)), world, ["phone", "document number"]) != []
    assert shown(body_text(ask(world, "case_detail", MEDICAL)), world, ["medical reason"]) != []
    assert HOLD_REASON in body_text(ask(world, "case_detail", OPS, case_number=world.held.case_number))
    if shutil.which("pdftotext"):
        assert world.family.case_number in body_text(ask(world, "departure_manifest", ESCORT))
        assert "Karimi" in body_text(ask(world, "orientation_attendance_sheet", TRAINER))


# A family's names, in the scripts the pages show them in: what makes an answer a read of personal data.
NAMES = ("Karimi", "Zahra", "کریمی")
# Pages whose text has a name in it that is nobody's: the retention page's description of what it removes quotes
# an example ("Edited: Karimi, Zahra (phone)").
SHOWS_NO_ONES_DATA = {"privacy_retention"}


def test_every_answer_that_names_a_family_tells_the_access_log(world):
    """reads.py: every view and download that shows personal data records one read (the access log's rows), for
    every role that may see it. A page with names on it and no read would be a gap in "who looked at this family?"."""
    from privacy.models import AccessLogEntry

    silent = []
    for name, rule in POLICY.items():
        if rule.method != "GET":
            continue
        for role in sorted(rule.allowed - {ANONYMOUS, NO_ROLE}):
            before = AccessLogEntry.objects.count()
            text = body_text(ask(world, name, role))
            reads = AccessLogEntry.objects.count() - before
            if any(n in text for n in NAMES) and reads != 1 and name not in SHOWS_NO_ONES_DATA:
                silent.append((name, role, reads))
    assert silent == [], "answers naming a family with no read (or more than one) in the access log"
