"""Demo data: a believable caseload in every state and one user per role (password `safar-demo`).

Idempotent: users are updated in place and a case whose proGres id already exists is left alone,
so running it twice changes nothing. It refuses (and changes nothing) where settings.SAFAR_DEMO_DATA is off (DEBUG
off, unless a training server says otherwise), and on a database that holds cases it did not make: made-up families
would mix with real ones, in every list and in the status export to UNHCR. Cases reach their states through the
real transition services, so every demo case has an honest history; a step that a plug-in owns
(`hooks.transition_owners`) is left to that plug-in, which takes the case on through its own services.
"""

import datetime
import random

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from movements import hooks, medical, transitions
from movements.models import (
    Case, CaseState, HoldCategory, MedicalExam, Person, TravelDocument, TravelMedicalNeeds,
)

DEMO_PASSWORD = "safar-demo"
DEMO_USERS = [
    # username, role, first name, last name
    ("ops", "operations", "Olga", "Operations"),
    ("medic", "medical", "Mehdi", "Medical"),
    ("trainer", "trainer", "Tahmina", "Trainer"),
    ("escort", "escort", "Eraj", "Escort"),
    ("unhcr", "unhcr", "Ursula", "Liaison"),
    ("dpo", "dpo", "Dilnoza", "Protection"),  # data protection officer (the privacy app creates the role)
]

# (Latin, Dari) pairs; families are Afghan, a few Tajik-speaking with Cyrillic names.
FAMILY_NAMES = [
    ("Karimi", "کریمی"), ("Ahmadi", "احمدی"), ("Rahimi", "رحیمی"), ("Noori", "نوری"), ("Hashimi", "هاشمی"),
    ("Sultani", "سلطانی"), ("Haidari", "حیدری"), ("Mohammadi", "محمدی"), ("Sadat", "سادات"), ("Azizi", "عزیزی"),
    ("Jafari", "جعفری"), ("Rezaei", "رضایی"), ("Habibi", "حبیبی"), ("Wardak", "وردک"), ("Popal", "پوپل"),
    ("Amiri", "امیری"), ("Faizi", "فیضی"), ("Stanikzai", "ستانکزی"),
]
MALE_NAMES = [
    ("Ahmad", "احمد"), ("Mohammad", "محمد"), ("Yasin", "یاسین"), ("Omid", "امید"), ("Farid", "فرید"),
    ("Hamid", "حمید"), ("Javed", "جاوید"), ("Mustafa", "مصطفی"), ("Rahim", "رحیم"), ("Bilal", "بلال"),
    ("Sohrab", "سهراب"), ("Naweed", "نوید"), ("Shafiq", "شفیق"), ("Idris", "ادریس"),
]
FEMALE_NAMES = [
    ("Zahra", "زهرا"), ("Fatima", "فاطمه"), ("Maryam", "مریم"), ("Hadia", "هدیه"), ("Parwana", "پروانه"),
    ("Shabnam", "شبنم"), ("Nilofar", "نیلوفر"), ("Farzana", "فرزانه"), ("Soraya", "ثریا"), ("Laila", "لیلا"),
    ("Mahboba", "محبوبه"), ("Roya", "رویا"), ("Sima", "سیما"),
]
TAJIK_FAMILIES = [("Rahmonov", "Раҳмонов", "Раҳмонова"), ("Karimov", "Каримов", "Каримова"),
                  ("Saidov", "Саидов", "Саидова")]
TAJIK_MALE = [("Firuz", "Фирӯз"), ("Jamshed", "Ҷамшед"), ("Behruz", "Беҳрӯз"), ("Umed", "Умед")]
TAJIK_FEMALE = [("Madina", "Мадина"), ("Nigora", "Нигора"), ("Zarina", "Зарина"), ("Tahmina", "Таҳмина")]

# How many demo cases end in each state; the path walks them there through the services.
PLAN = [
    (CaseState.REFERRED, 6), (CaseState.IN_PROCESSING, 7), (CaseState.APPROVED, 6), (CaseState.READY, 5),
    (CaseState.BOOKED, 4), (CaseState.DEPARTED, 2), (CaseState.ARRIVED, 4), (CaseState.ON_HOLD, 2),
    (CaseState.REJECTED, 2), (CaseState.WITHDRAWN, 2),
]
PATH = {
    CaseState.REFERRED: [],
    CaseState.IN_PROCESSING: ["accept"],
    CaseState.APPROVED: ["accept", "approve"],
    CaseState.READY: ["accept", "approve", "clear"],
    CaseState.BOOKED: ["accept", "approve", "clear", "book"],
    CaseState.DEPARTED: ["accept", "approve", "clear", "book", "depart"],
    CaseState.ARRIVED: ["accept", "approve", "clear", "book", "depart", "arrive"],
    CaseState.ON_HOLD: ["accept", "approve", "hold"],
    CaseState.REJECTED: ["accept", "reject"],
    CaseState.WITHDRAWN: ["accept", "withdraw"],
}
REASONS = {
    "hold": "Security re-check requested by the destination country.",
    "reject": "Destination country refused the case (letter on file).",
    "withdraw": "The family withdrew from resettlement at interview.",
}
HOLD_CATEGORIES = {"hold": HoldCategory.SECURITY}
CATEGORIES = ["LPN", "WAR", "CAR", "SVT", "MED", "FAM", "LAS"]


