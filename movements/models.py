import calendar
import datetime
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, RegexValidator
from django.db import models, transaction
from django.utils.functional import cached_property
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition
from phonenumber_field.modelfields import PhoneNumberField

from movements import mrz
from movements.countries import COUNTRY_CHOICES, NATIONALITY_CHOICES, country_name
from movements.search import person_search_text
from movements.ssr import combined_ssr, parse_ssr, validate_ssr
from movements.words import control_character_refusal


class CaseState(models.TextChoices):
    """State codes are a contract (DESIGN.md): exports and APIs use them."""

    REFERRED = "referred", "Referred"
    IN_PROCESSING = "in_processing", "In processing"
    APPROVED = "approved", "Approved"
    READY = "ready", "Ready to travel"
    BOOKED = "booked", "Booked"
    DEPARTED = "departed", "Departed"
    ARRIVED = "arrived", "Arrived"
    ON_HOLD = "on_hold", "On hold"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"

    @property
    def policy(self):
        """This state's row of STATE_POLICY."""
        return STATE_POLICY[self]


S = CaseState


@dataclass(frozen=True)
class StatePolicy:
    """What a case in one state allows. One row per state, read by the forms, the referral import, the admin and
    the services alike (STYLE.md 12): nothing else decides these questions.

    - `details`: the referral details and the members' details (names, dates of birth, relationships, phone,
      needs, visa) may be changed — by operations on the case form, by a referral import, in the admin.
      Once a case is booked the departure's passenger list and the manifest depend on them: unbook first.
    - `membership`: members may be added or removed (the same doors).
    - `notes`: operations' case notes may still be written.
    - `documents`: travel documents may be recorded (a booked family's renewed passport must be).
    - `readiness`: readiness is computed, shown and stored.
    - `preparing`: accepted by the destination and not yet gone: orientation enrols these cases, the dashboard
      lists those that are blocked.
    - `holdable`: `hold` applies (and so `resume` may return here).
    - `final`: the case is closed.
    - `gate`: the transition whose readiness blockers count as "blocking now" in this state.
    """

    details: bool
    membership: bool
    notes: bool
    documents: bool
    readiness: bool
    preparing: bool
    holdable: bool
    final: bool
    gate: str = ""


STATE_POLICY = {
    #                 details membership notes documents readiness preparing holdable final  gate
    S.REFERRED:      StatePolicy(True,  True,  True,  True,  False, False, True,  False, ""),
    S.IN_PROCESSING: StatePolicy(True,  True,  True,  True,  True,  False, True,  False, "clear"),
    S.APPROVED:      StatePolicy(True,  True,  True,  True,  True,  True,  True,  False, "clear"),
    S.READY:         StatePolicy(True,  True,  True,  True,  True,  True,  True,  False, "book"),
    S.BOOKED:        StatePolicy(False, False, True,  True,  True,  True,  True,  False, "depart"),
    S.DEPARTED:      StatePolicy(False, False, False, False, False, False, False, False, ""),
    S.ARRIVED:       StatePolicy(False, False, False, False, False, False, False, True,  ""),
    S.ON_HOLD:       StatePolicy(True,  True,  True,  True,  True,  False, False, False, ""),
    S.REJECTED:      StatePolicy(False, False, False, False, False, False, False, True,  ""),
    S.WITHDRAWN:     StatePolicy(False, False, False, False, False, False, False, True,  ""),
}


def states_where(column):
    """The states whose policy row has `column` set, in the order of CaseState: `states_where("details")`."""
    return [state for state in CaseState if getattr(STATE_POLICY[state], column)]


HOLDABLE_STATES = states_where("holdable")
WITHDRAWABLE_STATES = HOLDABLE_STATES + [S.ON_HOLD]
FINAL_STATES = set(states_where("final"))
READINESS_STATES = set(states_where("readiness"))


class HoldCategory(models.TextChoices):
    """Why a case is paused, chosen when the hold is placed; it decides who may lift it."""

    MEDICAL = "medical", "Medical"
    DOCUMENTS = "documents", "Documents"
    SECURITY = "security", "Security"
    FAMILY = "family", "Family circumstances"
    OTHER = "other", "Other"


class Priority(models.TextChoices):
    EMERGENCY = "emergency", "Emergency"
    URGENT = "urgent", "Urgent"
    NORMAL = "normal", "Normal"


class Relationship(models.TextChoices):
    PA = "PA", "Principal applicant"
    SPS = "SPS", "Spouse"
    CHD = "CHD", "Child"
    PAR = "PAR", "Parent"
    SIB = "SIB", "Sibling"
    OTH = "OTH", "Other"


# Letters only Pashto writes among the Arabic-script languages of the caseload (ټ ډ ړ ږ ښ ګ ڼ ۍ ې), and only
# Uzbek among its Cyrillic ones (ў).
PASHTO_LETTERS = set("\u067c\u0689\u0693\u0696\u069a\u06ab\u06bc\u06cd\u06d0")
UZBEK_LETTERS = set("\u040e\u045e")


