"""What every printed list and certificate shares: fonts shipped with the app and chosen per script, text in any
script laid out in lines and drawn in the right order, "Page X of Y" and one footer baseline.

ReportLab draws glyphs in the order it is given them and does not join Arabic letters, so text in the Arabic
script (Dari, Pashto) is shaped first (arabic-reshaper: the contextual letter forms) and put in visual order
(python-bidi) — one line at a time, after the text was broken into lines in its logical order, so that a long
name that wraps starts on its first line. DejaVu Sans (and its condensed cut, for dense tables) covers Latin and
Cyrillic, Tajik letters included; Noto Naskh Arabic covers the Arabic script with the Persian letters. All are
freely licensed and live in movements/fonts.

Text is set by *role* (`Role`: a size and a weight, e.g. "a name in a table cell"), never by script: a Tajik name
and a Dari name in the same column have the same size and weight; only the font (chosen per character from what
the fonts cover) and the line spacing (the Arabic script needs more room) differ.

The text layer (copying a name from a PDF viewer, searching it, pdftotext): the glyphs drawn for Arabic are the
presentation forms that arabic-reshaper gives, so each font's ToUnicode map sends those forms back to the letters
they stand for (`_LogicalTTFont`); viewers put right-to-left runs back in logical order themselves. A zero-width
non-joiner (common in Dari names: بی‌بی) is kept in the text layer but drawn invisibly: the Noto font's glyph for
it is a visible bar. ReportLab's own HarfBuzz shaping (uharfbuzz) maps shaped glyphs to private-use code points
in the text layer, which is worse for copying, so it is not used.

A character that no shipped font covers (an Ethiopic or Chinese name) is never drawn as an empty box: the text
is printed as a bracketed note naming its script, with the stored text kept as the note's ActualText (what a
viewer copies), and `missing_scripts` lets the caller report it in the log.
"""

import io
import re
import struct
import threading
import unicodedata
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

import arabic_reshaper
from bidi import get_display as _reorder
from bidi.algorithm import get_display as _reorder_mirroring
from reportlab import platypus
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import SUBSETN, TTFont
from reportlab.pdfgen import canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageTemplate, Paragraph

FONT_DIR = Path(__file__).resolve().parent / "fonts"
SANS, SANS_BOLD = "SafarSans", "SafarSans-Bold"
CONDENSED, CONDENSED_BOLD = "SafarSansCondensed", "SafarSansCondensed-Bold"
ARABIC, ARABIC_BOLD = "SafarArabic", "SafarArabic-Bold"
_FILES = {
    SANS: "DejaVuSans.ttf",
    SANS_BOLD: "DejaVuSans-Bold.ttf",
    CONDENSED: "DejaVuSansCondensed.ttf",
    CONDENSED_BOLD: "DejaVuSansCondensed-Bold.ttf",
    ARABIC: "NotoNaskhArabic-Regular.ttf",
    ARABIC_BOLD: "NotoNaskhArabic-Bold.ttf",
}

ZWNJ, ZWJ = "\u200c", "\u200d"
# Line spacing as a multiple of the size: Naskh has tall ascenders and deep descenders.
LATIN_LEADING, ARABIC_LEADING = 1.22, 1.55


class _LogicalTTFont(TTFont):
    """A TrueType font whose ToUnicode map gives, for an Arabic presentation form (ﺑ, U+FE91), the letter it
    stands for (ب, U+0628) — and for the lam-alef ligature both letters — so that a name copied or searched in a
    PDF viewer matches the name as typed."""

    def addObjects(self, doc):
        state = self.state.get(doc)
        subsets = [list(s) for s in state.subsets] if state is not None else []
        super().addObjects(doc)
        for n, subset in enumerate(subsets):
            if not any(_logical(code) != chr(code) for code in subset):
                continue
            # The subset's name as TTFont.addObjects made it.
            base = b"".join((SUBSETN(n), b"+", self.face.name, self.face.subfontNameX)).decode("pdfdoc")
            stream = doc.idToObject.get("toUnicodeCMap:" + base)
            if stream is not None:
                stream.content = _to_unicode_cmap(base, subset)


