"""Words in messages and texts: labels inside sentences, numbers in words ("1 case", "12 cases", "45 people" —
never "case(s)"), and names taken out of free text."""

import re

CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # C0, DEL and C1: no name, date, code or note holds one

IRREGULAR = {"person": "people"}


def control_character_refusal(value, *, multi_line=False):
    """The message refusing a text that holds a control character ("" when it holds none); a multi-line text keeps
    its tabs and line breaks. The forms (`forms.PrintableText`) and the models' validation (the admin's) say it."""
    if multi_line:
        value = value.replace("\t", " ").replace("\r", " ").replace("\n", " ")
    control = CONTROL_CHARACTER.search(value)
    if control is None:
        return ""
    return f"This holds a control character (U+{ord(control.group()):04X}), which no name, code or note has: remove it."


def in_sentence(label):
    """A choice's label inside a sentence: its first letter in lower case unless its first word is an abbreviation
    ("Passport" → "passport", "ICRC travel document" and "IME" stay)."""
    first = label.split(" ", 1)[0]
    if len(first) > 1 and first.isupper():
        return label
    return label[:1].lower() + label[1:]


def counted(number, word, plural=None):
    """The number (with thousands separators) and the word, singular for exactly one."""
    return f"{number:,} {word if number == 1 else plural or IRREGULAR.get(word) or word + 's'}"


class NameReplacer:
    """Writes names in free text as something else: whole names only (never inside a longer word: "Karimi Ahmadzai"
    keeps its "zai"), in any letter case and spacing ("KARIMI  AHMAD", "Karimi,Ahmad"), the longest name first. A
    name mapped to None is left as it is: a person's own name, which a shorter name of someone else must not cut
    into ("Ahmadi, Ali Reza" is not "Ahmadi, Ali" and "Reza")."""

    def __init__(self, replacements):
        names = {}
        for name, instead in replacements:
            if name and name.strip():
                names.setdefault(_key(name), (name.strip(), instead))
        self.instead = {key: instead for key, (_name, instead) in names.items()}
        ordered = sorted((name for name, _instead in names.values()), key=len, reverse=True)
        self.pattern = (re.compile(r"(?<!\w)(?:" + "|".join(map(_loose, ordered)) + r")(?!\w)", re.IGNORECASE)
                        if ordered else None)

    def __call__(self, text):
        if not text or self.pattern is None:
            return text
        return self.pattern.sub(self._replace, text)

    def _replace(self, match):
        instead = self.instead.get(_key(match.group(0)))
        return match.group(0) if instead is None else instead


def _key(name):
    """A name as compared: one space between its parts, ", " for a comma, letter case folded."""
    return re.sub(r"\s+", " ", re.sub(r"\s*,\s*", ", ", name.strip())).casefold()


def _loose(name):
    """A name's pattern: its parts as written, any spacing between them, a comma with or without spaces."""
    parts = re.split(r"(\s*,\s*|\s+)", name)
    return "".join((r"\s*,\s*" if "," in part else r"\s+") if i % 2 else re.escape(part)
                   for i, part in enumerate(parts))
