"""Statements as self-contained HTML: no scripts, no external files; printable and readable on a phone.

The pages are Jinja2 templates (``templates/``: statement.html, index.html and the style.css both include),
autoescaped. A company brings its own with ``--template DIR``: a template there replaces spm's of the same name,
and the others stay spm's. Such a folder's pages are run in Jinja2's sandbox: a template reads the figures it is
given and calls no Python of its own (spm's own templates alone, being spm's code, run without it). docs/cli.md
lists what each template receives.
"""

from __future__ import annotations

import contextlib
import functools
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spmlang.diagnostics import InputError
from spmlang.figures import money, percent

if TYPE_CHECKING:
    from jinja2 import Environment

NAMES = ("statement.html", "index.html", "style.css")
BUILT_IN = Path(__file__).parent / "templates"
HINT = "fix the template; docs/cli.md (spm statement --template) lists what each template receives"


@dataclass(frozen=True, slots=True)
class IndexRow:
    """A statement as the index page gets it: ``entry.statement`` and ``entry.href`` (``entry["href"]`` reads
    the same in a template). Attributes, not a dict's keys: Jinja2 tries an attribute first, and a missed one
    costs an exception, ~2.5 microseconds twice a statement (40,000 in a large run)."""

    statement: Any
    href: str


class Templates:
    """The statement pages' templates: spm's own, or a company's folder of them in front of spm's."""

    def __init__(self, folder: str | Path | None = None):
        self.folder = Path(folder) if folder is not None else None
        if self.folder is not None:
            if not self.folder.is_dir():
                raise InputError("not a folder of templates", file=str(self.folder), code="E509", hint=_names())
            if not any((self.folder / name).is_file() for name in NAMES):
                raise InputError(
                    "holds none of the statement templates", file=str(self.folder), code="E509", hint=_names()
                )
        self.environment = _environment(str(self.folder) if self.folder is not None else None)
        with self._reporting():  # a template that does not parse is said before any statement is made
            self._statement, self._index = (self.environment.get_template(n) for n in ("statement.html", "index.html"))
            self.environment.get_template("style.css")

    def statement(self, statement, **extra: Any) -> str:
        with self._reporting():
            return self._render(self._statement, statement=statement, **extra)

    def index(self, entries: list[tuple[Any, str]]) -> str:
        plan = entries[0][0].plan if entries else "Statements"
        with self._reporting():
            entries_of = [IndexRow(s, href) for s, href in entries]
            return self._render(self._index, plan=plan, entries=entries_of)

    def _render(self, template, **context: Any) -> str:
        """A page; a company's template makes it a piece at a time, within a size and a time (spm's own are
        spm's code: rendered whole)."""
        if self.folder is None:
            return template.render(**context)
        from spmlang.report.render import sandbox

        made, size, started = [], 0, time.monotonic()
        slow = f"takes more than {_PAGE_SECONDS} s to make a page"
        try:
            # The timer undone before the memory bound: no Slow while the process's limit is given back.
            with sandbox.memory_bound(), sandbox.deadline(_PAGE_SECONDS):
                for piece in template.generate(**context):
                    made.append(piece)
                    size += len(piece)
                    if size > _PAGE_CHARS:
                        raise self._beyond(template, f"makes a page longer than {_PAGE_CHARS:,} characters")
                    if time.monotonic() - started > _PAGE_SECONDS:  # where no timer could be set
                        raise self._beyond(template, slow)
        except sandbox.Slow:
            raise self._beyond(template, slow) from None
        except MemoryError:
            made.clear()
            raise self._beyond(
                template, f"needs more memory than a page may take ({sandbox.HEADROOM >> 20:,} MB)"
            ) from None
        return "".join(made)

    def _beyond(self, template, what: str) -> InputError:
        assert self.folder is not None  # spm's own templates are not bounded
        return InputError(f"the template {what}", file=str(self.folder / template.name), code="E509", hint=HINT)

    def _reporting(self):
        return _template_errors()


def statement_html(statement, templates: Templates | None = None) -> str:
    """A statement's page, with its charts where matplotlib is installed (without them where it is not)."""
    from markupsafe import Markup

    from spmlang.report.render.charts import charts_available, standing_charts

    charts = []
    if statement.standing is not None and charts_available():
        charts = [{**chart, "svg": Markup(chart["svg"])} for chart in standing_charts(statement.standing)]
    return (templates or default_templates()).statement(statement, charts=charts)


def index_html(entries, templates: Templates | None = None) -> str:
    return (templates or default_templates()).index(entries)


@functools.cache
def default_templates() -> Templates:
    return Templates()


@functools.cache
def _environment(folder: str | None) -> Environment:
    from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined

    from spmlang.report.render.sandbox import Sandbox

    # spm's own templates are spm's code, and need no sandbox: rendered in Jinja2's plain environment, a page
    # takes ~half the time (a sandbox checks every attribute and call). With a company's folder, all run in it.
    kind = Sandbox if folder is not None else Environment
    loaders = [_folder_loader(folder)] if folder is not None else []
    environment = kind(
        loader=ChoiceLoader([*loaders, FileSystemLoader(str(BUILT_IN))]),
        autoescape=True,
        undefined=StrictUndefined,  # a misspelt variable is an error, not an empty space on a pay statement
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # the templates do not change during a run: not a look at the file per page
    )
    environment.filters.update(money=_figure(money, "an amount"), percent=_figure(percent, "a ratio (0.25 is 25%)"))
    if folder is not None:
        environment.globals.pop("lipsum", None)  # placeholder text, made as long as asked: no statement's
    return environment


