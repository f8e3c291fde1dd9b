"""``spm lsp``: the language server, over stdin and stdout (pygls).

It answers from the editor's text, saved or not. No request is ever answered with a failure the editor would
show as a crash: a handler that fails logs why (to stderr and the editor's log) and answers empty.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from pathlib import Path

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from spmlang.lsp import plan_model as pm
from spmlang.lsp.analysis import Analyses, Analysis, plan_beside, tests_beside
from spmlang.lsp.completion import complete
from spmlang.lsp.hover import hover
from spmlang.lsp.outline import Entry, outline
from spmlang.lsp.text import lines_of

logger = logging.getLogger("spmlang.lsp")

_ITEM_KINDS = {
    "keyword": lsp.CompletionItemKind.Keyword,
    "column": lsp.CompletionItemKind.Field,
    "table": lsp.CompletionItemKind.Class,
    "component": lsp.CompletionItemKind.Function,
    "filter": lsp.CompletionItemKind.Event,
    "function": lsp.CompletionItemKind.Function,
    "builtin": lsp.CompletionItemKind.Variable,
    "value": lsp.CompletionItemKind.EnumMember,
}
_SYMBOL_KINDS = {
    "plan": lsp.SymbolKind.Namespace,
    "setting": lsp.SymbolKind.Property,
    "transactions": lsp.SymbolKind.Struct,
    "column": lsp.SymbolKind.Field,
    "filter": lsp.SymbolKind.Boolean,
    "table": lsp.SymbolKind.Class,
    "component": lsp.SymbolKind.Function,
    "rule": lsp.SymbolKind.Property,
    "version": lsp.SymbolKind.Event,
    "cap": lsp.SymbolKind.Constant,
    "test": lsp.SymbolKind.Module,
    "expectation": lsp.SymbolKind.Property,
}
_MAX_FILE_BYTES = 4 * pm.MAX_PLAN_CHARS


class SpmLanguageServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("spm", pm.VERSION, text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental)
        self.analyses = Analyses(self.text_of)
        self.open_uris: dict[str, str] = {}  # path -> the uri the editor opened it by

    # ------------------------------------------------------------ files
    def path_of(self, uri: str) -> str:
        return to_fs_path(uri) or uri

    def uri_of(self, path: str) -> str:
        return self.open_uris.get(path) or from_fs_path(path) or path

    def text_of(self, path: str) -> str | None:
        """The editor's text of a file, if it is open; else the file's own (None if there is none)."""
        uri = self.open_uris.get(path)
        if uri is not None:
            return self.workspace.get_text_document(uri).source
        file = Path(path)
        try:
            if not file.is_file() or file.stat().st_size > _MAX_FILE_BYTES:
                return None
            return file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError):
            return None

    def analysis(self, uri: str) -> Analysis | None:
        return self.analyses.get(self.path_of(uri))

    # ------------------------------------------------------------ positions
    def _units(self, text: str) -> int:
        try:
            encoding = self.workspace.position_encoding
        except Exception:  # noqa: BLE001 - before `initialize` there is no workspace: LSP's default, UTF-16
            encoding = None
        if encoding == lsp.PositionEncodingKind.Utf8:
            return len(text.encode("utf-8"))
        if encoding == lsp.PositionEncodingKind.Utf32:
            return len(text)
        return len(text.encode("utf-16-le")) // 2

    def to_position(self, lines: list[str], line: int, column: int) -> lsp.Position:
        """A 1-based spm position (code points) as the editor counts it."""
        index = max(line - 1, 0)
        if index >= len(lines):
            return lsp.Position(line=len(lines), character=0)
        return lsp.Position(line=index, character=self._units(lines[index][: max(column - 1, 0)]))

    def to_range(self, lines: list[str], span: pm.Span | None) -> lsp.Range:
        if span is None:
            return lsp.Range(start=lsp.Position(line=0, character=0), end=lsp.Position(line=0, character=1))
        return lsp.Range(
            start=self.to_position(lines, span.line, span.column),
            end=self.to_position(lines, span.end_line, span.end_column),
        )

    def from_position(self, text: str, position: lsp.Position) -> tuple[int, int]:
        """The editor's position as a 1-based spm position."""
        lines = lines_of(text)
        if position.line >= len(lines):
            return len(lines), len(lines[-1]) + 1
        line = lines[position.line]
        units = 0
        for index, char in enumerate(line):
            if units >= position.character:
                return position.line + 1, index + 1
            units += self._units(char)
        return position.line + 1, len(line) + 1

    def location(self, span: pm.Span) -> lsp.Location:
        text = self.text_of(span.path) or ""
        return lsp.Location(uri=self.uri_of(span.path), range=self.to_range(lines_of(text), span))

    # ------------------------------------------------------------ diagnostics
    def publish(self, uri: str) -> None:
        analysis = self.analysis(uri)
        if analysis is None:
            return
        lines = lines_of(analysis.text)
        diagnostics = [self._diagnostic(d, analysis, lines) for d in analysis.diagnostics]
        self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics))

    def _diagnostic(self, d: pm.Diagnostic, analysis: Analysis, lines: list[str]) -> lsp.Diagnostic:
        span = d.span if d.span is not None and d.span.path == analysis.path else None
        message = d.message + (f"\nhint: {d.hint}" if d.hint else "")
        related = [
            lsp.DiagnosticRelatedInformation(location=self.location(note_span), message=note)
            for note_span, note in d.notes
        ]
        return lsp.Diagnostic(
            range=self.to_range(lines, span),
            message=message,
            code=d.code,
            source="spm",
            severity=lsp.DiagnosticSeverity.Error if d.is_error else lsp.DiagnosticSeverity.Warning,
            related_information=related or None,
        )

    def republish(self, uri: str) -> None:
        """A file changed: its diagnostics, and those of the open file that reads it (a plan's tests)."""
        self.publish(uri)
        path = self.path_of(uri)
        if not path.endswith(pm.TEST_SUFFIX):
            tests = self.open_uris.get(tests_beside(path))
            if tests is not None:
                self.publish(tests)


