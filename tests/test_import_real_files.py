"""Referral files as LibreOffice Calc makes them (tests/data/libreoffice, with how each was made): saved, exported
and typed into the way an operations assistant would. What a spreadsheet did to the data on the way (names turned
to "?", dates read month first, phones and ids stored as numbers, rows on a second worksheet) is refused, saying
what happened and how to mend it; nothing is saved from a refused file."""

import datetime
from pathlib import Path

import pytest
import time_machine

from movements.models import Case, Person
from movements.referral_import import _number_cell_phone, run_import

DATA = Path(__file__).parent / "data"
MADE_BY_CALC = DATA / "libreoffice"
SAMPLE = (DATA / "referrals-sample.csv").read_bytes()

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen_today():
    with time_machine.travel(datetime.datetime(2026, 11, 30, 6, tzinfo=datetime.UTC), tick=False):
        yield


def imported(name):
    return run_import((MADE_BY_CALC / name).read_bytes(), name, every_error=True)


def people():
    return sorted(Person.objects.values_list(
        "progres_individual_id", "case__progres_case_id", "relationship", "family_name", "given_name", "native_name",
        "sex", "date_of_birth", "nationality", "phone", "special_needs"))


def errors(report):
    return [(issue.row, issue.column, issue.message) for issue in report.errors]


@pytest.mark.parametrize("name", ["a_calc-saved.xlsx", "c_calc-export-utf8-comma.csv", "e5_filtered-rows-hidden.xlsx"])
def test_what_calc_saves_as_xlsx_or_exports_as_utf8_csv_imports_like_the_sample(name):
    report = imported(name)

    assert report.ok and report.applied, errors(report)[:3]
    assert (len(report.new_cases), len(report.new_people)) == (12, 45)
    from_calc = people()
    again = run_import(SAMPLE, "referrals-sample.csv")  # the contract's own sample: nothing to change
    assert again.ok and (again.new_people, again.updated_people) == ([], {})
    assert people() == from_calc


def test_a_csv_saved_in_a_character_set_without_arabic_letters_is_refused_and_keeps_the_names():
    # Calc's CSV export in Windows-1252 (what `soffice --convert-to csv` writes by default) turns every Dari name
    # into "?????": plain ASCII, which reads as UTF-8 without a fault.
    assert run_import(SAMPLE, "referrals-sample.csv").applied
    names = dict(Person.objects.values_list("progres_individual_id", "native_name"))

    report = imported("c_calc-export-cp1252-comma.csv")

    assert not report.applied and report.error_count == 45
    assert {(column, message) for _row, column, message in errors(report)} == {(
        "native_name",
        "holds “?” where letters were: the file was saved in a character set without them (a CSV must be UTF-8: "
        "in LibreOffice Calc, Save As “Text CSV” with the character set “Unicode (UTF-8)”; in Excel, “CSV "
        "UTF-8”)")}
    assert dict(Person.objects.values_list("progres_individual_id", "native_name")) == names
    assert all(names.values())


def test_dates_typed_day_first_into_a_month_first_calc_are_refused_every_one_with_its_day_first_reading():
    # en-US Calc, birth dates typed dd/mm/yyyy: those it cannot read month first stay text, the others become
    # dates of the wrong month. Both are refused together, so that mending the first kind cannot import the second.
    report = imported("d_typed-en-US.xlsx")

    assert not report.applied and not Person.objects.exists()
    found = errors(report)
    assert (2, "date_of_birth", "not an ISO date (YYYY-MM-DD); 17/09/2002 is written day first: type it as "
                                "2002-09-17") in found
    assert (7, "date_of_birth", "a date cell shown as 08/11/1981 in a column whose other dates are written day first "
                                "or as YYYY-MM-DD: the spreadsheet read it as 1981-08-11; typed day first it would "
                                "be 1981-11-08. Type it as YYYY-MM-DD") in found
    swapped = [row for row, column, message in found if message.startswith("a date cell shown as")]
    assert swapped == [7, 8, 14, 18, 20, 21, 23, 27, 28, 32, 37, 38, 40, 42, 43, 44, 45]


def test_after_only_the_text_dates_are_retyped_the_dates_read_month_first_are_still_refused():
    report = imported("d_typed-en-US-after-fixing-reported.xlsx")

    assert not report.applied
    swapped = [row for row, column, message in errors(report) if column == "date_of_birth"]
    assert swapped == [7, 8, 14, 18, 20, 21, 23, 27, 28, 32, 37, 38, 40, 42, 43, 44, 45]


def test_a_column_of_dates_all_typed_in_the_programs_own_order_is_taken_as_read():
    # en-GB Calc reads dd/mm/yyyy as typed: every date is right, and none is refused.
    report = imported("d_typed-en-GB-after-fixing-reported.xlsx")

    assert not [e for e in errors(report) if e[1] == "date_of_birth"]


