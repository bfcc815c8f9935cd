"""The departure manifest and the advance passenger data: read back from the PDF with pdftotext (every passenger,
names in every script, "Page X of N", the header on every page, the totals, DRAFT or FINAL, no medical word), the QR
codes decoded with zbarimg, the road convoy per vehicle, who may download what, every download logged, and a fixed
number of queries whatever the number of passengers."""

import csv
import datetime
import io
import logging
import re
import shutil
import subprocess
import unicodedata

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from movements.models import MedicalExam, Person, TravelDocument, TravelMedicalNeeds
from tests.conftest import make_case, make_departure, make_user, ready_case
from travel import services
from travel.apd import apd_csv, apd_rows
from travel.legs import LegInput
from travel.manifest import boarding_address, load_manifest, render_manifest
from travel.models import Departure, EscortProfile, ManifestDownload

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 20, 5, tzinfo=datetime.timezone.utc)
FLIGHT_DAY = datetime.date(2026, 12, 9)
needs_poppler = pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils is not installed")
needs_zbar = pytest.mark.skipif(not (shutil.which("zbarimg") and shutil.which("pdftoppm")),
                                reason="zbar-tools (zbarimg) or poppler-utils is not installed")
# What must never appear on a manifest: diagnoses, TB results, outcome profiles, the words around them.
MEDICAL_WORDS = re.compile(r"\b(TB|tuberculosis|inactive|active TB|syphilis|HIV|X-ray|sputum|M[1-5]|diagnos\w*|"
                           r"outcome|profile|DOTS|IME)\b", re.IGNORECASE)


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


def pdf_pages(content, raw=False):
    """The text of each page, right-to-left runs without their embedding marks, NFKC-normalised. `raw`: in the order
    it was drawn (a cell's lines one after the other) rather than as laid out on the page."""
    mode = "-raw" if raw else "-layout"
    text = subprocess.run(["pdftotext", mode, "-", "-"], input=content, capture_output=True, check=True).stdout
    text = text.decode("utf-8")
    for mark in ("\u202a", "\u202b", "\u202c"):
        text = text.replace(mark, "")
    return [unicodedata.normalize("NFKC", page) for page in text.split("\f") if page.strip()]


def flat(text):
    return " ".join(text.split())


@pytest.fixture
def flight(ops, escort):
    EscortProfile.objects.create(user=escort, phone="+992931234567")
    return make_departure(ops, day=FLIGHT_DAY, escorts=[escort], seat_block=60)


def booked(ops, departure, members, **fields):
    case = ready_case(ops, members=members, **fields)
    services.book_case(departure, case, by=ops)
    return case


@pytest.fixture
def family(ops, flight):
    """Zahra (PA), Ahmad (WCHR) and Omid, an infant on the departure date."""
    case = ready_case(ops, members=3)
    omid = case.members.get(given_name="Omid")
    Person.objects.filter(pk=omid.pk).update(date_of_birth=datetime.date(2025, 8, 1))
    TravelMedicalNeeds.objects.create(person=case.members.get(given_name="Ahmad"), wheelchair="WCHR")
    services.book_case(flight, case, by=ops)
    return case


# --- what it says ---------------------------------------------------------------------------------------------


@needs_poppler
def test_the_manifest_lists_every_passenger_in_latin_and_in_their_own_script_with_their_document(
        ops, flight, family):
    tajik = booked(ops, flight, 2)
    tajik.members.filter(relationship="PA").update(family_name="Rahmonov", given_name="Firuz",
                                                   native_name="Фирӯз Раҳмонов")
    tajik.members.filter(relationship="SPS").update(native_name="بی‌بی گل عبدالرحمان‌زاده")
    text = "\n".join(pdf_pages(render_manifest(flight)))

    for person in Person.objects.filter(case__in=[family, tajik]):
        assert person.family_name in text and person.given_name in text, person
        assert person.documents.get().number in text
        assert person.progres_individual_id in text
        assert unicodedata.normalize("NFKC", person.native_name) in flat(text), person.native_name
    assert "Фирӯз Раҳмонов" in text  # Tajik Cyrillic intact
    assert family.case_number in text and tajik.case_number in text


