"""Machine-readable zones (ICAO Doc 9303): parsing, check digits, and the travel document's own checks."""

import datetime
import html

import pytest
from django.core.exceptions import ValidationError

from movements import mrz
from movements.models import TravelDocument
from tests.conftest import make_case

# The ICAO Doc 9303 part 4 specimen passport (DOMAIN.md).
LINE1 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"
LINE2 = "L898902C36UTO7408122F1204159ZE184226B<<<<<10"


def with_char(line, index, char):
    return line[:index] + char + line[index + 1:]


# --- parsing --------------------------------------------------------------------------------------


def test_it_parses_the_icao_specimen():
    parsed = mrz.parse_td3(LINE1, LINE2)

    assert parsed.document_type == "P"
    assert parsed.issuing_state == "UTO"
    assert parsed.names == "ERIKSSON, ANNA MARIA"
    assert parsed.document_number == "L898902C3"
    assert parsed.nationality == "UTO"
    assert parsed.birth_date == "740812"
    assert parsed.sex == "F"
    assert parsed.expiry_date == "120415"
    assert parsed.optional_data == "ZE184226B"


def test_it_tolerates_surrounding_whitespace():
    parsed = mrz.parse_td3(f"  {LINE1}\n", f"\t{LINE2}  ")

    assert parsed.document_number == "L898902C3"


def test_it_reads_lowercase_lines_as_the_capitals_printed_on_the_document():
    parsed = mrz.parse_td3(LINE1.lower(), LINE2.lower())

    assert parsed.document_number == "L898902C3"
    assert parsed.names == "ERIKSSON, ANNA MARIA"


def test_it_accepts_a_filler_check_digit_when_the_optional_data_is_empty():
    # Personal number all fillers, its check digit `<`; the composite recomputed for that line.
    body = "L898902C36UTO7408122F1204159<<<<<<<<<<<<<<<"
    composite = body[0:10] + body[13:20] + body[21:43]
    line2 = body + mrz.check_digit(composite)

    parsed = mrz.parse_td3(LINE1, line2)

    assert parsed.optional_data == ""


# --- check digits -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field, digit",
    [
        ("L898902C3", "6"),  # document number
        ("740812", "2"),  # date of birth
        ("120415", "9"),  # expiry date
        ("ZE184226B<<<<<", "1"),  # personal number
        ("L898902C367408122" "1204159ZE184226B<<<<<1", "0"),  # composite: number, birth, expiry, optional
        ("<<<<<<<<<", "0"),
        ("", "0"),
    ],
)
def test_it_computes_check_digits_with_weights_7_3_1(field, digit):
    assert mrz.check_digit(field) == digit


def test_it_values_letters_from_10_to_35_and_the_filler_as_zero():
    assert mrz.char_value("A") == 10
    assert mrz.char_value("Z") == 35
    assert mrz.char_value("<") == 0
    assert mrz.char_value("7") == 7


@pytest.mark.parametrize(
    "index, label",
    [
        (9, "document number"),
        (19, "date of birth"),
        (27, "expiry date"),
        (42, "personal number"),
        (43, "composite"),
    ],
)
def test_it_refuses_a_wrong_check_digit(index, label):
    wrong = str((int(LINE2[index]) + 1) % 10)

    with pytest.raises(mrz.MRZError) as excinfo:
        mrz.parse_td3(LINE1, with_char(LINE2, index, wrong))

    assert excinfo.value.code == "mrz_check_digit"
    assert label in excinfo.value.message


def test_it_refuses_a_changed_digit_in_the_document_number():
    # One mistyped digit (L898902C3 -> L898903C3) no longer matches its check digit 6.
    with pytest.raises(mrz.MRZError) as excinfo:
        mrz.parse_td3(LINE1, with_char(LINE2, 5, "3"))

    assert excinfo.value.code == "mrz_check_digit"
    assert "document number" in excinfo.value.message


def test_it_refuses_a_changed_date_of_birth():
    with pytest.raises(mrz.MRZError) as excinfo:
        mrz.parse_td3(LINE1, with_char(LINE2, 14, "5"))  # 740812 -> 750812

    assert excinfo.value.code == "mrz_check_digit"
    assert "date of birth" in excinfo.value.message


# --- length and characters ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line1, line2, number",
    [
        (LINE1[:-1], LINE2, 1),
        (LINE1 + "<", LINE2, 1),
        (LINE1, LINE2[:-1], 2),
        (LINE1, LINE2 + "<", 2),
        ("", LINE2, 1),
        (LINE1, None, 2),
    ],
)
def test_it_refuses_a_line_of_the_wrong_length(line1, line2, number):
    with pytest.raises(mrz.MRZError) as excinfo:
        mrz.parse_td3(line1, line2)

    assert excinfo.value.code == "mrz_length"
    assert f"line {number}" in excinfo.value.message


