"""Text from data and files, made safe to print: control characters shown as escapes.

A payee name, a transaction key, a value in an error message or a line of a
plan file goes to a terminal (or a log someone reads in one). Written raw, an
escape sequence in it could clear the screen, set the window's title, hide
text or move the cursor; bidi overrides show text in another order than it is.
:func:`visible` shows each such character as its escape instead (``\\x1b``,
``\\u202e``), as Python's ``repr`` does: what the data holds, and nothing done.
"""

from __future__ import annotations

import functools
import re
import unicodedata

# Zero-width joiners and non-joiners are format characters, but names in Persian, Indic scripts and emoji
# need them to be written at all.
_JOINERS = "\u200c\u200d"
# What is neither printable ASCII nor a box-drawing character (tables' rules): only these need looking at.
_CANDIDATES = re.compile(r"[^\x20-\x7e\u2500-\u257f]")


@functools.lru_cache(maxsize=4096)  # a table's rules ask of the same few characters on every line
def hidden(char: str) -> bool:
    """Whether ``char`` does something other than show a glyph: C0 and C1 controls, DEL, format characters
    (bidi overrides, zero-width spaces, soft hyphens), line and paragraph separators, lone surrogates."""
    if char <= "\x1f" or "\x7f" <= char <= "\x9f":
        return True
    return unicodedata.category(char) in ("Cf", "Zl", "Zp", "Cs") and char not in _JOINERS


def _escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def visible(text: str, *, lines: bool = False) -> str:
    """``text`` with every :func:`hidden` character shown as its escape. With ``lines``, line breaks and tabs
    stay as they are (text of several lines spm made itself, with values already made visible in it)."""
    found = _CANDIDATES.findall(text)
    if not found:
        return text
    kept = "\n\t" if lines else ""
    if not any(hidden(char) and char not in kept for char in set(found)):
        return text
    return _CANDIDATES.sub(lambda m: _escape(m[0]) if hidden(m[0]) and m[0] not in kept else m[0], text)


def visible_json(text: str) -> str:
    """JSON text (as ``json.dumps(..., ensure_ascii=False)`` writes it) with every :func:`hidden` character
    written as a JSON escape (``\\u009b``): the same data, still valid JSON, and nothing raw on the terminal.
    (JSON escapes C0 controls itself; not DEL, C1 controls or bidi overrides.)"""

    def escape(char: str) -> str:
        code = ord(char)
        if code <= 0xFFFF:
            return f"\\u{code:04x}"
        code -= 0x10000  # a surrogate pair, as JSON writes characters beyond the first plane
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"

    if _CANDIDATES.search(text) is None:
        return text
    return _CANDIDATES.sub(lambda m: escape(m[0]) if hidden(m[0]) and m[0] not in "\n\t" else m[0], text)
