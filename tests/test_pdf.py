"""The shared printing of movements/pdf.py and movements/qr.py, as a reader of the paper or of the PDF meets it: the
zero-width non-joiner shapes and draws nothing, a long Dari name wraps starting with its first words, one size and
weight per role of text whatever the script, no name cut mid-word, one footer baseline, a text layer that copies
and searches as typed, no empty boxes for a script with no font, QR codes equal to ReportLab's and readable."""

import datetime
import random
import re
import shutil
import string
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from reportlab.graphics.barcode import qrencoder
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas as pdfcanvas
from reportlab.platypus import Spacer

from movements.pdf import (
    ARABIC, ARABIC_BOLD, ZWNJ, Document, Role, ScriptText, Table, for_print, layout, missing_scripts, printable,
    register_fonts,
)
from movements.qr import LEVEL, MASK, QRFlowable, qr_matrix
from tests.conftest import embedded_fonts

needs_poppler = pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils is not installed")
NAME = Role(12)


def document_with(*flowables, **options):
    return Document(title="test", margins=(20, 20, 20, 20), **options).build(list(flowables))


def pdftotext(content, *args):
    out = subprocess.run(["pdftotext", *args, "-", "-"], input=content, capture_output=True, check=True).stdout
    return out.decode("utf-8")


def logical(text):
    for mark in ("\u202a", "\u202b", "\u202c"):
        text = text.replace(mark, "")
    return unicodedata.normalize("NFKC", text)


