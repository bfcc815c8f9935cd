"""What every printed list and certificate shares: fonts shipped with the app, chosen per script, right-to-left
names shaped and ordered for print, and "Page X of Y".

ReportLab draws glyphs in the order it is given them and does not join Arabic letters, so Dari and Pashto
names are first shaped (arabic-reshaper: the contextual letter forms) and then put in visual order
(python-bidi). DejaVu Sans covers Latin and Cyrillic, Tajik letters included; Noto Naskh Arabic covers the
Arabic script with the Persian letters. Both are freely licensed and live in movements/fonts.
"""

import io
from pathlib import Path
from xml.sax.saxutils import escape

import arabic_reshaper
from bidi import get_display
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate

FONT_DIR = Path(__file__).resolve().parent / "fonts"
SANS, SANS_BOLD = "SafarSans", "SafarSans-Bold"
ARABIC, ARABIC_BOLD = "SafarArabic", "SafarArabic-Bold"
_FILES = {
    SANS: "DejaVuSans.ttf",
    SANS_BOLD: "DejaVuSans-Bold.ttf",
    ARABIC: "NotoNaskhArabic-Regular.ttf",
    ARABIC_BOLD: "NotoNaskhArabic-Bold.ttf",
}


def register_fonts():
    registered = set(pdfmetrics.getRegisteredFontNames())
    for name, filename in _FILES.items():
        if name not in registered:
            pdfmetrics.registerFont(TTFont(name, str(FONT_DIR / filename)))
    pdfmetrics.registerFontFamily(SANS, normal=SANS, bold=SANS_BOLD, italic=SANS, boldItalic=SANS_BOLD)


def is_rtl(text):
    return any("\u0590" <= c <= "\u08ff" or "\ufb1d" <= c <= "\ufefc" for c in text or "")


def for_print(text):
    """Text in the order and letter forms a PDF must draw: shaped and reordered when right-to-left."""
    text = text or ""
    if not is_rtl(text):
        return text
    return get_display(arabic_reshaper.reshape(text))


def font_for(text, bold=False):
    if is_rtl(text):
        return ARABIC_BOLD if bold else ARABIC
    return SANS_BOLD if bold else SANS


def name_paragraph(text, size=10, bold=False, align=None, leading=None):
    """A Paragraph for one name in any script, in the right font and direction."""
    register_fonts()
    rtl = is_rtl(text)
    style = ParagraphStyle(
        "name", fontName=font_for(text, bold), fontSize=size, leading=leading or size * (1.5 if rtl else 1.25),
        alignment=align if align is not None else (TA_RIGHT if rtl else TA_LEFT),
    )
    return Paragraph(escape(for_print(text)), style)


class NumberedCanvas(canvas.Canvas):
    """Two passes: remember each page, then stamp "Page X of Y" on all of them once Y is known."""

    footer_font = SANS
    footer_size = 8

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
        self.drawRightString(width - 36, 20, f"Page {self._pageNumber} of {total}")


class Document:
    """One way to set up a printed document in this project: fonts registered, A4 (landscape by default), the
    margins, the title in the PDF's metadata, an optional footer drawn on every page, and "Page X of Y".

        document = Document(title="Attendance sheet — COA-…", margins=(12, 12, 14, 16))
        table = Table(rows, colWidths=[…, document.width - …])
        return document.build(story)
    """

    def __init__(self, *, title, pagesize=None, margins=(25, 25, 22, 20), footer=None, numbered=True):
        register_fonts()
        left, right, top, bottom = (m * mm for m in margins)
        self._buffer = io.BytesIO()
        self._footer = footer
        self._numbered = numbered
        self.template = SimpleDocTemplate(
            self._buffer, pagesize=pagesize or landscape(A4), leftMargin=left, rightMargin=right, topMargin=top,
            bottomMargin=bottom, title=title, author="Safar",
        )

    @property
    def width(self):
        """The width of the frame the story flows in (page less margins)."""
        return self.template.width

    def build(self, story):
        """Lay out the story and return the PDF's bytes."""
        def on_page(canvas, document):
            if self._footer is not None:
                self._footer(canvas, document)

        self.template.build(
            story, onFirstPage=on_page, onLaterPages=on_page,
            canvasmaker=NumberedCanvas if self._numbered else canvas.Canvas,
        )
        return self._buffer.getvalue()