server = SpmLanguageServer()


def guarded(default=None):
    """Any failure of a handler is logged and answered with ``default``: bad input never stops the server."""

    def wrap(handler):
        @functools.wraps(handler)
        def guarded_handler(ls: SpmLanguageServer, params):
            try:
                return handler(ls, params)
            except Exception as error:  # noqa: BLE001 - an editor's request must never take the server down
                logger.exception("spm lsp: %s failed", handler.__name__)
                with contextlib.suppress(Exception):  # telling the editor may fail too: the answer below still goes
                    ls.window_log_message(
                        lsp.LogMessageParams(
                            type=lsp.MessageType.Error,
                            message=f"spm lsp: {handler.__name__} failed: {type(error).__name__}: {error}",
                        )
                    )
                return default() if callable(default) else default

        return guarded_handler

    return wrap


# ---------------------------------------------------------------------- documents


@server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
@guarded()
def did_open(ls: SpmLanguageServer, params: lsp.DidOpenTextDocumentParams) -> None:
    ls.open_uris[ls.path_of(params.text_document.uri)] = params.text_document.uri
    ls.republish(params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
@guarded()
def did_change(ls: SpmLanguageServer, params: lsp.DidChangeTextDocumentParams) -> None:
    ls.republish(params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
@guarded()
def did_save(ls: SpmLanguageServer, params: lsp.DidSaveTextDocumentParams) -> None:
    ls.republish(params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
@guarded()
def did_close(ls: SpmLanguageServer, params: lsp.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    path = ls.path_of(uri)
    ls.open_uris.pop(path, None)
    ls.analyses.forget(path)
    ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[]))
    if not path.endswith(pm.TEST_SUFFIX) and tests_beside(path) in ls.open_uris:
        ls.publish(ls.open_uris[tests_beside(path)])  # its tests now read the plan as saved


# ---------------------------------------------------------------------- requests


def _at(ls: SpmLanguageServer, params) -> tuple[Analysis, int, int] | None:
    analysis = ls.analysis(params.text_document.uri)
    if analysis is None:
        return None
    line, column = ls.from_position(analysis.text, params.position)
    return analysis, line, column


@server.feature(lsp.TEXT_DOCUMENT_HOVER)
@guarded()
def on_hover(ls: SpmLanguageServer, params: lsp.HoverParams) -> lsp.Hover | None:
    found = _at(ls, params)
    if found is None:
        return None
    text = hover(*found)
    if not text:
        return None
    return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=text))


