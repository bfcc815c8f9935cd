"""Finding people however a caseworker types their names, in any script.

Each person stores a normalised copy of their names (`Person.search_text`), and a query is normalised the same
way, then matched word by word: every word of the query must occur in the same person's names, in any order.
What normalising folds, so that both directions match:
- case, accents and other combining marks (Müller / Muller);
- Arabic-keyboard letters to their Persian (Dari) forms (ي → ی, ك → ک, …), tatweel dropped;
- Tajik letters to the Russian-keyboard letters people type for them (ҳ → х, ҷ → ч, қ → к, ғ → г, ӣ → и, ӯ → у);
- Persian and Arabic-Indic digits to 0–9;
- apostrophes of every kind dropped (Sa'idi, Sa’idi → saidi); hyphens, commas, the zero-width non-joiner and
  other punctuation become spaces (Abdul-Rahman → abdul rahman; "Karimi, Zahra" → karimi zahra).
- the vowels that English-style transliterations of Persian and Arabic names write in more than one way, in Latin
  letters only: o is folded into u and e into a, then any letter repeated is written once
  (Mohammad, Muhammad, Mohammed → muhamad; Hosseini, Hoseini, Hussaini → husaini; Yousufi, Yusufi → yusufi;
  Ahmed, Ahmad → ahmad). The rule works letter by letter, so a part of a name typed alone folds into a part of
  the folded name and substring search still holds; it finds more, never less (Rahel also finds Rahal).
The stored copy also holds each pair of neighbouring words joined (abdul rahman → abdulrahman, محمد رضا →
محمدرضا), so a name written joined finds it written apart, and the other way round.
"""

import re
import unicodedata

# A name as printed on a travel document: Latin letters (accents included), spaces, hyphens, apostrophes.
LATIN_NAME = re.compile(r"^[A-Za-zÀ-ÖØ-öø-ɏ' .-]+$")

_FOLD = str.maketrans(
    {
        "\u064a": "\u06cc",  # ي ARABIC YEH -> ی FARSI YEH
        "\u0649": "\u06cc",  # ى ALEF MAKSURA -> ی
        "\u0643": "\u06a9",  # ك ARABIC KAF -> ک KEHEH
        "\u0629": "\u0647",  # ة TEH MARBUTA -> ه
        "\u0623": "\u0627",  # أ -> ا
        "\u0625": "\u0627",  # إ -> ا
        "\u0622": "\u0627",  # آ -> ا
        "\u0640": None,  # tatweel
        "\u200c": " ",  # zero-width non-joiner, common inside Dari names: a word boundary
        "\u200d": None,  # zero-width joiner
        "\u200e": None, "\u200f": None,  # left-to-right and right-to-left marks
        # Tajik letters and the Russian-keyboard letters typed for them.
        "ҳ": "х", "ҷ": "ч", "қ": "к", "ғ": "г", "ӣ": "и", "ӯ": "у",
        # Apostrophes of every kind disappear: Sa'idi, Sa’idi and Saidi are one name.
        "'": None, "\u2019": None, "\u2018": None, "\u02bc": None, "`": None, "\u00b4": None,
        **{chr(0x06F0 + d): str(d) for d in range(10)},  # Persian digits
        **{chr(0x0660 + d): str(d) for d in range(10)},  # Arabic-Indic digits
    }
)
_SEPARATORS = re.compile(r"[\s\-‐‑–—_,.;:/\\()\"]+")


# Transliteration variants of the same vowel (see the module's docstring), Latin letters only.
_VOWELS = str.maketrans({"o": "u", "e": "a"})
_REPEATED_LATIN = re.compile(r"([a-z])\1+")


def normalize(text):
    """The form in which names are stored for search and queries are compared."""
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.casefold().translate(_FOLD).translate(_VOWELS)
    text = _REPEATED_LATIN.sub(r"\1", text)
    return " ".join(_SEPARATORS.sub(" ", text).split())


def search_words(query):
    """The words of a query, each of which must occur in a person's names."""
    return normalize(query).split()


def normalize_code(text):
    """A case number or proGres id as typed (Persian digits, lower case, spaces) in the form it is stored."""
    text = unicodedata.normalize("NFKC", text or "").translate(_FOLD)
    return re.sub(r"\s+", "", text).upper()


def person_search_text(family_name, given_name, native_name):
    """What a person's search matches against: every form of their names, normalised, with neighbouring words
    also joined (stored on Person)."""
    parts = []
    for name in (family_name, given_name, native_name):
        words = normalize(name).split()
        parts.extend(words)
        # Joined, a letter repeated across the join is written once too (Abdul Latif → abdulatif).
        parts.extend(_REPEATED_LATIN.sub(r"\1", a + b) for a, b in zip(words, words[1:]))
    return " ".join(parts)
