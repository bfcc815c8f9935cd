"""The admin edits data, never states: a case's state changes only through movements.transitions."""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import FieldDoesNotExist
from django.db.models.constants import LOOKUP_SEP
from import_export import fields, resources
from import_export.admin import ExportMixin

from movements import reads
from movements.access import access_for
from movements.forms import MedicalExamForm, TravelMedicalNeedsForm
from movements.models import (
    STATUS_CASE_FIELDS, STATUS_PERSON_FIELDS, Case, CaseTransition, MedicalExam, Person, TravelDocument,
    TravelMedicalNeeds, status_changed,
)
from movements.spreadsheets import neutralise

# What a role may not see, and so neither read in a form nor filter a list on: field -> the Access property that
# allows it. Whole models too (medical records; travel needs and pregnancies).
HIDDEN_FIELDS = {
    Person: {"phone": "can_see_contact", "visa_reference": "can_see_documents"},
    TravelDocument: {"number": "can_see_documents", "mrz_line1": "can_see_documents",
                     "mrz_line2": "can_see_documents"},
    Case: {"hold_reason": "can_see_clearance_details", "hold_category": "can_see_clearance_details",
           "blockers": "can_see_clearance_details"},
    # A transition's data tells what kind of hold it was, and so does who held the case (a medical officer's hold is
    # a medical one): the case page names "IOM staff" to these roles (history.shown_actor), the admin no one.
    CaseTransition: {"reason": "can_see_clearance_details", "data": "can_see_clearance_details",
                     "actor": "can_see_clearance_details", "user": "can_see_clearance_details"},
}
HIDDEN_MODELS = {MedicalExam: "can_see_medical", TravelMedicalNeeds: "can_see_clearance_details"}


def hidden_fields(model, access):
    return [name for name, allowed_by in HIDDEN_FIELDS.get(model, {}).items() if not getattr(access, allowed_by)]


def may_look_up(access, model, lookup):
    """May this user filter `model` by `lookup` (`phone__startswith`, `members__visa_reference`, …)? Not through
    any field, or into any model, that their role may not see."""
    for part in lookup.split(LOOKUP_SEP):
        if model in HIDDEN_MODELS and not getattr(access, HIDDEN_MODELS[model]):
            return False
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return True  # the rest is a lookup or a transform (icontains, year, …)
        if part in hidden_fields(model, access):
            return False
        if not field.is_relation or field.related_model is None:
            return True
        model = field.related_model
    return not (model in HIDDEN_MODELS and not getattr(access, HIDDEN_MODELS[model]))



class ReadOnlyMixin:
    """An admin (or inline) that shows records and never adds, changes or deletes them: logs and history kept
    append-only by the models themselves. Every app's read-only admin uses this one."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadsLoggedMixin:
    """The admin is one more door to personal data, and reads through it are logged as the pages' are
    (`movements.reads`, kind "admin"): a record's page names its case (and its person), a list page the cases it
    showed. `case_path`: the lookup from the model to its case's number; `person_path`: to the person, when the
    record is one person's (another member's own record then leaves theirs out)."""

    case_path = "case__case_number"
    person_path = None

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if request.method == "GET" and changelist is not None:
            shown = [obj.pk for obj in changelist.result_list]
            numbers = {n for n in self.model._default_manager.filter(pk__in=shown)
                       .values_list(self.case_path, flat=True) if n}
            reads.record(reads.Kind.ADMIN, request=request, cases=sorted(numbers),
                         target=f"{self.opts.verbose_name_plural} (a list page)",
                         detail={"query": request.GET.urlencode()[:200]} if request.GET else None)
        return response

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        response = super().changeform_view(request, object_id, form_url, extra_context)
        if object_id is not None and request.method == "GET" and response.status_code == 200:
            self._record_read(request, object_id, self.opts.verbose_name)
        return response

    def history_view(self, request, object_id, extra_context=None):
        """The admin's change history of a record names what changed and often whom: a read of it too."""
        response = super().history_view(request, object_id, extra_context)
        if response.status_code == 200:
            self._record_read(request, object_id, f"history of {self.opts.verbose_name}")
        return response

    def _record_read(self, request, object_id, what):
        paths = [self.case_path] + ([self.person_path] if self.person_path else [])
        found = list(self.model._default_manager.filter(pk=unquote(object_id)).values_list(*paths))
        if found:  # one row, or one per person of a record that names several (an incident)
            people = {row[1] for row in found} if self.person_path else set()
            reads.record(reads.Kind.ADMIN, request=request, cases=sorted({row[0] for row in found if row[0]}),
                         person=people.pop() if len(people) == 1 else None,
                         target=f"{what} {unquote(object_id)}"[:200])


