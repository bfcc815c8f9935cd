"""Travel's demo data for `manage.py seed_demo` (through `hooks.demo_data`): departures in every state, all made
through the real services, and the demo cases that are meant to be booked, departed or arrived taken there on
them (seed_demo stops those cases at `ready`, before the transitions travel owns, and marks what is left to do
in `demo_path`).

- arrived: Dushanbe–Istanbul–Toronto (TK 255, TK 17) some days ago, with the arrived families;
- departed: the same route yesterday-ish, with the departed families (arrival not yet confirmed);
- final: the same route in about ten days, passenger list locked;
- open: the same route in about three weeks, and a Dushanbe–Istanbul–Vancouver flight that lands on a Friday —
  a rule Canada keeps — with the exception IRCC granted recorded;
- planned: a flight in about six weeks, no PNR yet;
- cancelled: a flight whose booked family went back to ready;
- a road convoy Khorog–Dushanbe with two vehicles, open;
- today: a flight leaving in about three hours, final, assigned to the demo escort, boarding open, its
  passengers waiting with their fit-to-travel checks recorded (one on a medical override instead).

Departures that have already flown were boarded passenger by passenger by the demo escort, who closed boarding
and confirmed the arrival, through `travel.boarding`.
"""

import datetime

from movements import hooks
from django.utils import timezone

from movements.models import MedicalExam
from travel import boarding, services
from travel.destinations import Region, holiday_name
from travel.legs import LegInput
from travel.models import DestinationRule, EscortProfile, Passenger, RuleCode

TORONTO = Region("CAN", "ON", "Ontario")
VANCOUVER = Region("CAN", "BC", "British Columbia")


@hooks.demo_data.register
def travel_demo(demo):
    return DemoTravel(demo.users, demo.today)


def _at(day, hhmm, plus_days=0):
    hours, minutes = map(int, hhmm.split(":"))
    return datetime.datetime.combine(day + datetime.timedelta(days=plus_days), datetime.time(hours, minutes))


def tk_toronto(day):
    return [
        LegInput(carrier="TK", flight_number="255", origin="DYU", destination="IST", departs=_at(day, "05:45"),
                 arrives=_at(day, "09:05")),
        LegInput(carrier="TK", flight_number="17", origin="IST", destination="YYZ", departs=_at(day, "14:20"),
                 arrives=_at(day, "18:05")),
    ]


def tk_vancouver(day):
    return [
        LegInput(carrier="TK", flight_number="255", origin="DYU", destination="IST", departs=_at(day, "05:45"),
                 arrives=_at(day, "09:05")),
        LegInput(carrier="TK", flight_number="75", origin="IST", destination="YVR", departs=_at(day, "14:05"),
                 arrives=_at(day, "14:45")),
    ]


