"""Shared fixtures: named personas (one per role) and small factories for cases, people and documents."""

import datetime
import itertools

import pytest
from django.contrib.auth.models import Group, User

from django.utils import timezone

from movements.models import Case, MedicalExam, Person, TravelDocument
from movements.transitions import record_creation

PASSWORD = "test-pass-123"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The personas are created in nearly every test; the production hasher would be the slowest part of the suite.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
_counter = itertools.count(1)


@pytest.fixture
def roles(transactional_db):
    """Replay the data migrations that create the roles and their permissions (they are idempotent).

    A transactional test flushes every table when it ends, the groups of the roles included, and the tests
    after it still need them. (serialized_rollback cannot help: after a flush that recreated the content
    types, reloading the serialized ones collides with them.)
    """
    replay_roles()


def replay_roles():
    """The data migrations that create the roles and their permissions, run again (they are idempotent)."""
    from django.db import connection
    from django.db.migrations import RunPython
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(connection)
    state_apps = loader.project_state().apps
    for app in ("movements", "orientation", "travel", "exchange", "privacy"):
        (leaf,) = loader.graph.leaf_nodes(app)
        for key in loader.graph.forwards_plan(leaf):
            if key[0] != app:
                continue
            for operation in loader.graph.nodes[key].operations:
                if isinstance(operation, RunPython):
                    operation.code(state_apps, None)


def page_text(response):
    """A page's HTML without its CSRF tokens: a random token can contain any short string ("M4", "TB")."""
    import re

    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode())


def visible_text(response):
    """What a reader sees of a page's main part: its words without tags, spaces collapsed."""
    import html
    import re

    body = response.content.decode().split("<main", 1)[-1]
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())
    return re.sub(r" ([,;:.])", r"\1", text)


def make_user(username, role=None, **extra):
    user = User.objects.create_user(username=username, password=PASSWORD, **extra)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def ops(db):
    """Olga, an operations officer."""
    return make_user("olga", "operations", first_name="Olga", last_name="Ops")


@pytest.fixture
def medic(db):
    return make_user("mehdi", "medical")


@pytest.fixture
def trainer(db):
    return make_user("tahmina", "trainer")


@pytest.fixture
def escort(db):
    return make_user("eraj", "escort")


@pytest.fixture
def unhcr(db):
    return make_user("ursula", "unhcr")


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("root", "root@example.org", PASSWORD)


@pytest.fixture
def personas(ops, medic, trainer, escort, unhcr):
    return {"operations": ops, "medical": medic, "trainer": trainer, "escort": escort, "unhcr": unhcr}


def complete_orientation(people, *, days_ago=20):
    """A closed three-day session in the past, attended every day by these people (no readiness blocker)."""
    from orientation.models import Attendance, Enrolment, Session, SessionDay

    if not people:
        return None
    session = Session.objects.create(language="prs", location="IOM Dushanbe, training room 2")
    start = timezone.localdate() - datetime.timedelta(days=days_ago)
    days = SessionDay.objects.bulk_create(
        [SessionDay(session=session, number=n, date=start + datetime.timedelta(days=n - 1)) for n in (1, 2, 3)]
    )
    enrolments = Enrolment.objects.bulk_create([Enrolment(session=session, person=p) for p in people])
    Attendance.objects.bulk_create([Attendance(enrolment=e, day=d, status="present") for e in enrolments for d in days])
    Session.objects.filter(pk=session.pk).update(state="closed")
    return session


def make_case(
    members=1, *, documents=True, visas=True, expiry=None, ime=True, ime_date=None,
    orientation=True, **fields
):
    """A case with `members` people (the first is the PA).

    Each member has a passport valid until `expiry` (default: five years from today, as its IME and orientation
    follow today: the suite must pass on any day), a visa/COPR reference and an IME (M1, no TB) taken on
    `ime_date` (default: 30 days before today), and those aged 13 or over have completed orientation, unless
    told not: such a case has no readiness blocker.
    """
    expiry = expiry or timezone.localdate() + datetime.timedelta(days=5 * 365)
    n = next(_counter)
    fields.setdefault("progres_case_id", f"870-26C{n:05d}")
    fields.setdefault("referral_date", datetime.date(2026, 3, 1))
    case = Case.objects.create(**fields)
    record_creation(case, by=None, via="test")
    relationships = ["PA", "SPS"] + ["CHD"] * 20
    for i in range(members):
        person = Person.objects.create(
            case=case,
            progres_individual_id=f"{case.progres_case_id}-{i + 1:02d}",
            relationship=relationships[i],
            family_name="Karimi",
            given_name=["Zahra", "Ahmad", "Omid", "Hadia", "Yasin"][i % 5],
            native_name=["زهرا کریمی", "احمد کریمی", "امید کریمی", "هدیه کریمی", "یاسین کریمی"][i % 5],
            sex="F" if i % 2 == 0 else "M",
            date_of_birth=datetime.date(1985 + 5 * i, 5, 17),
            nationality="AFG",
            visa_reference=f"COPR{n:05d}{i:02d}" if visas else "",
        )
        if documents:
            TravelDocument.objects.create(
                person=person, document_type="passport", number=f"P{n:05d}{i:02d}", issuing_country="AFG",
                expiry_date=expiry,
            )
        if ime:
            MedicalExam.objects.create(
                person=person, kind="ime", exam_date=ime_date or timezone.localdate() - datetime.timedelta(days=30),
                clinic="IOM Migration Health Assessment Centre, Dushanbe", outcome="M1", tb_status="none",
            )
    if orientation:
        today = timezone.localdate()
        complete_orientation([p for p in case.members.all() if p.age_on(today) >= 13])
    case.refresh_from_db()
    return case


@pytest.fixture
def case_factory(db):
    return make_case


