"""The one catalogue of `movements`' extension points.

`movements` is the core; `orientation`, `travel` and `exchange` plug into it and `movements` never imports or
names them (a test keeps it so). Every way in is declared here, as a `Hook` with a docstring saying when it
fires and what its providers may return — as pretix's `base/signals.py` does for its plug-ins. A plug-in
registers its providers from its `AppConfig.ready()` (importing the module that holds them is enough):

    from movements import hooks

    @hooks.member_notes.register
    def orientation_notes(people): ...

    @hooks.readiness_requirements.register(code="orientation", label="…", order=40)
    def orientation_completed(ctx): ...

A provider registered again under the same key (its `key=`, else the function's module and name) replaces
the first, so re-importing a module never doubles it. Providers run in `order` (then key) order.
Tests swap the whole catalogue out and back with `hooks.isolated()`.
"""

import abc
import datetime
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property

from django.utils import timezone

from movements.words import NameReplacer

# The transitions a readiness requirement can gate (DESIGN.md: `clear`, `book`, `depart` need zero blockers).
ALL_GATES = frozenset({"clear", "book", "depart"})


@dataclass(frozen=True)
class Registration:
    key: str
    provider: object
    order: int = 100
    meta: dict = field(default_factory=dict)


class Hook:
    """A named extension point: providers registered by plug-ins, called by the core."""

    def __init__(self, name, doc, meta=()):
        self.name = name
        self.__doc__ = doc
        self._meta_names = tuple(meta)
        self._registrations = {}
        _catalogue[name] = self

    def __repr__(self):
        return f"<Hook {self.name}: {len(self._registrations)} provider(s)>"

    def register(self, provider=None, *, key=None, order=100, **meta):
        """Register `provider`; usable bare (`@hook.register`) or with arguments (`@hook.register(order=5)`)."""
        unknown = set(meta) - set(self._meta_names)
        if unknown:
            raise TypeError(f"hook {self.name} takes no {', '.join(sorted(unknown))}")

        def decorator(func):
            name = key or meta.get("code") or f"{func.__module__}.{getattr(func, '__qualname__', repr(func))}"
            self._registrations[name] = Registration(name, func, order, dict(meta))
            return func

        return decorator(provider) if provider is not None else decorator

    def unregister(self, key):
        self._registrations.pop(key, None)

    @property
    def registrations(self):
        return sorted(self._registrations.values(), key=lambda r: (r.order, r.key))

    @property
    def providers(self):
        return [r.provider for r in self.registrations]

    def collect(self, *args, **kwargs):
        """Call every provider; return their answers flattened into one list (None and empty answers skipped)."""
        found = []
        for provider in self.providers:
            answer = provider(*args, **kwargs)
            if answer:
                found.extend(answer)
        return found

    def first(self, *args, **kwargs):
        """Call providers in order; return the first answer that is not None (or None)."""
        for provider in self.providers:
            answer = provider(*args, **kwargs)
            if answer is not None:
                return answer
        return None


_catalogue = {}


def catalogue():
    """Every hook, by name (the README's tour lists them)."""
    return dict(_catalogue)


@contextmanager
def isolated():
    """Run a block with the catalogue as it is now, and put every hook back as it was afterwards (for tests)."""
    saved = {name: dict(hook._registrations) for name, hook in _catalogue.items()}
    try:
        yield
    finally:
        for name, hook in _catalogue.items():
            hook._registrations = saved[name]


# --- readiness ---------------------------------------------------------------------------------------------