class PrivacyMixin:
    """Hide contact details, document numbers and clearance details from staff whose role may not see them, in
    the forms and in the lists' filters alike (HIDDEN_FIELDS)."""

    def hidden_fields(self, request):
        return hidden_fields(self.model, access_for(request.user))

    def lookup_allowed(self, lookup, value, request):
        if not may_look_up(access_for(request.user), self.model, lookup):
            return False  # the change list answers 400, as for any lookup it does not allow
        return super().lookup_allowed(lookup, value, request)

    def get_readonly_fields(self, request, obj=None):
        hidden = self.hidden_fields(request)
        return [f for f in super().get_readonly_fields(request, obj) if f not in hidden]

    def get_exclude(self, request, obj=None):
        return list(super().get_exclude(request, obj) or []) + self.hidden_fields(request)

    def get_fields(self, request, obj=None):
        hidden = self.hidden_fields(request)
        return [f for f in super().get_fields(request, obj) if f not in hidden]

    def get_list_display(self, request):
        hidden = self.hidden_fields(request)
        return [f for f in super().get_list_display(request) if f not in hidden]


class StatePolicyMixin:
    """The admin is one more door to a case's data: it follows the state policy as the forms and imports do
    (`models.STATE_POLICY`). A case whose details are fixed (booked, gone, closed) is shown read-only."""

    policy_column = "details"

    def case_of(self, obj):
        return obj

    def has_change_permission(self, request, obj=None):
        if obj is not None and not getattr(self.case_of(obj).state_policy, self.policy_column):
            return False
        return super().has_change_permission(request, obj)


class PersonInline(StatePolicyMixin, PrivacyMixin, admin.TabularInline):
    model = Person
    extra = 0
    fields = ("progres_individual_id", "relationship", "family_name", "given_name", "native_name", "sex",
              "date_of_birth", "nationality", "phone", "special_needs", "visa_reference")
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        if obj is not None and not obj.state_policy.membership:
            return False
        return super().has_add_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False


class CaseTransitionInline(PrivacyMixin, admin.TabularInline):
    model = CaseTransition
    extra = 0
    fields = ("at", "actor", "transition", "from_state", "to_state", "reason")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class NeutralisedResource(resources.ModelResource):
    """Every text cell of an export neutralised, as DESIGN.md requires of every export (movements.spreadsheets)."""

    def export_field(self, field, instance, **kwargs):
        return neutralise(super().export_field(field, instance, **kwargs))


class CaseResource(NeutralisedResource):
    """The admin's case list export: status data only — no names, phones, documents or medical data."""

    state = fields.Field(attribute="state", column_name="state")

    class Meta:
        model = Case
        fields = ("case_number", "progres_case_id", "state", "state_changed_at", "priority", "destination_country",
                  "submission_category", "referral_date", "decision_date", "planned_travel_date", "blocker_count")
        export_order = fields


@admin.register(Case)
class CaseAdmin(ReadsLoggedMixin, StatePolicyMixin, PrivacyMixin, ExportMixin, admin.ModelAdmin):
    case_path = "case_number"
    resource_classes = [CaseResource]
    list_display = ("case_number", "progres_case_id", "state", "priority", "destination_country", "blocker_count")
    list_filter = ("state", "priority", "destination_country")
    search_fields = ("case_number", "progres_case_id", "members__search_text")
    readonly_fields = ("case_number", "state", "state_changed_at", "status_changed_at", "held_from", "hold_category",
                       "hold_reason", "version", "blocker_count", "readiness_checked_at", "created_at", "updated_at")
    exclude = ("blockers",)
    inlines = [PersonInline, CaseTransitionInline]

    def has_delete_permission(self, request, obj=None):
        return False

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        if change and formset.model is Person and (formset.new_objects or any(
                STATUS_PERSON_FIELDS & set(fields) for _person, fields in formset.changed_objects)):
            status_changed([form.instance.pk])  # a new or changed row in UNHCR's status export

    def save_model(self, request, obj, form, change):
        obj.version += 1 if change else 0
        super().save_model(request, obj, form, change)
        if change and STATUS_CASE_FIELDS & set(form.changed_data):
            status_changed([obj.pk])  # every row of the case in UNHCR's status export
        if not change:
            from movements.transitions import record_creation

            record_creation(obj, by=request.user, via=f"admin: {request.user.get_username()}")


