"""The case's history as people read it: who acted, and the data-change rows of the timeline.

State changes are logged by `movements.transitions`; changes to a case's data (the case form, documents, an
import) by `log_change` here. Both carry a structured payload (`data`) as well as their words.
"""

from django.utils import timezone

from movements.compiled import compiled_once
from movements.models import CaseChange, CaseTransition


def user_label(user):
    """How a user is named on pages, documents and in the history: full name, else user name."""
    return user.get_full_name() or user.get_username()


def actor_label(user, via=""):
    """How the history names who acted: the process (`via`, e.g. "referral import: file.csv"), else the user."""
    if via:
        return via[:200]
    if user is None:
        return "system"
    return user_label(user)[:200]


def log_change(case, *, by, summary, data=None, via="", at=None, summary_for_all=""):
    """One append-only data-change row on the case's timeline (field names, never values: the log is widely read).

    `summary_for_all`: the words for those who may not read clearance details (UNHCR), and for another member's
    own record, when `summary` tells a medical decision (kept in `data`, where the retention cleans names too)."""
    extra = {"at": at} if at is not None else {}
    data = dict(data or {})
    if summary_for_all:
        data[SUMMARY_FOR_ALL] = summary_for_all
    return CaseChange.objects.create(
        case=case, user=by, actor=actor_label(by, via), summary=summary, data=data, **extra
    )


SUMMARY_FOR_ALL = "summary_for_all"


def shown_summary(change, *, clearance_details):
    """A data change's words as this reader may read them (`log_change`'s `summary_for_all`)."""
    if clearance_details:
        return change.summary
    return (change.data or {}).get(SUMMARY_FOR_ALL) or change.summary


def name_forms(family, given, native=""):
    """The ways pages, logs and documents write one person's name: "Karimi, Zahra", "Zahra Karimi", "Karimi Zahra",
    and the name in their own script."""
    forms = set()
    if family and given:
        forms.update({f"{family}, {given}", f"{given} {family}", f"{family} {given}"})
    if native and len(native.strip()) >= 3:
        forms.add(native.strip())
    return forms


def names_written(case_ids):
    """Every member name the change log of these cases wrote in its structured data: members removed or added,
    edited under a name since changed, the person of a document change or of a travel event. Retention cleans log
    texts of these too, not only of the names the members bear today."""
    names = set()
    for data in CaseChange.objects.filter(case_id__in=case_ids).values_list("data", flat=True):
        if not isinstance(data, dict):
            continue
        for key in ("removed", "added"):
            names.update(n for n in data.get(key) or () if isinstance(n, str))
        if isinstance(data.get("members"), dict):
            names.update(n for n in data["members"] if isinstance(n, str))
        if isinstance(data.get("person"), str):
            names.add(data["person"])
    return {n.strip() for n in names if len(n.strip()) >= 3}


NEUTRAL_ACTOR = "IOM staff"
# Who holds or resumes a case says what kind of hold it is (a medical officer's hold is a medical one).
_TELLING_TRANSITIONS = {"hold", "resume"}


def shown_actor(entry, access):
    """Who the timeline names for this entry: roles that may not see clearance details read a neutral "IOM staff"
    for holds and resumptions, whose author would tell them the reason was medical."""
    if access.can_see_clearance_details:
        return entry.actor
    if getattr(entry, "transition", "") in _TELLING_TRANSITIONS:
        return NEUTRAL_ACTOR
    return entry.actor


def shown_time(at):
    """An entry's moment as lists show it, in the mission's time zone (as the template's date filter would):
    (ISO 8601 for `<time datetime>`, "2026-11-29 06:47")."""
    local = timezone.localtime(at)
    return local.isoformat(), f"{local:%Y-%m-%d %H:%M}"


def timeline(case):
    """State changes and data changes, newest first (each entry's `case` is this case)."""
    entries = [
        *compiled_once("history.transitions", lambda pk: CaseTransition.objects.filter(case_id=pk)
                       .order_by("-at", "-id"), case.pk),
        *compiled_once("history.changes", lambda pk: CaseChange.objects.filter(case_id=pk)
                       .order_by("-at", "-id"), case.pk),
    ]
    for entry in entries:
        entry._state.fields_cache["case"] = case
    return sorted(entries, key=lambda e: e.at, reverse=True)