def native_lang(text):
    """A language tag for a name in its own script, so that browsers shape it and screen readers read it in the
    right voice: Pashto or else Dari for the Arabic script, Uzbek or else Tajik for Cyrillic (the languages of the
    mission's caseload); "" when unknown. A name is short: a letter only one language writes decides."""
    text = text or ""
    if any("\u0600" <= char <= "\u06ff" for char in text):
        return "ps" if PASHTO_LETTERS.intersection(text) else "fa"
    if any("\u0400" <= char <= "\u04ff" for char in text):
        return "uz" if UZBEK_LETTERS.intersection(text) else "tg"
    return ""


def family_order(relationship, date_of_birth, pk):
    """How every page and printed list orders a family's members, so that the paper and the screen agree: the
    principal applicant, the spouse, then the others oldest first. People sort by `Person.family_position`; rows
    read as values (the manifest's) by this."""
    return ({Relationship.PA: 0, Relationship.SPS: 1}.get(relationship, 2), date_of_birth, pk)


class Language(models.TextChoices):
    """Languages people are taught and interviewed in (ISO 639-3 codes)."""

    DARI = "prs", "Dari"
    PASHTO = "pus", "Pashto"
    TAJIK = "tgk", "Tajik"
    UZBEK = "uzb", "Uzbek"
    FARSI = "fas", "Farsi"
    RUSSIAN = "rus", "Russian"
    ARABIC = "ara", "Arabic"
    URDU = "urd", "Urdu"
    ENGLISH = "eng", "English"


class Sex(models.TextChoices):
    F = "F", "Female"
    M = "M", "Male"
    X = "X", "Unspecified"


# The case list's sort by travel date: cases with no date last (a date no case flies on stands in for none).
NO_TRAVEL_DATE = datetime.date(9999, 12, 31)
FLIES_ON_KEY = Coalesce("flies_on", models.Value(NO_TRAVEL_DATE), output_field=models.DateField())

# Emergencies first, then urgent, then normal: the order of the case list (indexed, see Case.Meta).
PRIORITY_RANK = models.Case(
    models.When(priority=Priority.EMERGENCY, then=models.Value(0)),
    models.When(priority=Priority.URGENT, then=models.Value(1)),
    default=models.Value(2),
    output_field=models.IntegerField(),
)

# The one place for the shapes of UNHCR's codes: the models' validators and the referral import use these.
PROGRES_ID_PATTERN = re.compile(r"^[0-9A-Z][0-9A-Z-]{4,39}$")
CATEGORY_PATTERN = re.compile(r"^[A-Z]{1,10}$")

# Free text is capped at what a person writes (a 5,000,000-character case note was once accepted and shown to
# every role): forms say so field by field, and the validators cover the admin; services check reasons themselves.
NOTE_MAX_LENGTH = 5000
REASON_MAX_LENGTH = 2000


def note_field(verbose_name=None, **kwargs):
    return models.TextField(verbose_name, blank=True, max_length=NOTE_MAX_LENGTH,
                            validators=[MaxLengthValidator(NOTE_MAX_LENGTH)], **kwargs)


def reason_field(**kwargs):
    return models.TextField(blank=True, max_length=REASON_MAX_LENGTH, validators=[MaxLengthValidator(REASON_MAX_LENGTH)],
                            **kwargs)


progres_id_validator = RegexValidator(
    PROGRES_ID_PATTERN,
    "Use the proGres id as UNHCR writes it: capital letters, digits and dashes, e.g. 123-45C67890.",
    code="invalid_progres_id",
)
category_validator = RegexValidator(
    CATEGORY_PATTERN, "A submission category is up to 10 capital letters, e.g. LPN or SVT.", code="invalid_category"
)


def _no_blockers_gating(transition_name):
    """A django-fsm condition: no readiness blocker refuses `transition_name`.

    The transition service computes the blockers once and leaves them on the locked case (`_readiness_blockers`)
    so that the condition, the refusal message and the stored snapshot share one computation.
    """

    def condition(case):
        from movements.readiness import blockers_for

        blockers = getattr(case, "_readiness_blockers", None)
        if blockers is None:
            blockers = blockers_for(case)
        return not any(b.gating(transition_name) for b in blockers)

    condition.__name__ = f"nothing_blocks_{transition_name}"
    return condition


def _may(transition_name):
    """django-fsm `permission=`: the permission that the transition table (movements.transitions.SPECS) names."""

    def check(case, user):
        from movements.transitions import SPECS

        return user.has_perm(SPECS[transition_name].permission)

    check.__name__ = f"may_{transition_name}"
    return check


ready_to_clear = _no_blockers_gating("clear")
ready_to_book = _no_blockers_gating("book")
ready_to_depart = _no_blockers_gating("depart")