def pixels(content):
    """The first page as a grey image (the bytes of a PGM file)."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(["pdftoppm", "-r", "100", "-gray", "-f", "1", "-l", "1", "-singlefile", "-",
                        f"{folder}/page"], input=content, capture_output=True, check=True)
        image = Path(folder, "page.pgm").read_bytes()
    assert len(image) > 100_000
    return image


# Pashto letters with no presentation form in Unicode: the fonts draw their joining forms, which they name.
PASHTO = {"ملالۍ": {"ۍ": "uni06CD.fina"}, "ښکلې": {"ښ": "uni069A.init"}, "ځدراڼ": {"ځ": "uni0681.init"},
          "ګلالۍ": {"ګ": "uni06AB.init", "ۍ": "uni06CD.fina"}, "ټکړ": {"ټ": "uni067C.init", "ړ": "uni0693.fina"},
          "څښتن": {"څ": "uni0685.init", "ښ": "uni069A.medi"}}


@pytest.mark.parametrize("font", [ARABIC, ARABIC_BOLD])
@pytest.mark.parametrize("word", list(PASHTO))
def test_pashto_letters_join_in_the_forms_the_font_draws_for_them(word, font):
    from reportlab.pdfbase import pdfmetrics

    from movements.pdf import _glyph_names, reshape

    register_fonts()
    face = pdfmetrics.getFont(font).face
    names = _glyph_names(face)
    drawn = [names.get(face.charToGlyph[ord(c)], "") for c in reshape(word)]  # logical order, one glyph a letter

    for letter, form in PASHTO[word].items():
        assert form in drawn, (letter, drawn)  # before: the letter's stand-alone glyph, its neighbours cut off


def test_every_letter_of_the_table_joins_as_arabic_reshaper_can_draw_it():
    from movements.pdf import _reshaper, reshape

    register_fonts()
    for letter, (isolated, initial, medial, final) in _reshaper.letters.items():
        assert bool(initial) == bool(medial), letter  # it gives the initial form to a letter with a medial one
        assert final or not medial, letter
    # Noto names ڂ's initial form "uni0682.inti": ڂ joins only the letter before it, and is never dropped.
    assert reshape("ڂب")[0] == "ڂ"


def test_threads_that_print_at_once_register_the_fonts_once():
    script = ("import sys, threading; sys.setswitchinterval(1e-6); from movements import pdf\n"
              "errors = []\n"
              "def run():\n"
              "    try: pdf.reshape('ملالۍ')\n"
              "    except Exception as e: errors.append(repr(e))\n"
              "threads = [threading.Thread(target=run) for _ in range(6)]\n"
              "[t.start() for t in threads]; [t.join() for t in threads]\n"
              "print(errors or 'ok', len(pdf._PRIVATE_LETTERS))\n")
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                             cwd=Path(__file__).resolve().parent.parent).stdout.split()
        assert out == ["ok", "288"]


@needs_poppler
def test_a_pashto_name_reads_back_in_order_with_its_words_in_place():
    names = "ملالۍ ځدراڼ · ځرغونه ښکلې ځدراڼ · تورېالی ټکړ"
    content = document_with(ScriptText(names, NAME), ScriptText("Zahra ګلالۍ ستانکزۍ", NAME))

    text = logical(pdftotext(content))

    for name in ("ملالۍ ځدراڼ", "ځرغونه ښکلې ځدراڼ", "تورېالی ټکړ", "ګلالۍ ستانکزۍ"):
        assert name in text  # every letter in the text layer, words not swapped around a space
    assert all(embedded for _, embedded in embedded_fonts(content))


@needs_poppler
def test_the_zero_width_non_joiner_keeps_the_letters_apart_and_draws_nothing():
    register_fonts()
    name = "بی\u200cبی"
    content = document_with(ScriptText(name, NAME))
    # The same glyphs drawn without the joiner at all: the page must look exactly the same.
    shaped = for_print(name).replace(ZWNJ, "")
    bare = Document(title="test", margins=(20, 20, 20, 20))

    class Bare(ScriptText):
        def draw(self):
            self.canv.setFont(ARABIC, NAME.size)
            line = self._laid[1][0]
            self.canv.drawRightString(self.width, self.height - line.ascent, shaped)

    assert pixels(content) == pixels(bare.build([Bare(name, NAME)]))
    # Shaped as two words' worth of letters: ب initial, ی final, twice (not one joined word).
    assert [unicodedata.name(c) for c in shaped] == ["ARABIC LETTER FARSI YEH FINAL FORM",
                                                     "ARABIC LETTER BEH INITIAL FORM"] * 2
    assert name in logical(pdftotext(content))  # the text layer keeps it


@needs_poppler
def test_a_long_dari_name_that_wraps_starts_with_its_first_words_on_the_first_line():
    name = "بی‌بی گل محمدزاده عبدالرحمان‌زاده نورمحمدزاده خداداد"
    content = document_with(Spacer(1, 1), _narrow(ScriptText(name, NAME), 45 * mm))
    lines = [logical(line).strip() for line in pdftotext(content, "-layout").splitlines() if line.strip()]
    lines = [line for line in lines if "Page" not in line]

    assert len(lines) >= 2
    assert " ".join(lines) == logical(name)
    assert lines[0].startswith("بی‌بی گل")


def _narrow(flowable, width):
    from reportlab.platypus import Table

    return Table([[flowable]], colWidths=[width])


def test_text_is_laid_out_by_role_one_size_and_weight_whatever_the_script():
    register_fonts()
    role = Role(9, bold=True)
    latin, cyrillic, dari = (layout(t, role, 500)[0] for t in ("Karimi, Zahra", "Фирӯз Раҳмонов", "زهرا کریمی"))

    assert {f for f, *_ in latin.runs} == {f for f, *_ in cyrillic.runs} == {"SafarSans-Bold"}
    assert {f for f, *_ in dari.runs} == {"SafarArabic-Bold"}  # bold Dari, as bold as the Tajik
    assert dari.height > latin.height  # the Arabic script needs more line spacing, not a larger size


@needs_poppler
def test_a_tajik_and_a_latin_name_in_one_table_are_one_size_on_paper():
    from reportlab.platypus import Table

    content = document_with(Table([[ScriptText("Rahmonov, Firuz", NAME), ScriptText("Раҳмонов Фирӯз", NAME)]],
                                  colWidths=[80 * mm, 80 * mm]))
    boxes = subprocess.run(["pdftotext", "-bbox", "-", "-"], input=content, capture_output=True,
                           check=True).stdout.decode()
    heights = {}
    for word in ("Rahmonov,", "Раҳмонов"):
        line = next(line for line in boxes.splitlines() if f">{word}<" in line)
        y_min, y_max = (float(line.split(f'{k}="')[1].split('"')[0]) for k in ("yMin", "yMax"))
        heights[word] = round(y_max - y_min, 2)
    assert heights["Rahmonov,"] == heights["Раҳмонов"]


@needs_poppler
def test_a_long_latin_name_breaks_between_words_or_after_a_hyphen_never_inside_a_word():
    name = "Bibigul Mohammadzadeh-Abdulrahmanzadeh Nurmuhammadzoda-Khodadadzadeh Abdulrahmanzadehkhanovichsky"
    content = document_with(_narrow(ScriptText(name, Role(14, bold=True)), 70 * mm))
    words = pdftotext(content, "-raw").split()

    for word in ("Bibigul", "Mohammadzadeh-", "Abdulrahmanzadeh", "Nurmuhammadzoda-", "Khodadadzadeh",
                 "Abdulrahmanzadehkhanovichsky"):  # the last one is wider than the column: squeezed, whole
        assert word in words, (word, words)


@needs_poppler
def test_both_sides_of_the_footer_sit_on_one_baseline():
    content = document_with(Spacer(1, 10), footer_left="COA-2026-00001 printed", footer_centre="Confidential")
    boxes = subprocess.run(["pdftotext", "-bbox", "-", "-"], input=content, capture_output=True,
                           check=True).stdout.decode()

    def bottom(word):
        line = next(line for line in boxes.splitlines() if f">{word}<" in line)
        return float(line.split('yMax="')[1].split('"')[0])

    assert bottom("printed") == bottom("Confidential") == bottom("Page")


@needs_poppler
def test_the_text_layer_carries_letters_not_presentation_forms():
    name = "عبدالرحمان لاله"  # lam-alef ligature included
    text = pdftotext(document_with(ScriptText(name, NAME)))

    assert not any(0xFB50 <= ord(c) <= 0xFDFF or 0xFE70 <= ord(c) <= 0xFEFF for c in text)
    assert name in logical(text)


def drawn(text, width=2000):
    """The characters of each line in the order they are drawn, left to right."""
    return ["".join(run[1] for run in line.runs) for line in layout(text, NAME, width)]


@needs_poppler
def test_brackets_in_a_right_to_left_name_are_drawn_facing_the_words_they_enclose():
    """Rule L4 of the Unicode bidirectional algorithm: in a right-to-left run "(" is drawn as ")" — "شیر (شېرو)"
    reads on paper, right to left, as the name, then the nickname in brackets opening towards it."""
    name = "شیر (شېرو) خپلواک"

    (line,) = drawn(name)

    assert re.search(r"\([^()]+\)", line) and not re.search(r"\)[^()]+\(", line), line
    # The text layer has the letters in their order. (pdftotext reads the drawn glyphs back into logical order but
    # does not mirror the brackets again, so it copies them facing out: a viewer's limit, the paper is right.)
    copied = logical(pdftotext(document_with(ScriptText(name, NAME))))
    assert "شیر )شېرو( خپلواک" in copied


def test_a_note_in_english_quoting_dari_reads_left_to_right_with_the_dari_in_its_place():
    note = "Interpreter confirmed: او حاضر بود (present all day)"

    (line,) = drawn(note)

    assert line.startswith("Interpreter confirmed: ") and line.endswith(" (present all day)"), line
    assert ScriptText(note, NAME).align == TA_LEFT
    # A Dari reason followed by a name in Latin letters reads right to left: the name comes last, at the left.
    (reason,) = drawn("دیر رسید، با تاکسی آمد — Stanikzai, Yasin")
    assert reason.startswith("Stanikzai, Yasin — ")
    assert ScriptText("دیر رسید — Stanikzai", NAME).align == TA_RIGHT


@needs_poppler
def test_every_font_in_a_printed_document_is_embedded():
    # A table too: ReportLab sets its default font (Helvetica, never embedded) for every cell it draws.
    content = document_with(ScriptText("Karimi, Zahra · کریمی زهرا · Ғуломова", NAME),
                            Table([[ScriptText("Karimi, Zahra", NAME), "PA"]]))

    fonts = embedded_fonts(content)
    assert fonts and all(embedded for _, embedded in fonts), fonts


def test_a_text_in_a_script_with_no_font_is_named_and_the_rest_kept():
    assert printable("Zahra said ዘሃራ ከሪሚ in Amharic") == \
        "Zahra said [Ethiopic script — no font to print it] in Amharic"
    assert printable("کریمی زهرا") == "کریمی زهرا"


def test_a_script_with_no_shipped_font_is_named_instead_of_drawn_as_boxes():
    register_fonts()
    assert missing_scripts("ዘሃራ ከሪሚ") == ("Ethiopic",)
    assert missing_scripts("张伟") == ("CJK",)
    assert missing_scripts("Фирӯз زهرا Zahra שרה") == ()

    (line,) = layout("ዘሃራ ከሪሚ", NAME, 300)
    assert "".join(run[1] for run in line.runs) == "[Ethiopic script — no font to print it]"
    assert line.actual_text == "ዘሃራ ከሪሚ"  # what a viewer copies


@needs_poppler
def test_a_closed_sessions_attendance_sheet_is_the_record_with_its_corrections(ops, trainer, client):
    from orientation import services
    from orientation.models import Session, SessionDay
    from tests.conftest import make_case
    from movements import transitions

    today = datetime.date.today()
    session = Session.objects.create(language="prs", location="IOM Dushanbe, room 2")
    session.trainers.add(trainer)
    SessionDay.objects.bulk_create([SessionDay(session=session, number=n, date=today - datetime.timedelta(days=6 - n))
                                    for n in (1, 2, 3)])
    session.start()
    session.save(update_fields=["state"])
    case = transitions.approve(transitions.accept(make_case(2, orientation=False), by=ops), by=ops)
    services.enrol_case(session, case, by=ops)
    zahra = session.enrolments.get(person__given_name="Zahra")
    ahmad = session.enrolments.get(person__given_name="Ahmad")
    for number, marks in ((1, {zahra.pk: "present", ahmad.pk: "absent"}), (2, {zahra.pk: "late", ahmad.pk: "present"}),
                          (3, {zahra.pk: "present", ahmad.pk: "present"})):
        services.record_roll_call(session.days.get(number=number), marks, by=trainer)
    services.record_roll_call(session.days.get(number=1), {zahra.pk: "present", ahmad.pk: "late"}, by=trainer,
                              reason="Arrived at ten, marked absent by mistake")
    services.change_session_state(Session.objects.get(pk=session.pk), "close", by=ops)
    client.force_login(trainer)

    sheet = client.get(f"/orientation/sessions/{session.code}/attendance-sheet.pdf").content
    text = " ".join(pdftotext(sheet, "-raw").split())
    assert all(embedded for _, embedded in embedded_fonts(sheet))
    assert "Attendance record" in text
    assert "Karimi, Zahra" in text and "Karimi, Ahmad" in text
    assert "P L P" in text.split("Karimi, Zahra", 1)[1][:80]
    assert "L 1" in text  # Ahmad's corrected mark, numbered
    assert "1. Karimi, Ahmad, day 1" in text and "A → L" in text and "Arrived at ten, marked absent by mistake" in text


# --- QR codes ----------------------------------------------------------------------------------------------------


def test_the_qr_codes_are_module_for_module_those_of_reportlabs_encoder():
    rng = random.Random(7)
    for length in list(range(1, 90)) + [150, 300, 700]:
        text = "".join(rng.choice(string.ascii_letters + string.digits + "/:?=-._") for _ in range(length))
        reference = qrencoder.QRCode(None, LEVEL)
        reference.addData(qrencoder.QR8bitByte(text))
        reference.version = reference.calculate_version()
        reference.makeImpl(False, MASK)
        assert qr_matrix(text) == [list(row) for row in reference.modules], length


@pytest.mark.skipif(not (shutil.which("zbarimg") and shutil.which("pdftoppm")), reason="zbar-tools is not installed")
def test_a_printed_qr_code_reads_back_at_a_cheap_printers_resolution(tmp_path):
    address = "https://safar.example.org/departures/DEP-20261209-YYZ/boarding/?case=DYU-2026-00042"
    pdf = tmp_path / "qr.pdf"
    canvas = pdfcanvas.Canvas(str(pdf))
    QRFlowable(address, 17 * mm).drawOn(canvas, 40 * mm, 200 * mm)
    canvas.save()
    subprocess.run(["pdftoppm", "-r", "100", "-png", str(pdf), str(tmp_path / "qr")], check=True)

    out = subprocess.run(["zbarimg", "-q", "--raw", str(tmp_path / "qr-1.png")], capture_output=True, text=True)
    assert out.stdout.strip() == address