class Command(BaseCommand):
    help = "Create demo users (password safar-demo) and a believable demo caseload; safe to run again."

    def handle(self, *args, **options):
        if not settings.SAFAR_DEMO_DATA:
            raise CommandError(
                f"Nothing was changed: seed_demo makes users whose password is public ({DEMO_PASSWORD}) and made-up "
                "families, so it runs only where DEBUG is on, or on a training server that sets SAFAR_DEMO_DATA=1."
            )
        rng = random.Random(20261127)
        today = timezone.localdate()
        with transaction.atomic():
            real = Case.objects.exclude(progres_case_id__in=self.demo_case_ids())
            if real.exists():
                raise CommandError(
                    f"Nothing was changed: this database holds {real.count():,} case(s) that seed_demo did not make "
                    f"(the first: {real.order_by('id').first().case_number}). Demo families would mix with them, in "
                    "every list and in the status export to UNHCR; run seed_demo against a database of its own."
                )
            users = self.ensure_users()
            self.medic = users["medic"]
            if Case.objects.filter(progres_case_id__startswith="870-26C2").exists():
                created = 0  # the caseload is there already: leave it as the users left it
            else:
                # Each app that plugs into movements adds its own demo data (orientation its sessions, …).
                demo = hooks.DemoContext(users=users, today=today, rng=rng)
                self.plugins = [provider(demo) for provider in hooks.demo_data.providers]
                cases = self.ensure_cases(rng, today, users["ops"])
                for plugin in self.plugins:
                    if hasattr(plugin, "finish"):
                        plugin.finish(cases)
                created = len(cases)
        self.stdout.write(self.style.SUCCESS(f"Demo data ready: {created} new case(s), "
                                             f"{Case.objects.count()} in all."))
        self.stdout.write("Demo logins (password for all: %s):" % DEMO_PASSWORD)
        for username, role, *_ in DEMO_USERS:
            self.stdout.write(f"  {username:<8} {role}")
        self.stdout.write("  admin    superuser (Django admin)")

    def ensure_users(self):
        users = {}
        for username, role, first, last in DEMO_USERS:
            user, _ = User.objects.get_or_create(username=username)
            user.first_name, user.last_name = first, last
            user.set_password(DEMO_PASSWORD)
            user.save()
            user.groups.set([Group.objects.get(name=role)])
            users[username] = user
        admin, _ = User.objects.get_or_create(username="admin")
        admin.is_staff = admin.is_superuser = True
        admin.first_name, admin.last_name = "Ada", "Admin"
        admin.set_password(DEMO_PASSWORD)
        admin.save()
        users["admin"] = admin
        return users

    def make_ready(self, case):
        """Let every plug-in do what its readiness requirements need before the case is cleared."""
        for plugin in self.plugins:
            if hasattr(plugin, "make_ready"):
                plugin.make_ready(case)

    @staticmethod
    def planned_cases():
        """(number, proGres case id, state) of every demo case, in the order they are made."""
        states = [state for state, count in PLAN for _ in range(count)]
        return [(number, f"870-26C{20000 + number:05d}", state) for number, state in enumerate(states, start=1)]

    def demo_case_ids(self):
        return [progres_case_id for _, progres_case_id, _ in self.planned_cases()]

    def ensure_cases(self, rng, today, ops):
        created = []
        for number, progres_case_id, state in self.planned_cases():
            if Case.objects.filter(progres_case_id=progres_case_id).exists():
                continue
            created.append(self.build_case(rng, today, ops, progres_case_id, number, state))
        return created

    def build_case(self, rng, today, ops, progres_case_id, number, state):
        tajik = number % 9 == 4
        priority = "emergency" if number % 11 == 0 else ("urgent" if number % 5 == 0 else "normal")
        travel = None
        if state in (CaseState.READY, CaseState.BOOKED, CaseState.APPROVED):
            travel = today + datetime.timedelta(days=14 + 7 * (number % 6))
        elif state in (CaseState.DEPARTED, CaseState.ARRIVED):
            travel = today - datetime.timedelta(days=2 + 9 * (number % 4))
        case = Case.objects.create(
            progres_case_id=progres_case_id,
            destination_country="CAN",
            priority=priority,
            submission_category=CATEGORIES[number % len(CATEGORIES)],
            referral_date=today - datetime.timedelta(days=60 + 11 * number),
            planned_travel_date=travel,
        )
        transitions.record_creation(case, by=None, via="demo data (seed_demo)")
        people = self.family(rng, today, tajik, size=1 + (number * 7) % 6)
        # Approved cases: some still miss a document or a visa, so the dashboard has blockers to show.
        missing_doc = state == CaseState.APPROVED and number % 2 == 0
        missing_visa = state == CaseState.APPROVED and number % 3 == 0
        expiring = state == CaseState.IN_PROCESSING and number % 2 == 1
        travelled = state in (CaseState.DEPARTED, CaseState.ARRIVED)
        for i, p in enumerate(people, start=1):
            person = Person.objects.create(
                case=case,
                progres_individual_id=f"{progres_case_id}-{i:02d}",
                visa_reference=(
                    f"V3{number:03d}{i:02d}{rng.randint(1000, 9999)}"
                    if state not in (CaseState.REFERRED, CaseState.IN_PROCESSING, CaseState.REJECTED)
                    and not (missing_visa and i == 1)
                    else ""
                ),
                phone=f"+99293{rng.randint(1000000, 9999999)}" if p["relationship"] == "PA" else "",
                **{k: v for k, v in p.items() if k != "wheelchair"},
            )
            if p.get("wheelchair"):
                TravelMedicalNeeds.objects.create(person=person, wheelchair=p["wheelchair"], updated_by=self.medic)
            if missing_doc and i == len(people):
                continue
            if state == CaseState.REFERRED:
                continue
            days = 40 if expiring and i == 1 else 400 + rng.randint(0, 900)
            base = today - datetime.timedelta(days=30) if travelled else today
            TravelDocument.objects.create(
                person=person,
                document_type="passport" if i % 4 else "single_journey",  # an ICRC document lasts 3 months: issued last
                number=f"P{rng.randint(10000000, 99999999)}",
                issuing_country="AFG" if not tajik else "TJK",
                expiry_date=base + datetime.timedelta(days=days),
            )
        if state not in (CaseState.REFERRED,) and number != 8:
            # The IME: number 9 has one about to expire; number 8 (in processing) has none yet.
            exam_days_ago = 330 if number == 9 else 60 + rng.randint(0, 140)
            for person in case.members.all():
                MedicalExam.objects.create(
                    person=person, kind="ime", exam_date=today - datetime.timedelta(days=exam_days_ago),
                    clinic="IOM Migration Health Assessment Centre, Dushanbe", outcome="M1",
                    tb_status="none", recorded_by=self.medic,
                )
        self.medical_situation(case, number, today)
        path = PATH[state]
        if number == 35:
            path = ["accept", "approve"]  # then an active-TB result puts it on hold, below
        if {"approve", "reject"} & set(path):
            # The decision came between the referral and the travel date (a departure flown already included), not
            # on the day the demo was made.
            end = min(travel or today, today)
            case.decision_date = case.referral_date + (end - case.referral_date) // 2
            Case.objects.filter(pk=case.pk).update(decision_date=case.decision_date)
        for step, name in enumerate(path):
            if transitions.owner_of(name) is not None:
                # A plug-in owns this step (a booking needs a departure): the case stops here, and the owner takes
                # it the rest of the way in its `finish` (see hooks.demo_data).
                case.demo_path = path[step:]
                break
            if name == "clear":
                self.make_ready(case)
            if name == "depart":
                self.pre_embarkation_check(case)
            params = {"category": HOLD_CATEGORIES[name]} if name in HOLD_CATEGORIES else {}
            case = transitions.perform(case, name, by=ops, reason=REASONS.get(name, ""), **params)
            if name == "approve" and number in (14, 16):
                # Approved, orientation done, only a missing passport left: the walk-through of the README.
                self.make_ready(case)
        if number == 35:
            pa = case.members.get(relationship="PA")
            medical.record_exam(
                MedicalExam(person=pa, kind="pdms", exam_date=today - datetime.timedelta(days=3),
                            clinic="IOM Migration Health Assessment Centre, Dushanbe", outcome="M4",
                            tb_status="active", notes="Sputum culture positive; DOTS started."),
                by=self.medic,
            )
        return case

    def pre_embarkation_check(self, case):
        """The fit-to-travel check every traveller passes within the hours before boarding."""
        examined = timezone.now() - datetime.timedelta(hours=3)
        for person in case.members.all():
            MedicalExam.objects.create(
                person=person, kind="ftt", exam_date=examined.date(), examined_at=examined,
                clinic="IOM pre-embarkation check, Dushanbe airport", fit_to_travel=True, recorded_by=self.medic,
            )

    def medical_situation(self, case, number, today):
        """The medical situations the demo shows, one case each (see the module docstring of medical.py)."""
        members = list(case.members.order_by("id"))
        adult_women = [p for p in members if p.sex == "F" and p.age_on(today) >= 18 and p.relationship != "PAR"]
        now = timezone.now()
        if number in (15, 17) and adult_women:
            # 15: ~32 weeks on the travel date (certificate needed); 17: past the airline limit.
            TravelMedicalNeeds.objects.update_or_create(
                person=adult_women[0],
                defaults={"pregnancy_weeks": 27 if number == 15 else 34, "pregnancy_weeks_on": today,
                          "updated_by": self.medic},
            )
        elif number == 19:
            TravelMedicalNeeds.objects.update_or_create(
                person=members[0], defaults={"stretcher": True, "medif_required": True, "updated_by": self.medic}
            )
        elif number == 21:
            MedicalExam.objects.create(
                person=members[0], kind="pdms", exam_date=today - datetime.timedelta(days=20),
                clinic="IOM Migration Health Assessment Centre, Dushanbe", outcome="M2", tb_status="inactive",
                notes="Old healed lesion on X-ray; cultures negative.", recorded_by=self.medic,
            )
        elif number == 26:
            TravelMedicalNeeds.objects.update_or_create(
                person=members[0],
                defaults={"oxygen": True, "medif_required": True, "medif_recorded_at": now - datetime.timedelta(days=1),
                          "updated_by": self.medic},
            )
        elif number == 27:
            for person in members:
                MedicalExam.objects.create(
                    person=person, kind="ftt", exam_date=today, examined_at=now - datetime.timedelta(hours=2),
                    clinic="IOM pre-embarkation check, Dushanbe airport", fit_to_travel=True, recorded_by=self.medic,
                )

    def family(self, rng, today, tajik, size):
        def born(min_years, max_years):
            return today - datetime.timedelta(days=rng.randint(min_years * 365, max_years * 365))

        if tajik:
            fam_latin, fam_m, fam_f = rng.choice(TAJIK_FAMILIES)
            males, females = TAJIK_MALE, TAJIK_FEMALE
            nationality = "TJK"
            language = "tgk"

            def native(first, female):
                return f"{first} {fam_f if female else fam_m}"
        else:
            fam_latin, fam_native = rng.choice(FAMILY_NAMES)
            males, females = MALE_NAMES, FEMALE_NAMES
            nationality = rng.choice(["AFG", "AFG", "AFG", "XXB"])
            language = "prs"

            def native(first, female):
                return f"{first} {fam_native}"

        pa_female = rng.random() < 0.3
        people = []
        used = set()

        def pick(names):
            # No two members of one family share a first name.
            choices = [n for n in names if n[0] not in used] or names
            chosen = rng.choice(choices)
            used.add(chosen[0])
            return chosen

        first = pick(females if pa_female else males)
        people.append(dict(relationship="PA", family_name=fam_latin, given_name=first[0],
                           native_name=native(first[1], pa_female), sex="F" if pa_female else "M",
                           date_of_birth=born(28, 55), nationality=nationality, special_needs="", language=language))
        if size > 1:
            spouse_female = not pa_female
            first = pick(females if spouse_female else males)
            people.append(dict(relationship="SPS", family_name=fam_latin, given_name=first[0],
                               native_name=native(first[1], spouse_female), sex="F" if spouse_female else "M",
                               date_of_birth=born(25, 50), nationality=nationality, special_needs="", language=language))
        for k in range(size - 2):
            female = rng.random() < 0.5
            first = pick(females if female else males)
            infant = k == size - 3 and rng.random() < 0.4
            people.append(dict(relationship="CHD", family_name=fam_latin, given_name=first[0],
                               native_name=native(first[1], female), sex="F" if female else "M",
                               date_of_birth=born(0, 1) if infant else born(2, 17), nationality=nationality,
                               special_needs="INFT" if infant else "", language=language))
        if size >= 5:
            # An elderly parent who uses a wheelchair for long distances.
            first = pick(females)
            people.append(dict(relationship="PAR", family_name=fam_latin, given_name=first[0],
                               native_name=native(first[1], True), sex="F", date_of_birth=born(68, 80),
                               nationality=nationality, special_needs="", wheelchair="WCHR", language=language))
        return people
