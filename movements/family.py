"""A case's members as its pages read them: each with their travel documents and travel needs, in three statements
compiled once per process (`movements.compiled`) rather than built by the ORM on every page.

`documents_of(person)` is how a reader asks for a member's documents: the ones loaded here (or by a
`Prefetch("documents", to_attr="document_list")`), else read then.
"""

from movements.compiled import compiled_once
from movements.models import Person, TravelDocument, TravelMedicalNeeds


def members(case):
    """The case's members, oldest record first; each with `document_list` (their travel documents, latest expiry
    first, as `person.documents` orders them) and their travel needs (`person.medical_needs`, None when none are
    recorded) loaded."""
    people = compiled_once("family.members", lambda pk: Person.objects.filter(case_id=pk).order_by("id"), case.pk)
    documents, needs = {person.pk: [] for person in people}, {}
    if people:
        for document in compiled_once("family.documents", lambda pk: TravelDocument.objects.filter(
                person__case_id=pk).order_by("person_id", *TravelDocument._meta.ordering), case.pk):
            # Only the members read above: one added since (with a document, in the admin's one save) is not shown
            # until the next read, as it would not have been a moment earlier.
            if document.person_id in documents:
                documents[document.person_id].append(document)
        needs = {n.person_id: n for n in compiled_once(
            "family.needs", lambda pk: TravelMedicalNeeds.objects.filter(person__case_id=pk), case.pk)}
    for person in people:
        person._state.fields_cache["case"] = case
        person._state.fields_cache["medical_needs"] = needs.get(person.pk)  # as select_related leaves it
        person.document_list = documents[person.pk]
        for document in person.document_list:
            document._state.fields_cache["person"] = person
    return people


def documents_of(person):
    """The person's travel documents, latest expiry first: as loaded with them, else read now."""
    loaded = getattr(person, "document_list", None)
    return loaded if loaded is not None else list(person.documents.all())
