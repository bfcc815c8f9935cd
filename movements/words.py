"""Numbers in words for messages: "1 case", "12 cases", "1 person", "45 people" — never "case(s)"."""

IRREGULAR = {"person": "people"}


def counted(number, word, plural=None):
    """The number (with thousands separators) and the word, singular for exactly one."""
    return f"{number:,} {word if number == 1 else plural or IRREGULAR.get(word) or word + 's'}"