@pytest.mark.parametrize("char", ["-", "é", "Ж", "\u0660", "\u00b2", "٣", "\x00", "*"])
def test_it_refuses_characters_outside_a_to_z_digits_and_filler(char):
    with pytest.raises(mrz.MRZError) as excinfo:
        mrz.parse_td3(LINE1, with_char(LINE2, 3, char))

    assert excinfo.value.code == "mrz_character"


@pytest.mark.parametrize("char", ["\u00b2", "\u0663", "\u06f3"])
def test_it_refuses_non_ascii_digits_in_a_check_digit_field(char):
    # str.isdigit() is true for superscripts and Arabic-Indic digits; an MRZ holds only 0-9.
    with pytest.raises(mrz.MRZError) as excinfo:
        mrz.check_digit(f"L8989{char}2C3")

    assert excinfo.value.code == "mrz_character"


def test_it_names_the_line_that_holds_a_bad_character():
    with pytest.raises(mrz.MRZError) as excinfo:
        mrz.parse_td3(with_char(LINE1, 10, "-"), LINE2)

    assert excinfo.value.code == "mrz_character"
    assert "line 1" in excinfo.value.message


# --- the travel document checks its MRZ against its own fields -----------------------------------


@pytest.fixture
def person(db):
    """Anna Maria Eriksson of the ICAO specimen, whose passport the MRZ lines describe."""
    person = make_case(1, documents=False).members.get()
    person.family_name, person.given_name, person.sex = "Eriksson", "Anna Maria", "F"
    person.date_of_birth = datetime.date(1974, 8, 12)
    person.save()
    return person


def specimen_document(person, **fields):
    values = {
        "person": person,
        "document_type": "passport",
        "number": "L898902C3",
        "issuing_country": "AFG",
        "expiry_date": datetime.date(2012, 4, 15),
        "mrz_line1": LINE1,
        "mrz_line2": LINE2,
    }
    values.update(fields)
    return TravelDocument(**values)


def test_a_document_whose_mrz_agrees_with_its_number_and_expiry_is_valid(person):
    document = specimen_document(person)

    document.full_clean()


def test_a_document_stores_mrz_lines_typed_in_lowercase_as_capitals(person):
    document = specimen_document(person, mrz_line1=LINE1.lower(), mrz_line2=LINE2.lower())

    document.full_clean()

    assert document.mrz_line1 == LINE1
    assert document.mrz_line2 == LINE2


def test_a_document_without_mrz_lines_is_valid(person):
    document = specimen_document(person, mrz_line1="", mrz_line2="")

    document.full_clean()


def test_a_document_whose_number_differs_from_the_mrz_gets_an_error_on_the_number(person):
    document = specimen_document(person, number="L898902C4")

    with pytest.raises(ValidationError) as excinfo:
        document.full_clean()

    errors = excinfo.value.message_dict
    assert list(errors) == ["number"]
    assert "L898902C3" in errors["number"][0]


def test_a_document_whose_expiry_differs_from_the_mrz_gets_an_error_on_the_expiry_date(person):
    document = specimen_document(person, expiry_date=datetime.date(2012, 4, 16))

    with pytest.raises(ValidationError) as excinfo:
        document.full_clean()

    errors = excinfo.value.message_dict
    assert list(errors) == ["expiry_date"]
    assert errors["expiry_date"][0] == "The MRZ gives expiry 2012-04-15, not 2012-04-16."


def test_a_document_with_a_bad_check_digit_gets_an_error_on_line_2(person):
    document = specimen_document(person, mrz_line2=with_char(LINE2, 9, "7"))

    with pytest.raises(ValidationError) as excinfo:
        document.full_clean()

    assert "check digit" in excinfo.value.message_dict["mrz_line2"][0]


def test_a_document_with_a_short_line_1_gets_an_error_on_line_1(person):
    document = specimen_document(person, mrz_line1=LINE1[:40])

    with pytest.raises(ValidationError) as excinfo:
        document.full_clean()

    assert "mrz_line1" in excinfo.value.message_dict


def test_a_document_with_a_bad_character_in_line_1_gets_the_error_on_line_1(person):
    document = specimen_document(person, mrz_line1=with_char(LINE1, 10, "-"))

    with pytest.raises(ValidationError) as excinfo:
        document.full_clean()

    assert "mrz_line1" in excinfo.value.message_dict
    assert "mrz_line2" not in excinfo.value.message_dict