readiness_requirements = Hook(
    "readiness_requirements",
    """Clearance requirements: can this family fly, and if not, why not?

    Called whenever readiness is computed (case page, transitions, the daily refresh, imports) with one
    `readiness.ReadinessContext` (the case, the travel date and departure time, the travelling members, loaded
    once and shared). A provider yields `readiness.Blocker`s — short reasons with a machine code that name the
    person and the fact — or nothing.

    Register with `code=` (the requirement's key; the same code again replaces it), `label=` (shown under
    "What is checked"; a callable when it states a setting, read each time), `order=`, `gates=` (the transitions it must hold for, of `ALL_GATES`; default all
    three — a rule that can only be met in the last days before the flight, like a fit-to-fly certificate,
    gates only `depart`) and `confidential=` (blocker codes that only roles seeing clearance details may read
    in full; others read "medical clearance for travel pending").

    Optional, for the case page's readiness panel, which groups blockers by kind: `titles=` ({blocker code: the
    kind in words, e.g. "No visa / COPR reference"}; the codes stay for exports and the API) and `link=` — a
    callable (case, person or None, access) returning the address of the form that resolves that person's
    blocker, or None when this user may not open it (medical records for medical staff only).""",
    meta=("code", "label", "gates", "confidential", "titles", "link"),
)

travel_plans = Hook(
    "travel_plans",
    """When and with whom a case travels, for readiness.

    Called with a case when its readiness is computed. Return a `readiness.TravelPlan` (the date, the
    departure's local date and time when known, the ids of the members who travel, a label such as the
    departure code, and `last_date`, the local date the journey ends when later: documents and the IME must be
    valid until then) or None to leave it to the next provider. A plan whose date is None only says who travels
    (members left behind by a split decision) and keeps the case's own date. The first answer wins; with none,
    the case's planned travel date (or today) is used and every member travels.""",
)

readiness_preload = Hook(
    "readiness_preload",
    """Many cases' readiness about to be evaluated together (a departure's families when its boarding closes).

    Called with a list of `readiness.ReadinessContext`s, each with its case, plan and travelling members already
    loaded (documents and travel needs with them). A provider loads what its requirement reads for all of them in
    a few queries and leaves it in each context's `extra` under its own key; its requirement reads it from there
    when present and loads it itself otherwise. Return nothing.""",
)

fit_to_travel_overrides = Hook(
    "fit_to_travel_overrides",
    """Travellers whose fit-to-travel check medical staff have waived for this travel, in writing.

    Called with the `readiness.ReadinessContext` whenever the fit-to-travel requirement runs (the case page,
    the `depart` transition, boarding). Return the ids of travelling members for whom a medical user recorded
    an override (who, when and why are kept by the provider), or nothing. Their missing check is then no
    blocker; every other requirement still applies to them.""",
)

# --- transitions -------------------------------------------------------------------------------------------

before_transition = Hook(
    "before_transition",
    """Inside a case transition's transaction, with the case row locked, after the core's checks passed and
    the new state is set on the (unsaved) case, before the state is saved and logged.

    Called with one `transitions.TransitionEvent` (case, name, from_state, to_state, by, reason, data,
    performer). A provider may change its own records in the same transaction (e.g. release a booked case's
    seats when it is held or withdrawn), add facts to `event.data` (stored on the transition-log row and
    shown on the timeline), or refuse the whole transition by raising `transitions.Veto(code, message)` —
    then nothing of the transition, nor of any provider's work, is saved.""",
)

transition_locks = Hook(
    "transition_locks",
    """Inside a case transition's transaction, before the case row is locked: a plug-in whose own rows the
    transition will change (a booked case's seats, released when it is held or withdrawn) locks the rows its own
    services lock before a case, so that the two always take their locks in one order (a departure, then the case)
    and never wait for each other in opposite orders (PostgreSQL would end one of them with a deadlock error).

    Called with the case as read before the lock and the transition's name; returns nothing. Row locks in Safar
    are `select_for_update(no_key=True)`: inserting a row that refers to a locked one does not wait for it.""",
)