@lru_cache(maxsize=4096)
def _logical(code):
    """The letters a glyph stands for in the text layer. A ligature of several letters (lam-alef, ﻻ) is given in
    reverse: viewers put a right-to-left run back in logical order character by character, ligature letters
    included (pdftotext and pdf.js both do), which turns the reversed pair into لا."""
    char = chr(code)
    if code in _PRIVATE_LETTERS:  # a joining form with no character of its own
        return _PRIVATE_LETTERS[code]
    if 0xFB50 <= code <= 0xFDFF or 0xFE70 <= code <= 0xFEFF:
        letters = unicodedata.normalize("NFKC", char) or char
        return letters[::-1] if len(letters) > 1 and is_rtl(letters) else letters
    return char


def _to_unicode_cmap(fontname, subset):
    def target(code):
        return "".join(c.encode("utf-16-be").hex().upper() for c in _logical(code))

    return "\n".join([
        "/CIDInit /ProcSet findresource begin", "12 dict begin", "begincmap",
        f"/CIDSystemInfo\n<< /Registry ({fontname})\n/Ordering ({fontname})\n/Supplement 0\n>> def",
        f"/CMapName /{fontname} def", "/CMapType 2 def",
        "1 begincodespacerange", "<00> <%02X>" % (len(subset) - 1), "endcodespacerange",
        "%d beginbfchar" % len(subset),
        *("<%02X> <%s>" % (i, target(code)) for i, code in enumerate(subset)),
        "endbfchar", "endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end",
    ])


_registered = False


_registering = threading.Lock()  # threads of one process (gthread workers, runserver) register the fonts once


def register_fonts():
    global _registered
    with _registering:
        registered = set(pdfmetrics.getRegisteredFontNames())
        for name, filename in _FILES.items():
            if name not in registered:
                pdfmetrics.registerFont(_LogicalTTFont(name, str(FONT_DIR / filename)))
        if not _PRIVATE_LETTERS:
            _add_joining_forms([pdfmetrics.getFont(ARABIC).face, pdfmetrics.getFont(ARABIC_BOLD).face])
        pdfmetrics.registerFontFamily(SANS, normal=SANS, bold=SANS_BOLD, italic=SANS, boldItalic=SANS_BOLD)
        pdfmetrics.registerFontFamily(CONDENSED, normal=CONDENSED, bold=CONDENSED_BOLD, italic=CONDENSED,
                                      boldItalic=CONDENSED_BOLD)
        _registered = True


@lru_cache(maxsize=None)
def _cmap(font_name):
    register_fonts()
    return pdfmetrics.getFont(font_name).face.charToGlyph


@lru_cache(maxsize=None)
def _metrics(font_name):
    """(ascent, descent) in text space per point of size."""
    face = pdfmetrics.getFont(font_name).face
    return face.ascent / 1000, face.descent / 1000


_RTL = re.compile("[\u0590-\u08ff\ufb1d-\ufefc]")


def is_rtl(text):
    """Whether the text holds any right-to-left letter (it must then be shaped and put in visual order)."""
    return bool(text) and _RTL.search(text) is not None


def direction(text):
    """The text's own direction, "R" or "L": that of its first letter with a strong direction (the Unicode
    bidirectional algorithm's rules P2 and P3). A Dari name reads right to left; a note in English that quotes a
    few Dari words reads left to right, the Dari words in their place."""
    for char in text or "":
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            return "R"
        if kind == "L":
            return "L"
    return "R" if is_rtl(text) else "L"


def get_display(text, base_dir=None):
    """Text in visual order. python-bidi's fast implementation does not mirror brackets (rule L4): in a right-to-
    left run "(" must be drawn as ")" and the other way round, or "شیر (شېرو)" prints as "شیر )شېرو(". Text
    with a character that mirrors goes through its full implementation, which does."""
    private = {char for char in text if ord(char) in _PRIVATE_LETTERS}
    if private:
        # A joining form's private-use character reads left to right to the bidirectional algorithm, which would
        # turn "ملالۍ ځدراڼ" into "ملالځ ۍدراڼ": an Arabic character stands in for each while the text is reordered.
        free = (char for char in _STAND_INS if char not in text)
        stand_in = {ord(char): next(free) for char in sorted(private)}
        back = {ord(char): chr(code) for code, char in stand_in.items()}
        return get_display(text.translate(stand_in), base_dir=base_dir).translate(back)
    if any(unicodedata.mirrored(char) for char in text):
        return _reorder_mirroring(text, base_dir=base_dir)
    return _reorder(text, base_dir=base_dir)