@needs_poppler
def test_a_family_is_listed_in_one_order_on_the_manifest_the_departure_page_the_boarding_page_and_its_case(
        client, ops, flight):
    """Principal applicant, spouse, then oldest first: an escort holding the paper reads the screen in its order."""
    case = ready_case(ops, members=4)
    zahra, ahmad, omid, hadia = case.members.order_by("id")
    Person.objects.filter(pk=ahmad.pk).update(date_of_birth=datetime.date(1970, 1, 1))  # the spouse, the eldest
    Person.objects.filter(pk=hadia.pk).update(date_of_birth=datetime.date(1960, 1, 1), relationship="PAR")
    services.book_case(flight, case, by=ops)
    expected = ["Zahra", "Ahmad", "Hadia", "Omid"]

    def order(text):
        return sorted(expected, key=lambda given: text.index(f"Karimi, {given}"))

    manifest = flat("\n".join(pdf_pages(render_manifest(flight), raw=True))).replace("KARIMI, ", "Karimi, ")
    client.force_login(ops)
    departure_page = client.get(f"/departures/{flight.code}/").content.decode()
    boarding_page = client.get(f"/departures/{flight.code}/boarding/").content.decode()
    case_page = client.get(f"/cases/{case.case_number}/").content.decode()

    members = case_page[case_page.index('id="h-members"'):]  # its cards (the readiness panel names some above)
    assert (order(departure_page), order(boarding_page), order(members)) == (expected, expected, expected)
    assert sorted(expected, key=lambda given: manifest.index(given)) == expected


@needs_poppler
def test_the_first_page_sums_up_the_departure(ops, flight, family):
    text = flat(pdf_pages(render_manifest(flight))[0])

    assert "Cases 1" in text
    assert "Passengers 3 (2 adults, 0 children, 1 infant)" in text
    assert "SSR INFT 1, WCHR 1" in text
    assert "Unaccompanied minors 0" in text
    assert "Report to public health on arrival 0" in text
    assert "Exceptions granted none" in text


@needs_poppler
def test_the_header_gives_the_flights_in_local_times_the_pnr_and_the_escort_with_a_phone(ops, flight, family):
    text = flat(pdf_pages(render_manifest(flight))[0])

    assert f"Departure manifest {flight.code}" in text
    assert "Wednesday 09 December 2026" in text and "by air" in text
    assert "TK 255 DYU 05:45 → IST 09:05 · TK 17 IST 14:20 → YYZ 18:05" in text
    assert "PNR K7Q2XM" in text and "Final destination: Toronto, Canada" in text
    assert "Escorts: eraj +992 93 123 4567" in text


@needs_poppler
def test_a_time_that_happens_twice_that_night_is_printed_with_its_zone(ops):
    # Frankfurt's clocks go back from 03:00 to 02:00 on 31 October 2027: the second 02:30 (winter time, CET).
    night = datetime.date(2027, 10, 31)
    first = LegInput(carrier="TK", flight_number="1587", origin="IST", destination="FRA",
                     departs=datetime.datetime.combine(night, datetime.time(0, 40)),
                     arrives=datetime.datetime.combine(night, datetime.time(2, 30)), arrives_fold=1)
    second = LegInput(carrier="LH", flight_number="470", origin="FRA", destination="YYZ",
                      departs=datetime.datetime.combine(night, datetime.time(4, 15)),
                      arrives=datetime.datetime.combine(night, datetime.time(7, 10)))
    departure = make_departure(ops, legs=[first, second])

    text = flat(pdf_pages(render_manifest(departure))[0])

    assert "TK 1587 IST 00:40 → FRA 02:30 CET · LH 470 FRA 04:15 → YYZ 07:10" in text


@needs_poppler
def test_it_is_a_draft_until_the_departure_is_final_then_final_with_the_time(ops, flight, family):
    draft = pdf_pages(render_manifest(flight))
    assert "DRAFT" in draft[0] and "FINAL" not in draft[0]

    with time_machine.travel(datetime.datetime(2026, 12, 1, 9, 30, tzinfo=datetime.timezone.utc), tick=False):
        final = services.finalise_departure(flight, by=ops)
    text = flat(pdf_pages(render_manifest(final))[0])
    assert "FINAL made final 2026-12-01 14:30" in text  # Dushanbe time
    assert "DRAFT" not in text


