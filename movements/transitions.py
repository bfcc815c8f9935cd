"""Case state changes: one table of transitions, one service that performs them.

Each transition locks the case row, checks it (django-fsm source state and permission, the table's guard,
the readiness blockers that gate it, the plug-ins' `hooks.before_transition`), writes the transition-log row
in the same transaction, saves with the state field in `update_fields`, and sends side effects to
`transaction.on_commit`. A refusal raises `TransitionError` with a machine code (tests assert it) and a plain
message (the page shows it).
"""

from dataclasses import dataclass, field

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from django_fsm import ConcurrentTransition, can_proceed

from movements import hooks, readiness
from movements.history import actor_label
from movements.models import REASON_MAX_LENGTH, Case, CaseState, CaseTransition, HoldCategory

# Sent after the transaction that changed a case's state commits: sender=Case, case, record.
case_transitioned = Signal()

MEDICAL_STAFF_PERM = "movements.view_medicalexam"
OPERATIONS_PERM = "movements.move_case"


class TransitionError(Exception):
    def __init__(self, code, message, blockers=()):
        super().__init__(message)
        self.code = code
        self.message = message
        self.blockers = list(blockers)


class Veto(TransitionError):
    """Raised by a `hooks.before_transition` provider to refuse a transition (code and plain message)."""


# --- guards: who may do what beyond the permission, given the case (None: allowed; else the refusal) ---------


def _hold_guard(case, user, category=None):
    if user is None or user.is_superuser or category is None:
        return None
    if category == HoldCategory.MEDICAL:
        if not user.has_perm(MEDICAL_STAFF_PERM):
            return "Only medical staff place a medical hold."
    elif not user.has_perm(OPERATIONS_PERM):
        return "Medical staff place medical holds only; operations place the others."
    return None


def _resume_guard(case, user, **params):
    if user is None or user.is_superuser:
        return None
    if case.hold_category == HoldCategory.MEDICAL:
        return None if user.has_perm(MEDICAL_STAFF_PERM) else "Only medical staff may lift a medical hold."
    if not user.has_perm(OPERATIONS_PERM):
        return "Only operations staff may resume a hold that operations put in place."
    return None


@dataclass(frozen=True)
class TransitionSpec:
    name: str
    label: str  # the button
    past: str  # "accepted", for messages
    permission: str  # who may perform it (django-fsm reads it from here)
    takes_reason: str = ""  # "required", "optional" or "" (none asked; a note given is still kept)
    gate: bool = False  # readiness blockers gating this transition refuse it
    guard: object = None  # guard(case, user, **params) -> None or the refusal, beyond the permission
    on_case_page: bool = True  # a person may press it on the case page
    style: str = ""  # "danger" for buttons that close or pause a case
    confirm: str = ""  # asked in the browser before a step that is hard to take back
    params: tuple = ()  # extra arguments the service takes (a hold's category); stored in the log row's data
    model_args: tuple = ()  # what the model's transition method is given, of the reason and the params

    @property
    def reason_required(self):
        return self.takes_reason == "required"

    @property
    def checks_readiness(self):
        return self.gate


SPECS = {
    spec.name: spec
    for spec in [
        TransitionSpec("accept", "Accept referral", "accepted", OPERATIONS_PERM),
        TransitionSpec("approve", "Record approval", "approved", OPERATIONS_PERM),
        TransitionSpec("reject", "Record refusal", "rejected", OPERATIONS_PERM, takes_reason="required",
                       style="danger",
                       confirm="Record that the destination country refused this case? This closes the case."),
        TransitionSpec("clear", "Clear for travel", "cleared for travel", OPERATIONS_PERM, gate=True),
        TransitionSpec("book", "Mark booked", "booked", OPERATIONS_PERM, gate=True),
        TransitionSpec("unbook", "Cancel booking", "unbooked", OPERATIONS_PERM, takes_reason="required"),
        TransitionSpec("depart", "Confirm departure", "departed", OPERATIONS_PERM, gate=True,
                       confirm="Confirm that this family has left on its departure today?"),
        TransitionSpec("arrive", "Confirm arrival", "arrived", OPERATIONS_PERM,
                       confirm="Confirm that this family has arrived at its destination?"),
        TransitionSpec("hold", "Put on hold", "put on hold", "movements.hold_case", takes_reason="required",
                       guard=_hold_guard, style="danger", params=("category",),
                       model_args=("reason", "category")),
        TransitionSpec("resume", "Resume", "resumed", "movements.hold_case", guard=_resume_guard),
        TransitionSpec("withdraw", "Withdraw case", "withdrawn", OPERATIONS_PERM, takes_reason="required",
                       style="danger", confirm="Withdraw this case? This closes it.", model_args=("reason",)),
    ]
}