class CaseNumberCounter(models.Model):
    """The last case number handed out per prefix and year; a row lock makes numbers unique and gapless."""

    prefix = models.CharField(max_length=10)
    year = models.PositiveSmallIntegerField()
    last_value = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["prefix", "year"], name="unique_counter_per_prefix_year")]

    @classmethod
    def next_number(cls, prefix, year):
        return cls.reserve(prefix, year, 1)[0]

    @classmethod
    def reserve(cls, prefix, year, count):
        """Hand out `count` consecutive case numbers in two queries (the import numbers thousands at once)."""
        with transaction.atomic():
            cls.objects.bulk_create([cls(prefix=prefix, year=year)], ignore_conflicts=True)
            # The UPDATE takes the row lock, so concurrent callers queue here and each gets its own values.
            cls.objects.filter(prefix=prefix, year=year).update(last_value=F("last_value") + count)
            last = cls.objects.get(prefix=prefix, year=year).last_value
        return [f"{prefix}-{year}-{value:05d}" for value in range(last - count + 1, last + 1)]


# Blocked where it matters: a case being prepared for travel (the state policy's "preparing" column) with blockers.
NEEDS_ATTENTION = Q(state__in=states_where("preparing"), blocker_count__gt=0)


# What the status export (DESIGN.md) says of a case and of each member besides its state: a correction of one of
# these reaches UNHCR with the next "changed since" export, as a state change does.
STATUS_CASE_FIELDS = frozenset({"progres_case_id", "destination_country"})
STATUS_PERSON_FIELDS = frozenset({"progres_individual_id", "family_name", "given_name"})


def status_changed(case_ids, at=None):
    """Say that the status export's rows of these cases changed without a transition (`Case.status_changed_at`),
    so that UNHCR's next "changed since" delta carries them."""
    case_ids = list(case_ids)
    if case_ids:
        # Never earlier than it was: a change told with the moment it happened (`at`) must not hide a later one.
        at = at or timezone.now()
        Case.objects.filter(pk__in=case_ids).update(status_changed_at=Greatest("status_changed_at", Value(at)))


def refuse_control_characters(instance, *, multi_line=()):
    """Model validation (the admin's forms run it): no text field holds a control character, as the app's own forms
    (`forms.PrintableText`) and the referral import refuse them. One pasted from a word processor (U+000B, its line
    break) would reach the manifest, the airline's passenger data and UNHCR's export, whose XLSX cannot hold it."""
    found = {}
    for field in instance._meta.concrete_fields:
        value = getattr(instance, field.attname, None)
        if not isinstance(value, str) or not isinstance(field, models.CharField | models.TextField):
            continue
        if refusal := control_character_refusal(value, multi_line=field.name in multi_line):
            found[field.name] = refusal
    if found:
        raise ValidationError(found)