@needs_poppler
def test_every_page_has_the_header_the_column_heads_and_says_page_x_of_n(ops, flight):
    for _ in range(7):
        booked(ops, flight, 6)
    pages = pdf_pages(render_manifest(flight))

    assert len(pages) >= 3
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in page
        assert f"Departure manifest {flight.code}" in page
        assert "Family name" in page and "Boarded" in page and "Arrived" in page
        assert "Confidential — contains personal data" in page
    assert "Escort: eraj" in pages[-1] and "Airline representative" in pages[-1]
    assert "End of manifest: 42 passengers in 7 cases." in flat(pages[-1])


@needs_poppler
def test_a_family_that_fits_on_a_page_is_never_split_across_two(ops, flight):
    cases = [booked(ops, flight, 6) for _ in range(7)]
    pages = pdf_pages(render_manifest(flight))

    for case in cases:
        ids = [p.progres_individual_id for p in case.members.all()]
        holding = [n for n, page in enumerate(pages) if any(i in page for i in ids)]
        assert len(holding) == 1, (case.case_number, holding)


@needs_poppler
def test_the_signatures_are_never_alone_on_a_page_without_a_passenger(ops, flight):
    # Families are added one at a time until the manifest has grown by two pages, so that the end of the list
    # passes every point of a page; at each size the page the escort signs also lists passengers.
    ids, sizes = [], set()
    while len(sizes) < 3:
        case = booked(ops, flight, 2)
        ids += [p.progres_individual_id for p in case.members.all()]
        pages = pdf_pages(render_manifest(flight))
        sizes.add(len(pages))
        signed = [page for page in pages if "Signature" in page]
        assert len(signed) == 1 and signed[0] is pages[-1], len(ids)
        assert any(i in pages[-1] for i in ids), f"{len(ids)} passengers: the last page has no passenger"


@needs_poppler
@pytest.mark.parametrize("sizes, escorts", [((12,), 2), ((14,), 2), ((13,), 1), ((3, 4), 4), ((2, 11), 3),
                                           ((5, 1), 6)])
def test_a_large_last_family_leaves_no_page_without_passengers_and_the_signatures_whole(ops, sizes, escorts):
    """A family too tall for what is left of a page is split between rows rather than leave the first page empty,
    and its last rows go with the signatures, which are never split: each page lists passengers."""
    people = [make_user(f"escort{n}", "escort", first_name="Escort", last_name=f"Number{n}") for n in range(escorts)]
    departure = make_departure(ops, day=FLIGHT_DAY, escorts=people, seat_block=60)
    ids = [p.progres_individual_id for size in sizes for p in booked(ops, departure, size).members.all()]

    pages = pdf_pages(render_manifest(departure))

    for number, page in enumerate(pages, start=1):
        assert any(i in page for i in ids), f"page {number} of {len(pages)} lists nobody"
    assert all(i in "\n".join(pages) for i in ids)
    signed = [n for n, page in enumerate(pages) if "Signature" in page]
    assert signed == [len(pages) - 1]
    assert flat(pages[-1]).count("Signature") == escorts + 1  # every escort's line and the airline's, together


@needs_poppler
@pytest.mark.parametrize("escorts", [8, 12])
def test_signatures_taller_than_a_page_run_on_rather_than_stop_the_manifest(ops, escorts):
    people = [make_user(f"escort{n}", "escort", first_name="Escort", last_name=f"Number{n}") for n in range(escorts)]
    departure = make_departure(ops, day=FLIGHT_DAY, escorts=people, seat_block=60)
    case = booked(ops, departure, 1)

    text = flat("\n".join(pdf_pages(render_manifest(departure))))

    assert case.members.get().progres_individual_id in text
    assert text.count("Signature") == escorts + 1