CONFLICT_MESSAGE = (
    "This case changed while you were looking at it (someone else saved it first). "
    "Nothing was changed by you; check its current state below and try again if still needed."
)


@dataclass
class TransitionEvent:
    """What `hooks.before_transition` providers see: the locked case with its new state set, not yet saved."""

    case: Case
    name: str
    from_state: str
    to_state: str
    by: object
    reason: str
    data: dict = field(default_factory=dict)
    performer: str = ""


def owner_of(name):
    """(owner, message) of a transition a plug-in owns, or None (`hooks.transition_owners`)."""
    for registration in hooks.transition_owners.registrations:
        if name in registration.meta.get("transitions", ()):
            return registration.key, registration.meta.get("message", "")
    return None


def _owner_authorises(name, performer):
    """Whether the owner performing transition `name` checks who may perform it (`authorises=`)."""
    if not performer:
        return False
    for registration in hooks.transition_owners.registrations:
        if registration.key == performer and name in registration.meta.get("transitions", ()):
            return name in (registration.meta.get("authorises") or ())
    return False


def perform(case, name, *, by, reason="", expected_version=None, via="", performer="", data=None,
            readiness_context=None, **params):
    """Apply transition `name` to `case` as user `by` (None for a system process named by `via`).

    `performer` names the plug-in performing a transition it owns; `data` is stored on the log row; `params`
    are the transition's own arguments (a hold's `category`); `readiness_context`, for a caller moving many
    cases at once, one of `readiness.contexts_for` (what the gate reads, loaded for all of them together).
    """
    spec = SPECS.get(name)
    if spec is None:
        raise TransitionError("unknown_transition", f"“{name}” is not a case transition.")
    unknown = set(params) - set(spec.params)
    if unknown:
        raise TransitionError("bad_request", f"{spec.label} takes no {', '.join(sorted(unknown))}.")
    reason = (reason or "").strip()
    if spec.reason_required and not reason:
        raise TransitionError("reason_required", f"Give a reason: a case is not {spec.past} without one.")
    if len(reason) > REASON_MAX_LENGTH:
        raise TransitionError(
            "reason_too_long",
            f"The reason has {len(reason):,} characters; keep it to {REASON_MAX_LENGTH:,} (a few sentences).",
        )
    if name == "hold" and params.get("category") not in HoldCategory.values:
        raise TransitionError("category_required",
                              f"Say why the case is held: one of {', '.join(HoldCategory.labels).lower()}.")
    owner = owner_of(name)
    if owner is not None and owner[0] != performer:
        raise TransitionError("owned_elsewhere", owner[1] or f"A case is {spec.past} by the {owner[0]} app only.")

    try:
        with transaction.atomic():
            # Plug-ins first lock what their services lock before a case (`hooks.transition_locks`).
            for provider in hooks.transition_locks.providers:
                provider(case, name)
            # Lock the row: a second request on the same case waits here, then sees the first one's result.
            locked = Case.objects.select_for_update(no_key=True).get(pk=case.pk)
            if expected_version is not None and locked.version != expected_version:
                raise TransitionError("conflict", CONFLICT_MESSAGE)
            method = getattr(locked, name)
            if not can_proceed(method, check_conditions=False):
                raise TransitionError(
                    "not_allowed",
                    f"A case that is {locked.get_state_display().lower()} cannot be {spec.past}.",
                )
            # Not django_fsm.has_transition_perm: it is also false when a condition fails, which would
            # report a readiness blocker as "forbidden" instead of listing the blockers.
            if by is not None and not _owner_authorises(name, performer) \
                    and not method._django_fsm.has_transition_perm(locked, locked.state, by):
                raise TransitionError("forbidden", f"You may not {spec.label.lower()} on this case.")
            refusal = spec.guard(locked, by, **params) if spec.guard else None
            if refusal:
                raise TransitionError("forbidden", refusal)
            every_blocker = None
            if spec.gate:
                # Computed once: the fsm condition, the refusal and the snapshot after the change all read these.
                if readiness_context is not None:
                    readiness_context.case = locked
                else:
                    readiness_context = readiness.context_for(locked)
                every_blocker = locked._readiness_blockers = readiness.evaluate(locked, context=readiness_context)
                blockers = readiness.gating(every_blocker, name)
                if blockers:
                    count = len(blockers)
                    raise TransitionError(
                        "blocked",
                        f"This case cannot be {spec.past}: {count} readiness blocker{'s' if count != 1 else ''} "
                        "to resolve first.",
                        blockers,
                    )
            from_state = locked.state
            given = {"reason": reason, **params}
            method(**{arg: given[arg] for arg in spec.model_args})
            event = TransitionEvent(case=locked, name=name, from_state=from_state, to_state=locked.state, by=by,
                                    reason=reason, performer=performer,
                                    data={**(data or {}), **{f"{name}_{key}": value for key, value in params.items()}})
            for provider in hooks.before_transition.providers:
                provider(event)
            locked.version += 1
            locked.state_changed_at = locked.status_changed_at = timezone.now()
            locked.save(
                update_fields=[
                    "state", "state_changed_at", "status_changed_at", "held_from", "hold_category", "hold_reason",
                    "decision_date", "version", "updated_at",
                ]
            )
            record = CaseTransition.objects.create(
                case=locked,
                user=by,
                actor=actor_label(by, via),
                transition=name,
                from_state=from_state,
                to_state=locked.state,
                reason=reason,
                data=event.data,
            )
            # The snapshot holds the blockers of the case's next step, which the transition just changed.
            if every_blocker is not None and locked.state_policy.readiness and locked.readiness_gate:
                readiness.refresh_snapshot(locked, readiness.gating(every_blocker, locked.readiness_gate),
                                           context=readiness_context)
            else:
                readiness.refresh_snapshot(locked)
            transaction.on_commit(lambda: case_transitioned.send(sender=Case, case=locked, record=record))
    except ConcurrentTransition:
        raise TransitionError("conflict", CONFLICT_MESSAGE) from None
    except TransitionError as e:
        if e.code == "blocked":
            # The refusal rolled the transaction back; store the blockers after it, so lists and filters see them.
            readiness.refresh_snapshot(case, e.blockers)
        raise
    return locked


