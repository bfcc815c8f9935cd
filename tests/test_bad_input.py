"""Bad input, at every address that changes something (the house standard): "Bad input gets a clear error and loses
nothing. Every form, import and API says exactly what is wrong, where, and keeps the data it already had. No
half-saved imports, no 500 pages."

Each state-changing POST address of the project (the admin and the log-in page have tests of their own) is sent, as
a role its policy allows (tests/test_url_access.py), a body that is right in every field but one: that field
missing, empty, far too long, of the wrong type (letters in a number or a date, 2026-02-30, a choice not offered), with
a NUL byte, a stale or non-numeric version, an id of nothing. Each answer must be:

- no 500, no exception, no error logged;
- a refusal the user can read: a form shown again (200/400/409) with an error at the field or naming it, or a
  redirect to a page that shows a message naming it — and saying what is wrong with it (too long, not a number, …);
- nothing changed in the database (the access log of who read what aside);
- the form shown again keeps what the user typed in every other field.

Where the value is acceptable after all (an optional field left empty, a NUL the view strips), the request must
succeed and say so, with no NUL stored. A second identical POST (a double click, a retried request) must be refused
or recognised, never applied twice. The good body of each address is tried first, as a control: it is accepted.

The objects are those of test_url_access's world (built once for the module in a transaction rolled back at its
end, the clock frozen at the gate of the escort's flight), and a few more it has no use for (`more`).
"""

import datetime
import hashlib
import html
import logging
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Callable
from urllib.parse import urlsplit

import pytest
import time_machine
from django.contrib import messages as django_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.forms import BaseForm, BaseFormSet
from django.urls import resolve, reverse

from movements import transitions
from movements.models import ReferralUpload
from orientation import services as orientation_services
from orientation.models import Session, SessionDay
from tests.conftest import (
    board_everyone, make_case, make_departure, next_arrival_day, pass_pre_embarkation, ready_case,
)
from tests.test_url_access import (
    BOOKED_ON, DPO, ESCORT, FLIGHT_DAY, MEDICAL, OPS, POLICY, REASON, TRAINER, UNHCR, changed_tables, database_state,
    signed_in, world,
)
from travel import boarding, services
from travel.models import Booking, Passenger

pytestmark = pytest.mark.django_db

__all__ = ["world"]  # the module's world: a fixture imported from test_url_access

# Tables a refused request may still write: the access log records who read the page that refused (a read, not a
# change of anyone's data).
READS = {"privacy_accesslogentry"}

LONG = "x" * 100_000
NUL = "Ab\x00cd"
NOWHERE = "999999999"  # an id nothing has
HUGE = "9" * 30  # a number no column holds


# --- the world's additions ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def more(world, django_db_blocker):
    """What test_url_access's world lacks for these addresses: a planned departure to edit, one ready to close its
    boarding, one that has left and is due at its destination; a planned and a running orientation session; a
    referral file previewed that imports cleanly."""
    from types import SimpleNamespace

    m = SimpleNamespace()
    ops, escort = world.users[OPS], world.users[ESCORT]
    with django_db_blocker.unblock():
        # Built three weeks ahead, as the world was; back at the gate afterwards.
        with time_machine.travel(BOOKED_ON, tick=False):
            m.planned = make_departure(ops, day=next_arrival_day(FLIGHT_DAY + datetime.timedelta(days=7)),
                                       state="planned", pnr="P1AN3D")
            # Leaves on the same morning as the escort's flight: one family will have boarded, the other stayed
            # behind (a change of the passenger list since it was made final).
            m.closing_case, behind = ready_case(ops, members=1), ready_case(ops, members=1)
            m.closing = make_departure(ops, day=FLIGHT_DAY, pnr="C1OSE5", escorts=[escort])
            services.book_case(m.closing, m.closing_case, by=ops)
            services.book_case(m.closing, behind, by=ops)
            m.closing = services.finalise_departure(m.closing, by=ops)
            # Left a week before: its arrival is due.
            m.landed_case = ready_case(ops, members=2)
            landed_day = next_arrival_day(BOOKED_ON.date() + datetime.timedelta(days=7))
            m.landed = make_departure(ops, day=landed_day, pnr="L4NDED", escorts=[escort])
            services.book_case(m.landed, m.landed_case, by=ops)
            m.landed = services.finalise_departure(m.landed, by=ops)
        gate = datetime.datetime.combine(landed_day, datetime.time(0, 0), tzinfo=datetime.timezone.utc)
        with time_machine.travel(gate, tick=False):
            pass_pre_embarkation(m.landed_case)
            board_everyone(m.landed, escort)
            m.landed = boarding.close_boarding(m.landed, by=ops).departure
        pass_pre_embarkation(m.closing_case)
        boarding.mark(m.closing, Passenger.objects.get(departure=m.closing, person__case=behind), "no_show", by=escort)
        boarding.keep_case_behind(m.closing, behind, by=ops, reason="Not at the airport")
        board_everyone(m.closing, escort)

        # Orientation: a planned session (to start, to enrol in) and a running one whose first day is today.
        today = FLIGHT_DAY
        m.planned_session = _session(world, [today + datetime.timedelta(days=n) for n in (7, 8, 9)])
        m.running = _session(world, [today - datetime.timedelta(days=1), today, today + datetime.timedelta(days=1)])
        learners = transitions.perform(transitions.perform(make_case(2, orientation=False), "accept", by=ops),
                                       "approve", by=ops)
        orientation_services.enrol_case(m.running, learners, by=ops)
        m.learners = learners
        m.running = orientation_services.change_session_state(m.running, "start", by=ops)
        m.enrolments = list(m.running.enrolments.order_by("id"))

        # A referral file of one family, previewed.
        content = REFERRAL.encode()
        m.upload = ReferralUpload.objects.create(
            filename="one-family.csv", content=content, size=len(content), sha256=hashlib.sha256(content).hexdigest(),
            uploaded_by=ops, status=ReferralUpload.Status.PREVIEWED)
        # A family of one in processing, whose details may change.
        m.edit_case = transitions.perform(make_case(1), "accept", by=ops)
        m.forms = {}  # the good bodies of the pages' forms, read once
    return m