class Case(ConcurrentTransitionMixin, models.Model):
    case_number = models.CharField(max_length=30, unique=True, editable=False)
    progres_case_id = models.CharField(
        "proGres case id", max_length=40, unique=True, validators=[progres_id_validator],
        error_messages={"unique": "Another case already has this proGres case id."},
    )
    destination_country = models.CharField(max_length=3, choices=COUNTRY_CHOICES, default="CAN")
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    submission_category = models.CharField(max_length=10, blank=True, validators=[category_validator])
    referral_date = models.DateField()

    # The state is changed only by the transitions below, through movements.transitions.
    state = FSMField(default=S.REFERRED, choices=CaseState.choices, protected=True, db_index=True)
    state_changed_at = models.DateTimeField(default=timezone.now)
    # When what the status export says of this case's members last changed: each transition, and what changes a
    # member's row without one (a member excluded from travel or included again, a member added or removed, the
    # booked departure's flights moved). UNHCR's weekly delta ("changed since") reads this; `state_changed_at` stays
    # the export's status_date, "the date of the last transition" (DESIGN.md). See `status_changed`.
    status_changed_at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    held_from = models.CharField(max_length=20, choices=CaseState.choices, blank=True)
    hold_category = models.CharField(max_length=10, choices=HoldCategory.choices, blank=True)
    hold_reason = reason_field()
    decision_date = models.DateField(null=True, blank=True)
    planned_travel_date = models.DateField(null=True, blank=True)
    notes = note_field(help_text="Read by every role that sees the case, UNHCR included: no medical details.")

    # Optimistic concurrency for edits and transitions: a form posts the version it was drawn from.
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Snapshot of the readiness registry, for lists and filters; the case page and transitions recompute it.
    # `blockers` holds them all; `blocker_count` those that block now (not those due before boarding, which can only
    # be met in the days before the flight: `readiness.blocking`).
    blocker_count = models.PositiveSmallIntegerField(default=0, db_index=True)
    blockers = models.JSONField(default=list, blank=True)
    readiness_checked_at = models.DateTimeField(null=True, blank=True)
    # When the case is expected to fly, for the list's "flies within N days" filter and its sort by date: the
    # date of its departure once a plug-in plans it on one (`hooks.travel_plans`), else the planned travel date.
    # Kept with the readiness snapshot (`readiness.refresh_snapshot`), which every such change already refreshes.
    flies_on = models.DateField(null=True, blank=True, editable=False)
    # How many of the stored blockers are medical (confidential): the medical work list is these cases'.
    medical_blocker_count = models.PositiveSmallIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["-referral_date", "-id"]
        indexes = [
            # The list's order and its keyset pages. The columns its keys and filter are made of ride along
            # (INCLUDE, on PostgreSQL): a page by number (`?page=150`) then walks the index alone to its offset,
            # without reading 7,500 rows of the table for their priority and state.
            models.Index(PRIORITY_RANK, "referral_date", "id", name="case_list_order", include=["priority", "state"]),
            # The list sorted by travel date (soonest first, undated last) and its keyset pages.
            models.Index(FLIES_ON_KEY, "id", name="case_travel_order", include=["flies_on", "state"]),
            # The medical work list: cases with medical blockers, by due date.
            models.Index(FLIES_ON_KEY, "id", condition=Q(medical_blocker_count__gt=0), name="case_medical_due"),
            models.Index(fields=["state", "priority"]),
            models.Index(fields=["destination_country"]),
            # The dashboard's "needs attention" cards (blocked where it matters, ACTIONABLE below): its first rows
            # and counts from small partial indexes, not a sort of every blocked case.
            models.Index(PRIORITY_RANK, "planned_travel_date", "id", condition=NEEDS_ATTENTION,
                         name="case_attention_order"),
            models.Index("flies_on", PRIORITY_RANK, "id", condition=NEEDS_ATTENTION, name="case_attention_soon"),
        ]
        permissions = [
            ("move_case", "Can move a case through its states"),
            ("hold_case", "Can put a case on hold and resume it"),
            ("view_contact_details", "Can see phone numbers"),
            ("view_travel_documents", "Can see travel document numbers"),
            ("view_clearance_details", "Can see medical clearance, travel needs and hold reasons"),
        ]

    def __str__(self):
        return self.case_number or self.progres_case_id

    def save(self, *args, **kwargs):
        if not self.case_number:
            today = timezone.localdate()
            self.case_number = CaseNumberCounter.next_number(settings.SAFAR_CASE_NUMBER_PREFIX, today.year)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("Cases are never deleted; withdraw the case instead.", code="case_delete")

    @property
    def is_final(self):
        return self.state in FINAL_STATES

    @property
    def state_policy(self):
        return STATE_POLICY[self.state]

    def clean(self):
        super().clean()
        refuse_control_characters(self, multi_line=("notes", "hold_reason"))

    def get_destination_country_display(self):
        """"Canada": a dictionary look-up (Django's own builds a dictionary of some 250 countries at each call,
        65 µs)."""
        return country_name(self.destination_country)

    @property
    def readiness_gate(self):
        """The transition whose blockers stop this case now (a held case: the one of the state it was held from)."""
        if self.state == S.ON_HOLD:
            return STATE_POLICY[self.resume_state].gate if self.held_from else "clear"
        return self.state_policy.gate

    @property
    def resume_state(self):
        """Where `resume` would return this held case: a plug-in may say (`hooks.resume_targets`: held while booked,
        its seats released since, back to ready), else the state it was held from."""
        from movements import hooks

        return hooks.resume_targets.first(self) or self.held_from or S.REFERRED

    @property
    def resume_state_label(self):
        return CaseState(self.resume_state).label

    @cached_property
    def travel_plan(self):
        """The plug-ins' plan for this case's travel (its departure), or None: see `hooks.travel_plans`."""
        from movements.readiness import travel_plan_for

        return travel_plan_for(self)

    @property
    def travel_date(self):
        """The date readiness is checked against: the departure's once the case is planned on one; else the planned
        travel date, or today when none is set or it has passed (a document that expired since must still block)."""
        if self.travel_plan is not None and self.travel_plan.date is not None:
            return self.travel_plan.date
        today = timezone.localdate()
        return max(self.planned_travel_date or today, today)

    @property
    def journey_end(self):
        """The last day of the case's journey (its departure's arrival, when later than its date), else the travel
        date: documents and the IME must be valid until then (`readiness.ReadinessContext.journey_end`)."""
        plan = self.travel_plan
        last = plan.last_date if plan is not None and plan.date is not None else None
        return max(last or self.travel_date, self.travel_date)

    @property
    def planned_travel(self):
        """How the case page names the date readiness is checked against: "2026-12-09 (DEP-20261209-YYZ)" once a
        plug-in plans the case on a departure, the planned travel date, or "" when none is known."""
        plan = self.travel_plan
        if plan is not None and plan.date is not None:
            return f"{plan.date.isoformat()} ({plan.label})" if plan.label else plan.date.isoformat()
        return self.planned_travel_date.isoformat() if self.planned_travel_date else ""

    # --- transitions: the whole life of a case, in one place (`manage.py graph_transitions`) ---

    @transition(field=state, source=S.REFERRED, target=S.IN_PROCESSING, permission=_may("accept"))
    def accept(self):
        pass

    @transition(field=state, source=S.IN_PROCESSING, target=S.APPROVED, permission=_may("approve"))
    def approve(self):
        self.decision_date = self.decision_date or timezone.localdate()

    @transition(field=state, source=S.IN_PROCESSING, target=S.REJECTED, permission=_may("reject"))
    def reject(self):
        self.decision_date = self.decision_date or timezone.localdate()

    @transition(
        field=state, source=S.APPROVED, target=S.READY, conditions=[ready_to_clear], permission=_may("clear")
    )
    def clear(self):
        pass

    @transition(
        field=state, source=S.READY, target=S.BOOKED, conditions=[ready_to_book], permission=_may("book")
    )
    def book(self):
        pass

    @transition(field=state, source=S.BOOKED, target=S.READY, permission=_may("unbook"))
    def unbook(self):
        pass

    @transition(
        field=state, source=S.BOOKED, target=S.DEPARTED, conditions=[ready_to_depart], permission=_may("depart")
    )
    def depart(self):
        pass

    @transition(field=state, source=S.DEPARTED, target=S.ARRIVED, permission=_may("arrive"))
    def arrive(self):
        pass

    @transition(field=state, source=HOLDABLE_STATES, target=S.ON_HOLD, permission=_may("hold"))
    def hold(self, reason="", category=HoldCategory.OTHER):
        self.held_from = self.state
        self.hold_reason = reason
        self.hold_category = category

    @transition(
        field=state, source=S.ON_HOLD, target=RETURN_VALUE(*HOLDABLE_STATES), permission=_may("resume")
    )
    def resume(self):
        # A plug-in may send the case elsewhere (held while booked, its seats released since: back to ready).
        previous = self.resume_state
        self.held_from = ""
        self.hold_reason = ""
        self.hold_category = ""
        return previous

    @transition(field=state, source=WITHDRAWABLE_STATES, target=S.WITHDRAWN, permission=_may("withdraw"))
    def withdraw(self, reason=""):
        self.held_from = ""
        self.hold_reason = ""
        self.hold_category = ""


