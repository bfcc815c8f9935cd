"""Machine-readable zones (ICAO Doc 9303): parsing, check digits, and the travel document's own checks."""

import datetime

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


@pytest.mark.parametrize("char", ["-", " ", "é", "Ж", "\u0660", "\u00b2", "٣", "\x00", "*"])
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
        "This MRZ is not Karimi, Anna Maria's: it gives date of birth 1974-08-12, sex F, surname ERIKSSON. "
        "Check the document."
    ]