class TravelDocumentInline(StatePolicyMixin, PrivacyMixin, admin.TabularInline):
    model = TravelDocument
    extra = 0
    fields = ("document_type", "number", "issuing_country", "expiry_date", "mrz_line1", "mrz_line2")
    policy_column = "documents"

    def case_of(self, person):
        return person.case

    def has_add_permission(self, request, obj=None):
        if obj is not None and not obj.case.state_policy.documents:
            return False
        return super().has_add_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and not obj.case.state_policy.documents:
            return False
        return super().has_delete_permission(request, obj)


@admin.register(Person)
class PersonAdmin(ReadsLoggedMixin, StatePolicyMixin, PrivacyMixin, admin.ModelAdmin):
    person_path = "pk"
    list_display = ("progres_individual_id", "family_name", "given_name", "native_name", "relationship", "case")
    search_fields = ("progres_individual_id", "search_text", "case__case_number")
    list_select_related = ("case",)
    raw_id_fields = ("case",)
    inlines = [TravelDocumentInline]

    def case_of(self, person):
        return person.case

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        moved_from = form.initial.get("case") if change and "case" in form.changed_data else None
        super().save_model(request, obj, form, change)
        if moved_from is not None or not change or STATUS_PERSON_FIELDS & set(form.changed_data):
            # A row of UNHCR's status export moves to another case, appears, or says another name or id.
            status_changed([pk for pk in (moved_from, obj.case_id) if pk is not None])

    def get_inlines(self, request, obj):
        return self.inlines if access_for(request.user).can_see_documents else []


@admin.register(CaseTransition)
class CaseTransitionAdmin(ReadsLoggedMixin, ReadOnlyMixin, PrivacyMixin, admin.ModelAdmin):
    list_display = ("at", "case", "actor", "transition", "from_state", "to_state")
    list_filter = ("transition", "to_state")
    search_fields = ("case__case_number",)
    list_select_related = ("case",)


# Medical records: Django's model permissions keep these to the medical role (and superusers).
@admin.register(MedicalExam)
class MedicalExamAdmin(ReadsLoggedMixin, admin.ModelAdmin):
    case_path, person_path = "person__case__case_number", "person_id"
    form = MedicalExamForm  # the same checks as the medical pages (no exam in the future, …)
    fields = ("person", "kind", "exam_date", "examined_at", "clinic", "outcome", "tb_status", "fit_to_travel", "notes",
              "recorded_by", "recorded_at")
    list_display = ("person", "kind", "exam_date", "outcome", "tb_status", "clinic")
    list_filter = ("kind", "outcome", "tb_status")
    search_fields = ("person__search_text", "person__progres_individual_id")
    list_select_related = ("person",)
    raw_id_fields = ("person",)
    readonly_fields = ("recorded_by", "recorded_at")

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        from movements.medical import record_exam

        record_exam(obj, by=request.user)  # an active-TB result holds the case, whether added or corrected


@admin.register(TravelMedicalNeeds)
class TravelMedicalNeedsAdmin(ReadsLoggedMixin, admin.ModelAdmin):
    case_path, person_path = "person__case__case_number", "person_id"
    form = TravelMedicalNeedsForm
    fields = ("person", "wheelchair", "stretcher", "oxygen", "medical_escort", "pregnancy_weeks", "pregnancy_weeks_on",
              "multiple_pregnancy", "fit_to_fly_certificate_at", "medif_required", "medif_recorded_at")
    list_display = ("person", "wheelchair", "stretcher", "oxygen", "medical_escort", "pregnancy_weeks")
    search_fields = ("person__search_text", "person__progres_individual_id")
    list_select_related = ("person",)
    raw_id_fields = ("person",)