class Person(models.Model):
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="members")
    progres_individual_id = models.CharField(
        "proGres individual id", max_length=40, unique=True, validators=[progres_id_validator],
        error_messages={"unique": "Another person already has this proGres individual id."},
    )
    relationship = models.CharField(max_length=3, choices=Relationship.choices)
    family_name = models.CharField(max_length=100, help_text="Latin script, as on the travel document.")
    given_name = models.CharField(max_length=100, help_text="Latin script, as on the travel document.")
    native_name = models.CharField(
        "name in own script", max_length=200, blank=True, help_text="Dari, Pashto, Tajik Cyrillic, …"
    )
    sex = models.CharField(max_length=1, choices=Sex.choices)
    date_of_birth = models.DateField()
    nationality = models.CharField(max_length=3, choices=NATIONALITY_CHOICES)
    phone = PhoneNumberField(blank=True)
    phone_region = models.CharField(
        "phone read in region", max_length=2, blank=True,
        help_text="Set when the number was written without a country code and read as a number of this region.",
    )
    language = models.CharField(
        "language", max_length=3, choices=Language.choices, blank=True,
        help_text="The language the person learns best in (orientation groups are formed by it).",
    )
    special_needs = models.CharField(
        "special needs (IATA SSR)", max_length=100, blank=True, validators=[validate_ssr],
        help_text="Codes separated by semicolons, e.g. WCHR;MEDA.",
    )
    visa_reference = models.CharField(
        "visa / COPR reference", max_length=40, blank=True,
        help_text="The visa or Confirmation of Permanent Residence number issued for this person.",
    )
    search_text = models.TextField(editable=False, blank=True, db_index=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["case_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=Q(relationship="PA"), name="one_principal_applicant_per_case"
            ),
        ]

    def __str__(self):
        return self.full_name

    @property
    def family_position(self):
        """This member's place in the order every page and printed list gives a family (`family_order`)."""
        return family_order(self.relationship, self.date_of_birth, self.pk)

    @property
    def full_name(self):
        """Family name first, as on a manifest: `Karimi, Zahra`."""
        return f"{self.family_name}, {self.given_name}"

    @property
    def native_lang(self):
        """A language tag for the native name, so browsers pick the right shaping and fonts."""
        return native_lang(self.native_name)

    @property
    def ssr_codes(self):
        """Codes entered by hand plus those that follow from travel medical needs, without repeats."""
        return combined_ssr(self.special_needs, self.needs_or_none)

    @property
    def declared_ssr_codes(self):
        """Only the codes entered with the person (the referral or operations), none from medical records."""
        return parse_ssr(self.special_needs)

    @property
    def needs_or_none(self):
        try:
            return self.medical_needs
        except Person.medical_needs.RelatedObjectDoesNotExist:
            return None

    def age_on(self, day):
        years = day.year - self.date_of_birth.year
        if (day.month, day.day) < (self.date_of_birth.month, self.date_of_birth.day):
            years -= 1
        return years

    @property
    def age(self):
        return self.age_on(timezone.localdate())

    def clean(self):
        super().clean()
        refuse_control_characters(self)
        if self.date_of_birth and self.date_of_birth > timezone.localdate():
            raise ValidationError({"date_of_birth": "The date of birth is in the future."})
        if self.date_of_birth and self.date_of_birth < datetime.date(1900, 1, 1):
            raise ValidationError({"date_of_birth": "The date of birth is before 1900; check the year."})
        if self.special_needs:
            self.special_needs = ";".join(parse_ssr(self.special_needs))

    def save(self, *args, **kwargs):
        self.family_name = self.family_name.strip()
        self.given_name = self.given_name.strip()
        self.native_name = self.native_name.strip()
        self.search_text = person_search_text(self.family_name, self.given_name, self.native_name)
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = set(kwargs["update_fields"]) | {"search_text"}
        super().save(*args, **kwargs)


