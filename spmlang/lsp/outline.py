"""The document outline: the plan and its settings, the transactions (columns, filters), the tables, the
components (their rule and modifiers), plan caps and tests, each with where it is. From the syntax tree, so
that a plan with errors still has one."""

from __future__ import annotations

from dataclasses import dataclass, field

from spmlang.lsp import plan_model as pm
from spmlang.lsp.plan_model import Span, ast
from spmlang.lsp.symbols import table_key
from spmlang.lsp.text import source_text


@dataclass
class Entry:
    name: str
    kind: str  # plan, setting, transactions, column, filter, table, component, rule, version, cap, test, expectation
    span: Span  # the whole of it
    name_span: Span  # what to select: its name
    detail: str = ""
    children: list[Entry] = field(default_factory=list)


_RULES = (
    ast.RateStmt,
    ast.PayRowStmt,
    ast.PayOnceStmt,
    ast.TiersBlock,
    ast.AcceleratorBlock,
    ast.CurveBlock,
    ast.MultiplierStmt,
    ast.CapStmt,
    ast.GateStmt,
    ast.OnCreditStmt,
)


def _setting_name(setting: ast.Setting | ast.ClawbackStmt | ast.PayoutFloorStmt) -> str:
    if isinstance(setting, ast.ClawbackStmt):
        return "clawback"
    if isinstance(setting, ast.PayoutFloorStmt):
        return "payout floor"
    return setting.key


def outline(tree: ast.PlanFile, text: str) -> list[Entry]:
    entries = []
    for item in tree.items:
        if isinstance(item, ast.PlanBlock):
            children = [
                Entry(_setting_name(setting), "setting", setting.span, setting.span, source_text(text, setting.span))
                for setting in item.settings
            ]
            entries.append(Entry(f"plan {pm.literal_text(item.name)}", "plan", item.span, item.name.span, "", children))
        elif isinstance(item, ast.TransactionsBlock):
            entries.append(
                Entry("transactions", "transactions", item.span, _first_line(item.span), "", _transactions(item, text))
            )
        elif isinstance(item, ast.TableBlock):
            entries.append(_table(item))
        elif isinstance(item, ast.ComponentBlock):
            children = _component_children(item.statements, text)
            entries.append(
                Entry(
                    f"{item.kind.text} {item.name.text}",
                    "component",
                    item.span,
                    item.name.span,
                    _rule_kind(item),
                    children,
                )
            )
        elif isinstance(item, ast.CapStmt):
            entries.append(Entry(source_text(text, item.span), "cap", item.span, item.span, "plan cap"))
        elif isinstance(item, ast.TestBlock):
            expectations = [
                Entry(source_text(text, stmt.span), "expectation", stmt.span, stmt.span)
                for stmt in item.statements
                if isinstance(stmt, ast.Expect)
            ]
            entries.append(
                Entry(f"test {pm.literal_text(item.name)}", "test", item.span, item.name.span, "", expectations)
            )
    return entries


def _component_children(statements, text: str) -> list[Entry]:
    """A component's rule and modifiers, and each dated version (`from DATE`) with its own."""
    children = []
    for stmt in statements:
        if isinstance(stmt, ast.FromBlock):
            inner = _component_children(stmt.statements, text)
            children.append(Entry(f"from {stmt.date.text}", "version", stmt.span, stmt.date.span, "version", inner))
        elif isinstance(stmt, (*_RULES, ast.WhereStmt)):
            kind = "filter" if isinstance(stmt, ast.WhereStmt) else "rule"
            children.append(Entry(source_text(text, stmt.span), kind, stmt.span, _first_line(stmt.span)))
    return children


def _first_line(span: Span) -> Span:
    if span.end_line == span.line:
        return span
    return Span(span.path, span.line, span.column, span.line, span.column + 1)


def _transactions(block: ast.TransactionsBlock, text: str) -> list[Entry]:
    children = []
    for stmt in block.statements:
        if isinstance(stmt, ast.ColumnStmt):
            detail = stmt.type.text + (f" {stmt.format.text}" if stmt.format else "")
            children.append(Entry(stmt.name.text, "column", stmt.span, stmt.name.span, detail))
        elif isinstance(stmt, ast.WhereStmt):
            name = stmt.name.text if stmt.name else source_text(text, stmt.expr.span)
            children.append(
                Entry(
                    name,
                    "filter",
                    stmt.span,
                    stmt.name.span if stmt.name else stmt.span,
                    pm.expression_text(stmt.expr) if stmt.name else "",
                )
            )
        elif isinstance(stmt, (ast.KeyStmt, ast.DateStmt, ast.PayeeStmt, ast.CreditStmt, ast.FileStmt, ast.RollupStmt)):
            children.append(Entry(source_text(text, stmt.span), "setting", stmt.span, stmt.span))
    return children


def _table(block: ast.TableBlock) -> Entry:
    key = table_key(block) or block.kind.text
    children = [
        Entry(stmt.name.text, "column", stmt.span, stmt.name.span, stmt.type.text)
        for stmt in block.statements
        if isinstance(stmt, ast.ColumnStmt)
    ]
    rows = next((s for s in block.statements if isinstance(s, ast.RowsBlock)), None)
    detail = "lookup table" if block.kind.text == "table" else block.kind.text
    if rows is not None:
        detail += f", {len(rows.rows)} row{'s' if len(rows.rows) != 1 else ''}"
    name_span = block.name.span if block.name is not None else block.kind.span
    title = f"table {key}" if block.kind.text == "table" else key
    return Entry(title, "table", block.span, name_span, detail, children)


def _rule_kind(block: ast.ComponentBlock) -> str:
    for stmt in block.statements:
        if isinstance(stmt, ast.TiersBlock):
            return f"tiers {stmt.mode.text} on {' '.join(n.text for n in stmt.basis)}"
        if isinstance(stmt, ast.CurveBlock):
            return f"curve on {' '.join(n.text for n in stmt.basis)}"
        if isinstance(stmt, ast.PayOnceStmt):
            return "pay once"
        if isinstance(stmt, ast.PayRowStmt):
            return f"pay per {stmt.unit.text}"
    accelerated = any(isinstance(s, ast.AcceleratorBlock) for s in block.statements)
    if any(isinstance(s, ast.RateStmt) for s in block.statements):
        return "rate with accelerator" if accelerated else "rate"
    return ""