# Arabic presentation forms (right to left, never mirrored), to stand in for private-use characters in reordering.
_STAND_INS = [chr(code) for code in [*range(0xFB50, 0xFDFF), *range(0xFE70, 0xFEFD)]
              if unicodedata.bidirectional(chr(code)) == "AL" and not unicodedata.mirrored(chr(code))]


class _ReadOnce:
    """arabic-reshaper's settings, read once: it asks its configparser section for six of them on every call, which
    costs more than the shaping of a short name."""

    def __init__(self, section):
        self._section = section
        self._values = {}

    def getboolean(self, key):
        if key not in self._values:
            self._values[key] = self._section.getboolean(key)
        return self._values[key]

    def get(self, key, *args, **kwargs):
        return self._section.get(key, *args, **kwargs)


_reshaper = arabic_reshaper.ArabicReshaper()
_reshaper.configuration = _ReadOnce(_reshaper.configuration)


def reshape(text):
    """arabic_reshaper.reshape with the default settings, and the letters of the fonts' own joining forms
    (`_add_joining_forms`: Pashto's ځ څ ښ ګ ڼ ټ ۍ among them)."""
    if not _registered:
        register_fonts()
    return _reshaper.reshape(text)


# --- letters that Unicode gives no presentation forms ------------------------------------------------------------
# arabic-reshaper joins letters by swapping in Unicode's presentation forms (ﺑ for ب at a word's start). Many
# letters of Pashto, Sindhi, Urdu and Kurdish have none (ځ, ښ, ګ, ڼ, ټ, ۍ…), so it left them in their stand-alone
# form and cut the word around them: "ملالۍ" printed as "ملال ۍ". The fonts draw their joining forms all the same,
# as glyphs with no character of their own, named by the convention "uni0681.init", ".medi", ".fina". Each such
# glyph gets a private-use character (in both weights, the same one), arabic-reshaper's table learns it as that
# letter's form, and the text layer maps it back to the letter (`_logical`), as for the presentation forms.

_JOINING_FORMS = {1: "init", 2: "medi", 3: "fina"}  # arabic-reshaper's form indexes (0 is the isolated form)
_PRIVATE_FIRST = 0xF300  # the private-use characters given to those glyphs (none of the fonts uses this range)
_PRIVATE_LETTERS = {}  # private-use code → the letter whose form it draws (for the text layer)


def _glyph_names(face):
    """A TrueType font's glyph names by glyph id, from its post table (version 2.0; {} for the others)."""
    data = face.get_table("post")
    if len(data) < 34 or struct.unpack(">I", data[:4])[0] != 0x00020000:
        return {}
    (count,) = struct.unpack(">H", data[32:34])
    indexes = struct.unpack(f">{count}H", data[34:34 + 2 * count])
    position, names = 34 + 2 * count, []
    while position < len(data):
        length = data[position]
        names.append(data[position + 1:position + 1 + length].decode("latin-1"))
        position += 1 + length
    # Indexes below 258 are the standard Macintosh names (.notdef, space, A…), which no joining form has.
    return {gid: names[i - 258] for gid, i in enumerate(indexes) if 258 <= i < 258 + len(names)}