transition_owners = Hook(
    "transition_owners",
    """Transitions that only a plug-in may perform, because its own record justifies them (a booking needs a
    departure).

    Register a callable returning nothing, with `key=` the owner's name (the app label), `transitions=` the
    transition names it owns, and `message=` what a user who tries elsewhere is told (e.g. "Cases are booked
    from a departure's page."). An owned transition is refused with code `owned_elsewhere` unless the
    service is called with `performer=` that owner; the case page does not offer it as a button.

    `authorises=` (optional) names those of its transitions whose performer the owner checks itself, with its
    own records (an escort assigned to the departure confirms that its families left): when the owner performs
    them, the core does not ask for the role permission of the transition table. The owner must then refuse
    anyone its own rules do not allow.""",
    meta=("transitions", "message", "authorises"),
)

resume_targets = Hook(
    "resume_targets",
    """Where a case put on hold returns when it is resumed.

    Called with the locked case inside the `resume` transaction. Return a state code (e.g. `ready` for a case
    held while booked whose seats were released) or None. The first answer wins; with none, the case returns
    to the state it was held from.""",
)

# --- pages -------------------------------------------------------------------------------------------------

case_panels = Hook(
    "case_panels",
    """Panels a plug-in adds to the case page (a departure and a "Book on…" list, say).

    Called with (request, case, access) when the case page is drawn. Return a list of `Panel`s (a template
    and its context); they are shown after the readiness panel, in `Panel.order`. A panel must show only what
    `access` allows.""",
)

case_page_reads = Hook(
    "case_page_reads",
    """What a plug-in would otherwise ask in queries of its own on the case page, read with the case instead.

    Called with no argument, once per process and database: the expressions are compiled to SQL once and reused
    for every case page, so they must not depend on the request or the moment. Return {key: expression}: each
    expression (say, an `Exists` on the plug-in's table for `OuterRef("pk")`) is read as an annotation of the
    case's row, and its value kept for the rest of the page under `movements.memo` key (key, case id), where the
    plug-in's own reads look first (`memo.recall`). Only the case page reads them; elsewhere the plug-in reads as
    usual.""",
)

member_notes = Hook(
    "member_notes",
    """Short notes beside each member on the case page (e.g. "Orientation completed (COA-…)").

    Called with the members shown. Return {person id: [(text, tone), …]} with tone "ok", "warn" or "" —
    plain words that every role allowed to see the case may read.""",
)

navigation = Hook(
    "navigation",
    """Entries in the main navigation bar.

    Called with (request, access) for every page. Return a list of `NavEntry`s the user may follow (or
    nothing); they are shown in `NavEntry.order`.""",
)

start_pages = Hook(
    "start_pages",
    """Where a user lands on their work: after logging in (a medical officer on the work list, a trainer on
    their sessions), and, for a role without the case list, instead of the dashboard.

    Called with (user, access). Return a URL or None; the first answer wins; with none, the dashboard.""",
)

dashboard_cards = Hook(
    "dashboard_cards",
    """Cards a plug-in adds to the dashboard (today's departures for an escort, say).

    Called with (request, access). Return a list of `Panel`s the user may see.""",
)

# --- who sees which cases ----------------------------------------------------------------------------------

case_scopes = Hook(
    "case_scopes",
    """Cases that a role without the case list may still open (an escort, the families of their departures).

    Called with a user who lacks `movements.view_case`. Return a Case queryset or None; the user sees the
    union of the answers.""",
)

# --- personal data: reads, retention, a person's own record ------------------------------------------------

personal_data_read = Hook(
    "personal_data_read",
    """Someone read personal data: a case page, a person's medical record, a printed list, an export, an API page.

    Fired once per request (never per row) by the view or command that reads, through `movements.reads.record`,
    with one `reads.Read` (the kind, the user or the command, the request's address, the case numbers it concerned,
    a short target and a small payload). A provider keeps it (the access log); it must cost one insert at most
    and return nothing. With no provider, reads are not recorded.""",
)