def pass_pre_embarkation(case, *, hours_ago=3):
    """Every member passes a fit-to-travel check `hours_ago` hours ago (what boarding, `depart`, requires)."""
    examined = timezone.now() - datetime.timedelta(hours=hours_ago)
    for person in case.members.all():
        MedicalExam.objects.create(
            person=person, kind="ftt", exam_date=timezone.localdate(examined), examined_at=examined,
            clinic="Pre-embarkation check", fit_to_travel=True,
        )
    return case


# How to reach each state from `referred`, through the transition services.
PATHS = {
    "referred": [],
    "in_processing": ["accept"],
    "approved": ["accept", "approve"],
    "ready": ["accept", "approve", "clear"],
    "booked": ["accept", "approve", "clear", "book"],
    "departed": ["accept", "approve", "clear", "book", "depart"],
    "arrived": ["accept", "approve", "clear", "book", "depart", "arrive"],
    "on_hold": ["accept", "hold"],
    "rejected": ["accept", "reject"],
    "withdrawn": ["withdraw"],
}
# The transitions a plug-in owns (booking and the day of travel) are performed here on its behalf: these
# helpers walk a case through the state machine alone, without the plug-in's own records.
OWNED_BY = {"book": "travel", "unbook": "travel", "depart": "travel", "arrive": "travel"}


def case_in(state, by, members=2, **fields):
    """A case walked to `state` through the transition services (a hold is a security hold)."""
    from movements import transitions

    case = make_case(members, **fields)
    for name in PATHS[state]:
        params = {"reason": "a reason given by the test"} if transitions.SPECS[name].reason_required else {}
        if name == "hold":
            params["category"] = "security"
        if name == "depart":
            pass_pre_embarkation(case)
        case = transitions.perform(case, name, by=by, performer=OWNED_BY.get(name, ""), **params)
    assert case.state == state
    return Case.objects.get(pk=case.pk)


# --- travel ---------------------------------------------------------------------------------------------------


def next_arrival_day(after, *, weekdays=(2, 3, 4)):
    """The first date after `after` that is a Tuesday, Wednesday or Thursday and no Ontario holiday: a day Canada
    receives refugees in Toronto (tests that want another day say so)."""
    from travel.destinations import Region, holiday_name

    day = after + datetime.timedelta(days=1)
    while day.isoweekday() not in weekdays or holiday_name(Region("CAN", "ON", "Ontario"), day):
        day += datetime.timedelta(days=1)
    return day


def tk_legs(day, *, first=("05:45", "09:05"), second=("14:20", "18:05"), to="YYZ"):
    """Dushanbe–Istanbul–Toronto as Turkish Airlines flies it: TK 255 DYU→IST, TK 17 IST→YYZ, local times on `day`."""
    from travel.legs import LegInput

    def at(hhmm, plus=0):
        hours, minutes = map(int, hhmm.split(":"))
        return datetime.datetime.combine(day + datetime.timedelta(days=plus), datetime.time(hours, minutes))

    return [
        LegInput(carrier="TK", flight_number="255", origin="DYU", destination="IST", departs=at(first[0]),
                 arrives=at(first[1])),
        LegInput(carrier="TK", flight_number="17", origin="IST", destination=to, departs=at(second[0]),
                 arrives=at(second[1])),
    ]


def make_departure(by, *, day=None, legs=None, seat_block=20, state="open", escorts=(), pnr="K7Q2XM",
                   destination_country="CAN", final_destination="Toronto", mode="air"):
    """A flight Dushanbe–Istanbul–Toronto (unless `legs` say otherwise) on `day` (default: the first Tuesday to
    Thursday three weeks or more ahead), opened for booking unless `state` says otherwise."""
    from travel import services

    if legs is None:
        day = day or next_arrival_day(timezone.localdate() + datetime.timedelta(days=20))
        legs = tk_legs(day)
    departure = services.create_departure(services.Planned(
        mode=mode, destination_country=destination_country, final_destination=final_destination, legs=legs,
        seat_block=seat_block, pnr=pnr, escorts=tuple(escorts)), by=by)
    if state in ("open", "final"):
        departure = services.open_departure(departure, by=by)
    if state == "final":
        departure = services.finalise_departure(departure, by=by)
    return departure


def ready_case(by, members=1, **fields):
    """A case cleared for travel (accepted, approved, cleared) with `members` people and no blocker."""
    from movements import transitions

    case = make_case(members, **fields)
    for name in ("accept", "approve", "clear"):
        case = transitions.perform(case, name, by=by)
    return case


def book(case, by, departure=None):
    """Book a ready case through the travel service (on a new default departure unless one is given)."""
    from travel import services

    departure = departure or make_departure(by)
    services.book_case(departure, case, by=by)
    return Case.objects.get(pk=case.pk)


def board_everyone(departure, by, *, at=None):
    """Mark every passenger of a final departure boarded (through the boarding service), as an escort would."""
    from travel import boarding
    from travel.models import Passenger

    for passenger in Passenger.objects.filter(departure=departure, active=True).order_by("id"):
        boarding.mark(departure, passenger, "boarded", by=by, at=at)


def fly(departure, by, *, at=None):
    """Board everyone and close boarding: the departure has left and its cases departed."""
    from travel import boarding

    board_everyone(departure, by, at=at)
    return boarding.close_boarding(departure, by=by, at=at).departure


def embedded_fonts(content):
    """(font name, embedded?) for each font a PDF lists, as poppler's pdffonts reads them."""
    import subprocess

    listing = subprocess.run(["pdffonts", "-"], input=content, capture_output=True, check=True).stdout.decode()
    rows = [line.split() for line in listing.splitlines()[2:] if line.strip()]
    return [(row[0], row[-5] == "yes") for row in rows]  # the "emb" column