def _session(world, days):
    session = Session.objects.create(language="prs", location="IOM Dushanbe, training room 3", capacity=25)
    session.trainers.add(world.users[TRAINER])
    SessionDay.objects.bulk_create([SessionDay(session=session, number=n, date=d) for n, d in enumerate(days, 1)])
    return session


REFERRAL = (
    "progres_case_id,progres_individual_id,relationship,family_name,given_name,native_name,sex,date_of_birth,"
    "nationality,phone,destination_country,priority,submission_category,referral_date,special_needs\n"
    "870-26C99001,870-26I99001,PA,Rahimi,Nasrin,,F,1990-01-02,AFG,,CAN,normal,LPN,2026-04-01,\n"
)


@pytest.fixture(scope="module", autouse=True)
def _contexts_of_pages_only():
    """The test client keeps a copy of the context of every template rendered, each widget of a country list
    included (a thousand on a case's form): here it keeps the pages' own, which is all these tests read, and the module
    runs in two thirds of the time."""
    from django.template.base import Template

    instrumented = Template._render

    def render(self, context):
        if (self.origin.template_name or "").startswith("django/forms/"):
            return self.nodelist.render(context)
        return instrumented(self, context)

    Template._render = render
    yield
    Template._render = instrumented


# --- reading pages ----------------------------------------------------------------------------------------------