def _figure(show, what: str):
    """A template filter writing a figure as statements do, from a Decimal (what spm gives), a number or its
    text; anything else is a template's error saying what the filter takes."""

    def shown(value):
        if value is None or isinstance(value, Decimal):
            return show(value)
        number = None
        if not isinstance(value, bool):  # True is no amount, though Python counts it 1
            with contextlib.suppress(InvalidOperation):
                number = Decimal(str(value).strip())
        if number is None or not number.is_finite():
            raise ValueError(f"the {show.__name__} filter takes {what}, not {value!r}")
        return show(number)

    return shown


_PAGE_CHARS = 20_000_000  # the longest page a company's template makes (spm's own are a few hundred kB at most)
_PAGE_SECONDS = 30  # the longest a company's template takes to make a page


def _folder_loader(folder: str):
    """A company's folder of templates: its own files, read as UTF-8 text; not a file a link in it leads to
    outside it (a template reads only the folder it is given, as a plan reads only its own)."""
    from jinja2 import FileSystemLoader
    from jinja2.loaders import split_template_path

    root = Path(folder).resolve()

    class FolderLoader(FileSystemLoader):
        def get_source(self, environment, template):
            path = Path(folder, *split_template_path(template))
            if path.is_file() and not path.resolve().is_relative_to(root):
                raise InputError(
                    f"the template '{template}' is a link to {path.resolve()}, outside the template folder",
                    file=str(path),
                    code="E509",
                    hint="a template reads only the folder given with --template: copy the file into it",
                )
            try:
                return super().get_source(environment, template)
            except UnicodeDecodeError as error:
                raise InputError(
                    f"the template is not UTF-8 text (byte {error.start + 1} is not)",
                    file=str(path),
                    code="E509",
                    hint="save the template as UTF-8",
                ) from None

    return FolderLoader(folder)


@contextlib.contextmanager
def _template_errors() -> Iterator[None]:
    """A template's mistake as an error naming its file and line (E509), never a traceback."""
    try:
        yield
    except InputError:
        raise
    except Exception as error:
        trace = error.__traceback__
        if not _from_jinja(error, trace):
            raise
        from jinja2 import TemplateNotFound, TemplateSyntaxError, UndefinedError
        from jinja2.exceptions import SecurityError

        if isinstance(error, UndefinedError):
            message = _undefined(str(error.message))
        elif isinstance(error, TemplateSyntaxError):
            message = f"the template does not read: {error.message}"
        elif isinstance(error, TemplateNotFound):
            message = f"the template includes '{error.name}', which is not there"
        elif isinstance(error, SecurityError):
            message = f"the template does what a statement template may not: {_unsafe(str(error))}"
        else:
            message = f"the template cannot be made: {error}"
        raise InputError(message, file=_where(error, trace), code="E509", hint=HINT) from None


def _undefined(message: str) -> str:
    """Jinja2's word for a name a template is not given, as a person reads it."""
    attribute = re.fullmatch(r"'(?:[\w.]+\.)?(\w+) object' has no attribute '(.+)'", message)
    if attribute:
        return f"the template asks for '{attribute.group(2)}', which a {attribute.group(1).lower()} does not have"
    name = re.fullmatch(r"'(.+)' is undefined", message)
    if name:
        return f"the template asks for '{name.group(1)}', which it is not given"
    return f"the template asks for what it is not given: {message}"


def _unsafe(message: str) -> str:
    if message.startswith("it "):  # said by the sandbox's own operators, above
        return message
    attribute = re.match(r"access to attribute '(.+)' of '(\w+)' object is unsafe", message)
    if attribute:
        return f"it reads '{attribute.group(1)}' of a {attribute.group(2).lower()}"
    return "it calls a function (a template reads the figures it is given, and calls only its own macros)"


def _from_jinja(error: BaseException, trace) -> bool:
    """Whether the error is a template's: Jinja2's own, or raised as a template ran (a filter given text)."""
    from jinja2 import TemplateError

    if isinstance(error, TemplateError):
        return True
    while trace is not None:
        if trace.tb_frame.f_code.co_filename.endswith((".html", ".css")):
            return True
        trace = trace.tb_next
    return False


def _where(error: BaseException, trace) -> str:
    """``file:line`` of the template the error is in."""
    filename, line = getattr(error, "filename", None), getattr(error, "lineno", None)
    while trace is not None:  # Jinja2 rewrites the traceback: the template's frames carry its file and line
        name = trace.tb_frame.f_code.co_filename
        if name.endswith((".html", ".css")):
            filename, line = name, trace.tb_lineno
        trace = trace.tb_next
    return f"{filename}:{line}" if line else str(filename or "a template")


def _names() -> str:
    return f"give a folder holding any of {', '.join(NAMES)} (each replaces spm's of the same name)"
