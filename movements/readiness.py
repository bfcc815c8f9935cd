"""Readiness (clearance) requirements: can this family fly, and if not, why not?

`movements` owns the registry; other apps add their own requirements from `AppConfig.ready()`
(orientation registers "orientation completed"). A requirement is a function that takes a
`ReadinessContext` and yields `Blocker`s: short reasons with a machine code that name the person
and the fact. A case may be cleared, booked and flown only when no requirement yields anything.
"""

from dataclasses import dataclass, field
from functools import cached_property

from django.utils import timezone


@dataclass(frozen=True)
class Blocker:
    code: str
    message: str
    person_id: int | None = None
    # Medical blockers: shown in full only to roles that may see clearance details (operations, medical).
    confidential: bool = False
    person_name: str = ""

    def __str__(self):
        return f"{self.code}: {self.message}"

    def as_dict(self):
        return {"code": self.code, "message": self.message, "person_id": self.person_id,
                "confidential": self.confidential, "person_name": self.person_name}


# Codes whose blockers are confidential whatever the stored copy says (snapshots older than the flag).
CONFIDENTIAL_CODES = set()


def redacted(blockers, access):
    """The blockers as this viewer may read them: a confidential one becomes "medical clearance for travel pending".

    Accepts Blocker objects or their stored dicts (the case's snapshot) and returns the same kind.
    """
    if access.can_see_clearance_details:
        return list(blockers)
    shown = []
    for blocker in blockers:
        as_dict = isinstance(blocker, dict)
        code = blocker.get("code") if as_dict else blocker.code
        confidential = (blocker.get("confidential") if as_dict else blocker.confidential) or code in CONFIDENTIAL_CODES
        if not confidential:
            shown.append(blocker)
            continue
        name = blocker.get("person_name", "") if as_dict else blocker.person_name
        generic = Blocker("medical_clearance", f"{name or 'A member'} — medical clearance for travel pending",
                          blocker.get("person_id") if as_dict else blocker.person_id)
        shown.append(generic.as_dict() if as_dict else generic)
    return shown


@dataclass(frozen=True)
class Requirement:
    code: str
    label: str
    check: object
    order: int = 100


@dataclass
class ReadinessContext:
    """What requirements look at. Members and their documents are loaded once and shared."""

    case: object
    travel_date: object
    travel_date_is_planned: bool
    extra: dict = field(default_factory=dict)

    @cached_property
    def members(self):
        return list(self.case.members.prefetch_related("documents").order_by("id"))

    @property
    def travelling_members(self):
        return self.members

    def describe_travel_date(self):
        if self.travel_date_is_planned and self.travel_date == self.case.planned_travel_date:
            return f"travel on {self.travel_date.isoformat()}"
        return f"today ({self.travel_date.isoformat()}; no travel date planned)"


_registry: dict[str, Requirement] = {}


def register(code, label, order=100):
    """Decorator: add a requirement to the registry. Registering the same code twice replaces it."""

    def decorator(func):
        _registry[code] = Requirement(code=code, label=label, check=func, order=order)
        return func

    return decorator


def requirements():
    return sorted(_registry.values(), key=lambda r: (r.order, r.code))


def context_for(case):
    return ReadinessContext(
        case=case,
        travel_date=case.travel_date,
        travel_date_is_planned=case.planned_travel_date is not None,
    )


def blockers_for(case):
    ctx = context_for(case)
    found = []
    for requirement in requirements():
        found.extend(requirement.check(ctx))
    return found


def refresh_snapshot(case, blockers=None):
    """Store the current blockers on the case for lists and filters; return them."""
    from movements.models import READINESS_STATES, Case

    if blockers is None:
        blockers = blockers_for(case) if case.state in READINESS_STATES else []
    stored = [b.as_dict() for b in blockers]
    now = timezone.now()
    if stored != case.blockers or case.blocker_count != len(stored) or case.readiness_checked_at is None:
        # A queryset update: the snapshot is derived data and must not bump the version users edit against.
        Case.objects.filter(pk=case.pk).update(blockers=stored, blocker_count=len(stored), readiness_checked_at=now)
        case.blockers, case.blocker_count, case.readiness_checked_at = stored, len(stored), now
    return blockers


# --- this app's requirements -------------------------------------------------------------------


@register("travel_document", "Every member has a travel document valid on the travel date", order=10)
def travel_document_valid(ctx):
    if not ctx.members:
        yield Blocker("no_members", "The case has no members yet.")
        return
    for person in ctx.travelling_members:
        documents = list(person.documents.all())
        if not documents:
            yield Blocker("document_missing", f"{person.full_name} — no travel document recorded", person.pk)
            continue
        if any(d.is_valid_on(ctx.travel_date) for d in documents):
            continue
        latest = max(documents, key=lambda d: d.expiry_date)
        yield Blocker(
            "document_expired",
            f"{person.full_name} — {latest.get_document_type_display().lower()} valid until "
            f"{latest.expiry_date.isoformat()}, before {ctx.describe_travel_date()}",
            person.pk,
        )


@register("visa", "Every member has a visa / COPR reference", order=20)
def visa_reference_recorded(ctx):
    for person in ctx.travelling_members:
        if not person.visa_reference.strip():
            yield Blocker("visa_missing", f"{person.full_name} — no visa / COPR reference recorded", person.pk)