def test_a_document_with_a_superscript_digit_in_its_mrz_is_refused_not_crashed(person):
    document = specimen_document(person, mrz_line2=with_char(LINE2, 3, "\u00b2"))

    with pytest.raises(ValidationError) as excinfo:
        document.full_clean()

    assert "mrz_line2" in excinfo.value.message_dict


@pytest.mark.parametrize("given, missing", [({"mrz_line2": ""}, "mrz_line2"), ({"mrz_line1": ""}, "mrz_line1")])
def test_a_document_with_only_one_mrz_line_is_refused(person, given, missing):
    document = specimen_document(person, **given)

    with pytest.raises(ValidationError) as excinfo:
        document.full_clean()

    assert "both MRZ lines" in excinfo.value.message_dict[missing][0]


@pytest.mark.django_db
def test_an_mrz_of_someone_else_is_refused(person):
    person.family_name, person.date_of_birth, person.sex = "Karimi", datetime.date(1990, 1, 1), "M"
    person.save()
    with pytest.raises(ValidationError) as refused:
        specimen_document(person).full_clean()
    assert refused.value.message_dict["mrz_line1"] == [
        "This MRZ is not Karimi, Anna Maria's: it gives date of birth 1974-08-12, sex F, surname ERIKSSON (Safar "
        "reads Karimi as KARIMI: apostrophes dropped, hyphens and spaces as <, ICAO 9303 part 3 transliteration). "
        "Check the document."
    ]



# --- the zone as people in the field meet it (ICAO Doc 9303 part 3: transliteration, field syntax) --------------


def td3(names, number="AB1234567", state="AFG", nationality="AFG", birth="850517", sex="F", expiry="300101",
        code="P<"):
    """A passport zone with correct check digits, as a passport office would print it."""
    line1 = (code + state + names).ljust(44, "<")[:44]
    optional = "<" * 14
    body = number + mrz.check_digit(number) + nationality + birth + mrz.check_digit(birth) + sex + expiry + \
        mrz.check_digit(expiry) + optional + "<"
    composite = body[0:10] + body[13:20] + body[21:43]
    return line1, body + mrz.check_digit(composite)


def document_for(person, line1, line2, number="AB1234567"):
    return TravelDocument(person=person, document_type="passport", number=number, issuing_country="AFG",
                          expiry_date=datetime.date(2030, 1, 1), mrz_line1=line1, mrz_line2=line2)


@pytest.mark.django_db
@pytest.mark.parametrize("family, given, zone_names", [
    ("O'Neil-Wardak", "Ali", "ONEIL<WARDAK<<ALI"),  # apostrophe dropped, hyphen as <
    ("Müller", "Jörg", "MUELLER<<JOERG"),  # Ü as UE
    ("Müller", "Jörg", "MULLER<<JORG"),  # Ü as U: both are allowed
    ("Ångström", "Åsa", "AANGSTROEM<<AASA"),
    ("Peña", "José", "PENXXA<<JOSE"),  # Ñ as NXX
    ("Strauß", "Eva", "STRAUSS<<EVA"),
    ("Sa'idi", "Omid", "SAIDI<<OMID"),
    ("Abdul Rahman", "Hadia", "ABDUL<RAHMAN<<HADIA"),
])
def test_a_passport_whose_name_has_an_apostrophe_hyphen_or_letter_outside_a_z_is_accepted(family, given, zone_names):
    case = make_case(1)
    person = case.members.get()
    person.family_name, person.given_name = family, given
    person.save()
    line1, line2 = td3(zone_names, birth=person.date_of_birth.strftime("%y%m%d"), sex=person.sex)

    document_for(person, line1, line2).full_clean()


@pytest.mark.django_db
def test_a_surname_mismatch_says_which_rule_was_tried():
    case = make_case(1)
    person = case.members.get()
    person.family_name = "O'Neil-Wardak"
    person.save()
    line1, line2 = td3("WARDAK<<ALI", birth=person.date_of_birth.strftime("%y%m%d"), sex=person.sex)

    with pytest.raises(ValidationError) as refused:
        document_for(person, line1, line2).full_clean()

    message = refused.value.message_dict["mrz_line1"][0]
    assert "surname WARDAK" in message and "ONEIL<WARDAK" in message and "apostrophes dropped" in message


