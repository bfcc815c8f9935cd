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
- a road convoy Khorog–Dushanbe with two vehicles, open.
"""

import datetime

from movements import hooks
from movements.models import MedicalExam
from travel import services
from travel.destinations import Region, holiday_name
from travel.legs import LegInput
from travel.models import DestinationRule, EscortProfile

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
        self.ops, self.escort, self.today = users["ops"], users["escort"], today
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
            for case in cases:
                self.pre_embarkation(case, departure)
            departure = services.depart_departure(departure, by=self.ops,
                                                  at=departure.departs_at + datetime.timedelta(hours=1))
        if state == "arrived":
            departure = services.arrive_departure(departure, by=self.ops,
                                                  at=departure.arrives_at + datetime.timedelta(hours=2))
        return departure

    def pre_embarkation(self, case, departure):
        """The fit-to-travel check each traveller passes at the airport, hours before the flight."""
        examined = departure.departs_at - datetime.timedelta(hours=4)
        for person in case.members.all():
            MedicalExam.objects.create(
                person=person, kind="ftt", exam_date=examined.date(), examined_at=examined,
                clinic="IOM pre-embarkation check, Dushanbe airport", fit_to_travel=True,
            )

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