@needs_poppler
def test_an_infant_goes_on_the_lap_of_a_traveller_who_needs_no_care_themselves(ops, flight, family):
    zahra = family.members.get(given_name="Zahra")
    TravelMedicalNeeds.objects.create(person=zahra, stretcher=True)

    text = flat("\n".join(pdf_pages(render_manifest(flight), raw=True)))

    assert "Infant on the lap of Karimi, Ahmad (row 2)" in text  # Ahmad walks a little (WCHR): he can hold Omid
    assert text.count("Holds infant") == 1  # Ahmad's row, not Zahra's (on a stretcher)
    assert "Holds infant Karimi, Omid (row 3); wheelchair for long distances" in text
    assert "check with operations" not in text

    TravelMedicalNeeds.objects.filter(person__given_name="Ahmad").update(wheelchair="WCHC")
    text = flat("\n".join(pdf_pages(render_manifest(flight), raw=True)))

    assert "Infant on the lap of Karimi, Zahra (row 1)" in text  # no one else: the escort is told to check
    assert "no one else in the family can hold them: check with operations" in text


@needs_poppler
def test_special_attention_is_said_in_words_and_never_names_a_diagnosis(ops, flight, family):
    pa = family.members.get(relationship="PA")
    MedicalExam.objects.create(person=pa, kind="ime", exam_date=datetime.date(2026, 11, 1), clinic="MHAC",
                               outcome="M2", tb_status="inactive", notes="Old healed TB lesion on X-ray; diagnosis.")
    content = render_manifest(flight)
    text = flat("\n".join(pdf_pages(content, raw=True)))

    assert "Holds infant Karimi, Omid (row 3)" in text
    assert "Infant on the lap of Karimi, Zahra (row 1)" in text
    assert "Wheelchair for long distances" in text
    assert "report to public health within 30 days of arrival" in text
    assert "Report to public health on arrival 1" in flat(pdf_pages(content)[0])
    assert not MEDICAL_WORDS.search(text), MEDICAL_WORDS.search(text)


@needs_poppler
def test_a_stretcher_with_a_medif_says_escort_needed_once(ops, flight, family):
    ahmad = family.members.get(given_name="Ahmad")
    TravelMedicalNeeds.objects.filter(person=ahmad).update(wheelchair="", stretcher=True, medical_escort=True)

    text = flat("\n".join(pdf_pages(render_manifest(flight), raw=True)))

    assert "Stretcher — escort needed; MEDIF form with the carrier" in text
    assert text.lower().count("escort needed") == 1


@needs_poppler
def test_children_travelling_without_an_adult_are_unaccompanied_minors_with_an_escort(ops, flight):
    case = ready_case(ops, members=2)
    case.members.update(date_of_birth=datetime.date(2012, 3, 3))
    services.book_case(flight, case, by=ops)
    content = render_manifest(flight)
    text = flat("\n".join(pdf_pages(content, raw=True)))

    assert "Unaccompanied minors 2" in flat(pdf_pages(content)[0])
    assert text.count("Unaccompanied minor — escort needed") == 2
    assert "UMNR 2" in text


def test_a_name_in_a_script_no_font_covers_is_logged_and_printed_as_stored_not_as_boxes(ops, flight, family, caplog):
    Person.objects.filter(pk=family.members.get(relationship="PA").pk).update(native_name="ዘሃራ ከሪሚ")
    with caplog.at_level(logging.WARNING, logger="safar.manifest"):
        content = render_manifest(flight)

    assert "Ethiopic" in caplog.text and family.case_number in caplog.text
    assert "ዘሃራ" not in caplog.text  # the log names the row, not the person
    if shutil.which("pdftotext"):
        assert "ዘሃራ ከሪሚ" in "\n".join(pdf_pages(content))  # the text layer carries it (ActualText)


@needs_zbar
def test_each_familys_qr_code_opens_its_boarding_page(ops, flight, family, tmp_path, settings):
    settings.SAFAR_BASE_URL = "https://safar.example.org"
    other = booked(ops, flight, 1)
    (tmp_path / "m.pdf").write_bytes(render_manifest(flight))
    subprocess.run(["pdftoppm", "-r", "150", "-png", str(tmp_path / "m.pdf"), str(tmp_path / "page")], check=True)
    found = set()
    for image in sorted(tmp_path.glob("page*.png")):
        out = subprocess.run(["zbarimg", "-q", "--raw", str(image)], capture_output=True, text=True).stdout
        found |= {line.strip() for line in out.splitlines() if line.strip()}

    assert found == {
        f"https://safar.example.org/departures/{flight.code}/boarding/?case={family.case_number}",
        f"https://safar.example.org/departures/{flight.code}/boarding/?case={other.case_number}",
    }
    assert boarding_address(flight.code, family.case_number) in found


