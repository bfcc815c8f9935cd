"""Case state changes, one service function per transition.

Each one locks the case row, checks the transition (django-fsm source state, permission and
conditions, plus the readiness registry for `clear`, `book` and `depart`), writes the
transition-log row in the same transaction, saves with the state field in `update_fields`, and
sends side effects to `transaction.on_commit`. A refusal raises `TransitionError` with a machine
code (tests assert it) and a plain message (the page shows it).
"""

from dataclasses import dataclass

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from django_fsm import ConcurrentTransition, can_proceed

from movements import readiness
from movements.models import REASON_MAX_LENGTH, Case, CaseState, CaseTransition

# Sent after the transaction that changed a case's state commits: sender=Case, case, record.
case_transitioned = Signal()


@dataclass(frozen=True)
class TransitionSpec:
    name: str
    label: str  # the button
    past: str  # "accepted", for messages
    reason_required: bool = False
    checks_readiness: bool = False
    style: str = ""  # "danger" for buttons that close or pause a case
    confirm: str = ""  # asked in the browser before a step that is hard to take back


SPECS = {
    spec.name: spec
    for spec in [
        TransitionSpec("accept", "Accept referral", "accepted"),
        TransitionSpec("approve", "Record approval", "approved"),
        TransitionSpec("reject", "Record refusal", "rejected", reason_required=True, style="danger",
                       confirm="Record that the destination country refused this case? This closes the case."),
        TransitionSpec("clear", "Clear for travel", "cleared for travel", checks_readiness=True),
        TransitionSpec("book", "Mark booked", "booked", checks_readiness=True),
        TransitionSpec("unbook", "Cancel booking", "unbooked", reason_required=True),
        TransitionSpec("depart", "Confirm departure", "departed", checks_readiness=True,
                       confirm="Confirm that this family has left on its departure today?"),
        TransitionSpec("arrive", "Confirm arrival", "arrived",
                       confirm="Confirm that this family has arrived at its destination?"),
        TransitionSpec("hold", "Put on hold", "put on hold", reason_required=True, style="danger"),
        TransitionSpec("resume", "Resume", "resumed"),
        TransitionSpec("withdraw", "Withdraw case", "withdrawn", reason_required=True, style="danger",
                       confirm="Withdraw this case? This closes it."),
    ]
}

CONFLICT_MESSAGE = (
    "This case changed while you were looking at it (someone else saved it first). "
    "Nothing was changed by you; check its current state below and try again if still needed."
)


class TransitionError(Exception):
    def __init__(self, code, message, blockers=()):
        super().__init__(message)
        self.code = code
        self.message = message
        self.blockers = list(blockers)


def _actor_label(user, via):
    if via:
        return via
    if user is None:
        return "system"
    return user.get_full_name() or user.get_username()


def _perform(case, name, *, by, reason="", expected_version=None, via=""):
    """Apply transition `name` to `case` as user `by` (None for a system process named by `via`)."""
    spec = SPECS.get(name)
    if spec is None:
        raise TransitionError("unknown_transition", f"“{name}” is not a case transition.")
    reason = (reason or "").strip()
    if spec.reason_required and not reason:
        raise TransitionError("reason_required", f"Give a reason: a case is not {spec.past} without one.")
    if len(reason) > REASON_MAX_LENGTH:
        raise TransitionError(
            "reason_too_long",
            f"The reason has {len(reason):,} characters; keep it to {REASON_MAX_LENGTH:,} (a few sentences).",
        )

    try:
        with transaction.atomic():
            # Lock the row: a second request on the same case waits here, then sees the first one's result.
            locked = Case.objects.select_for_update().get(pk=case.pk)
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
            if by is not None and not method._django_fsm.has_transition_perm(locked, locked.state, by):
                raise TransitionError("forbidden", f"You may not {spec.label.lower()} on this case.")
            if by is not None and name == "resume" and not may_resume(locked, by):
                raise TransitionError(
                    "forbidden",
                    "Only medical staff may lift a medical hold." if hold_is_medical(locked)
                    else "Only operations staff may resume a hold that operations put in place.",
                )
            if spec.checks_readiness:
                blockers = readiness.blockers_for(locked)
                if blockers:
                    count = len(blockers)
                    raise TransitionError(
                        "blocked",
                        f"This case cannot be {spec.past}: {count} readiness blocker{'s' if count != 1 else ''} "
                        "to resolve first.",
                        blockers,
                    )
            from_state = locked.state
            if name in ("hold", "withdraw"):
                method(reason=reason)
            else:
                method()
            locked.version += 1
            locked.state_changed_at = timezone.now()
            locked.save(
                update_fields=[
                    "state", "state_changed_at", "held_from", "hold_reason", "decision_date", "version", "updated_at"
                ]
            )
            record = CaseTransition.objects.create(
                case=locked,
                user=by,
                actor=_actor_label(by, via),
                transition=name,
                from_state=from_state,
                to_state=locked.state,
                reason=reason,
            )
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


