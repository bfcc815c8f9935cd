"""Changing a case's data (not its state): the case form's save, travel documents, and the rules both the
forms and the referral import keep — the state policy, one principal applicant at every moment, a change log.

Every door (the case form, the referral import, the admin) asks `check_editable` before it changes anything,
so they agree on what a case in each state allows (see `models.STATE_POLICY`).
"""

from django.db import IntegrityError, transaction
from django.db.models.deletion import ProtectedError

from movements import history
from movements.models import (
    STATUS_CASE_FIELDS, STATUS_PERSON_FIELDS, Case, Person, Relationship, status_changed,
)
from movements.words import in_sentence

# What each kind of change needs from the state policy, and how a refusal reads.
_WHAT = {
    "details": "its details can no longer be changed",
    "membership": "members can no longer be added or removed",
    "notes": "its notes can no longer be changed",
    "documents": "travel documents can no longer be changed",
}


class EditRefused(Exception):
    def __init__(self, code, message, field=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


def refusal(case, what):
    """Why a change of kind `what` (a column of the state policy) is refused for this case now, or None."""
    if getattr(case.state_policy, what):
        return None
    hint = " Cancel the booking first if the family's data must change." if case.state == "booked" else ""
    return f"Case {case.case_number} is {case.get_state_display().lower()}: {_WHAT[what]}.{hint}"


def check_editable(case, what):
    message = refusal(case, what)
    if message:
        raise EditRefused("locked_state", message)


def demote_principals(people):
    """Save the relationship of members who stop being the principal applicant before anyone becomes one.

    The database allows one PA per case at every moment (a unique constraint), so a PA swap — on the case
    form or in an import — writes the demotions in a statement of their own first.
    """
    if people:
        Person.objects.bulk_update(people, ["relationship"], batch_size=500)


def _demoted(formset):
    return [
        f.instance for f in formset.forms
        if f.instance.pk and f.initial.get("relationship") == Relationship.PA
        and f.cleaned_data.get("relationship") not in (None, Relationship.PA)
        and not (formset.can_delete and formset._should_delete_form(f))
    ]


def save_case(form, formset, *, by, creating):
    """Save a case form and its members' formset in one transaction; return the case.

    Editing checks the version the form was drawn from (someone else may have saved since) and the state
    policy, under the row lock. Raises EditRefused; nothing is saved then.
    """
    from movements.transitions import CONFLICT_MESSAGE, record_creation

    try:
        with transaction.atomic():
            case = form.save(commit=False)
            if creating:
                case.save()
                record_creation(case, by=by)
            else:
                locked = Case.objects.select_for_update(no_key=True).get(pk=case.pk)
                if form.cleaned_data.get("version") != locked.version:
                    raise EditRefused("conflict", CONFLICT_MESSAGE)
                fields = [f for f in form.Meta.fields if f in form.fields]
                check_editable(locked, "details" if set(fields) - {"notes"} else "notes")
                if formset is not None and formset.has_changed():
                    check_editable(locked, "details")
                    adds = any(not f.instance.pk and f.has_changed() for f in formset.forms)
                    if adds or formset.deleted_forms:
                        check_editable(locked, "membership")
                case.version = locked.version + 1
                case.save(update_fields=[*fields, "version", "updated_at"])
            if formset is not None:
                formset.instance = case
                members = formset.save(commit=False)
                for removed in formset.deleted_objects:
                    removed.delete()
                demoted = _demoted(formset)
                demote_principals(demoted)
                for member in members:
                    member.save()
                if not creating and (formset.deleted_objects or formset.new_objects or any(
                        STATUS_PERSON_FIELDS & set(f.changed_data) for f in formset.forms if f.instance.pk)):
                    # A member added or removed, or a name or id corrected: a row of UNHCR's status export appears,
                    # goes or changes.
                    status_changed([case.pk])
            if not creating and STATUS_CASE_FIELDS & set(form.changed_data):
                status_changed([case.pk])  # the proGres case id or the destination, on every row of the case
            if not creating:
                _log_edit(by, case, form, formset)
    except IntegrityError:
        raise EditRefused(
            "clash",
            "These changes clash with data saved meanwhile (a proGres id now used elsewhere, or two principal "
            "applicants). Nothing was saved; check the ids and try again.",
        ) from None
    return case


def _labels(form, names):
    """The changed fields as the form labels them ("planned travel date, visa / COPR reference"): the timeline is
    read by people. The change's data keeps the field names."""
    said = []
    for name in names:
        field = form.fields.get(name)
        label = str(field.label) if field is not None and field.label else name.replace("_", " ")
        said.append(label if label[:2].isupper() else label[:1].lower() + label[1:])  # "IME date" stays
    return ", ".join(said)


def _log_edit(user, case, form, formset):
    """One CaseChange row naming what changed (field names, never values: the log is widely read)."""
    parts = []
    data = {}
    case_fields = [f for f in form.changed_data if f != "version"]
    if case_fields:
        parts.append(f"case ({_labels(form, case_fields)})")
        data["case"] = case_fields
    for member in formset.forms if formset is not None else ():
        name = member.instance.full_name
        if member in formset.deleted_forms:
            parts.append(f"removed {name}")
            data.setdefault("removed", []).append(name)
        elif member.has_changed():
            if member.instance.pk and member.initial:
                parts.append(f"{name} ({_labels(member, member.changed_data)})")
                data.setdefault("members", {})[name] = list(member.changed_data)
            else:
                parts.append(f"added {name}")
                data.setdefault("added", []).append(name)
    if parts:
        history.log_change(case, by=user, summary="Edited: " + "; ".join(parts), data=data)


def save_documents(case, person, formset, *, by):
    """Save a person's travel documents formset; log kinds and fields, never numbers. Raises EditRefused."""
    check_editable(case, "documents")
    try:
        with transaction.atomic():
            formset.save()
            parts = [f"added {in_sentence(d.get_document_type_display())}" for d in formset.new_objects]
            parts += [f"changed {in_sentence(d.get_document_type_display())} ({', '.join(fields)})"
                      for d, fields in formset.changed_objects]
            parts += [f"removed {in_sentence(d.get_document_type_display())}" for d in formset.deleted_objects]
            if parts:
                history.log_change(
                    case, by=by, summary=f"Travel documents of {person.full_name}: " + "; ".join(parts),
                    data={"person": person.full_name, "documents": parts},
                )
    except ProtectedError as e:
        kinds = sorted({str(obj._meta.verbose_name_plural) for obj in e.protected_objects})
        raise EditRefused(
            "protected", f"This document cannot be deleted: {', '.join(kinds)} refer to it. Nothing was saved."
        ) from None
    except IntegrityError:
        raise EditRefused(
            "duplicate_document",
            "A document with this type, country and number is already recorded (perhaps for someone else).",
        ) from None
    return bool(formset.new_objects or formset.changed_objects or formset.deleted_objects)