def test_phones_and_ids_that_calc_stored_as_numbers_are_refused_where_a_leading_zero_may_be_lost():
    report = imported("d_typed-en-GB-after-fixing-reported.xlsx")

    assert not report.applied and not Person.objects.exists()
    assert errors(report) == [
        (29, "progres_case_id", "stored as a number by the spreadsheet, which drops an id's leading zeros: format "
                                "the column as Text and type the id as the referral gives it"),
        (29, "progres_individual_id", "stored as a number by the spreadsheet, which drops an id's leading zeros: "
                                      "format the column as Text and type the id as the referral gives it"),
        (34, "phone", "stored as a number by the spreadsheet, which drops a leading 0, 00 or +, and so cannot be "
                      "read with certainty: format the column as Text and type the number with its country code "
                      "(e.g. +93 70 123 4567)"),
    ]
    # Row 34 was typed 0701918338 (an Afghan number, +93 70 191 8338); the cell holds 701918338, which would read as a
    # Tajik number. The others lost only their + or 00, and read as they were typed.


@pytest.mark.parametrize("digits, read", [
    ("992934904548", "+992934904548"),  # typed +992 93 490 4548
    ("93794799023", "+93794799023"),  # typed +93 79 479 9023
    ("93706403754", "+93706403754"),  # typed 0093 70 640 3754
    ("701918338", None),  # typed 0701918338: an Afghan number, or a Tajik one?
    ("934904548", None),  # a Tajik number typed without its code, or +93 490 4548 without its +?
])
def test_a_phone_from_a_number_cell_is_read_only_when_it_can_mean_one_number(digits, read):
    found = _number_cell_phone(digits, "TJ")
    assert (found.e164 if found else None) == read


def test_referral_rows_on_a_second_worksheet_are_refused_not_left_out():
    report = imported("e2_split-over-two-sheets.xlsx")

    assert not report.applied and not Case.objects.exists()
    assert errors(report) == [(None, "", "The worksheet “Batch 2” holds referral rows too (the contract's columns "
                                        "head it), and only the first worksheet, “Batch 1”, is read: put every row on "
                                        "the first worksheet, or save each worksheet as a file of its own.")]


def test_a_title_row_above_the_header_is_named_as_such():
    report = imported("e3_title-row-merged-above-header.xlsx")

    assert errors(report) == [(None, "", "The first row must be the header, and the contract's columns are on row 2: "
                                        "delete the rows above it (a title or notes), then import the file again.")]


def test_a_notes_worksheet_in_front_is_still_named():
    [(row, column, message)] = errors(imported("e1_notes-sheet-in-front.xlsx"))
    assert message.startswith("The first worksheet, “Instructions”, has none of the contract's columns")


@pytest.mark.parametrize("name, what", [
    ("b_calc-saved.ods", "an OpenDocument spreadsheet (.ods)"),
    ("b_calc-saved.fods", "a flat OpenDocument spreadsheet (.fods)"),
    ("b_calc-saved-excel97.xls", "an Excel 97–2003 workbook (.xls)"),
])
def test_spreadsheets_of_other_formats_are_named_with_how_to_save_them(name, what):
    [(row, column, message)] = errors(imported(name))
    assert message.startswith(f"The file is {what}; a referral file is an XLSX workbook or a CSV file. In LibreOffice "
                              "Calc, use File › Save As and choose “Excel 2007-365 (.xlsx)”")


def test_a_semicolon_separated_export_says_how_to_export_with_commas():
    [(row, column, message)] = errors(imported("c_calc-export-utf8-semicolon.csv"))
    assert message.startswith("The columns seem to be separated by semicolons")
    assert "the field delimiter “,” and the character set “Unicode (UTF-8)”" in message


def test_a_typographic_apostrophe_from_autocorrect_is_named_not_called_another_script():
    report = imported("e7_typographic-apostrophe.xlsx")

    assert {(column, message) for _row, column, message in errors(report)} == {(
        "family_name", "has a typographic apostrophe (’), which a spreadsheet's AutoCorrect puts in: type a plain ' "
                       "as on the travel document")}


def test_formulas_are_read_by_the_values_calc_saved_with_them():
    # Case columns filled down with =K2-style formulas: read by their cached values; =M6 of an empty category is 0,
    # which Calc shows too, and is refused as a category.
    report = imported("e6_formulas-for-case-columns.xlsx")

    assert {(column, message) for _row, column, message in errors(report)} == {
        ("submission_category", "not a category code (up to 10 letters, e.g. LPN)")}


def test_merged_cells_are_named_once_not_as_every_empty_cell_below_them():
    # The case's columns merged down each case (Calc empties the hidden cells): 132 "required value missing" said
    # nothing of why.
    report = imported("e4_styled-header-merged-case-cells.xlsx")

    assert not report.applied and not Case.objects.exists()
    assert errors(report) == [(None, "", "Cells A2:A5, K2:K5, L2:L5 (and 47 more) are merged: a merged range keeps "
                                        "its value in its first cell only, and its other cells read as empty. Unmerge "
                                        "them (in LibreOffice Calc and Excel: Merge and Unmerge Cells, or Merge & "
                                        "Center › Unmerge) and fill in every row, then import the file again.")]


def test_a_phone_exported_in_scientific_notation_is_named_as_such():
    # The CSV export of a workbook writes cells as they are shown: a long number as 9.93E+11, its digits lost.
    report = imported("c_calc-export-of-d-en-GB-workbook.csv")

    assert (19, "phone", "written in scientific notation, as a spreadsheet shows a long number, which keeps only its "
                         "first digits: format the column as Text and type the number again, with its country "
                         "code") in errors(report)
