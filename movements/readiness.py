"""Readiness (clearance) requirements: can this family fly, and if not, why not?

The requirements are providers of `hooks.readiness_requirements`: `movements` registers its own below and in
`medical.py`, other apps theirs from `AppConfig.ready()` (orientation registers "orientation completed"). A
requirement takes a `ReadinessContext` and yields `Blocker`s: short reasons with a machine code that name the
person and the fact. Each requirement gates some of the transitions `clear`, `book` and `depart`; a transition
is refused while any blocker gates it. A rule that can only be met in the last days before the flight (a
fit-to-fly certificate) gates `depart` alone, so a family can be cleared and booked weeks ahead.

The travel date is the departure's once a plug-in plans one (`hooks.travel_plans`), else the case's planned
travel date, else today: one registry answers "ready on that date?" for any case.
"""

import datetime
from dataclasses import dataclass, field
from functools import cached_property

from django.utils import timezone

from movements import hooks
from movements.hooks import ALL_GATES
from movements.words import in_sentence

register = hooks.readiness_requirements.register


@dataclass(frozen=True)
class Blocker:
    code: str
    message: str
    person_id: int | None = None
    # Medical blockers: shown in full only to roles that may see clearance details (operations, medical).
    confidential: bool = False
    person_name: str = ""
    # The transitions this blocker refuses (set from its requirement's registration).
    gates: frozenset = ALL_GATES

    def __str__(self):
        return f"{self.code}: {self.message}"

    def as_dict(self):
        return {"code": self.code, "message": self.message, "person_id": self.person_id,
                "confidential": self.confidential, "person_name": self.person_name, "gates": sorted(self.gates)}

    def gating(self, transition):
        return transition in self.gates


def gating(blockers, transition):
    """The blockers that refuse `transition`."""
    return [b for b in blockers if b.gating(transition)]


DUE_BEFORE_BOARDING = frozenset({"depart"})


def blocking(blockers):
    """The blockers (objects or stored dicts) that stand between the family and travel now: not those due before
    boarding (a rule that gates `depart` alone, such as the fit-to-travel check, can only be met in the last days
    before the flight). The case page shows those apart; lists, filters and the dashboard count these."""
    return [b for b in blockers if _gates_of(b) != DUE_BEFORE_BOARDING]


def _gates_of(blocker):
    if isinstance(blocker, dict):
        return frozenset(blocker.get("gates") or ALL_GATES)  # snapshots older than gates gated everything
    return blocker.gates


@dataclass(frozen=True)
class Requirement:
    code: str
    label: str
    check: object
    order: int = 100
    gates: frozenset = ALL_GATES
    confidential: frozenset = frozenset()
    titles: dict = field(default_factory=dict)
    link: object = None

    @property
    def before_boarding_only(self):
        return self.gates == DUE_BEFORE_BOARDING


def _label(label):
    """A requirement's label: its text, or a callable's when the label states a setting (an age, a number of
    weeks), so that the case page says what is checked, as it is configured."""
    return label() if callable(label) else label


class Registry(list):
    """The requirements, in order (`requirements()`), with their blocker codes indexed once for `grouped`."""

    @cached_property
    def by_code(self):
        return {code: requirement for requirement in self for code in requirement.titles}


def requirements():
    return Registry(
        Requirement(code=r.key, label=_label(r.meta.get("label", r.key)), check=r.provider, order=r.order,
                    gates=frozenset(r.meta.get("gates") or ALL_GATES),
                    confidential=frozenset(r.meta.get("confidential") or ()),
                    titles=dict(r.meta.get("titles") or {}), link=r.meta.get("link"))
        for r in hooks.readiness_requirements.registrations
    )


# The redacted stand-in for a confidential blocker (see `redacted`).
REDACTED_TITLE = "Medical clearance for travel pending"


@dataclass
class BlockerItem:
    """One person's blocker in a group: who, the fact in words, and where it is resolved (when this user may)."""

    blocker: object
    person_id: int | None
    name: str
    fact: str
    url: str | None = None