def _mrz_date(yymmdd, past=False):
    """YYMMDD from a machine-readable zone as an ISO date (birth dates in the past, expiry dates ahead)."""
    year = 2000 + int(yymmdd[0:2])
    if past and year > timezone.localdate().year:
        year -= 100
    return f"{year}-{yymmdd[2:4]}-{yymmdd[4:6]}"


ICRC_VALID_MONTHS = 3


def _months_after(day, months):
    """The same day `months` later, or the month's last day when it has no such day (30 November + 3: 28 February)."""
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


class DocumentType(models.TextChoices):
    PASSPORT = "passport", "Passport"
    ICRC = "icrc", "ICRC travel document"
    SINGLE_JOURNEY = "single_journey", "Single-journey document (IMM 5485)"
    CONVENTION = "convention", "Convention travel document"
    OTHER = "other", "Other travel document"


class TravelDocument(models.Model):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="documents")
    document_type = models.CharField(max_length=20, choices=DocumentType.choices, default=DocumentType.PASSPORT)
    number = models.CharField(
        max_length=20,
        validators=[RegexValidator(r"^[A-Z0-9]{3,20}$", "Capital letters and digits only, as printed.")],
    )
    issuing_country = models.CharField(max_length=3, choices=NATIONALITY_CHOICES)
    expiry_date = models.DateField()
    mrz_line1 = models.CharField("MRZ line 1", max_length=44, blank=True)
    mrz_line2 = models.CharField("MRZ line 2", max_length=44, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-expiry_date", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["document_type", "issuing_country", "number"], name="unique_travel_document"
            ),
        ]

    def __str__(self):
        return f"{self.get_document_type_display()} {self.number}"

    def clean(self):
        super().clean()
        self.number = (self.number or "").strip().upper()
        self.mrz_line1 = mrz.clean_line(self.mrz_line1)
        self.mrz_line2 = mrz.clean_line(self.mrz_line2)
        if bool(self.mrz_line1) != bool(self.mrz_line2):
            field = "mrz_line2" if self.mrz_line1 else "mrz_line1"
            raise ValidationError({field: "Give both MRZ lines, or neither."})
        if self.document_type == DocumentType.ICRC and self.expiry_date and self._type_or_expiry_changed():
            # DOMAIN.md: valid 3 months at most (so issued last), and issued today at the latest. Checked as it is
            # entered: a document recorded before is not what the person editing its neighbours came to change.
            latest = _months_after(timezone.localdate(), ICRC_VALID_MONTHS)
            if self.expiry_date > latest:
                raise ValidationError({"expiry_date": (
                    f"An ICRC travel document is valid for {ICRC_VALID_MONTHS} months at most: an expiry after "
                    f"{latest.isoformat()} cannot be right. Check the date.")})
        if not self.mrz_line1:
            return
        try:
            parsed = mrz.parse_td3(self.mrz_line1, self.mrz_line2)
        except mrz.MRZError as e:
            raise ValidationError({"mrz_line2" if "line 1" not in e.message else "mrz_line1": e.message}) from None
        errors = {}
        if self.number and parsed.document_number != self.number:
            errors["number"] = f"The MRZ gives document number {parsed.document_number}, not {self.number}."
        if self.expiry_date and parsed.expiry_date != self.expiry_date.strftime("%y%m%d"):
            errors["expiry_date"] = (
                f"The MRZ gives expiry {_mrz_date(parsed.expiry_date)}, not {self.expiry_date.isoformat()}."
            )
        person = self.person if self.person_id else None
        if person is not None:
            mismatches = []
            if parsed.birth_date != person.date_of_birth.strftime("%y%m%d"):
                mismatches.append(f"date of birth {_mrz_date(parsed.birth_date, past=True)}")
            if parsed.sex in ("F", "M") and person.sex in ("F", "M") and parsed.sex != person.sex:
                mismatches.append(f"sex {parsed.sex}")
            mrz_surname = parsed.names.split(",")[0].replace(" ", "<")
            if person.family_name and not mrz.surname_matches(mrz_surname, person.family_name):
                tried = " or ".join(mrz.name_forms(person.family_name)[:3])
                mismatches.append(f"surname {mrz_surname.replace('<', ' ')} (Safar reads {person.family_name} as "
                                  f"{tried}: {mrz.RULES})")
            if mismatches:
                errors["mrz_line1"] = (
                    f"This MRZ is not {person.full_name}'s: it gives {', '.join(mismatches)}. Check the document."
                )
        if errors:
            raise ValidationError(errors)

    def is_valid_on(self, day):
        return self.expiry_date >= day

    def _type_or_expiry_changed(self):
        if self._state.adding or self.pk is None:
            return True
        stored = TravelDocument.objects.filter(pk=self.pk).values_list("document_type", "expiry_date").first()
        return stored != (self.document_type, self.expiry_date)