@server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
@guarded(list)
def on_definition(ls: SpmLanguageServer, params: lsp.DefinitionParams) -> list[lsp.Location]:
    found = _at(ls, params)
    if found is None:
        return []
    analysis, line, column = found
    occurrence = analysis.index.at(line, column)
    if occurrence is None:
        return []
    definition = analysis.declarations.index.definition(occurrence.key)
    if definition is None and analysis.plan is not None:
        definition = analysis.index.definition(occurrence.key)
    return [ls.location(definition.span)] if definition is not None else []


@server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
@guarded(list)
def on_references(ls: SpmLanguageServer, params: lsp.ReferenceParams) -> list[lsp.Location]:
    found = _at(ls, params)
    if found is None:
        return []
    analysis, line, column = found
    occurrence = analysis.index.at(line, column)
    if occurrence is None:
        return []
    plan_path = plan_beside(analysis.path) if analysis.is_test_file else analysis.path
    files = [ls.analyses.get(plan_path), ls.analyses.get(tests_beside(plan_path))]
    seen, locations = set(), []
    for file in files:
        if file is None:
            continue
        for found_here in file.index.references(occurrence.key):
            if found_here.definition and not params.context.include_declaration:
                continue
            key = (found_here.span.path, found_here.span.line, found_here.span.column)
            if key not in seen:
                seen.add(key)
                locations.append(ls.location(found_here.span))
    return locations


@server.feature(lsp.TEXT_DOCUMENT_COMPLETION, lsp.CompletionOptions(trigger_characters=["."]))
@guarded(list)
def on_completion(ls: SpmLanguageServer, params: lsp.CompletionParams) -> list[lsp.CompletionItem]:
    found = _at(ls, params)
    if found is None:
        return []
    return [
        lsp.CompletionItem(label=item.label, kind=_ITEM_KINDS[item.kind], detail=item.detail or None)
        for item in complete(*found)
    ]


@server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
@guarded(list)
def on_document_symbol(ls: SpmLanguageServer, params: lsp.DocumentSymbolParams) -> list[lsp.DocumentSymbol]:
    analysis = ls.analysis(params.text_document.uri)
    if analysis is None or analysis.tree is None:
        return []
    lines = lines_of(analysis.text)
    return [_symbol(ls, lines, entry) for entry in outline(analysis.tree, analysis.text)]


def _symbol(ls: SpmLanguageServer, lines: list[str], entry: Entry) -> lsp.DocumentSymbol:
    whole = ls.to_range(lines, entry.span)
    name = ls.to_range(lines, entry.name_span)
    if (name.start.line, name.start.character) < (whole.start.line, whole.start.character) or (
        name.end.line,
        name.end.character,
    ) > (whole.end.line, whole.end.character):
        name = whole
    return lsp.DocumentSymbol(
        name=entry.name or "?",
        kind=_SYMBOL_KINDS[entry.kind],
        range=whole,
        selection_range=name,
        detail=entry.detail or None,
        children=[_symbol(ls, lines, child) for child in entry.children] or None,
    )


@server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
@guarded(list)
def on_formatting(ls: SpmLanguageServer, params: lsp.DocumentFormattingParams) -> list[lsp.TextEdit]:
    path = ls.path_of(params.text_document.uri)
    text = ls.text_of(path)
    if text is None:
        return []
    source = text[1:] if text.startswith("\ufeff") else text
    try:
        formatted = pm.format_plan(source, path)
    except pm.PlanError as error:
        ls.window_log_message(
            lsp.LogMessageParams(
                type=lsp.MessageType.Info, message=f"spm fmt: not formatted, the file has errors ({error})"
            )
        )
        return []
    if formatted == text:
        return []
    lines = lines_of(text)
    end = lsp.Position(line=len(lines) - 1, character=ls._units(lines[-1]))
    return [lsp.TextEdit(range=lsp.Range(start=lsp.Position(line=0, character=0), end=end), new_text=formatted)]


def serve() -> None:
    import sys

    from spmlang.lsp.transport import BoundedInput, OneLine

    logging.basicConfig(level=logging.WARNING, format="spm lsp: %(levelname)s %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(OneLine())
    editor = BoundedInput(sys.stdin.buffer, logger)
    server.start_io(editor)  # type: ignore[arg-type]  # it reads as pygls reads
    if editor.ended:  # a session the editor broke off: not ended as the protocol ends one
        raise SystemExit(1)
