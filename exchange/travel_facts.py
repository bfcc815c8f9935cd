"""What the travel app knows about a case, as the status export and the API read it: the departure's date,
the itinerary (`TK 255 DYU-IST / TK 17 IST-YYZ`, or the road route), the arrival date, and the members who
stayed behind in a split case (with their own status)."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TravelFacts:
    departure_date: object = None
    itinerary: str = ""
    arrival_date: object = None
    stayed_behind: dict = field(default_factory=dict)  # progres_individual_id -> status code


def for_cases(case_ids):
    """{case id: TravelFacts} for the cases that have a departure, in a bounded number of queries."""
    return {}
