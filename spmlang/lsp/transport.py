"""What the server reads from the editor, bounded, and what it logs of a message it cannot read.

pygls reads a message of whatever length its header says, and a header line however long, at once: a broken
client (``Content-Length: 99999999999``) would take all memory. An editor never sends a message larger than a
plan file JSON can carry; past that the session ends with a line saying why. A message that is not JSON is
logged as one line, not a traceback (the editor shows the server's log to its user).
"""

from __future__ import annotations

import logging
from typing import BinaryIO

from spmlang.lsp.plan_model import MAX_PLAN_CHARS

# A plan's text in JSON, every character escaped (\uXXXX, 6 bytes), with room for the rest of a message.
MOST_BYTES = 6 * MAX_PLAN_CHARS + (1 << 20)
HEADER_BYTES = 1 << 12  # a header line ("Content-Length: 123") is a few dozen bytes


class BoundedInput:
    """``stream`` (the server's stdin) as pygls reads it, with every read bounded: past the bounds it reads as
    ended, after logging why."""

    def __init__(self, stream: BinaryIO, log: logging.Logger):
        self._stream = stream
        self._log = log
        self.ended = False  # by a read past the bounds

    def readline(self) -> bytes:
        line = self._stream.readline(HEADER_BYTES)
        if len(line) >= HEADER_BYTES and not line.endswith(b"\n"):
            return self._end(f"a header line longer than {HEADER_BYTES:,} bytes")
        return line

    def read(self, size: int = -1) -> bytes:
        if size < 0 or size > MOST_BYTES:
            return self._end(f"a message of {size:,} bytes, more than an editor sends (at most {MOST_BYTES:,})")
        return self._stream.read(size)

    def _end(self, what: str) -> bytes:
        self._log.error("the editor sent %s: the session ends", what)
        self.ended = True
        return b""


class OneLine(logging.Filter):
    """A message pygls could not read or handle, logged as its one-line reason (the traceback is pygls's and
    the JSON parser's, of no use to whoever reads the editor's log)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            record.msg = f"{record.getMessage()}: {type(error).__name__}: {error}"
            record.args = ()
            record.exc_info = record.exc_text = None
        return True