def hold_is_medical(case):
    """Was the case put on hold for a medical reason (automatically, or by medical staff)?"""
    from movements.medical import AUTO_HOLD_REASON

    last = case.transitions.filter(transition="hold").select_related("user").order_by("-at", "-id").first()
    if last is None:
        return False
    return last.reason == AUTO_HOLD_REASON or (
        last.user is not None and last.user.has_perm("movements.view_medicalexam")
        and not last.user.has_perm("movements.move_case")
    )


def may_resume(case, user):
    """A medical hold is lifted by medical staff, any other hold by operations (superusers may do both)."""
    if user.is_superuser:
        return True
    if hold_is_medical(case):
        return user.has_perm("movements.view_medicalexam")
    return user.has_perm("movements.move_case")


def available_transitions(case, user):
    """The transitions this user may make from the case's state, in table order.

    Readiness conditions are not applied here: a `clear` blocked by readiness is still offered
    (the page shows it disabled, next to the blockers) so that users see what they are working towards.
    """
    names = {
        t.name for t in case.get_all_state_transitions()
        if t.source in (case.state, "*") and t.name in SPECS and t.has_perm(case, user)
    }
    if "resume" in names and not may_resume(case, user):
        names.discard("resume")
    return [spec for name, spec in SPECS.items() if name in names]


def record_creation(case, *, by, via=""):
    """Log the birth of a case (referral entered by hand or imported) as its first history row."""
    return CaseTransition.objects.create(
        case=case, user=by, actor=_actor_label(by, via), transition="create", from_state="",
        to_state=CaseState.REFERRED, reason="",
    )


# One service function per transition. `by` is the acting user, `expected_version` the version of
# the case the user was looking at (None skips the stale-page check, for scripts and imports).


def accept(case, *, by, expected_version=None, via=""):
    return _perform(case, "accept", by=by, expected_version=expected_version, via=via)


def approve(case, *, by, expected_version=None, via=""):
    return _perform(case, "approve", by=by, expected_version=expected_version, via=via)


def reject(case, *, by, reason, expected_version=None, via=""):
    return _perform(case, "reject", by=by, reason=reason, expected_version=expected_version, via=via)


def clear(case, *, by, expected_version=None, via=""):
    return _perform(case, "clear", by=by, expected_version=expected_version, via=via)


def book(case, *, by, expected_version=None, via=""):
    return _perform(case, "book", by=by, expected_version=expected_version, via=via)


def unbook(case, *, by, reason, expected_version=None, via=""):
    return _perform(case, "unbook", by=by, reason=reason, expected_version=expected_version, via=via)


def depart(case, *, by, expected_version=None, via=""):
    return _perform(case, "depart", by=by, expected_version=expected_version, via=via)


def arrive(case, *, by, expected_version=None, via=""):
    return _perform(case, "arrive", by=by, expected_version=expected_version, via=via)


def hold(case, *, by, reason, expected_version=None, via=""):
    return _perform(case, "hold", by=by, reason=reason, expected_version=expected_version, via=via)


def resume(case, *, by, expected_version=None, via=""):
    return _perform(case, "resume", by=by, expected_version=expected_version, via=via)


def withdraw(case, *, by, reason, expected_version=None, via=""):
    return _perform(case, "withdraw", by=by, reason=reason, expected_version=expected_version, via=via)


SERVICES = {
    "accept": accept, "approve": approve, "reject": reject, "clear": clear, "book": book, "unbook": unbook,
    "depart": depart, "arrive": arrive, "hold": hold, "resume": resume, "withdraw": withdraw,
}


def perform(case, name, *, by, reason="", expected_version=None, via=""):
    """Dispatch from a form post to the named service function."""
    service = SERVICES.get(name)
    if service is None:
        raise TransitionError("unknown_transition", f"“{name}” is not a case transition.")
    kwargs = {"by": by, "expected_version": expected_version, "via": via}
    if SPECS[name].reason_required:
        kwargs["reason"] = reason
    elif reason:
        # An optional note is still worth keeping in the log.
        return _perform(case, name, reason=reason, **kwargs)
    return service(case, **kwargs)