@dataclass
class BlockerGroup:
    """Blockers of one kind: "No visa / COPR reference: Ahmad, Hadia, Sohrab"."""

    code: str
    title: str
    items: list

    @property
    def same_fact(self):
        """Whether every item says the same thing (then the names alone are listed)."""
        return len({item.fact for item in self.items}) <= 1

    @property
    def names(self):
        """Who, as a reader takes it in at a glance: "Zahra, Ahmad, Omid" when they share one family name (the
        group says which, "Karimi:"), else the full names separated by semicolons."""
        return "; ".join(item.name for item in self.items if item.name)

    @property
    def family(self):
        """The one family name every item's person shares ("Family, Given" names), or ""."""
        families = {item.name.partition(", ")[0] for item in self.items if ", " in item.name}
        named = all(", " in item.name for item in self.items)
        return families.pop() if named and len(families) == 1 and len(self.items) > 1 else ""

    def short_name(self, item):
        return item.name.partition(", ")[2] if self.family else item.name

    @property
    def summary(self):
        """The group in a few words, for lists: "No visa / COPR reference — 3 people"."""
        count = len(self.items)
        return f"{self.title} — {count} {'person' if count == 1 else 'people'}" if self.items[0].name else self.title

    @property
    def people(self):
        """(short name, item) for the template: given names when the family name is shared."""
        return [(self.short_name(item) or item.fact, item) for item in self.items]

    @property
    def shared_detail(self):
        """What the items' one fact adds to the title ("not enrolled in a session"), or "" when nothing."""
        if not self.items or not self.same_fact:
            return ""
        fact = self.items[0].fact
        if not self.items[0].name:
            return ""  # a case-wide blocker: its fact is shown in place of a name
        if fact.lower().startswith(self.title.lower()):
            fact = fact[len(self.title):].lstrip(" :—-,")
        return "" if fact.lower() in ("", "recorded") else fact


def _split(message):
    name, sep, fact = message.partition(" — ")
    return (name, fact) if sep else ("", message)


def grouped(blockers, *, case=None, access=None, people=None, registry=None):
    """The blockers (objects or stored dicts) grouped by kind, in the order kinds first appear; each titled in
    words by its requirement (`titles=`). With `case`, `access` and `people` ({id: Person}), each item carries the
    address of the form that resolves it, from its requirement's `link=` (None when this user may not open it).
    A list of many cases passes `registry` (`requirements()`) read once."""
    if not blockers:
        return []
    registry = registry if registry is not None else requirements()
    by_code = registry.by_code if isinstance(registry, Registry) else Registry(registry).by_code
    groups = {}
    for blocker in blockers:
        as_dict = isinstance(blocker, dict)
        code = blocker.get("code", "") if as_dict else blocker.code
        message = blocker.get("message", "") if as_dict else blocker.message
        person_id = blocker.get("person_id") if as_dict else blocker.person_id
        requirement = by_code.get(code)
        if code not in groups:
            if code == "medical_clearance":
                title = REDACTED_TITLE
            elif requirement is not None:
                title = requirement.titles[code]
            else:
                title = code.replace("_", " ").capitalize()
            groups[code] = BlockerGroup(code, title, [])
        name, fact = _split(message)
        if any(item.person_id == person_id and item.fact == fact for item in groups[code].items):
            continue  # two medical blockers of one person read alike once redacted: one line says it
        url = None
        if case is not None and requirement is not None and requirement.link is not None:
            person = (people or {}).get(person_id)
            url = requirement.link(case, person, access)
        groups[code].items.append(BlockerItem(blocker, person_id, name, fact, url))
    return list(groups.values())


def confidential_codes():
    """Codes whose blockers are confidential whatever a stored copy says (snapshots older than the flag)."""
    return {code for requirement in requirements() for code in requirement.confidential}


def redacted(blockers, access, *, hidden_codes=None):
    """The blockers as this viewer may read them: a confidential one becomes "medical clearance for travel pending".

    Accepts Blocker objects or their stored dicts (the case's snapshot) and returns the same kind. A list of many
    cases passes `hidden_codes` (`confidential_codes()`) read once.
    """
    if access.can_see_clearance_details:
        return list(blockers)
    hidden_codes = confidential_codes() if hidden_codes is None else hidden_codes
    shown = []
    for blocker in blockers:
        as_dict = isinstance(blocker, dict)
        code = blocker.get("code") if as_dict else blocker.code
        confidential = (blocker.get("confidential") if as_dict else blocker.confidential) or code in hidden_codes
        if not confidential:
            shown.append(blocker)
            continue
        name = blocker.get("person_name", "") if as_dict else blocker.person_name
        generic = Blocker("medical_clearance", f"{name or 'A member'} — medical clearance for travel pending",
                          blocker.get("person_id") if as_dict else blocker.person_id, gates=_gates_of(blocker))
        shown.append(generic.as_dict() if as_dict else generic)
    return shown


@dataclass(frozen=True)
class TravelPlan:
    """When and with whom a case travels, as a plug-in that books it knows (`hooks.travel_plans`)."""

    date: datetime.date | None  # None: the case's own date (planned, else today); the plan only says who travels
    departs_at: datetime.datetime | None = None  # aware; the first leg's scheduled departure
    member_ids: frozenset | None = None  # None: every member travels
    label: str = ""  # e.g. the departure's code, for messages
    last_date: datetime.date | None = None  # the local date the journey ends (its arrival), when later than `date`