def _add_joining_forms(faces):
    """Give each joining form the fonts draw but Unicode does not encode a private-use character in every face, and
    teach arabic-reshaper's table those forms (a letter it did not know, it left unjoined)."""
    glyphs = [{name: gid for gid, name in _glyph_names(face).items()} for face in faces]
    letters = dict(_reshaper.letters)
    code = _PRIVATE_FIRST
    for letter_code in [*range(0x0620, 0x0700), *range(0x0750, 0x0780)]:
        letter = chr(letter_code)
        if not all(letter_code in face.charToGlyph for face in faces):
            continue
        known = list(letters.get(letter, (letter, "", "", "")))
        if known[0] and not all(ord(known[0]) in face.charToGlyph for face in faces):
            known[0] = letter  # the letter itself is drawn in its isolated form
        changed = False
        for form, suffix in _JOINING_FORMS.items():
            if known[form] and all(ord(known[form]) in face.charToGlyph for face in faces):
                continue  # a presentation form the fonts draw
            name = f"uni{letter_code:04X}.{suffix}"
            if not all(name in names for names in glyphs):
                known[form] = ""  # no such form: the letter does not join on that side
                changed = True
                continue
            for face, names in zip(faces, glyphs):
                if code in face.charToGlyph:
                    raise ValueError(f"U+{code:04X} is already a character of {face.name}")
                gid = names[name]
                face.charToGlyph[code] = gid
                face.glyphToChar.setdefault(gid, []).append(code)
                face.charWidths[code] = face._pdfScale(face.hmetrics[gid][0])
            known[form], _PRIVATE_LETTERS[code] = chr(code), letter
            code += 1
            changed = True
        if changed:
            letters[letter] = _consistent(known)
    _reshaper.letters = letters


def _consistent(forms):
    """A letter's forms as arabic-reshaper can use them: it joins a letter to the next one when it has a medial
    form, and then gives it its initial form at a word's start, so a medial form needs the initial one (Noto names
    ڂ's "uni0682.inti": with a medial form and no initial one, the letter vanished at a word's start); and it joins
    a letter to the one before when it has a final form."""
    isolated, initial, medial, final = forms
    if not (initial and medial):
        initial = medial = ""  # joins to the next letter in both forms or not at all
    if not final:
        medial = initial = ""  # a letter joined on its left only cannot stand in a word's middle
    return (isolated, initial, medial, final)


def _arabic_letter(char):
    return ("\u0600" <= char <= "\u08ff" or "\ufb50" <= char <= "\ufeff"
            or ord(char) in _PRIVATE_LETTERS)  # a joining form with no character of its own


def _drawn(text):
    """The characters a font must draw: format characters (bidi marks, joiners) are not drawn."""
    return [c for c in text if unicodedata.category(c) != "Cf" and not c.isspace()]


def unprintable(scripts):
    """What paper shows instead of text in scripts no shipped font covers."""
    return f"[{', '.join(scripts)} script — no font to print it]"


def printable(text):
    """The text with each run of words that no shipped font can print named instead (`unprintable`): the rest of a
    note stays on paper. (A name goes through `layout`, which names the whole name's script and keeps the name for
    copying.)"""
    if not missing_scripts(text):
        return text
    words = []
    for word in text.split(" "):
        missing = missing_scripts(word)
        word = unprintable(missing) if missing else word
        if not (missing and words and words[-1] == word):
            words.append(word)
    return " ".join(words)


@lru_cache(maxsize=512)
def missing_scripts(text):
    """The scripts of the characters in `text` that no shipped font covers ("Ethiopic", "CJK"), in order; empty
    when the text can be printed."""
    register_fonts()
    latin, arabic = _cmap(SANS), _cmap(ARABIC)
    found = []
    for char in _drawn(text or ""):
        code = ord(char)
        if code in latin or code in arabic:
            continue
        script = unicodedata.name(char, "UNKNOWN").split(" ")[0].capitalize()
        script = "CJK" if script == "Cjk" else script
        if script not in found:
            found.append(script)
    return tuple(found)


def for_print(text):
    """Text in the order and letter forms a PDF must draw: shaped and reordered when right-to-left (one line)."""
    text = text or ""
    if not is_rtl(text):
        return text
    return get_display(reshape(text))


def font_for(text, bold=False):
    if is_rtl(text):
        return ARABIC_BOLD if bold else ARABIC
    return SANS_BOLD if bold else SANS