def test_the_number_of_queries_does_not_grow_with_the_passengers(ops, flight, family):
    with CaptureQueriesContext(connection) as few:
        render_manifest(flight)
    for members in (4, 5, 6, 3):
        booked(ops, flight, members)
    flight = Departure.objects.get(pk=flight.pk)
    with CaptureQueriesContext(connection) as many:
        render_manifest(flight)

    assert len(load_manifest(flight).rows) == 21
    assert len(many.captured_queries) == len(few.captured_queries) <= 8


# --- a road convoy --------------------------------------------------------------------------------------------


def convoy(ops, escort, seats=(5, 4)):
    day = FLIGHT_DAY

    def at(hhmm):
        return datetime.datetime.combine(day, datetime.time(*map(int, hhmm.split(":"))))

    legs = [
        LegInput(origin="Khorog", destination="Dushanbe", departs=at("06:00"), arrives=at("20:00"),
                 vehicle="Bus (Yutong, white)", plate="01 234 AB", driver="Rustam Nazarov", seats=seats[0]),
        LegInput(origin="Khorog", destination="Dushanbe", departs=at("06:15"), arrives=at("20:30"),
                 vehicle="Minibus (Toyota HiAce)", plate="02 567 BA", driver="Davlat Mirzoev", seats=seats[1]),
    ]
    return make_departure(ops, legs=legs, mode="road", destination_country="TJK", final_destination="Dushanbe",
                          escorts=[escort], pnr="", seat_block=None)


@needs_poppler
def test_a_convoy_lists_its_passengers_per_vehicle_with_a_boarding_box_and_luggage_tags(ops, escort):
    road = convoy(ops, escort)
    first, second, third = (booked(ops, road, n, destination_country="TJK") for n in (3, 3, 2))
    pages = pdf_pages(render_manifest(road))
    text = flat("\n".join(pages))

    bus = text.index("Vehicle 1: Bus (Yutong, white) 01 234 AB · driver Rustam Nazarov")
    minibus = text.index("Vehicle 2: Minibus (Toyota HiAce) 02 567 BA · driver Davlat Mirzoev")
    # Booking order, whole families: the first fills the bus's 5 seats but for 2, the second goes to the minibus,
    # the third takes the bus's last two seats.
    assert bus < text.index(first.case_number) < minibus
    assert bus < text.index(third.case_number) < minibus
    assert text.index(second.case_number) > minibus
    assert "5 passengers, 5 of 5 seats" in text and "3 passengers, 3 of 4 seats" in text
    assert text.count("Boarded: all") == 2
    assert "Luggage tags (write)" in flat("\n".join(pdf_pages(render_manifest(road), raw=True)))
    assert "Driver of vehicle 1: Rustam Nazarov" in text and "Driver of vehicle 2: Davlat Mirzoev" in text


@needs_poppler
def test_an_overnight_convoys_vehicle_heading_says_it_arrives_the_next_day(ops, escort):
    night = datetime.datetime.combine(FLIGHT_DAY, datetime.time(20, 0))
    legs = [LegInput(origin="Khorog", destination="Dushanbe", departs=night,
                     arrives=night + datetime.timedelta(hours=14), vehicle="Bus (Yutong, white)", plate="01 234 AB",
                     driver="Rustam Nazarov", seats=10)]
    road = make_departure(ops, legs=legs, mode="road", destination_country="TJK", final_destination="Dushanbe",
                          escorts=[escort], pnr="", seat_block=None)
    booked(ops, road, 2, destination_country="TJK")

    text = flat("\n".join(pdf_pages(render_manifest(road), raw=True)))  # the heading's cell, its lines in order

    assert "· Khorog 20:00 → Dushanbe 10:00+1 ·" in text


@needs_poppler
def test_every_page_of_a_convoy_says_which_vehicle_each_family_rides_in(ops, escort):
    road = convoy(ops, escort, seats=(24, 4))
    on_the_bus = [booked(ops, road, 4, destination_country="TJK") for _ in range(6)]  # 24 people: several pages
    on_the_minibus = booked(ops, road, 4, destination_country="TJK")

    pages = pdf_pages(render_manifest(road))

    assert len(pages) >= 3
    for cases, vehicle in ((on_the_bus, "Vehicle 1"), ([on_the_minibus], "Vehicle 2")):
        ids = [p.progres_individual_id for case in cases for p in case.members.all()]
        for number, page in enumerate(pages, start=1):
            if any(i in page for i in ids):
                assert vehicle in page, f"page {number} lists families of {vehicle} without saying so"