def available_transitions(case, user):
    """The transitions this user may press on the case page from the case's state, in table order.

    Readiness conditions are not applied here: a `clear` blocked by readiness is still offered
    (the page shows it disabled, next to the blockers) so that users see what they are working towards.
    Transitions a plug-in owns are performed on that plug-in's pages, not offered here.
    """
    names = {
        t.name for t in case.get_all_state_transitions()
        if t.source in (case.state, "*") and t.name in SPECS and t.has_perm(case, user)
    }
    return [
        spec for name, spec in SPECS.items()
        if name in names and spec.on_case_page and owner_of(name) is None
        and not (spec.guard and spec.guard(case, user))
    ]


def record_creation(case, *, by, via=""):
    """Log the birth of a case (referral entered by hand or imported) as its first history row."""
    return CaseTransition.objects.create(
        case=case, user=by, actor=actor_label(by, via), transition="create", from_state="",
        to_state=CaseState.REFERRED, reason="",
    )


# One named service per transition, for readable callers; each goes through `perform`. `by` is the acting user,
# `expected_version` the version of the case the user was looking at (None skips the stale-page check, for
# scripts and imports).


def accept(case, *, by, **kwargs):
    return perform(case, "accept", by=by, **kwargs)


def approve(case, *, by, **kwargs):
    return perform(case, "approve", by=by, **kwargs)


def reject(case, *, by, reason, **kwargs):
    return perform(case, "reject", by=by, reason=reason, **kwargs)


def clear(case, *, by, **kwargs):
    return perform(case, "clear", by=by, **kwargs)


def book(case, *, by, **kwargs):
    return perform(case, "book", by=by, **kwargs)


def unbook(case, *, by, reason, **kwargs):
    return perform(case, "unbook", by=by, reason=reason, **kwargs)


def depart(case, *, by, **kwargs):
    return perform(case, "depart", by=by, **kwargs)


def arrive(case, *, by, **kwargs):
    return perform(case, "arrive", by=by, **kwargs)


def hold(case, *, by, reason, category, **kwargs):
    return perform(case, "hold", by=by, reason=reason, category=category, **kwargs)


def resume(case, *, by, **kwargs):
    return perform(case, "resume", by=by, **kwargs)


def withdraw(case, *, by, reason, **kwargs):
    return perform(case, "withdraw", by=by, reason=reason, **kwargs)