@dataclass(frozen=True)
class Role:
    """One size and one weight for one role of text (a name on a certificate, a cell of a table), whatever the
    script of the text: the font changes with the script, the size and weight do not."""

    size: float
    bold: bool = False
    condensed: bool = False

    @property
    def latin_font(self):
        if self.condensed:
            return CONDENSED_BOLD if self.bold else CONDENSED
        return SANS_BOLD if self.bold else SANS

    @property
    def arabic_font(self):
        return ARABIC_BOLD if self.bold else ARABIC

    @property
    def leading(self):
        return self.size * LATIN_LEADING

    @cached_property
    def latin_box(self):
        """(height, baseline from the top) of a line of this role in its Latin font alone."""
        return _line_box(self, frozenset([self.latin_font]))


@dataclass(slots=True)
class Line:
    runs: list  # [(font, text, width, invisible)] in visual order, left to right
    width: float
    height: float
    ascent: float
    scale: float = 100.0  # horizontal scale (%) when one word is wider than the column
    actual_text: str = ""  # what the text layer says instead of the drawn glyphs (a name no font covers)


@lru_cache(maxsize=None)
def _latin_chars(font_name):
    """The characters a Latin font draws (a set: `set(text) <= it` is one fast test)."""
    return frozenset(chr(code) for code in _cmap(font_name))


@lru_cache(maxsize=None)
def _arabic_chars(font_name):
    """The characters the Arabic font draws, joiners and bidi marks left out (they need handling)."""
    return frozenset(chr(code) for code in _cmap(font_name)) - {ZWNJ, ZWJ} - {
        c for c in (chr(code) for code in _cmap(font_name)) if unicodedata.category(c) == "Cf"}


def _plain(text, role):
    """True when the whole text is drawn in the role's Latin font, left to right, with nothing to shape."""
    return text.isascii() or (not is_rtl(text) and _latin_chars(role.latin_font).issuperset(text)
                              and not any(unicodedata.category(c) == "Cf" for c in text))


def _runs(visual, role):
    """Split a line already in visual order into runs of one font: letters of the Arabic script in the Arabic
    font, everything else in the Latin font; spaces, digits and punctuation stay with the run they are in.
    Joiners are drawn invisibly (their Noto glyph is a bar), other format characters not at all."""
    latin, arabic = role.latin_font, role.arabic_font
    if _plain(visual, role):
        return [(latin, visual, pdfmetrics.stringWidth(visual, latin, role.size), False)]
    if _arabic_chars(arabic).issuperset(visual.replace(ZWNJ, "")):
        # A name in the Arabic script alone (the common case): one font, a joiner between some of its runs.
        runs = []
        for k, part in enumerate(visual.split(ZWNJ)):
            if k:
                runs.append((arabic, ZWNJ, 0.0, True))
            if part:
                runs.append((arabic, part, pdfmetrics.stringWidth(part, arabic, role.size), False))
        return runs
    arabic_cmap = _cmap(arabic)
    runs = []
    font, chars = None, []
    for char in visual:
        if char in (ZWNJ, ZWJ):
            if chars:
                runs.append((font, "".join(chars), False))
                chars = []
            runs.append((arabic, char, True))
            continue
        if unicodedata.category(char) == "Cf":
            continue
        if _arabic_letter(char):
            wanted = arabic
        elif font == arabic and (char.isspace() or not char.isalpha()) and ord(char) in arabic_cmap:
            wanted = arabic
        else:
            wanted = latin
        if wanted != font and chars:
            runs.append((font, "".join(chars), False))
            chars = []
        font = wanted
        chars.append(char)
    if chars:
        runs.append((font, "".join(chars), False))
    size = role.size
    return [(f, s, pdfmetrics.stringWidth(s, f, size) if not invisible else 0.0, invisible)
            for f, s, invisible in runs]


@lru_cache(maxsize=None)
def _line_box(role, fonts):
    """(height, baseline from the top) of a line of this role drawn in these fonts."""
    arabic = role.arabic_font in fonts
    height = role.size * (ARABIC_LEADING if arabic else LATIN_LEADING)
    ascent = max(_metrics(f)[0] for f in fonts) * role.size
    descent = min(_metrics(f)[1] for f in fonts) * role.size
    # Centre the glyphs' extent in the line box.
    return height, (height - (ascent - descent)) / 2 + ascent