class _FormReader(HTMLParser):
    """The POST forms of a page, each as its action and what the browser would send: {name: [values]}."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms, self._form, self._select, self._textarea = [], None, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "").lower() == "post":
            self._form = (a.get("action") or "", {}, a.get("id"))
            self.forms.append(self._form)
        name = a.get("name")
        target = self._form
        if a.get("form"):  # a control outside its form (the boarding page's buttons)
            target = next((f for f in self.forms if f[2] == a["form"]), None)
        if target is None:
            return
        values = target[1]
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "button", "image", "file"):
                return
            if kind in ("checkbox", "radio"):
                values.setdefault(name, [])
                if "checked" in a:
                    values[name].append(a.get("value", "on"))
                return
            values.setdefault(name, []).append(a.get("value") or "")
        elif tag == "textarea" and name:
            self._textarea = (values, name)
            values.setdefault(name, []).append("")
        elif tag == "select" and name:
            self._select = (values, name, "multiple" in a, [])
            values.setdefault(name, [])
        elif tag == "option" and self._select is not None:
            self._select[3].append(a.get("value", ""))
            if "selected" in a:
                self._select[0][self._select[1]].append(a.get("value", ""))

    def handle_data(self, data):
        if self._textarea is not None:
            values, name = self._textarea
            values[name][-1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "textarea":
            if self._textarea is not None:  # the first newline after <textarea> is not part of the value
                values, name = self._textarea
                values[name][-1] = values[name][-1].removeprefix("\r\n").removeprefix("\n")
            self._textarea = None
        elif tag == "select" and self._select is not None:
            values, name, multiple, options = self._select
            if not values[name] and not multiple and options:
                values[name].append(options[0])  # a single select sends its first option when none is selected
            self._select = None


def page_form(response, url):
    """What the browser would post back from the page's form that posts to `url` (its own address when the form has
    no action): {name: value or [values]}."""
    reader = _FormReader()
    reader.feed(response.content.decode())
    page = response.request["PATH_INFO"]
    for action, values, _id in reader.forms:
        if (urlsplit(action).path or page) == urlsplit(url).path:
            return {name: vs if len(vs) != 1 else vs[0] for name, vs in values.items()
                    if name != "csrfmiddlewaretoken"}
    raise AssertionError(f"no form posting to {url} on {page}")


def page_text(response):
    return html.unescape(re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode()))


def bound_forms(response):
    """The bound forms and formsets a page was drawn with."""
    if response.context is None:
        return []
    # The view's own context: the first one rendered (the widgets' templates come after, by the thousand).
    found = {id(v): v for v in _view_context(response).values()
             if isinstance(v, (BaseForm, BaseFormSet)) and v.is_bound}
    return list(found.values())


def form_errors(response):
    """[(the field's name as posted, or "__all__"; message)] of every bound form and formset on the page."""
    errors = []
    for form in bound_forms(response):
        if isinstance(form, BaseFormSet):
            errors += [("__all__", str(e)) for e in form.non_form_errors()]
            members = list(form.forms)
        else:
            members = [form]
        for member in members:
            for name, messages in member.errors.items():
                key = "__all__" if name == "__all__" else member.add_prefix(name)
                errors += [(key, str(m)) for m in messages]
    return errors


def page_messages(response):
    """[(level, text)] of the messages framework's messages the page showed."""
    if not response.context or "messages" not in response.context:
        return []
    return [(m.level, str(m)) for m in response.context["messages"]]


# --- asking -----------------------------------------------------------------------------------------------------------


@dataclass
class Answer:
    response: object  # the POST's own answer
    page: object  # what the user ends on (the redirect followed)
    changed: list  # tables the POST changed
    errors: list  # [(where, message)]: form errors, a page's error box, error messages — all shown on the page
    warnings: list  # warning messages
    successes: list
    infos: list  # info messages ("nothing changed", "already done")

    @property
    def refusals(self):
        return self.errors + self.warnings


class _Catch(logging.Handler):
    def __init__(self):
        super().__init__(logging.ERROR)
        self.records = []

    def emit(self, record):
        self.records.append(record)


def post(world, role, url, body, *, ignore=READS):
    """POST as `role`; assert no server error, no exception and nothing logged as an error; follow a redirect and read
    what the user is told."""
    client = signed_in(world, role)
    client.raise_request_exception = False
    catch = _Catch()
    logger = logging.getLogger("django")
    logger.addHandler(catch)
    before = database_state()
    try:
        response = client.post(url, body)
    finally:
        logger.removeHandler(catch)
    failure = getattr(response, "exc_info", None)
    assert response.status_code < 500 and failure is None, (
        f"{response.status_code}: {failure[1]!r}" if failure else f"answered {response.status_code}")
    assert not catch.records, [r.getMessage()[:300] for r in catch.records]
    changed = [t for t in changed_tables(before, database_state()) if t not in ignore]
    page = response
    if response.status_code == 302:
        location = response["Location"]
        assert not location.startswith("/accounts/login/"), f"{role} was sent to the log-in page"
        page = client.get(location)
        assert page.status_code == 200, f"the page {location} answered {page.status_code}"
    shown = page_text(page)
    errors = form_errors(page)
    if page.context is not None and isinstance(_view_context(page).get("error"), str):
        errors.append(("__all__", _view_context(page)["error"]))  # the roll call's error box
    notes = page_messages(page)
    errors += [("message", text) for level, text in notes if level >= django_messages.ERROR]
    warnings = [("message", text) for level, text in notes if django_messages.WARNING <= level < django_messages.ERROR]
    for _where, text in errors + warnings:
        assert text in shown, f"the error “{text}” is not on the page"
    return Answer(
        response=response, page=page, changed=changed, errors=errors, warnings=warnings,
        successes=[t for level, t in notes if level == django_messages.SUCCESS],
        infos=[t for level, t in notes if level == django_messages.INFO])


def _view_context(response):
    contexts = response.context
    first = contexts[0] if isinstance(contexts, list) else contexts
    return first.flatten()


def stored_nul():
    """Tables whose rows hold a NUL character in some text."""
    return sorted({table for table, rows in database_state().items()
                   for row in rows for value in row if isinstance(value, str) and "\x00" in value})


# --- the addresses ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class F:
    """A field of a form: its name as posted, its kind, whether it must be given, the words a message about it uses
    when the message does not stand at the field itself (a regular expression), what a message says about a kind of
    bad value when it is not the usual, and the kinds of bad value the field may accept after all."""

    name: str
    kind: str  # text, int, date, datetime, choice, multi, id, version, token, management (a formset's row count)
    required: bool = True
    words: str = ""
    what: dict = field(default_factory=dict, hash=False, compare=False)
    accepts: frozenset = frozenset()


@dataclass(frozen=True)
class Target:
    name: str  # the URL name
    role: str  # a role the access policy lets in
    fields: tuple
    body: Callable  # (world, more, target) → the good body
    url: Callable = None  # (world, more) → the address, when the access test's arguments do not fit
    form: bool = False  # a page whose form is drawn again on a refusal (else a redirect with a message)
    allowed_tables: frozenset = frozenset()  # what any answer may still write (the record of a retention run)
    variant: str = ""  # a second body for the same address

    @property
    def key(self):
        return f"{self.name}/{self.variant}" if self.variant else self.name

    def address(self, world, more):
        if self.url is not None:
            return self.url(world, more)
        return POLICY[self.name].url(world, name=self.name)


def _read_form(world, more, target, query=""):
    """What the browser would post back from the page's form, as the page draws it (read once per module)."""
    key = (target.name, query)
    if key not in more.forms:
        url = target.address(world, more)
        page = signed_in(world, target.role).get(url + query)
        assert page.status_code == 200, f"{url}: {page.status_code}"
        more.forms[key] = page_form(page, url)
    return dict(more.forms[key])


def _with(base, **values):
    return {**base, **{k.replace("__", "-"): v for k, v in values.items()}}


def _rows(body, prefix, count):
    """The body with the formset's first `count` rows only (each row drawn again costs a country list or two: the
    module stays fast with one or two)."""
    kept = {k: v for k, v in body.items()
            if not re.fullmatch(rf"{prefix}-(\d+)-.*", k) or int(k.split("-")[1]) < count}
    kept[f"{prefix}-TOTAL_FORMS"] = str(count)
    return kept


def case_edit_body(w, m, t):
    return _rows(_with(_read_form(w, m, t), notes="Interview on 2 December"), "members", 1)


def case_create_body(w, m, t):
    body = _rows(_read_form(w, m, t), "members", 1)
    return _with(body, progres_case_id="870-26C55501", destination_country="CAN", priority="urgent",
                 submission_category="LPN", referral_date="2026-11-02", notes="Referred by the field office",
                 members__0__progres_individual_id="870-26I55501", members__0__relationship="PA",
                 members__0__family_name="Sadat", members__0__given_name="Mina", members__0__native_name="مینا سادات",
                 members__0__sex="F", members__0__date_of_birth="1991-04-12", members__0__nationality="AFG",
                 members__0__language="prs", members__0__phone="+992 93 123 4567", members__0__special_needs="",
                 members__0__visa_reference="COPR5550101")


def documents_body(w, m, t):
    body = _rows(_read_form(w, m, t), "documents", 2)
    # A second document next to the passport: a convention travel document.
    return _with(body, documents__1__document_type="convention", documents__1__number="C5550101",
                 documents__1__issuing_country="AFG", documents__1__expiry_date="2029-06-30")


def needs_body(w, m, t):
    return _with(_read_form(w, m, t), needs__wheelchair="WCHR", needs__pregnancy_weeks="20",
                 needs__pregnancy_weeks_on="2026-12-01", needs__fit_to_fly_certificate_at="2026-12-05T10:30",
                 needs__medif_required="on", needs__medif_recorded_at="2026-12-06T09:00")


def exam_body(w, m, t):
    return _with(_read_form(w, m, t), kind="ime", exam_date="2026-12-01", examined_at="", clinic="IOM MHAC Dushanbe",
                 outcome="M1", tb_status="none", fit_to_travel="", notes="Chest X-ray clear")


def check_body(w, m, t):
    """A fit-to-travel check at the gate, an hour ago."""
    return _with(_read_form(w, m, t), kind="ftt", exam_date="2026-12-09", examined_at="2026-12-09T03:00",
                 clinic="Pre-embarkation check, DYU", outcome="", tb_status="", fit_to_travel="true", notes="")


def session_body(w, m, t):
    return _with(_read_form(w, m, t), curriculum="adult", language="prs", location="IOM Dushanbe, room 4",
                 capacity="20", trainers=[str(w.users[TRAINER].pk)], day_1="2026-12-14", day_2="2026-12-15",
                 day_3="2026-12-16")


def departure_body(w, m, t):
    day = next_arrival_day(FLIGHT_DAY + datetime.timedelta(days=14))
    return _with(_read_form(w, m, t), destination_country="CAN", final_destination="Toronto", seat_block="40",
                 pnr="N3WFLT", escorts=[str(w.users[ESCORT].pk)], notes="Group fare",
                 legs__0__carrier="TK", legs__0__flight_number="255", legs__0__origin="DYU",
                 legs__0__departs=f"{day}T05:45", legs__0__destination="IST", legs__0__arrives=f"{day}T09:05",
                 legs__1__carrier="TK", legs__1__flight_number="17", legs__1__origin="IST",
                 legs__1__departs=f"{day}T14:20", legs__1__destination="YYZ", legs__1__arrives=f"{day}T18:05")


def departure_edit_body(w, m, t):
    return _with(_read_form(w, m, t), notes="Seats confirmed by the airline", seat_block="30")


def incident_body(w, m, t):
    return _with(_read_form(w, m, t, query=f"?case={w.family.case_number}"), kind="medical", place="DYU",
                 at="2026-12-09T03:30", people=[str(w.zahra.pk)],
                 note="Felt faint at check-in; seen by the airport doctor")


def roll_call_body(w, m, t):
    return {**{f"mark-{e.pk}": "present" for e in m.enrolments}, "reason": ""}


def close_body(w, m, t):
    return {"seen": str(boarding.changes_since_final(m.closing)[-1].pk)}


WHERE = {"q": "", "show": "", "case": ""}  # where the boarding page was (its search, filter, one family)
REASON_WORDS = r"[Rr]eason|[Ww]hy"
CASE_WORDS = r"[Cc]ase"
VERSION_WORDS = r"changed while you were looking|someone else|[Rr]eload|try again"
PASSWORD = {"long": r"incorrect|match|at most|characters"}
MEMBER = "members-0-"
DOC = "documents-0-"
LEG = "legs-0-"
ROWS = r"[Mm]anagement|tampered|[Rr]eload"
# A creating form's one-time code (movements.once): drawn with the page, never typed. Without it the form is drawn
# again with a fresh one, what was typed kept: the user saves again.
ONCE = F("submission", "id", words=r"form code", accepts=frozenset({"huge"}),  # (a long run of digits is a code)
         what=dict.fromkeys(("missing", "empty", "letters", "nowhere", "nul"), r"save again"))

TARGETS = [
    # --- cases -------------------------------------------------------------------------------------------------
    Target("case_transition", OPS, (
        F("transition", "choice", words=r"request|[Tt]ransition|[Rr]eload"),
        F("reason", "text", words=REASON_WORDS),
        F("category", "choice", words=r"hold|[Cc]ategory|held|[Rr]eload"),
        F("version", "version", words=VERSION_WORDS),
    ), lambda w, m, t: {"transition": "hold", "category": "security", "reason": REASON, "version": w.case.version}),
    Target("case_edit", OPS, (
        F("progres_case_id", "text"), F("destination_country", "choice"), F("priority", "choice"),
        F("submission_category", "text", required=False), F("referral_date", "date"),
        F("planned_travel_date", "date", required=False), F("notes", "text", required=False),
        F("version", "version", words=VERSION_WORDS),
        F(MEMBER + "id", "id", words=r"member|[Rr]eload"), F(MEMBER + "family_name", "text"),
        F(MEMBER + "given_name", "text"), F(MEMBER + "native_name", "text", required=False),
        F(MEMBER + "relationship", "choice", words=r"principal applicant|PA"), F(MEMBER + "sex", "choice"),
        F(MEMBER + "date_of_birth", "date"), F(MEMBER + "nationality", "choice"),
        F(MEMBER + "language", "choice", required=False), F(MEMBER + "phone", "text", required=False),
        F(MEMBER + "special_needs", "text", required=False), F(MEMBER + "visa_reference", "text", required=False),
        F("members-TOTAL_FORMS", "management", words=ROWS),
    ), case_edit_body, url=lambda w, m: reverse("case_edit", args=[m.edit_case.case_number]), form=True),
    # The same forms as the case's page: what only a new case has (its members' fields are tried above).
    Target("case_create", OPS, (
        F("progres_case_id", "text"), F("referral_date", "date"), F(MEMBER + "progres_individual_id", "text"),
        F(MEMBER + "relationship", "choice", words=r"principal applicant|PA|member"),
    ), case_create_body, form=True),
    Target("person_documents", OPS, (
        F(DOC + "id", "id", words=r"document|[Rr]eload"), F(DOC + "document_type", "choice"), F(DOC + "number", "text"),
        F(DOC + "issuing_country", "choice"), F(DOC + "expiry_date", "date"),
        F(DOC + "mrz_line1", "text", required=False), F(DOC + "mrz_line2", "text", required=False),
        F("documents-1-expiry_date", "date"), F("documents-1-number", "text"),
        F("documents-TOTAL_FORMS", "management", words=ROWS),
    ), documents_body, form=True),
    # (No field: only a second POST to try.)
    Target("import_discard", OPS, (), lambda w, m, t: {},
           url=lambda w, m: reverse("import_discard", args=[m.upload.pk])),
    Target("import_confirm", OPS, (), lambda w, m, t: {},
           url=lambda w, m: reverse("import_confirm", args=[m.upload.pk])),
    # --- medical -----------------------------------------------------------------------------------------------
    Target("medical_person", MEDICAL, (
        F("needs-wheelchair", "choice", required=False), F("needs-pregnancy_weeks", "int", required=False),
        F("needs-pregnancy_weeks_on", "date", required=False),
        F("needs-fit_to_fly_certificate_at", "datetime", required=False),
        F("needs-medif_recorded_at", "datetime", required=False),
    ), needs_body, url=lambda w, m: reverse("medical_person", args=[w.zahra.pk]), form=True),
    Target("medical_exam_create", MEDICAL, (
        F("kind", "choice"), F("exam_date", "date"), F("clinic", "text"),
        F("outcome", "choice"), F("tb_status", "choice", required=False), F("notes", "text", required=False), ONCE,
    ), exam_body, form=True),
    Target("medical_exam_create", MEDICAL, (
        F("examined_at", "datetime"),
        F("fit_to_travel", "choice", words=r"fit to travel", what={"unoffered": r"[Rr]ecord whether"}),
    ), check_body, form=True, variant="fit-to-travel check"),
    # --- orientation --------------------------------------------------------------------------------------------
    Target("orientation_session_create", OPS, (
        F("curriculum", "choice"), F("language", "choice"), F("location", "text"), F("capacity", "int"),
        F("trainers", "multi"), F("day_1", "date"), F("day_2", "date"), F("day_3", "date"), ONCE,
    ), session_body, form=True),
    Target("orientation_enrol", OPS, (F("case_number", "id", words=CASE_WORDS),),
           lambda w, m, t: {"case_number": w.unoriented.case_number},
           url=lambda w, m: reverse("orientation_enrol", args=[m.planned_session.code])),
    Target("orientation_remove", OPS, (F("case_number", "id", words=CASE_WORDS),
                                       F("reason", "text", words=REASON_WORDS)),
           lambda w, m, t: {"case_number": m.learners.case_number, "reason": REASON},
           url=lambda w, m: reverse("orientation_remove", args=[m.running.code])),
    Target("orientation_session_start", OPS, (), lambda w, m, t: {},
           url=lambda w, m: reverse("orientation_session_start", args=[m.planned_session.code])),
    Target("orientation_session_close", OPS, (F("reason", "text", required=False, words=REASON_WORDS),),
           lambda w, m, t: {"reason": REASON},
           url=lambda w, m: reverse("orientation_session_close", args=[m.running.code])),
    Target("orientation_session_reopen", OPS, (F("reason", "text", words=REASON_WORDS),),
           lambda w, m, t: {"reason": REASON}),
    Target("orientation_roll_call", TRAINER, (
        F("mark-{first}", "choice", required=False, words=r"[Mm]ark|present|absent"),
        F("reason", "text", required=False, words=REASON_WORDS),
    ), roll_call_body, url=lambda w, m: reverse("orientation_roll_call", args=[m.running.code, 1]), form=True),
    # --- departures ----------------------------------------------------------------------------------------------
    Target("departure_create", OPS, (
        F("destination_country", "choice"), F("final_destination", "text"), F("seat_block", "int"),
        F("pnr", "text", required=False), F("escorts", "multi", required=False), F("notes", "text", required=False),
        F(LEG + "carrier", "text"), F(LEG + "flight_number", "text"), F(LEG + "origin", "text"),
        F(LEG + "departs", "datetime"), F(LEG + "destination", "text"), F(LEG + "arrives", "datetime"),
        F("legs-TOTAL_FORMS", "management", words=ROWS), ONCE,
    ), departure_body, form=True),
    Target("departure_edit", OPS, (
        F("final_destination", "text"), F("seat_block", "int"), F("notes", "text", required=False),
        F("version", "version", words=VERSION_WORDS), F(LEG + "departs", "datetime"), F(LEG + "origin", "text"),
    ), departure_edit_body, url=lambda w, m: reverse("departure_edit", args=[m.planned.code]), form=True),
    Target("departure_book", OPS, (
        F("case_number", "id", words=CASE_WORDS), F("version", "version", words=VERSION_WORDS),
    ), lambda w, m, t: {"case_number": w.waiting.case_number, "version": w.waiting.version},
        url=lambda w, m: reverse("departure_book", args=[w.other_flight.code])),
    Target("departure_cancel_booking", OPS, (F("reason", "text", words=REASON_WORDS),),
           lambda w, m, t: {"reason": REASON, "back": "case"},
           url=lambda w, m: reverse("departure_cancel_booking", args=[
               w.other_flight.code, Booking.objects.get(departure=w.other_flight, case=w.elsewhere).pk])),
    Target("departure_record_exception", OPS, (
        F("rule", "choice", words=r"[Rr]ule"), F("granted_by", "text", words=r"[Gg]ranted|who"),
        F("reference", "text", required=False, words=r"[Rr]eference"), F("reason", "text", words=REASON_WORDS),
    ), lambda w, m, t: {"rule": "arrival_day", "granted_by": "IRCC", "reference": "ROC-2026-117", "reason": REASON}),
    Target("departure_action", OPS, (
        F("reason", "text", words=REASON_WORDS), F("version", "version", words=VERSION_WORDS),
    ), lambda w, m, t: {"reason": REASON, "version": w.flight.version}),
    Target("departure_exclude_member", OPS, (
        F("person", "id", words=r"[Mm]ember|[Pp]erson|[Nn]obody|[Nn]o such"), F("reason", "text", words=REASON_WORDS),
    ), lambda w, m, t: {"person": w.waiting_member.pk, "reason": REASON}),
    Target("departure_include_member", OPS, (F("reason", "text", words=REASON_WORDS),),
           lambda w, m, t: {"reason": REASON}),
    # --- the day of travel -----------------------------------------------------------------------------------------
    Target("travel_boarding_mark", ESCORT, (
        F("mark", "id", words=r"[Pp]assenger|mark|[Nn]o such"), F("token", "token", required=False),
        F("reason-{zahra_passenger}", "text", required=False, words=REASON_WORDS),
        # Where the page was: it comes back there (a search, one family).
        F("q", "token", required=False), F("case", "token", required=False),
    ), lambda w, m, t: {"mark": f"{w.zahra_passenger.pk}:boarded", "token": "b" * 32,
                        f"reason-{w.zahra_passenger.pk}": "", **WHERE}),
    Target("travel_boarding_decide", OPS, (
        F("case_number", "id", words=CASE_WORDS), F("decision", "choice", words=r"[Dd]ecision|stays|split"),
        F("note", "text", required=False, words=r"[Nn]ote"),
        F("hold_category", "choice", required=False, words=r"hold|[Cc]ategory"),
        F("hold_reason", "text", required=False, words=REASON_WORDS),
    ), lambda w, m, t: {"case_number": w.family.case_number, "decision": "stays_behind", "note": "Not at the airport",
                        "hold_category": "family", "hold_reason": "Yasin stays with his uncle", **WHERE}),
    Target("travel_boarding_split", OPS, (
        F("decision", "choice", words=r"[Dd]ecision|approve|refuse|split"),
        F("note", "text", required=False, words=r"[Nn]ote|why"),
    ), lambda w, m, t: {"decision": "approve", "note": "Approved by phone with the IRCC officer", **WHERE}),
    Target("travel_boarding_close", ESCORT, (
        F("seen", "version", words=r"changed|[Rr]eload|list", accepts=frozenset({"huge"})),
    ), close_body, url=lambda w, m: reverse("travel_boarding_close", args=[m.closing.code])),
    Target("travel_arrival", ESCORT, (
        F("arrived_at", "datetime", required=False, words=r"[Aa]rriv|date|time"),
        F("case_number", "multi", words=CASE_WORDS),  # a checkbox per family
    ), lambda w, m, t: {"arrived_at": "", "scope": "cases", "case_number": [m.landed_case.case_number]},
        url=lambda w, m: reverse("travel_arrival", args=[m.landed.code])),
    Target("travel_incident", ESCORT, (
        F("kind", "choice"), F("place", "text"), F("at", "datetime", required=False),
        F("people", "multi", required=False), F("note", "text", required=False),
        F("case", "id", required=False, words=CASE_WORDS), ONCE,
    ), incident_body, url=lambda w, m: reverse("travel_incident", args=[w.flight.code]), form=True),
    Target("travel_override", MEDICAL, (
        F("person", "id", words=r"[Pp]erson|[Nn]o such|[Nn]obody|not booked"), F("reason", "text", words=REASON_WORDS),
    ), lambda w, m, t: {"person": w.ahmad.pk, "reason": REASON}),
    Target("travel_override_revoke", MEDICAL, (F("reason", "text", words=REASON_WORDS),),
           lambda w, m, t: {"reason": REASON}),
    # --- data protection, and a user's own password ------------------------------------------------------------------
    Target("privacy_retention_apply", DPO, (), lambda w, m, t: {}, allowed_tables=frozenset({"privacy_retentionrun"})),
    Target("password_change", OPS, (
        F("old_password", "text", what=PASSWORD), F("new_password1", "text", words="password", what=PASSWORD),
        F("new_password2", "text", words="password", what=PASSWORD),
    ), lambda w, m, t: {"old_password": "test-pass-123", "new_password1": "Kh0rog-Pamir-2026",
                        "new_password2": "Kh0rog-Pamir-2026"}, form=True),
]
BY_KEY = {t.key: t for t in TARGETS}


def posted_name(world, more, spec):
    return spec.name.format(first=more.enrolments[0].pk, zahra_passenger=world.zahra_passenger.pk)


# --- the bad values --------------------------------------------------------------------------------------------------

KINDS = {
    "text": ("missing", "empty", "long", "nul"),
    "int": ("missing", "empty", "letters", "decimal", "huge"),
    "date": ("missing", "empty", "letters", "impossible"),
    "datetime": ("missing", "empty", "letters", "impossible"),
    "choice": ("missing", "empty", "unoffered", "nul"),
    "multi": ("missing", "unoffered", "letters", "nul"),
    "id": ("missing", "empty", "letters", "nowhere", "huge", "nul"),
    "version": ("empty", "letters", "stale", "huge"),
    "token": ("long", "nul"),
    "management": ("missing", "letters", "huge"),  # a huge count: refused without drawing the rows
}
# What a message about each kind of bad value says, besides naming the field (or standing at it).
WHAT = {
    "missing": r"required|[Gg]ive|[Cc]hoose|[Ss]ay|[Ee]nter|[Ss]elect|[Nn]eeds?|missing|[Rr]ecord|incomplete|"
               r"at least|[Nn]obody|\bhas an?\b",
    "long": r"at most|characters|too long|[Kk]eep it|few words|shorter",
    "nul": r"[Nn]ull character|NUL|control character",
    "letters": r"whole number|[Nn]umber|valid|[Nn]o such|[Tt]here is no|not a",
    "decimal": r"whole number",
    "huge": r"less than or equal|at most|between|too (big|large)|valid|[Nn]o such|[Tt]here is no",
    "impossible": r"valid date|[Dd]ate",
    "unoffered": r"valid choice|valid value|[Uu]nknown|[Cc]hoose|one of|[Nn]o such|[Ee]ach mark",
    "nowhere": r"[Nn]o such|[Tt]here is no|not found|does not|no longer|not one of|valid choice|[Nn]obody|not on |"
               r"not booked",
    "stale": r"changed while you were looking|someone else|[Rr]eload",
}
WHAT["empty"] = WHAT["missing"]
LENGTH = r"[Kk]eep it to|at most \d|\d characters"  # a complaint about length


def bad_value(kind, good):
    """The bad value of this kind in place of `good` (None: the field is left out)."""
    good = "" if good is None else good
    good = str(good[0] if good else "") if isinstance(good, list) else str(good)
    status = good.partition(":")[2] if ":" in good else None  # a passenger's mark: "<id>:<status>"
    if kind == "missing":
        return None
    if kind == "nul":
        return (good[:2] + "\x00" + good[2:]) if good else NUL
    if kind == "nowhere":
        if status:
            return f"{NOWHERE}:{status}"
        if not good.isdigit():  # a case number
            return re.sub(r"\d{5}$", "99999", good) if re.search(r"\d{5}$", good) else "DYU-2099-99999"
        return NOWHERE
    if kind == "stale":
        number = int(good or 0)
        return str(number - 1 if number > 1 else number + 1)
    if kind == "letters" and status:
        return f"abc:{status}"
    if kind == "impossible":
        return "2026-02-30T10:00" if "T" in good or not good else "2026-02-30"
    return {"empty": "", "long": LONG, "letters": "abc", "decimal": "1.5", "huge": HUGE, "unoffered": "bogus"}[kind]


def must_refuse(spec, kind):
    if kind in spec.accepts or spec.kind == "token" or kind == "nul":
        return False  # (a NUL may be stripped: then it must not be stored)
    if kind in ("missing", "empty"):
        return spec.required  # (an empty version is no version: the page always sends one)
    return True


def what_it_says(spec, kind):
    """What a message about this bad value must say (a regular expression)."""
    if kind in spec.what:
        return spec.what[kind]
    if spec.kind == "management":
        return r"at most \d+" if kind == "huge" else ROWS
    said = WHAT[kind]
    # "Reload the page" is the whole explanation only for what the user did not type: a hidden field, a box or
    # choice the page drew (a value it never offered means a page out of date). A typed value is told what is wrong.
    if spec.kind in ("id", "multi", "version", "token") or (spec.kind == "choice" and kind in ("unoffered", "nul")):
        said += r"|[Rr]eload"
    if spec.kind == "version":
        said += "|" + VERSION_WORDS
    if spec.kind in ("choice", "multi", "id") and kind in ("nul", "letters", "huge"):
        said += "|" + WHAT["unoffered"]
    if spec.kind in ("date", "datetime") and kind == "letters":
        said += r"|[Dd]ate"
    return said


def _words(spec, name):
    if spec.words:
        return spec.words
    last = name.rsplit("-", 1)[-1]
    return re.escape(last.replace("_", " ")) + "|" + re.escape(last)


def _cases():
    for target in TARGETS:
        for spec in target.fields:
            for kind in KINDS[spec.kind]:
                yield pytest.param(target.key, spec.name, kind, id=f"{target.key}-{spec.name}-{kind}")


def lost_values(answer, url, body, skip):
    """The fields of the form drawn again that no longer show what the user sent: [(name, sent, shown)]."""
    drawn = page_form(answer.response, url)
    lost = []
    for name, sent in body.items():
        if name in skip:
            continue
        sent_values = sorted(map(str, sent)) if isinstance(sent, list) else [str(sent)]
        shown = drawn.get(name)
        shown_values = sorted(shown) if isinstance(shown, list) else [shown]
        if sent_values in ([""], []) and shown_values in ([""], [None], []):
            continue  # nothing typed, or a box left unticked: nothing to keep
        if sent_values != shown_values:
            lost.append((name, sent if len(str(sent)) < 80 else str(sent)[:80] + "…", shown))
    return lost


# --- the tests -----------------------------------------------------------------------------------------------------


def test_every_state_changing_address_is_tried():
    """Each POST address of the access policy, and each page whose form posts back to itself, is tried here (the
    referral upload by a test of its own below; logging out has no field to get wrong)."""
    posted = {name for name, rule in POLICY.items() if rule.method == "POST"}
    pages_with_forms = {"case_edit", "case_create", "person_documents", "import_list", "medical_person",
                        "medical_exam_create", "orientation_session_create", "orientation_roll_call",
                        "departure_create", "departure_edit", "travel_arrival", "travel_incident", "password_change"}
    tried = {t.name for t in TARGETS} | {"import_list", "logout"}
    assert sorted((posted | pages_with_forms) - tried) == []


@pytest.mark.parametrize("key", list(BY_KEY))
def test_the_good_body_is_accepted(world, more, key):
    """The control: each address accepts its good body, so that a refusal below is the bad field's doing."""
    target = BY_KEY[key]
    answer = post(world, target.role, target.address(world, more), target.body(world, more, target))

    assert answer.errors == []
    assert answer.changed, "the good body changed nothing"
    assert answer.successes or target.name == "password_change", "no message says it was done"


@pytest.mark.parametrize("key, field_spec, kind", list(_cases()))
def test_a_bad_value_is_refused_with_a_message_that_names_it(world, more, key, field_spec, kind):
    target = BY_KEY[key]
    spec = next(f for f in target.fields if f.name == field_spec)
    url = target.address(world, more)
    body = target.body(world, more, target)
    name = posted_name(world, more, spec)
    assert name in body, f"{name} is not in the good body"
    value = bad_value(kind, body[name])
    bad = {k: v for k, v in body.items() if k != name}
    if value is not None:
        bad[name] = value

    answer = post(world, target.role, url, bad, ignore=READS | target.allowed_tables)

    status = answer.response.status_code
    assert status in (200, 302, 400, 409), f"answered {status}: {page_text(answer.response)[-400:]!r}"
    if answer.changed:
        assert not must_refuse(spec, kind), f"accepted: {answer.changed} changed ({answer.successes})"
        assert answer.successes and not answer.errors, (
            f"changed without saying so, or said it was refused: {answer.successes} {answer.errors}")
        assert stored_nul() == [], "a NUL character was stored"
        return
    assert answer.refusals, f"nothing changed and nothing says why (infos: {answer.infos})"
    about = [text for where, text in answer.refusals if where == name or re.search(_words(spec, name), text)]
    assert about, f"no message names {name}: {answer.refusals}"
    says = what_it_says(spec, kind)
    if kind == "nul":  # whatever it says of an invisible character, it must not blame the length
        assert any(re.search(says, t) or not re.search(LENGTH, t) for t in about), f"a wrong message: {about}"
    else:
        assert any(re.search(says, text) for text in about), f"the message does not say what is wrong: {about}"
    if target.form and status != 302 and target.name != "password_change" and spec.kind != "management":
        # (The people ticked on the incident form are those of the family its `case` names: a bad `case` has none.)
        skip = {name} | ({"people"} if target.name == "travel_incident" and name == "case" else set())
        assert lost_values(answer, url, bad, skip=skip) == [], "the form lost what the user typed"


# A double click, a retried request, the back button: the second identical POST must not do it twice.
TWICE = [t.key for t in TARGETS if t.name not in {
    # Django's own view: the first change ends the session it was made in (a new one is opened).
    "password_change",
    # Each application is a run of its own on the record, changing nothing the first did not.
    "privacy_retention_apply"}]


@pytest.mark.parametrize("key", TWICE)
def test_the_same_post_twice_is_done_once(world, more, key):
    target = BY_KEY[key]
    url, body = target.address(world, more), target.body(world, more, target)
    first = post(world, target.role, url, body)
    assert first.changed and not first.errors

    again = post(world, target.role, url, body, ignore=READS | target.allowed_tables)

    assert again.response.status_code in (200, 302, 400, 409)
    assert again.changed == [], "done twice"
    assert again.refusals or again.infos or again.successes, "nothing says what became of the second request"


# --- the referral upload ---------------------------------------------------------------------------------------------

BROKEN_ROW = REFERRAL + "870-26C99002,870-26I99002,PA,Karimi,Zahra,,F,1990-02-30,AFG,,CAN,normal,LPN,2026-04-01,\n"
UPLOADS = {
    # name: (file name, content), or None for no file at all
    "no file": None,
    "an empty file": ("referrals.csv", b""),
    "a NUL in a cell": ("referrals.csv", REFERRAL.replace("Rahimi", "Rah\x00imi").encode()),
    "an image": ("photo.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4),
    "one good row and one with an impossible date": ("referrals.csv", BROKEN_ROW.encode()),
    "text in another encoding": ("referrals.csv", REFERRAL.replace("Rahimi", "Rahimí").encode("latin-1")),
}
# Good files under names no one should store as they are: previewed, under a name made visible and short.
ODD_NAMES = {"a NUL in the file name": "referrals\x00.csv", "a file name of 100,000 characters": "r" * 100_000 + ".csv"}


@pytest.mark.parametrize("what", list(UPLOADS))
def test_a_bad_referral_file_is_refused_whole_with_a_report(world, more, what):
    """The upload keeps a record of a refused file (its report, never its content) and imports nothing."""
    upload = UPLOADS[what]
    body = {} if upload is None else {"file": SimpleUploadedFile(upload[0], upload[1], content_type="text/csv")}

    answer = post(world, OPS, reverse("import_list"), body, ignore=READS | {"movements_referralupload"})

    assert answer.changed == [], "something was imported"
    assert stored_nul() == []
    if answer.response.status_code == 302:  # the report of the refused file
        upload_id = resolve(urlsplit(answer.response["Location"]).path).kwargs["upload_id"]
        record = ReferralUpload.objects.get(pk=upload_id)
        assert record.status == ReferralUpload.Status.REFUSED and record.content is None
        assert "nothing was saved" in page_text(answer.page)
        assert record.report["errors"], "refused without a reason"
        return
    assert answer.response.status_code in (400, 413)
    assert [where for where, _text in answer.errors] == ["file"]


@pytest.mark.parametrize("what", list(ODD_NAMES))
def test_a_good_file_under_an_odd_name_is_previewed_under_a_name_that_can_be_stored(world, more, what):
    body = {"file": SimpleUploadedFile(ODD_NAMES[what], REFERRAL.encode(), content_type="text/csv")}

    answer = post(world, OPS, reverse("import_list"), body)

    assert answer.response.status_code == 302 and answer.errors == []
    record = ReferralUpload.objects.order_by("-pk").first()
    assert record.status == ReferralUpload.Status.PREVIEWED
    assert "\x00" not in record.filename and len(record.filename) <= 255
    assert answer.changed == ["movements_referralupload"]


# --- the API: read-only --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["api_root", "api_cases"])
@pytest.mark.parametrize("body", ["{\"state\": \"arrived\"}", "{not json", "\x00"], ids=["json", "broken json", "nul"])
def test_the_read_only_api_refuses_a_post_with_a_message_and_changes_nothing(world, name, body):
    client = signed_in(world, UNHCR)
    client.raise_request_exception = False
    before = database_state()

    response = client.post(reverse(name), body, content_type="application/json")

    assert response.status_code == 405, response.status_code
    assert "not allowed" in response.json()["detail"]
    assert [t for t in changed_tables(before, database_state()) if t not in READS] == []



# --- ids in addresses ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("address", [
    "/orientation/sessions/{session}/certificates/{huge}.pdf", "/medical/people/{huge}/", "/imports/{huge}/",
    "/cases/{case}/members/{huge}/documents/", "/departures/exclusions/{huge}/lift/",
])
def test_an_id_too_long_for_any_row_is_a_404_not_a_500(client, superuser, address):
    from orientation.models import Session
    from tests.conftest import make_case

    case = make_case(1)
    session = Session.objects.create(language="fa", location="Dushanbe") if not Session.objects.exists() \
        else Session.objects.first()
    client.force_login(superuser)

    response = client.get(address.format(huge="9" * 20, case=case.case_number, session=session.code))

    assert response.status_code == 404