class AppendOnlyQuerySet(models.QuerySet):
    def delete(self):
        raise ValidationError("History is append-only: rows cannot be deleted.", code="log_delete")

    def update(self, **kwargs):
        raise ValidationError("History is append-only: rows cannot be changed.", code="log_update")


class AppendOnlyModel(models.Model):
    """A history row: written once, never changed or deleted (pretix's "Logs cannot be deleted")."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError("History is append-only: rows cannot be changed.", code="log_update")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("History is append-only: rows cannot be deleted.", code="log_delete")

    @classmethod
    def redact(cls, rows, fields):
        """The one door that changes history rows: the retention blanking personal data out of their texts (a
        reason, a name in a summary) once a case's period has passed. Who, when and what happened stay."""
        return models.QuerySet(cls).bulk_update(rows, fields, batch_size=500)


class CaseTransition(AppendOnlyModel):
    """Append-only history of state changes: who, when, from, to, which transition and why."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="transitions")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor = models.CharField(max_length=200, help_text="The user's name, or the process that acted (an import).")
    transition = models.CharField(max_length=20)
    from_state = models.CharField(max_length=20, choices=CaseState.choices, blank=True)
    to_state = models.CharField(max_length=20, choices=CaseState.choices)
    reason = reason_field()
    # Facts of the change, as the timeline and audits read them (a hold's category, a booking's departure).
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.case} {self.from_state or '∅'} → {self.to_state} ({self.transition})"

    # Facts that say what kind of hold it was: read only by roles that see clearance details.
    CONFIDENTIAL_DATA = {"hold_category"}

    def data_items(self, *, confidential=False):
        """The payload as (label, text) pairs for the timeline; confidential facts only when asked for."""
        items = []
        for key, value in (self.data or {}).items():
            if key in self.CONFIDENTIAL_DATA and not confidential:
                continue
            if key == "hold_category":
                value = HoldCategory(value).label if value in HoldCategory.values else value
            elif isinstance(value, (list, tuple)):
                value = ", ".join(str(v) for v in value)
            elif isinstance(value, dict):
                value = "; ".join(f"{k}: {v}" for k, v in value.items())
            items.append((key.replace("_", " ").capitalize(), str(value)))
        return items


# --- medical (confidential: only the medical role reads these; others see clearance and travel needs) ---


class ExamKind(models.TextChoices):
    IME = "ime", "Immigration medical examination (IME)"
    PDMS = "pdms", "Pre-departure medical screening"
    FIT_TO_TRAVEL = "ftt", "Fit-to-travel check"


class OutcomeProfile(models.TextChoices):
    M1 = "M1", "M1 — no risk"
    M2 = "M2", "M2"
    M3 = "M3", "M3"
    M4 = "M4", "M4 — inadmissible"
    M5 = "M5", "M5 — excessive demand"


class TBStatus(models.TextChoices):
    NOT_ASSESSED = "", "Not assessed in this exam"
    NONE = "none", "No TB"
    INACTIVE = "inactive", "Inactive — under surveillance"
    ACTIVE = "active", "Active — in treatment"
    COMPLETED = "completed", "Treatment completed"


class MedicalExam(models.Model):
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="medical_exams")
    kind = models.CharField(max_length=4, choices=ExamKind.choices)
    exam_date = models.DateField()
    examined_at = models.DateTimeField(
        null=True, blank=True, help_text="For a fit-to-travel check: when it was done (it must fall within the "
        "hours before departure set by SAFAR_FIT_TO_TRAVEL_HOURS)."
    )
    clinic = models.CharField("clinic / panel physician", max_length=200)
    outcome = models.CharField("outcome profile", max_length=2, choices=OutcomeProfile.choices, blank=True)
    tb_status = models.CharField("TB status", max_length=10, choices=TBStatus.choices, blank=True)
    fit_to_travel = models.BooleanField(null=True, blank=True, help_text="Fit-to-travel checks: the result.")
    notes = note_field("confidential notes")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-exam_date", "-id"]
        indexes = [models.Index(fields=["person", "kind", "exam_date"])]

    def __str__(self):
        return f"{self.get_kind_display()} of {self.person} on {self.exam_date}"


class Wheelchair(models.TextChoices):
    WCHR = "WCHR", "WCHR — can walk, not far"
    WCHS = "WCHS", "WCHS — cannot use stairs"
    WCHC = "WCHC", "WCHC — immobile"


class TravelMedicalNeeds(models.Model):
    """What the airline must know, recorded by medical staff; shown to operations and escorts."""

    person = models.OneToOneField(Person, on_delete=models.PROTECT, related_name="medical_needs")
    wheelchair = models.CharField(max_length=4, choices=Wheelchair.choices, blank=True)
    stretcher = models.BooleanField(default=False)
    oxygen = models.BooleanField(default=False)
    medical_escort = models.BooleanField("medical escort needed", default=False)
    pregnancy_weeks = models.PositiveSmallIntegerField(null=True, blank=True)
    pregnancy_weeks_on = models.DateField("pregnancy weeks counted on", null=True, blank=True)
    multiple_pregnancy = models.BooleanField("expecting twins or more", default=False)
    fit_to_fly_certificate_at = models.DateTimeField(
        "fit-to-fly certificate (pregnancy) issued", null=True, blank=True
    )
    medif_required = models.BooleanField("MEDIF required", default=False)
    medif_recorded_at = models.DateTimeField("MEDIF sent to the airline", null=True, blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "travel medical needs"

    def __str__(self):
        return f"Travel medical needs of {self.person}"

    @property
    def ssr_codes(self):
        codes = []
        if self.wheelchair:
            codes.append(self.wheelchair)
        if self.stretcher:
            codes.append("STCR")
        if self.oxygen:
            codes.append("OXYG")
        if self.medical_escort:
            codes.append("MEDA")
        return codes

    def pregnancy_weeks_on_date(self, day):
        if self.pregnancy_weeks is None or self.pregnancy_weeks_on is None:
            return None
        return self.pregnancy_weeks + (day - self.pregnancy_weeks_on).days // 7


# --- referral intake ---------------------------------------------------------------------------------


class CaseChange(AppendOnlyModel):
    """Append-only log of changes to a case's data (not its state): who, when, what changed (field names only)."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="changes")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor = models.CharField(max_length=200)
    summary = models.TextField()
    # What changed, structured: {"case": [field names], "members": {name: [field names]}, …} (names, never values).
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.case}: {self.summary}"