@dataclass
class ReadinessContext:
    """What requirements look at. Members and their documents are loaded once and shared."""

    case: object
    travel_date: datetime.date
    travel_date_is_planned: bool
    departs_at: datetime.datetime | None = None
    member_ids: frozenset | None = None
    plan_label: str = ""
    extra: dict = field(default_factory=dict)
    plan_date: datetime.date | None = None  # the plan's own date (its departure's), when a plug-in gave one
    last_date: datetime.date | None = None  # the plan's last day (its arrival's), when later than its first

    @property
    def journey_end(self):
        """The last day of the journey: documents and the IME must still be valid on it (a family whose passports
        expire overnight in Istanbul is refused the connecting flight), and pregnancy is counted on it."""
        return max(self.last_date or self.travel_date, self.travel_date)

    @property
    def flies_on(self):
        """The date the case is expected to fly, as lists show it: the departure's, else the planned date, else
        None (unlike `travel_date`, never today for want of a date)."""
        return self.plan_date or self.case.planned_travel_date

    @cached_property
    def members(self):
        from movements import memo

        return memo.case_members(self.case)

    @cached_property
    def travelling_members(self):
        """The members who travel: all of them, unless a travel plan leaves some behind (a split decision)."""
        if self.member_ids is None:
            return self.members
        return [p for p in self.members if p.pk in self.member_ids]

    @property
    def departure_deadline(self):
        """The moment a before-departure window closes: the departure's time, or the end of the travel day when
        only the date is known (the latest the flight could leave)."""
        if self.departs_at is not None:
            return self.departs_at
        return timezone.make_aware(datetime.datetime.combine(self.travel_date + datetime.timedelta(days=1),
                                                             datetime.time.min))

    def describe_journey_end(self):
        if self.journey_end == self.travel_date:
            return self.describe_travel_date()
        journey = f"departure {self.plan_label}" if self.plan_label else "the journey"
        return f"{self.journey_end.isoformat()}, the arrival of {journey} (leaving {self.travel_date.isoformat()})"

    def describe_travel_date(self):
        if self.plan_label:
            return f"departure {self.plan_label} on {self.travel_date.isoformat()}"
        if self.travel_date_is_planned and self.travel_date == self.case.planned_travel_date:
            return f"travel on {self.travel_date.isoformat()}"
        return f"today ({self.travel_date.isoformat()}; no travel date planned)"


def travel_plan_for(case):
    """The plug-ins' travel plan for the case, or None (see `hooks.travel_plans`)."""
    return hooks.travel_plans.first(case)


def context_for(case, plan=None, *, members=None, plan_known=False):
    """The context requirements read. A page that has loaded the case's members with their documents
    (`members`, in any order) passes them, so that readiness and the page share one load; one that has asked
    for the travel plan already passes it with `plan_known` (None then means the case has none)."""
    plan = plan if plan is not None or plan_known else travel_plan_for(case)
    today = timezone.localdate()
    if plan is not None and plan.date is not None:
        # A departure in the past (the case flew) is judged on its own date; one ahead, on its date.
        ctx = ReadinessContext(case=case, travel_date=plan.date, travel_date_is_planned=True,
                               departs_at=plan.departs_at, member_ids=plan.member_ids, plan_label=plan.label,
                               plan_date=plan.date, last_date=plan.last_date)
    else:
        ctx = ReadinessContext(
            case=case,
            travel_date=max(case.planned_travel_date or today, today),
            travel_date_is_planned=case.planned_travel_date is not None,
            member_ids=plan.member_ids if plan is not None else None,
        )
    if members is not None:
        ctx.members = sorted(members, key=lambda person: person.pk)  # fills the cached property
    return ctx


def blockers_for(case, *, gate=None, plan=None, context=None):
    """The blockers that refuse transition `gate` for this case, in requirement order.

    Without `gate`, the case's next step (`Case.readiness_gate`: `clear` until it is cleared, `book` when ready,
    `depart` once booked). Requirements that gate only boarding are therefore checked once the case is booked
    (or when asked for `depart`), not while it waits to be cleared or booked.
    """
    return evaluate(case, {gate or case.readiness_gate or "clear"}, plan=plan, context=context)


def contexts_for(cases, plans):
    """Readiness contexts for many cases at once (`plans`: {case id: TravelPlan}), their members, documents and
    travel needs loaded in two queries, then `hooks.readiness_preload` asked to load what the requirements read;
    each is then given to `evaluate(…, context=)` (or `transitions.perform(…, readiness_context=)`)."""
    from django.db.models import Prefetch

    from movements.models import Person

    cases = list(cases)
    members = {case.pk: [] for case in cases}
    for person in (Person.objects.filter(case__in=[c.pk for c in cases]).select_related("medical_needs")
                   .prefetch_related(Prefetch("documents", to_attr="document_list")).order_by("case_id", "id")):
        members[person.case_id].append(person)
    contexts = {}
    for case in cases:
        ctx = context_for(case, plans.get(case.pk))
        ctx.__dict__["members"] = members[case.pk]  # fills the cached property
        contexts[case.pk] = ctx
    for provider in hooks.readiness_preload.providers:
        provider(list(contexts.values()))
    return contexts