@needs_poppler
def test_every_font_of_the_manifest_is_embedded(family, flight):
    from tests.conftest import embedded_fonts

    fonts = embedded_fonts(render_manifest(flight))

    assert fonts and all(embedded for _, embedded in fonts), fonts  # print shops and PDF/A checks refuse others


@needs_poppler
@pytest.mark.parametrize("long_names", [2, 3, 4])
def test_a_convoy_whose_first_family_does_not_fit_the_first_page_starts_it_there(ops, escort, long_names):
    road = convoy(ops, escort, seats=(24, 4))
    large = ready_case(ops, members=13, destination_country="TJK")
    # Names that take two lines make the family, with its vehicle's heading, more than the first page holds (below
    # its summary) but not more than a page: it used to go whole to page 2, page 1 listing nobody.
    for person in large.members.order_by("id")[:long_names]:
        Person.objects.filter(pk=person.pk).update(family_name="Abdurahmonzoda-Khudoiberdievna-Sharipova")
    services.book_case(road, large, by=ops)
    booked(ops, road, 3, destination_country="TJK")

    pages = pdf_pages(render_manifest(road))

    ids = [p.progres_individual_id for p in large.members.order_by("id")]
    assert "Vehicle 1: Bus" in pages[0] and ids[0] in pages[0], "page 1 lists nobody"
    assert [sum(page.count(i) for page in pages) for i in ids] == [1] * 13  # each once: nobody lost or repeated
    assert all(any(i in page for i in ids) or number == len(pages) for number, page in enumerate(pages, start=1))


@needs_poppler
def test_a_convoy_whose_last_vehicle_is_empty_signs_a_page_that_lists_passengers(ops, escort):
    road = convoy(ops, escort, seats=(60, 4))  # every family fits the bus: the minibus stays empty
    # Families are added one at a time until the list has grown by two pages, so that its end passes every point of
    # a page: the empty minibus's heading goes with the end, and the page signed lists passengers.
    ids, sizes = [], set()
    while len(sizes) < 3:
        ids += [p.progres_individual_id for p in booked(ops, road, 3, destination_country="TJK").members.all()]
        pages = pdf_pages(render_manifest(road))
        sizes.add(len(pages))
        assert "Vehicle 2: Minibus" in pages[-1] and "Signature" in pages[-1]
        for number, page in enumerate(pages, start=1):
            assert any(i in page for i in ids), f"{len(ids)} passengers: page {number} of {len(pages)} lists nobody"


# --- who may download it, and the log --------------------------------------------------------------------------


@pytest.mark.parametrize("role, manifest, apd", [
    ("operations", 200, 200), ("escort", 200, 403), ("medical", 404, 404), ("trainer", 404, 404),
    ("unhcr", 404, 404),
])
def test_each_role_gets_the_expected_answer_for_the_manifest_and_the_passenger_data(
        client, personas, flight, family, role, manifest, apd):
    client.force_login(personas[role])

    assert client.get(f"/departures/{flight.code}/manifest.pdf").status_code == manifest
    assert client.get(f"/departures/{flight.code}/apd.csv").status_code == apd
    assert client.get(f"/departures/{flight.code}/apd.xlsx").status_code == apd


def test_an_escort_of_another_departure_gets_a_404(client, ops, flight, family):
    from tests.conftest import make_user

    other = make_user("erik", "escort")
    client.force_login(other)

    assert client.get(f"/departures/{flight.code}/manifest.pdf").status_code == 404
    assert client.get("/departures/DEP-NOPE/manifest.pdf").status_code == 404


