"""Words in messages and texts: numbers in words ("1 case", "12 cases", "45 people" — never "case(s)"), and names
taken out of free text."""

import re

IRREGULAR = {"person": "people"}


def counted(number, word, plural=None):
    """The number (with thousands separators) and the word, singular for exactly one."""
    return f"{number:,} {word if number == 1 else plural or IRREGULAR.get(word) or word + 's'}"


def replace_names(text, replacements):
    """`text` with each name written as its replacement: `replacements` is [(name, instead)], longest names first
    (so "Karimi, Zahra" goes before "Zahra Karimi" could half-match it). Any letter case: a name typed in capitals,
    as manifests print them, is the same name."""
    if not text:
        return text
    folded = text.casefold()
    for name, instead in replacements:
        if name.casefold() in folded:
            text = re.sub(re.escape(name), lambda _match: instead, text, flags=re.IGNORECASE)
            folded = text.casefold()
    return text