def _line(visual, role, actual_text=""):
    runs = _runs(visual, role)
    fonts = frozenset(f for f, _, _, invisible in runs if not invisible) or frozenset([role.latin_font])
    height, baseline = _line_box(role, fonts)
    return Line(runs, sum(r[2] for r in runs), height, baseline, actual_text=actual_text)


def _word_width(word, role):
    if word.isascii():
        return pdfmetrics.stringWidth(word, role.latin_font, role.size)
    return sum(r[2] for r in _runs(word, role))


def _break_word(word, role, width):
    """A word wider than the column: break after its hyphens where that helps; else it is squeezed, never cut."""
    if "-" not in word.strip("-"):
        return [word]
    parts = [p + "-" for p in word.split("-")[:-1]] + [word.split("-")[-1]]
    pieces, current = [], ""
    for part in parts:
        if current and _word_width(current + part, role) > width:
            pieces.append(current)
            current = part
        else:
            current += part
    return pieces + [current]


def layout(text, role, width, base=None):
    """The lines of `text` in a column `width` points wide: broken between words in the text's logical order,
    each line then shaped and put in visual order on its own, in the text's direction (`base`: "R" or "L"; by
    default its first strong letter's). A newline always starts a new line."""
    if not text:
        return []
    if not _registered:
        register_fonts()
    if "\n" in text:  # each line a paragraph of its own, in its own direction unless one is given
        return [line for part in text.strip().split("\n") for line in layout(part, role, width, base)]
    if text.isascii():  # the common case first: one font, often one line
        latin = role.latin_font
        text = text.strip()
        w = pdfmetrics.stringWidth(text, latin, role.size)
        if w <= width:
            height, baseline = role.latin_box
            return [Line([(latin, text, w, False)], w, height, baseline)] if text else []
    text = unicodedata.normalize("NFC", text).strip()
    if not text:
        return []
    if _plain(text, role):
        latin = role.latin_font
        w = pdfmetrics.stringWidth(text, latin, role.size)
        if w <= width:
            height, baseline = role.latin_box
            return [Line([(latin, text, w, False)], w, height, baseline)]
    missing = missing_scripts(text) if not text.isascii() else ()
    if missing:
        return _fit(layout(unprintable(missing), role, width), width, actual_text=text)
    rtl = is_rtl(text)
    base = base or direction(text)
    words = text.split()
    if rtl:
        shaped_text = reshape(" ".join(words))
        arabic = role.arabic_font
        if _arabic_chars(arabic).issuperset(shaped_text.replace(ZWNJ, "")) \
                and pdfmetrics.stringWidth(shaped_text, arabic, role.size) <= width:
            # A name in the Arabic script alone that fits on one line (the common case).
            return [_line(get_display(shaped_text, base_dir=base), role)]
    shaped = shaped_text.split(" ") if rtl else words
    if len(shaped) != len(words):  # reshaping never joins across a space; stay safe if it ever did
        shaped = [reshape(w) for w in words]
    space = pdfmetrics.stringWidth(" ", role.latin_font, role.size)
    pieces = []  # (logical, shaped, width)
    for word, form in zip(words, shaped):
        w = _word_width(form, role)
        if w > width and not rtl:
            for piece in _break_word(word, role, width):
                pieces.append((piece, piece, _word_width(piece, role)))
        else:
            pieces.append((word, form, w))
    lines, current, current_width = [], [], 0.0
    for piece in pieces:
        extra = piece[2] + (space if current else 0)
        if current and current_width + extra > width:
            lines.append(current)
            current, current_width = [piece], piece[2]
        else:
            current.append(piece)
            current_width += extra
    if current:
        lines.append(current)
    result = []
    for pieces_of_line in lines:
        shaped_line = " ".join(p[1] for p in pieces_of_line)
        visual = get_display(shaped_line, base_dir=base) if rtl else shaped_line
        result.append(_line(visual, role))
    return _fit(result, width)