class DemoTravel:
    def __init__(self, users, today):
        self.ops, self.escort, self.medic, self.today = users["ops"], users["escort"], users["medic"], today
        self.rule = DestinationRule.objects.filter(country="CAN").first()

    def receives(self, day, region=TORONTO):
        """Canada receives refugees on this (local arrival) day: not Friday to Sunday, not a holiday there."""
        return day.isoweekday() not in (self.rule.no_arrival_weekdays if self.rule else []) \
            and not holiday_name(region, day)

    def arrival_day(self, near, *, before=False):
        step = datetime.timedelta(days=-1 if before else 1)
        day = near
        while not self.receives(day):
            day += step
        return day

    def flight(self, legs, *, seats, state, final_destination="Toronto", escorts=(), pnr="", at=None, cases=(),
               booked_at=None):
        """A departure planned (at `at`), opened, with `cases` booked, and taken to `state` (final or further)."""
        departure = services.create_departure(services.Planned(
            mode="air", destination_country="CAN", final_destination=final_destination, legs=legs, seat_block=seats,
            pnr=pnr, escorts=tuple(escorts)), by=self.ops, at=at)
        if state == "planned":
            return departure
        departure = services.open_departure(departure, by=self.ops, at=at)
        for case in cases:
            services.book_case(departure, case, by=self.ops, at=booked_at or at)
        if state in ("final", "departed", "arrived"):
            departure = services.finalise_departure(departure, by=self.ops, at=booked_at or at)
        if state in ("departed", "arrived"):
            # The escort boarded every passenger at the gate, then closed boarding.
            for case in cases:
                self.pre_embarkation(case, departure)
            gate = departure.departs_at - datetime.timedelta(minutes=50)
            for passenger in Passenger.objects.filter(departure=departure, active=True).order_by("id"):
                boarding.mark(departure, passenger, "boarded", by=self.escort, at=gate)
            departure = boarding.close_boarding(departure, by=self.escort,
                                                at=departure.departs_at - datetime.timedelta(minutes=20)).departure
        if state == "arrived":
            departure = boarding.confirm_arrival(departure, by=self.escort,
                                                 at=departure.arrives_at + datetime.timedelta(hours=2)).departure
        return departure

    def pre_embarkation(self, case, departure):
        """The fit-to-travel check each traveller passes at the airport, hours before the flight."""
        examined = departure.departs_at - datetime.timedelta(hours=4)
        for person in case.members.all():
            MedicalExam.objects.create(
                person=person, kind="ftt", exam_date=examined.date(), examined_at=examined,
                clinic="IOM pre-embarkation check, Dushanbe airport", fit_to_travel=True,
            )

    def checked_now(self, people):
        """Today's flight: the fit-to-travel check each of these travellers passed a couple of hours ago."""
        examined = timezone.now() - datetime.timedelta(hours=2)
        for person in people:
            MedicalExam.objects.create(
                person=person, kind="ftt", exam_date=timezone.localdate(examined), examined_at=examined,
                clinic="IOM pre-embarkation check, Dushanbe airport", fit_to_travel=True, recorded_by=self.medic,
            )

    def todays_flight(self, cases):
        """A flight leaving later today, final, boarding open for the demo escort: each passenger waits to be
        marked. One traveller boards on a medical override instead of a check (the check point was closed)."""
        import zoneinfo

        dushanbe = zoneinfo.ZoneInfo("Asia/Dushanbe")
        now = timezone.localtime(timezone.now(), dushanbe)
        # Leaves about three hours from now, and still today in Dushanbe (the escort's "today").
        leaves = min(now + datetime.timedelta(hours=3), now.replace(hour=23, minute=55))
        leaves = leaves.replace(minute=leaves.minute - leaves.minute % 5, second=0, microsecond=0, tzinfo=None)
        first = leaves + datetime.timedelta(hours=3, minutes=20)  # local at IST (two hours behind)
        second = first + datetime.timedelta(hours=5, minutes=15)
        legs = [
            LegInput(carrier="TK", flight_number="255", origin="DYU", destination="IST", departs=leaves,
                     arrives=first),
            LegInput(carrier="TK", flight_number="17", origin="IST", destination="YYZ", departs=second,
                     arrives=second + datetime.timedelta(hours=3, minutes=45)),
        ]
        created = timezone.now() - datetime.timedelta(days=20)
        departure = services.create_departure(services.Planned(
            mode="air", destination_country="CAN", final_destination="Toronto", legs=legs, seat_block=30,
            pnr="T0DAY5", escorts=(self.escort,)), by=self.ops, at=min(created, _aware(leaves)))
        arrival = departure.arrives_at.astimezone(zoneinfo.ZoneInfo("America/Toronto")).date()
        if not self.receives(arrival):
            services.record_exception(
                departure, rule=RuleCode.ARRIVAL_DAY, granted_by="IRCC Resettlement Operations Centre (Ottawa)",
                reference="ROC-O demo", by=self.ops,
                reason="Demo data: the flight leaves today whatever the day; the reception centre is staffed.")
        services.open_departure(departure, by=self.ops)
        for case in cases:
            services.book_case(departure, case, by=self.ops)
        services.finalise_departure(departure, by=self.ops)
        for case in cases[:-1]:
            self.checked_now(case.members.all())
        if cases:
            eldest, *others = cases[-1].members.order_by("date_of_birth")
            self.checked_now(others)
            boarding.record_override(
                departure, eldest, by=self.medic,
                reason="Examined at the IOM clinic last night (fit to travel); the airport check point was closed "
                       "this morning.")
        return departure

    def finish(self, cases):
        EscortProfile.objects.update_or_create(user=self.escort, defaults={"phone": "+992931234567"})
        by_path = {}
        for case in sorted(cases, key=lambda c: c.pk):
            path = tuple(getattr(case, "demo_path", ()) or ())
            if path:
                by_path.setdefault(path, []).append(case)
        arrive = by_path.get(("book", "depart", "arrive"), [])
        depart = by_path.get(("book", "depart"), [])
        booked = by_path.get(("book",), [])
        ready = [c for c in sorted(cases, key=lambda c: c.pk) if c.state == "ready" and not getattr(c, "demo_path", ())]
        hours_ago = datetime.timedelta(days=30)

        # Gone already: planned a month before they flew.
        day = self.arrival_day(self.today - datetime.timedelta(days=12), before=True)
        legs = tk_toronto(day)
        self.flight(legs, seats=40, state="arrived", escorts=[self.escort], pnr="K7Q2XM", cases=arrive,
                    at=_aware(legs[0].departs) - hours_ago, booked_at=_aware(legs[0].departs) - hours_ago / 2)
        day = self.arrival_day(self.today - datetime.timedelta(days=2), before=True)
        legs = tk_toronto(day)
        self.flight(legs, seats=30, state="departed", escorts=[self.escort], pnr="M3TR8A", cases=depart,
                    at=_aware(legs[0].departs) - hours_ago, booked_at=_aware(legs[0].departs) - hours_ago / 2)

        # Ahead of us.
        final = self.flight(tk_toronto(self.arrival_day(self.today + datetime.timedelta(days=10))), seats=24,
                            state="final", escorts=[self.escort], pnr="Q9WZ4C", cases=booked[:2])
        self.flight(tk_toronto(self.arrival_day(self.today + datetime.timedelta(days=24))), seats=30, state="open",
                    escorts=[self.escort], pnr="H2LD7N", cases=booked[2:3])
        friday = self.today + datetime.timedelta(days=(4 - self.today.weekday()) % 7 + 28)
        vancouver = services.create_departure(services.Planned(
            mode="air", destination_country="CAN", final_destination="Vancouver", legs=tk_vancouver(friday),
            seat_block=10, pnr="V5RX2P"), by=self.ops)
        services.record_exception(
            vancouver, rule="arrival_day", granted_by="IRCC Resettlement Operations Centre (Ottawa)",
            reference="ROC-O 2026-114", by=self.ops,
            reason="The sponsor group in Vancouver receives the family on Friday; the reception centre is staffed.",
        )
        services.open_departure(vancouver, by=self.ops)
        for case in booked[3:]:
            services.book_case(vancouver, case, by=self.ops)
        self.flight(tk_toronto(self.arrival_day(self.today + datetime.timedelta(days=45))), seats=60,
                    state="planned")

        # Today: boarding is open for the demo escort (three families, one with a medical override).
        self.todays_flight(ready[1:4])

        # A fare withdrawn: the family booked on it is ready again, with the reason on its timeline.
        cancelled = self.flight(tk_toronto(self.arrival_day(self.today + datetime.timedelta(days=17))), seats=20,
                                state="open", pnr="C4NX9L", cases=ready[:1])
        services.cancel_departure(cancelled, by=self.ops,
                                  reason=f"Turkish Airlines withdrew the group fare; families move to {final.code} "
                                         "or later departures.")

        # A road convoy bringing people down from Khorog to Dushanbe.
        start = self.today + datetime.timedelta(days=6)
        convoy = [
            LegInput(origin="Khorog", destination="Dushanbe", departs=_at(start, "06:00"), arrives=_at(start, "20:00"),
                     vehicle="Bus (Yutong, white)", plate="01 234 AB", driver="Rustam Nazarov", seats=30),
            LegInput(origin="Khorog", destination="Dushanbe", departs=_at(start, "06:15"), arrives=_at(start, "20:30"),
                     vehicle="Minibus (Toyota HiAce)", plate="02 567 BA", driver="Davlat Mirzoev", seats=12),
        ]
        road = services.create_departure(services.Planned(
            mode="road", destination_country="TJK", final_destination="Dushanbe", legs=convoy,
            escorts=(self.escort,), notes="Luggage tagged per vehicle; final boarding checked per vehicle."),
            by=self.ops)
        services.open_departure(road, by=self.ops)


def _aware(naive):
    """A Dushanbe wall-clock time (the first leg leaves from DYU) as an aware moment."""
    import zoneinfo

    return naive.replace(tzinfo=zoneinfo.ZoneInfo("Asia/Dushanbe"))
