"""How a name is shown in public: one rule for views, QR credentials and PDFs.

The public sees enough for a holder to recognise their own entry and no more (SPEC §2):
first (and for CJK names, last) character kept, the rest masked.
"""

from __future__ import annotations

import unicodedata

from domain.errors import InvalidInput


def _is_cjk(char: str) -> bool:
    """Han, kana and Hangul: scripts whose names are written without spaces."""
    return unicodedata.name(char, "").startswith(_CJK_NAMES)


_CJK_NAMES = ("CJK ", "HIRAGANA", "KATAKANA", "HANGUL")


def _name_tokens(name: str) -> list[str]:
    """The name's words: runs of letters, digits and combining marks.

    Everything else separates words or is dropped: any whitespace (tabs, ideographic and
    no-break spaces), punctuation such as the ``·`` in transliterated names, and invisible
    format characters (zero-width spaces, joiners, bidi controls), which would otherwise
    let ``张\u200b三\u200b丰`` or ``张 三 丰`` pass as several one-character "words".
    """
    tokens: list[str] = []
    current: list[str] = []
    for char in unicodedata.normalize("NFKC", name):
        category = unicodedata.category(char)
        if char.isspace():
            category = "Zs"  # tabs and newlines (Cc) separate words like spaces do
        if category[0] in "LNM":
            current.append(char)
        elif category in {"Cf", "Cc", "Co", "Cn", "Cs"}:
            continue  # invisible or not a character: never a word boundary, never shown
        elif current:
            tokens.append("".join(current))
            current = []
    if current:
        tokens.append("".join(current))
    return tokens


def _mask_word(word: str) -> str:
    """One word: first character kept, the rest masked; a single character fully masked."""
    return "*" if len(word) == 1 else word[0] + "*" * (len(word) - 1)


def mask_name(name: str) -> str:
    """Public form of a name: ``张三丰`` → ``张*丰``, ``张三`` → ``张*``, ``Li Lei`` → ``L* L**``.

    Keeps the first (and for CJK, last) character so a holder recognises their own entry;
    a one-character name is fully masked. The one masking rule for views, QR codes and PDFs.
    Separators never split a CJK name (``张 三 丰`` → ``张*丰``), and a one-letter word is
    masked whole, so spacing a name out letter by letter reveals nothing more.
    """
    tokens = _name_tokens(name)
    if not tokens:
        raise InvalidInput("a name needs at least one letter")
    if any(_is_cjk(char) for token in tokens for char in token):
        letters = "".join(tokens)
        if len(letters) == 1:
            return "*"
        if len(letters) == 2:
            return letters[0] + "*"
        return letters[0] + "*" * (len(letters) - 2) + letters[-1]
    if len(tokens) == 1 and len(tokens[0]) > 2:
        word = tokens[0]
        return word[0] + "*" * (len(word) - 2) + word[-1]
    return " ".join(_mask_word(token) for token in tokens)
