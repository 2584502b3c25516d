"""Numbers written as words ("twenty five", "a dozen", Hindi "das") turned into digits.

People type numbers the way they say them, so the parser sees digits only: this runs on the token
list after normalisation and before intent and parameter extraction.
"""

from __future__ import annotations

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
         "eighty": 80, "ninety": 90}
# Hindi numerals common in Hinglish chat. "do" (2) is only a number before a replica word (see below).
_HINDI = {"ek": 1, "teen": 3, "chaar": 4, "char": 4, "paanch": 5, "panch": 5, "chhe": 6, "chheh": 6,
          "chhah": 6, "chah": 6, "saat": 7, "aath": 8, "nau": 9, "das": 10, "dus": 10, "gyarah": 11, "gyaarah": 11,
          "barah": 12, "baarah": 12, "terah": 13, "chaudah": 14, "pandrah": 15, "solah": 16, "satrah": 17,
          "atharah": 18, "unnees": 19, "bees": 20, "tees": 30, "chalis": 40, "pachaas": 50, "sau": 100}
NUMBER_WORDS = "|".join(sorted({*_UNITS, *_TENS, *_HINDI, "dozen"}, key=len, reverse=True))
"""A regex alternation of the number words, for patterns that run before the conversion."""
_REPLICA_WORDS = {"pod", "pods", "replica", "replicas", "instance", "instances", "copy", "copies"}


def words_to_numbers(tokens: list[str]) -> list[str]:
    """Replace number words by digit strings; leave every other token as it is."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        value, used = _read_number(tokens, i)
        if used:
            out.append(str(value))
            i += used
        else:
            out.append(tokens[i])
            i += 1
    return out


def _read_number(tokens: list[str], i: int) -> tuple[int, int]:
    """(value, tokens consumed) of the number starting at i, or (0, 0)."""
    tok = tokens[i]
    nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
    after = tokens[i + 2] if i + 2 < len(tokens) else ""
    if tok == "half" and nxt == "a" and after == "dozen":
        return 6, 3
    if tok == "half" and nxt == "dozen":
        return 6, 2
    if tok == "a" and nxt == "dozen":
        return 12, 2
    if tok == "dozen":
        return 12, 1
    if tok in ("a", "") and nxt == "couple":
        used = 3 if after == "of" else 2
        return 2, used
    if tok == "couple":
        return 2, 2 if nxt == "of" else 1
    if tok == "do" and nxt in _REPLICA_WORDS:
        return 2, 1
    if tok == "single" and nxt in _REPLICA_WORDS:  # "a single pod"; "a single point of failure" stays words
        return 1, 1
    if tok in _HINDI:
        return _HINDI[tok], 1
    if tok.isdigit() and nxt == "dozen":
        return int(tok) * 12, 2
    value, used = _read_english(tokens, i)
    if used and i + used < len(tokens) and tokens[i + used] == "dozen":
        return value * 12, used + 1
    return value, used


def _read_english(tokens: list[str], i: int) -> tuple[int, int]:
    total, used = 0, 0
    tok = tokens[i]
    if tok in _TENS:
        total, used = _TENS[tok], 1
        if i + 1 < len(tokens) and tokens[i + 1] in _UNITS and 0 < _UNITS[tokens[i + 1]] < 10:
            total += _UNITS[tokens[i + 1]]
            used = 2
        elif i + 1 < len(tokens) and "-" in tokens[i + 1]:
            return total, used
    elif "-" in tok and tok.split("-", 1)[0] in _TENS and tok.split("-", 1)[1] in _UNITS:
        tens, unit = tok.split("-", 1)
        total, used = _TENS[tens] + _UNITS[unit], 1
    elif tok in _UNITS:
        total, used = _UNITS[tok], 1
    elif tok == "hundred":
        total, used = 100, 1
    if used and i + used + 1 < len(tokens) + 1 and i + used < len(tokens) and tokens[i + used] == "hundred":
        total, used = total * 100, used + 1
        rest, more = _read_english_tail(tokens, i + used)
        total, used = total + rest, used + more
    return total, used


def _read_english_tail(tokens: list[str], i: int) -> tuple[int, int]:
    """The "and five" / "twenty" after "two hundred"."""
    skip = 1 if i < len(tokens) and tokens[i] == "and" else 0
    if i + skip < len(tokens) and (tokens[i + skip] in _TENS or tokens[i + skip] in _UNITS):
        value, used = _read_english(tokens, i + skip)
        return value, used + skip
    return 0, 0