def _fit(lines, width, actual_text=""):
    for line in lines:
        if line.width > width > 0:
            line.scale = 100.0 * width / line.width
        if actual_text:
            line.actual_text = actual_text
            actual_text = ""  # the whole text once, on the first line
    return lines


def _actual_text(text):
    return "/Span <</ActualText <FEFF%s>>> BDC" % text.encode("utf-16-be").hex().upper()


def draw_lines(canv, lines, x, top, width, align, role, text=None):
    """Draw lines from `top` down, aligned in a column from x to x + width. With `text` (a text object from
    `canv.beginText()`), the lines go into it and the caller draws it: one text object for many cells."""
    own = text is None
    if own:
        text = canv.beginText()
    size = role.size
    y = top
    for line in lines:
        y -= line.ascent
        drawn = line.width * line.scale / 100
        if align == TA_RIGHT:
            left = x + width - drawn
        elif align == TA_CENTER:
            left = x + (width - drawn) / 2
        else:
            left = x
        if line.actual_text:
            text._code.append(_actual_text(line.actual_text))
        text.setTextOrigin(left, y)
        if line.scale != 100.0:
            text.setHorizScale(line.scale)
        for font, s, _, invisible in line.runs:
            if text._fontname != font or text._fontsize != size:  # a font switch costs an operator and a subset
                text.setFont(font, size)
            if invisible:
                text.setTextRenderMode(3)
                text.textOut(s)
                text.setTextRenderMode(0)
            else:
                text.textOut(s)
        if line.scale != 100.0:
            text.setHorizScale(100)
        if line.actual_text:
            text._code.append("EMC")
        y -= line.height - line.ascent
    if own:
        canv.drawText(text)


class ScriptText(Flowable):
    """A short text in any script (a name, a note), laid out by `layout` in the width it is given: right-aligned
    when it reads right to left (`direction`, or `base` when given: a piece of a longer text takes the whole
    text's) unless told otherwise. It never splits across pages."""

    def __init__(self, text, role, align=None, base=None):
        super().__init__()
        self.text = text or ""
        self.role = role
        self.base = base or direction(self.text)
        self.align = align if align is not None else (TA_RIGHT if self.base == "R" else TA_LEFT)
        self._laid = None

    def wrap(self, availWidth, availHeight):  # noqa: N803 (ReportLab's names)
        if self._laid is None or self._laid[0] != availWidth:
            self._laid = (availWidth, layout(self.text, self.role, availWidth, self.base))
        self.width = availWidth
        self.height = sum(line.height for line in self._laid[1])
        return self.width, self.height

    def split(self, availWidth, availHeight):  # noqa: N803
        return []

    def draw(self):
        draw_lines(self.canv, self._laid[1], 0, self.height, self.width, self.align, self.role)


def name_paragraph(text, size=10, bold=False, align=None, leading=None):
    """A name in any script at this size and weight (kept for callers of the older API: a `ScriptText`)."""
    register_fonts()
    return ScriptText(text, Role(size, bold), align=align)


def paragraph(text, role, align=TA_LEFT, leading=None, color=None):
    """A plain Latin paragraph (headings, sentences) in the role's font, its text escaped."""
    register_fonts()
    style = ParagraphStyle("p", fontName=role.latin_font, fontSize=role.size, leading=leading or role.leading,
                           alignment=align, **({"textColor": color} if color is not None else {}))
    return Paragraph(escape(text), style)


# --- pages ------------------------------------------------------------------------------------------------------

FOOTER_SIZE = 8
FOOTER_BASELINE = 8 * mm  # every footer text of every document sits on this one baseline


class NumberedCanvas(canvas.Canvas):
    """Two passes: remember each page, then stamp "Page X of Y" on all of them once Y is known."""

    footer_font = SANS
    footer_size = FOOTER_SIZE
    footer_right = 36
    footer_baseline = FOOTER_BASELINE

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._saved_pages = []

    def showPage(self):  # noqa: N802 (ReportLab's name)
        self._saved_pages.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        total = len(self._saved_pages)
        for state in self._saved_pages:
            self.__dict__.update(state)
            self.draw_page_number(total)
            super().showPage()
        super().save()

    def draw_page_number(self, total):
        width, _ = self._pagesize
        self.setFont(self.footer_font, self.footer_size)
        self.drawRightString(width - self.footer_right, self.footer_baseline, f"Page {self._pageNumber} of {total}")