retention_shredders = Hook(
    "retention_shredders",
    """What each app removes from closed cases once their retention has passed (pretix's shredders, per app).

    Called with no arguments when the retention runs or is previewed. Return a list of `Shredder`s: each names
    one kind of personal data (`kind`, `label`, `description`), counts what it would remove for a
    `RetentionBatch` of cases (`count`) and removes it (`shred`), keeping states, dates, destinations, sex and
    dates of birth so statistics survive. `medical = True` shredders get the cases due under the medical
    retention (the stricter one). Shredders run in `order`; those that blank names out of log texts run before
    the one that removes the names themselves.""",
)

subject_records = Hook(
    "subject_records",
    """What an app holds about one person, for their own record (a data subject request).

    Called with the person. Return a list of `RecordSection`s (a title and rows of label and value, or a table):
    everything the app keeps about that person, medical details included (the record goes to the person).""",
)


class Shredder(abc.ABC):
    """One kind of personal data the retention removes. Subclasses set the class attributes and both methods
    (abstract: a shredder missing one cannot be made, rather than failing in the middle of a retention run)."""

    kind = ""
    label = ""
    description = ""
    medical = False
    order = 100

    @abc.abstractmethod
    def count(self, batch):
        """How many rows still hold this data for the batch's cases (the dry run's figure)."""

    @abc.abstractmethod
    def shred(self, batch):
        """Remove it; return how many rows changed. Runs inside the retention's transaction."""


@dataclass(frozen=True)
class RetentionBatch:
    """The cases a retention run anonymises: their ids, their members' ids, and every way their members' names
    were written (read before any shredder runs, so that log texts can be cleaned of them)."""

    case_ids: tuple
    person_ids: tuple
    names: tuple
    now: object = None  # when the run happens (shredders of old log entries measure from it)

    def kept_since(self, days):
        """The first moment still kept, on the day of the run, under a period of `days` (the mission's calendar:
        something of day D is kept through day D + days - 1); what is older is due."""
        day = timezone.localdate(self.now) - datetime.timedelta(days=days - 1)
        return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))

    def scrub(self, text):
        """`text` with every name of the batch replaced by "[name removed]", in any letter case."""
        return self._replacer(text)

    @cached_property
    def _replacer(self):
        return NameReplacer([(name, NAME_REMOVED) for name in self.names])

    def scrub_data(self, value):
        """A JSON payload with the batch's names removed from every key and string in it."""
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, list):
            return [self.scrub_data(item) for item in value]
        if isinstance(value, dict):
            return {self.scrub(key): self.scrub_data(item) for key, item in value.items()}
        return value


NAME_REMOVED = "[name removed]"


@dataclass(frozen=True)
class RecordSection:
    """A part of a person's own record: a title, then rows of (label, value) or a table (`columns` and `rows`)."""

    title: str
    items: tuple = ()
    columns: tuple = ()
    rows: tuple = ()
    note: str = ""
    order: int = 100


# --- demo data ---------------------------------------------------------------------------------------------

demo_data = Hook(
    "demo_data",
    """Demo data a plug-in adds to `manage.py seed_demo`.

    Called once per run, inside its transaction, with a `DemoContext` (the demo users by username, today, a
    seeded random generator). Return an object with any of these methods:
    `make_ready(case)` — do what the plug-in's readiness requirements need so the case can be cleared
    (called before `clear`, and for the few approved cases the README's walk-through leaves one step short);
    `finish(cases)` — add the plug-in's own records once every demo case exists. A case the demo means to take
    through transitions a plug-in owns (`transition_owners`) stops before the first of them and carries
    `demo_path`, the owned transitions still to make (e.g. ["book", "depart"]): their owner performs them here,
    through its own services, or the case stays where it stopped.""",
)


@dataclass(frozen=True)
class Panel:
    """A block of a page that a plug-in draws with its own template."""

    template: str
    context: dict = field(default_factory=dict)
    title: str = ""
    order: int = 100


@dataclass(frozen=True)
class NavEntry:
    label: str
    url: str
    active: bool = False
    order: int = 100


@dataclass(frozen=True)
class DemoContext:
    users: dict
    today: object
    rng: object
