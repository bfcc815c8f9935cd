"""Text normalisation for searching names in any script.

SQLite's LIKE folds case only for ASCII, and Dari text is typed with Arabic or Persian
keyboards that produce different code points for the same letter. So each person stores a
normalised copy of their names, and a query is normalised the same way before matching.
"""

import re
import unicodedata

# A name as printed on a travel document: Latin letters (accents included), spaces, hyphens, apostrophes.
LATIN_NAME = re.compile(r"^[A-Za-zÀ-ÖØ-öø-ɏ' .-]+$")

# Arabic-keyboard letters and their Persian (Dari) equivalents; tatweel and zero-width joiners dropped.
_ARABIC_TO_PERSIAN = str.maketrans(
    {
        "\u064a": "\u06cc",  # ي ARABIC YEH -> ی FARSI YEH
        "\u0649": "\u06cc",  # ى ALEF MAKSURA -> ی
        "\u0643": "\u06a9",  # ك ARABIC KAF -> ک KEHEH
        "\u0629": "\u0647",  # ة TEH MARBUTA -> ه
        "\u0623": "\u0627",  # أ -> ا
        "\u0625": "\u0627",  # إ -> ا
        "\u0622": "\u0627",  # آ -> ا
        "\u0640": None,  # tatweel
        "\u200c": " ",  # zero-width non-joiner, common inside Dari names
        "\u200d": None,
    }
)


def normalize(text):
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.translate(_ARABIC_TO_PERSIAN).casefold()
    return " ".join(text.split())


def person_search_text(family_name, given_name, native_name):
    """What a person's search matches against: every form of their names, normalised (stored on Person)."""
    return normalize(" ".join([family_name or "", given_name or "", native_name or ""]))
