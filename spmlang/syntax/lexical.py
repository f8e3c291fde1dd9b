"""A line of plan text as the grammar splits it: code, strings and a comment.

The formatter keeps comments, the hints read what follows a token, and the language server finds words and
open blocks; each needs the same reading of quotes, escapes and ``#`` (``STRING`` in grammar/spm.lark).
"""

from __future__ import annotations


def code_part(line: str) -> str:
    """``line`` up to its comment, with the text inside strings blanked (the quotes kept): as long as the code
    it stands for, so a position in it is the position in ``line``. A string left open runs to the end."""
    out = []
    in_string = escaped = False
    for char in line:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
                out.append(char)
                continue
            out.append(" ")
            continue
        if char == '"':
            in_string = True
        elif char == "#":
            break
        out.append(char)
    return "".join(out)


def comment_of(line: str) -> str | None:
    """The ``#`` comment of ``line`` (from the ``#`` on), or None: a ``#`` inside a string is no comment."""
    code = code_part(line)
    return line[len(code) :] if len(code) < len(line) else None