class Table(platypus.Table):
    """ReportLab's table with its cells set in the shipped font. Its default, Helvetica (never embedded), is set on the
    canvas before every cell is drawn, even a cell holding only flowables, and so was listed in every file with a
    table: print shops' and PDF/A checks refuse that. A `style` given sets its own fonts over this one."""

    def __init__(self, data, *args, style=None, **kwargs):
        super().__init__(data, *args, **kwargs)
        if "cellStyles" not in kwargs:  # a piece of a table split across pages has its cells' styles already
            self.setStyle([("FONTNAME", (0, 0), (-1, -1), SANS)])
        if style is not None:
            self.setStyle(style)


class Document:
    """One way to set up a printed document in this project: fonts registered, A4 (landscape by default), the
    margins, the title in the PDF's metadata, a header and a footer drawn on every page, and "Page X of Y".

        document = Document(title="Attendance sheet — COA-…", margins=(12, 12, 14, 16), footer_left="COA-…")
        table = Table(rows, colWidths=[…, document.width - …])
        return document.build(story)

    The footer's texts (left, centre, and "Page X of Y" on the right) share one baseline. `header(canvas,
    document)` draws at the start of each page, under the page's content (`document.page` says which page);
    `first_top` (mm) gives the first page a different top margin (a taller header there).
    """

    def __init__(self, *, title, pagesize=None, margins=(25, 25, 22, 20), footer_left="", footer_centre="",
                 numbered=True, header=None, first_top=None, footer_font=SANS):
        register_fonts()
        self._footer_font = footer_font
        left, right, top, bottom = (m * mm for m in margins)
        self._buffer = io.BytesIO()
        self._footer_left, self._footer_centre = footer_left, footer_centre
        self._numbered = numbered
        self._header = header
        self.pagesize = pagesize or landscape(A4)
        self.margins = (left, right, top, bottom)
        self.template = BaseDocTemplate(
            self._buffer, pagesize=self.pagesize, leftMargin=left, rightMargin=right, topMargin=top,
            bottomMargin=bottom, title=title, author="Safar",
            # Each page starts in a shipped font: ReportLab's default (Helvetica, never embedded) would be listed in
            # the file although nothing is drawn in it, and print shops' and PDF/A checks refuse such a file.
            initialFontName=SANS,
        )
        page_width, page_height = self.pagesize
        first = first_top * mm if first_top is not None else top

        def frame(frame_top, name):
            return Frame(left, bottom, page_width - left - right, page_height - frame_top - bottom, id=name,
                         leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)

        self.template.addPageTemplates([
            PageTemplate(id="first", frames=[frame(first, "first")], onPage=self._on_page, autoNextPageTemplate="later"),
            PageTemplate(id="later", frames=[frame(top, "later")], onPage=self._on_page),
        ])

    @property
    def width(self):
        """The width of the frame the story flows in (page less margins)."""
        return self.template.width

    def _on_page(self, canv, document):
        canv.saveState()
        if self._header is not None:
            self._header(canv, document)
        left, right, _, _ = self.margins
        page_width = self.pagesize[0]
        canv.setFont(self._footer_font, FOOTER_SIZE)
        if self._footer_left:
            canv.drawString(left, FOOTER_BASELINE, self._footer_left)
        if self._footer_centre:
            canv.drawCentredString(page_width / 2, FOOTER_BASELINE, self._footer_centre)
        canv.restoreState()

    def build(self, story):
        """Lay out the story and return the PDF's bytes."""
        if self._numbered:
            maker = type("Canvas", (NumberedCanvas,), {"footer_right": self.margins[1],
                                                       "footer_font": self._footer_font})
        else:
            maker = canvas.Canvas
        self.template.build(story, canvasmaker=maker)
        return self._buffer.getvalue()
