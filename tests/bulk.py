"""Build a large caseload quickly (bulk inserts) for query-count tests and benchmarks."""

import datetime

from movements.models import Case, CaseState, Person, TravelDocument

STATES = [s for s, _ in CaseState.choices]


def _blockers(i, count):
    """`count` stored blockers of case `i`, as readiness stores them (its count is theirs: migration 0024 recounts)."""
    return [{"code": "visa_missing", "message": f"Family{i}, Member{m} — no visa / COPR reference", "person_id": None,
             "confidential": False, "person_name": f"Family{i}, Member{m}", "gates": ["book", "clear", "depart"]}
            for m in range(count)]


def bulk_caseload(n, *, start=0, members=3, batch=2000):
    """Insert `n` cases with `members` people and a passport each; return nothing (bulk inserts)."""
    today = datetime.date.today()
    for offset in range(start, start + n, batch):
        upper = min(offset + batch, start + n)
        cases = [
            Case(
                case_number=f"BLK-2026-{i:06d}",
                progres_case_id=f"999-26C{i:06d}",
                referral_date=datetime.date(2026, 1, 1) + datetime.timedelta(days=i % 300),
                priority=["normal", "urgent", "emergency", "normal"][i % 4],
                state=STATES[i % len(STATES)],
                blocker_count=i % 3,
                blockers=_blockers(i, i % 3),
                # Every fifth case has no travel date; the others fly within the next two months.
                flies_on=None if i % 5 == 0 else today + datetime.timedelta(days=i % 60),
            )
            for i in range(offset, upper)
        ]
        Case.objects.bulk_create(cases)
        ids = dict(Case.objects.filter(case_number__in=[c.case_number for c in cases]).values_list("case_number", "pk"))
        people = []
        for i in range(offset, upper):
            for m in range(members):
                people.append(
                    Person(
                        case_id=ids[f"BLK-2026-{i:06d}"],
                        progres_individual_id=f"999-26C{i:06d}-{m + 1:02d}",
                        relationship="PA" if m == 0 else "CHD",
                        family_name=f"Family{i}",
                        given_name=f"Member{m}",
                        native_name="زهرا کریمی",
                        search_text=f"family{i} member{m} زهرا کریمی",
                        sex="F",
                        date_of_birth=datetime.date(1990, 1, 1),
                        nationality="AFG",
                    )
                )
        Person.objects.bulk_create(people)
        person_ids = Person.objects.filter(case_id__in=ids.values()).values_list("pk", flat=True)
        TravelDocument.objects.bulk_create(
            TravelDocument(person_id=pk, number=f"B{pk:09d}", issuing_country="AFG",
                           expiry_date=today + datetime.timedelta(days=5 * 365))
            for pk in person_ids
        )