class ReferralUpload(models.Model):
    """One referral file handed to the import: previewed, then imported or refused.

    The file itself is kept only until it is imported (it holds personal data); the checksum and the
    report stay as the record of what came in.
    """

    class Status(models.TextChoices):
        PREVIEWED = "previewed", "Previewed"
        REFUSED = "refused", "Refused (errors)"
        IMPORTED = "imported", "Imported"
        # A preview never confirmed: dropped by its uploader, or left longer than SAFAR_IMPORT_PREVIEW_HOURS
        # (its file is deleted then too: it holds personal data, and the database may have changed since).
        DISCARDED = "discarded", "Discarded"
        EXPIRED = "expired", "Expired (never confirmed)"

    filename = models.CharField(max_length=255)
    content = models.BinaryField(null=True, editable=False)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices)
    report = models.JSONField(default=dict)
    # What the list of uploads shows, so that it never loads a report (they can be large).
    row_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)
    imported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        permissions = [("import_referrals", "Can import UNHCR referral files")]

    def __str__(self):
        return f"{self.filename} ({self.get_status_display().lower()})"

    @classmethod
    def stale_previews(cls, now):
        """Previews left unconfirmed past SAFAR_IMPORT_PREVIEW_HOURS: due to expire, their files deleted."""
        cutoff = now - datetime.timedelta(hours=settings.SAFAR_IMPORT_PREVIEW_HOURS)
        return cls.objects.filter(status=cls.Status.PREVIEWED, uploaded_at__lt=cutoff)

    def keep_report(self, report):
        """Store an ImportReport: its bounded dictionary, and the counts the list of uploads shows."""
        self.report = report.as_dict()
        self.row_count = report.rows
        self.error_count = report.error_count


class FormSubmission(models.Model):
    """A creating form's submission, claimed once (`movements.once`): its page's token, a digest of what was sent,
    and where the record it made is shown. No personal data: an address holds ids and codes only."""

    token = models.CharField(max_length=64)
    digest = models.CharField(max_length=64)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    address = models.CharField(max_length=300)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["token", "digest"], name="form_submission_once")]

    def __str__(self):
        return f"{self.token[:8]}… → {self.address}"
