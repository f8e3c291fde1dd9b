"""Reading a plan or test file's text: what the file system or the encoding refuses is an input error naming the
file, never a traceback (``spm check``, ``spm test`` and ``spm fmt`` read files the same way)."""

from __future__ import annotations

from pathlib import Path

from spmlang.diagnostics import InputError, PlanError
from spmlang.syntax.parser import MAX_PLAN_CHARS, too_large


def read_source(path: Path, what: str = "plan file", hint: str | None = None) -> str:
    """The text of ``path`` (UTF-8, a byte order mark dropped). ``what`` names the file in messages: "plan
    file", "test file"; ``hint`` is said where it is not found. A file too large to be a plan is not read:
    :class:`PlanError` E110."""
    try:
        size = path.stat().st_size
        if size > 4 * MAX_PLAN_CHARS:  # at most 4 bytes a character: too large whatever it holds; do not read it
            raise PlanError([too_large(str(path), size)], {})
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{what} not found", file=str(path), hint=hint) from None
    except IsADirectoryError:
        raise InputError(f"is a folder, not a {what}", file=str(path)) from None
    except UnicodeDecodeError:
        from spmlang.files import DATA_FILE_WORDS, data_file_kind  # here: spm check starts without it

        kind = data_file_kind(path)
        if kind is not None:  # spm explain ledger.parquet: the data where the plan goes
            raise InputError(
                f"is {DATA_FILE_WORDS[kind]}, not a {what}",
                file=str(path),
                hint="give the plan (.spm) here, and its data with the options (--deals, --quotas, --paid ...)",
            ) from None
        raise InputError(
            f"the {what} is not UTF-8 text", file=str(path), hint="save it as UTF-8 text (an editor's encoding menu)"
        ) from None
    except OSError as error:  # no permission to read it, a disk error
        raise InputError(f"cannot read the {what}: {(error.strerror or str(error)).lower()}", file=str(path)) from None