@pytest.mark.parametrize("change, field", [
    ({"birth": "7A0812"}, "the date of birth “7A0812” is not a date"),
    ({"birth": "741312"}, "the date of birth “741312” is not a date"),
    ({"expiry": "300230"}, "the expiry date “300230” is not a date"),
    ({"sex": "Q"}, "the sex “Q” is not M, F, X or <"),
    ({"state": "UST"}, "the issuing state “UST” is not a code on ICAO's list"),
    ({"nationality": "1TO"}, "the nationality “1TO” is not a code on ICAO's list"),
    ({"code": "I<"}, "the document code is “I”: a passport's starts with P"),
])
def test_every_field_of_the_zone_is_checked_and_refused_by_name(change, field):
    line1, line2 = td3("KARIMI<<ZAHRA", **change)  # check digits recomputed: only the syntax is wrong

    with pytest.raises(mrz.MRZError) as refused:
        mrz.parse_td3(line1, line2)

    assert field in refused.value.message


@pytest.mark.parametrize("code", ["D", "XXA", "XXB", "XXC", "XXX", "UTO", "GBD", "UNO"])
def test_the_codes_on_icaos_list_besides_iso_are_accepted(code):
    line1, line2 = td3("KARIMI<<ZAHRA", state=code.ljust(3, "<"), nationality=code.ljust(3, "<"))
    parsed = mrz.parse_td3(line1, line2)
    assert parsed.nationality == code


def test_spaces_inside_a_scanned_line_are_cleaned_before_the_length_check():
    spaced1 = "P<UTOERIKSSON<<ANNA<MARIA<<< <<<<<<<<<  <<<<<<<"
    spaced2 = "L898902C36 UTO7408122F 1204159ZE184226B<<<<< 10"

    parsed = mrz.parse_td3(spaced1, spaced2)

    assert parsed.names == "ERIKSSON, ANNA MARIA"


# ICAO Doc 9303 part 7 (MRV-A) and part 5 (TD1) specimens.
MRVA = ("V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L8988901C4XXX4009078F96121096ZE184226B<<<<<<")
MRVB = ("V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "L8988901C4XXX4009078F9612109<<<<<<<<")
TD1 = ("I<UTOD231458907<<<<<<<<<<<<<<<", "7408122F1204159UTO<<<<<<<<<<<6", "ERIKSSON<<ANNA<MARIA<<<<<<<<<<")
TD2 = ("I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "D231458907UTO7408122F1204159<<<<<<<6")


@pytest.mark.parametrize("lines, says", [
    (MRVA, "This is a visa's zone (MRV-A), not a passport's"),
    (MRVB, "This is a visa's zone (MRV-B), not a passport's"),
    (TD1[:2], "This is an identity card's zone (TD1"),
    (TD2, "This is an identity card's zone (TD2"),
])
def test_a_visa_or_identity_card_zone_is_refused_saying_what_it_is(lines, says):
    with pytest.raises(mrz.MRZError) as refused:
        mrz.parse_td3(*lines)
    assert says in refused.value.message


FIELD_FAULTS = [
    ({"birth": "7A0812"}, "the date of birth “7A0812” is not a date"),
    ({"expiry": "30O101"}, "the expiry date “30O101” is not a date"),
    ({"sex": "Q"}, "the sex “Q” is not M, F, X or <"),
    ({"state": "UST"}, "the issuing state “UST” is not a code on ICAO's list"),
    ({"nationality": "1TO"}, "the nationality “1TO” is not a code on ICAO's list"),
    ({"code": "V<"}, "This is a visa's zone (MRV-A)"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("fault, says", FIELD_FAULTS)
def test_a_zone_with_a_bad_field_answers_the_form_with_a_message_not_a_500_and_saves_nothing(client, ops, fault,
                                                                                                says):
    case = make_case(1)
    person = case.members.get()
    line1, line2 = td3("KARIMI<<ZAHRA", **fault)
    before = list(TravelDocument.objects.values_list("pk", "number"))
    client.force_login(ops)
    data = {
        "documents-TOTAL_FORMS": "2", "documents-INITIAL_FORMS": "1", "documents-MIN_NUM_FORMS": "0",
        "documents-MAX_NUM_FORMS": "1000",
        "documents-0-id": str(person.documents.get().pk), "documents-0-document_type": "passport",
        "documents-0-number": person.documents.get().number, "documents-0-issuing_country": "AFG",
        "documents-0-expiry_date": "2030-01-01",
        "documents-1-document_type": "passport", "documents-1-number": "AB1234567",
        "documents-1-issuing_country": "AFG", "documents-1-expiry_date": "2030-01-01",
        "documents-1-mrz_line1": line1, "documents-1-mrz_line2": line2,
    }

    response = client.post(f"/cases/{case.case_number}/members/{person.pk}/documents/", data)

    assert response.status_code == 400
    assert says in html.unescape(response.content.decode())
    assert list(TravelDocument.objects.values_list("pk", "number")) == before