def test_every_download_is_logged_with_who_when_and_draft_or_final(client, ops, escort, flight, family):
    client.force_login(escort)
    response = client.get(f"/departures/{flight.code}/manifest.pdf")
    assert response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"]
    services.finalise_departure(flight, by=ops)
    client.force_login(ops)
    client.get(f"/departures/{flight.code}/manifest.pdf")
    client.get(f"/departures/{flight.code}/apd.csv")

    log = list(ManifestDownload.objects.order_by("id").values_list("user__username", "document", "status",
                                                                     "passengers", "at"))
    assert log == [("eraj", "manifest", "draft", 3, NOW), ("olga", "manifest", "final", 3, NOW),
                   ("olga", "apd", "final", 3, NOW)]
    with pytest.raises(Exception):
        ManifestDownload.objects.all().delete()
    page = client.get(f"/departures/{flight.code}/").content.decode()
    assert f"/departures/{flight.code}/manifest.pdf" in page and "Last downloads" in page


def test_render_manifest_writes_the_file_and_logs_it(ops, flight, family, tmp_path):
    out = io.StringIO()
    call_command("render_manifest", flight.code, "--output", str(tmp_path / "m.pdf"), stdout=out)

    assert (tmp_path / "m.pdf").read_bytes().startswith(b"%PDF")
    assert "DRAFT, 3 passengers in 1 case" in out.getvalue()
    entry = ManifestDownload.objects.get()
    assert entry.user is None and entry.actor == "render_manifest (command line)" and entry.status == "draft"


# --- advance passenger data ------------------------------------------------------------------------------------


def test_the_passenger_data_has_a_line_per_passenger_with_the_document_and_the_pnr(ops, flight, family):
    rows = list(csv.reader(io.StringIO(apd_csv(flight).lstrip("\ufeff"))))

    assert rows[0] == ["family_name", "given_names", "date_of_birth", "nationality", "sex", "document_type",
                       "document_number", "document_issuing_country", "document_expiry_date", "pnr"]
    zahra = family.members.get(given_name="Zahra")
    document = zahra.documents.get()
    assert ["Karimi", "Zahra", "1985-05-17", "AFG", "F", "Passport", document.number, "AFG",
            document.expiry_date.isoformat(), "K7Q2XM"] in rows
    assert len(rows) == 4


def test_the_passenger_data_neutralises_anything_a_spreadsheet_would_run(ops, flight, family):
    Person.objects.filter(case=family, given_name="Zahra").update(family_name="=HYPERLINK(\"x\")",
                                                                  given_name="+1")
    Person.objects.filter(case=family, given_name="Ahmad").update(given_name="@SUM(A1)")
    TravelDocument.objects.filter(person__case=family, person__given_name="Omid").update(number="-12")
    text = apd_csv(flight)

    assert "'=HYPERLINK" in text and "'+1" in text and "'@SUM(A1)" in text and "'-12" in text



def test_the_passenger_data_as_xlsx_keeps_document_numbers_as_text_and_dates_as_dates(client, ops, flight, family):
    from openpyxl import load_workbook

    TravelDocument.objects.filter(person__case=family, person__given_name="Zahra").update(number="0001234")
    TravelDocument.objects.filter(person__case=family, person__given_name="Omid").update(number="-12")
    client.force_login(ops)

    response = client.get(f"/departures/{flight.code}/apd.xlsx")

    assert response["Content-Disposition"] == f'attachment; filename="apd-{flight.code}.xlsx"'
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0] == list(apd_rows(flight))[0]
    zahra = next(row for row in rows if row[1] == "Zahra")
    assert zahra[6] == "0001234"  # a text cell: a CSV opened in a spreadsheet shows 1234
    assert zahra[2] == datetime.datetime(1985, 5, 17) and sheet.cell(row=rows.index(zahra) + 1, column=3).is_date
    assert ["'-12"] == [row[6] for row in rows if row[1] == "Omid"]  # neutralised as in the CSV
    assert [[str(v.date()) if isinstance(v, datetime.datetime) else (v or "") for v in row] for row in rows] == \
        list(apd_rows(flight))
    assert sheet.freeze_panes == "A2"
    assert ManifestDownload.objects.get().document == "apd_xlsx"

# --- the demo data ---------------------------------------------------------------------------------------------


@needs_poppler
def test_no_demo_departures_manifest_names_anything_medical():
    call_command("seed_demo", stdout=io.StringIO())
    for departure in Departure.objects.all():
        text = flat("\n".join(pdf_pages(render_manifest(departure))))
        found = MEDICAL_WORDS.search(text)
        assert not found, (departure.code, found)
        assert f"Departure manifest {departure.code}" in text