def evaluate(case, gates=ALL_GATES, *, plan=None, context=None):
    """Every blocker of the requirements that gate any of `gates` (by default all of them), computed once.

    The transition service asks for all of them once, then reads the ones gating the transition and those
    gating the case's next step for the snapshot, from the same list. `context`: one made by `contexts_for`.
    """
    ctx = context if context is not None else context_for(case, plan)
    found = []
    for requirement in requirements():
        if not gates & requirement.gates:
            continue
        for blocker in requirement.check(ctx) or ():
            if blocker.gates != requirement.gates:
                blocker = Blocker(blocker.code, blocker.message, blocker.person_id, blocker.confidential,
                                  blocker.person_name, requirement.gates)
            found.append(blocker)
    return found


def flies_on(case, plan=None):
    """The date the case is expected to fly (see `ReadinessContext.flies_on`), asking the plug-ins for a plan."""
    plan = plan if plan is not None else travel_plan_for(case)
    if plan is not None and plan.date is not None:
        return plan.date
    return case.planned_travel_date


def refresh_snapshot(case, blockers=None, *, context=None):
    """Store the blockers of the case's next step on the case, with the date it is expected to fly, for lists and
    filters; return the blockers. `context`: the readiness context they were computed with, when at hand."""
    from movements.models import Case

    if blockers is None:
        if case.state_policy.readiness:
            context = context if context is not None else context_for(case)
            blockers = blockers_for(case, context=context)
        else:
            blockers = []
    date = context.flies_on if context is not None else flies_on(case)
    stored = [b.as_dict() for b in blockers]
    hidden = confidential_codes() if stored else set()
    medical = sum(1 for b in stored if b["confidential"] or b["code"] in hidden)
    count = len(blocking(stored))  # what is due before boarding is stored and shown, but does not count as blocked
    moment = timezone.now()
    if (stored != case.blockers or case.blocker_count != count or case.readiness_checked_at is None
            or case.flies_on != date or case.medical_blocker_count != medical):
        # A queryset update: the snapshot is derived data and must not bump the version users edit against.
        Case.objects.filter(pk=case.pk).update(blockers=stored, blocker_count=count, readiness_checked_at=moment,
                                               flies_on=date, medical_blocker_count=medical)
        case.blockers, case.blocker_count, case.readiness_checked_at = stored, count, moment
        case.flies_on, case.medical_blocker_count = date, medical
    return blockers


# --- this app's requirements -------------------------------------------------------------------------------


def _may_edit(case, access, column):
    return access is not None and access.can_edit_cases and getattr(case.state_policy, column)


def _documents_link(case, person, access):
    from django.urls import reverse

    if person is None:
        return reverse("case_edit", args=[case.case_number]) if _may_edit(case, access, "membership") else None
    if access is not None and access.can_edit_documents and case.state_policy.documents:
        return reverse("person_documents", args=[case.case_number, person.pk])
    return None


def _member_link(case, person, access):
    from django.urls import reverse

    if not _may_edit(case, access, "details"):
        return None
    anchor = f"#member-{person.pk}" if person is not None else ""
    return reverse("case_edit", args=[case.case_number]) + anchor


@register(code="travel_document", label="Every member has a travel document valid until the journey ends", order=10,
          titles={"no_members": "No members recorded", "document_missing": "No travel document",
                  "document_expired": "Travel document expires before travel"},
          link=_documents_link)
def travel_document_valid(ctx):
    from movements import family

    if not ctx.members:
        yield Blocker("no_members", "The case has no members yet.")
        return
    for person in ctx.travelling_members:
        documents = family.documents_of(person)
        if not documents:
            yield Blocker("document_missing", f"{person.full_name} — no travel document recorded", person.pk)
            continue
        if any(d.is_valid_on(ctx.journey_end) for d in documents):
            continue
        latest = max(documents, key=lambda d: d.expiry_date)
        yield Blocker(
            "document_expired",
            f"{person.full_name} — {in_sentence(latest.get_document_type_display())} valid until "
            f"{latest.expiry_date.isoformat()}, before {ctx.describe_journey_end()}",
            person.pk,
        )


@register(code="visa", label="Every member has a visa / COPR reference", order=20,
          titles={"visa_missing": "No visa / COPR reference"}, link=_member_link)
def visa_reference_recorded(ctx):
    for person in ctx.travelling_members:
        if not person.visa_reference.strip():
            yield Blocker("visa_missing", f"{person.full_name} — no visa / COPR reference recorded", person.pk)
