"""What a hover says (Markdown): a column's type, format and where its values come from; a table's columns
and first rows; a component's rule in one sentence with its tier table or curve, its modifiers and the clause
its ledger lines cite; a keyword's line of the manual.

Components are described from the checked plan, so that a hover says what the engine will pay (tiers as the
checker read them, rates written as the ledger writes them); while the plan has errors, from what is written.
The words of a component are report/rules.py's, which a plan shown in a notebook says too.
"""

from __future__ import annotations

from pathlib import Path

from spmlang.lsp import plan_model as pm
from spmlang.lsp.analysis import Analysis
from spmlang.lsp.keywords import BUILTINS, FUNCTIONS_LINE, INNER_WORDS, KEYWORDS, ON_CREDIT, TEST_KEYWORDS
from spmlang.lsp.plan_model import Span, ast
from spmlang.lsp.symbols import Occurrence, table_key
from spmlang.lsp.text import source_text, statement_words, word_at

ROWS_SHOWN = 5

_DATA_OPTION = {"quotas": "--quotas PATH", "targets": "--targets PATH", "roster": "--roster PATH"}
_TABLE_KIND = {
    "quotas": "quotas: payee × period → quota",
    "targets": "targets: the target incentive per payee",
    "roster": "roster: payee → manager, for rollups",
}


def hover(analysis: Analysis, line: int, column: int) -> str | None:
    occurrence = analysis.index.at(line, column)
    if occurrence is not None:
        text = _symbol(analysis, occurrence)
        if text:
            return text
    word = word_at(analysis.text, line, column)
    if word is None:
        return None
    statement = statement_words(analysis.text, line)
    first = statement[0] if statement else word
    if word == "on" and first == "on" and statement[-1:] == ["credit"]:
        return f"**on … credit**\n\n{ON_CREDIT}\n\n*docs/language.md*"
    if word == "target" and "of" in statement:
        word = "of"
    if word in INNER_WORDS and first != word:
        if first in KEYWORDS and first != "expect":
            return f"**{first} … {word}**\n\n{KEYWORDS[first]}\n\n*docs/language.md*"
        if first in TEST_KEYWORDS:
            return f"**{first} … {word}**\n\n{TEST_KEYWORDS[first]}\n\n*docs/review.md*"
    if analysis.is_test_file or word not in KEYWORDS:
        if word in TEST_KEYWORDS:
            return f"**{word}**\n\n{TEST_KEYWORDS[word]}\n\n*docs/review.md*"
    if word in KEYWORDS:
        return f"**{word}**\n\n{KEYWORDS[word]}\n\n*docs/language.md*"
    return None


def _symbol(analysis: Analysis, occurrence: Occurrence) -> str | None:
    kind, owner, name = occurrence.key
    home = analysis.declarations
    declaration = home.index.declarations.get(occurrence.key)
    if kind == "builtin":
        return f"**{name}** · provided by spm\n\n{BUILTINS.get(name, '')}\n\n*docs/language.md*"
    if kind == "function":
        arguments = pm.FUNCTION_ARGUMENTS.get(name)
        if arguments is None:
            return None
        return f"**{name}(…)** · function: {arguments}\n\n{FUNCTIONS_LINE}"
    if declaration is None:
        return None
    if kind == "column" and isinstance(declaration, ast.ColumnStmt):
        return _column(home, declaration, occurrence)
    if kind == "table column":
        return _table_column(home, owner, declaration)
    if kind == "table" and isinstance(declaration, ast.TableBlock):
        return _table(home, declaration)
    if kind == "component" and isinstance(declaration, ast.ComponentBlock):
        return _component(home, declaration)
    if kind in ("filter", "component filter") and isinstance(declaration, ast.WhereStmt):
        return _filter(home, declaration, owner if kind == "component filter" else None)
    return None


def _where(span: Span) -> str:
    return f"{Path(span.path).name}:{span.line}"


# ---------------------------------------------------------------------- columns


def _column(home: Analysis, stmt: ast.ColumnStmt, occurrence: Occurrence) -> str:
    name = stmt.name.text
    lines = [f"**{name}** · {stmt.type.text} column of the transactions"]
    if stmt.format is not None:
        lines[0] += f", read as {stmt.format.text}"
    block = _transactions(home)
    source = "the transactions: `--deals PATH` on the command line"
    file = next((s for s in block.statements if isinstance(s, ast.FileStmt)), None) if block else None
    if file is not None:
        source += f", or the file the plan names: `file {file.path.text}`"
    lines.append(f"From {source}; in a test, its `transactions` rows.")
    roles = _column_roles(block, name) if block else []
    if roles:
        lines.append("It is " + ", ".join(roles) + ".")
    uses = sorted(
        {o.where for o in home.index.references(occurrence.key) if not o.definition} - {"the transactions block"}
    )
    if uses:
        lines.append("Read by " + ", ".join(uses) + ".")
    lines.append(f"Declared at `{_where(stmt.span)}`.")
    return "\n\n".join(lines)


def _column_roles(block: ast.TransactionsBlock, name: str) -> list[str]:
    roles = []
    for stmt in block.statements:
        if isinstance(stmt, ast.KeyStmt) and stmt.column.text == name:
            roles.append("the key (each transaction's unique id)")
        elif isinstance(stmt, ast.DateStmt) and stmt.column.text == name:
            roles.append("the date that puts each transaction in a period")
        elif isinstance(stmt, ast.PayeeStmt) and stmt.column.text == name:
            roles.append("the payee (who is credited)")
    return roles


def _transactions(home: Analysis) -> ast.TransactionsBlock | None:
    if home.tree is None:
        return None
    return next((i for i in home.tree.items if isinstance(i, ast.TransactionsBlock)), None)


def _table_column(home: Analysis, table: str, stmt) -> str:
    name = stmt.name.text if isinstance(stmt, ast.ColumnStmt) else stmt.column.text
    if isinstance(stmt, ast.ColumnStmt):
        head = f"**{name}** · {stmt.type.text} column of {_table_name(table)}"
    else:
        role = stmt.role if isinstance(stmt, ast.RoleStmt) else "key"
        head = f"**{name}** · the column of {_table_name(table)} that holds the {role}"
    return f"{head}\n\nDeclared at `{_where(stmt.span)}`."


def _table_name(key: str) -> str:
    return f"the {key} table" if key in _DATA_OPTION else f"table {key}"


# ---------------------------------------------------------------------- tables


def _table(home: Analysis, block: ast.TableBlock) -> str:
    key = table_key(block)
    statements = block.statements
    kind = block.kind.text
    head = f"**{key}** · lookup table" if kind == "table" else f"**{key}** · {_TABLE_KIND[kind]}"
    lines = [head]
    facts = _table_facts(home, block, key)
    if facts:
        lines.append("; ".join(facts) + ".")
    columns = [s for s in statements if isinstance(s, ast.ColumnStmt)]
    rows = next((s for s in statements if isinstance(s, ast.RowsBlock)), None)
    file = next((s for s in statements if isinstance(s, ast.FileStmt)), None)
    if rows is not None:
        lines.append(f"{len(rows.rows)} row{'s' if len(rows.rows) != 1 else ''} written in the plan:")
        names = [c.name.text for c in columns] or _role_columns(statements)
        width = max([len(names)] + [len(r) for r in rows.rows[:ROWS_SHOWN]])
        names += [""] * (width - len(names))
        table = ["| " + " | ".join(names) + " |", "|" + "---|" * width]
        for row in rows.rows[:ROWS_SHOWN]:
            cells = [_cell(pm.literal_text(v)) for v in row] + [""] * (width - len(row))
            table.append("| " + " | ".join(cells) + " |")
        if len(rows.rows) > ROWS_SHOWN:
            table.append("| … |" + " |" * (width - 1))
        lines.append("\n".join(table))
    else:
        option = _DATA_OPTION.get(kind, f"--table {key}=PATH")
        if file is not None:
            lines.append(
                f"Its rows come from `file {file.path.text}` (in the plan's folder), or `{option}` on the command line."
            )
        else:
            lines.append(f"Its rows come from the command line: `{option}`.")
        if columns:
            lines.append(
                "\n".join(
                    ["| column | type |", "|---|---|"]
                    + [
                        f"| {c.name.text} | {c.type.text}" + (f" {_cell(c.format.text)}" if c.format else "") + " |"
                        for c in columns
                    ]
                )
            )
    lines.append(f"Declared at `{_where(block.span)}`.")
    return "\n\n".join(lines)


def _table_facts(home: Analysis, block: ast.TableBlock, key: str) -> list[str]:
    """What a table block says of itself: its key, roles, per, default, and the value a lookup gives."""
    facts = []
    for stmt in block.statements:
        if isinstance(stmt, ast.KeyStmt):
            facts.append(f"looked up by `{stmt.column.text}`")
        elif isinstance(stmt, ast.RoleStmt):
            facts.append(f"{'returns' if stmt.role == 'value' else stmt.role} `{stmt.column.text}`")
        elif isinstance(stmt, ast.PerStmt):
            facts.append(f"per {stmt.unit.text}")
        elif isinstance(stmt, ast.DefaultStmt):
            facts.append(f"default {pm.literal_text(stmt.value)} for a key not in it")
    spec = home.checked.tables.get(key) if home.checked is not None else None
    if (
        block.kind.text == "table"
        and spec is not None
        and spec.value
        and not any(isinstance(stmt, ast.RoleStmt) and stmt.role == "value" for stmt in block.statements)
    ):
        facts.append(f"`{key}[…]` gives its `{spec.value}`")
    return facts


def _role_columns(statements) -> list[str]:
    return [s.column.text for s in statements if isinstance(s, ast.RoleStmt)]


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


# ---------------------------------------------------------------------- filters


def _filter(home: Analysis, stmt: ast.WhereStmt, component: str | None) -> str:
    """A named filter (only those are declarations)."""
    condition = pm.expression_text(stmt.expr)
    name = stmt.name.text if stmt.name else condition
    if component is None:
        what = "A filter of the transactions: a row for which it is not true is excluded, and counted under this name."
    else:
        what = f"Which credit rows {component} pays (the others still move the measure)."
    return f"**{name}** · `where {name}: {condition}`\n\n{what}\n\nAt `{_where(stmt.span)}`."


# ---------------------------------------------------------------------- components


def _component(home: Analysis, block: ast.ComponentBlock) -> str:
    checked = home.checked
    spec = None
    if checked is not None:
        spec = next((c for c in checked.components if c.name == block.name.text), None)
    if checked is None or spec is None:
        written = source_text(home.text, block.span, max_lines=14)
        return (
            f"**{block.kind.text} {block.name.text}**\n\n```spm\n{written}\n```\n\n"
            "*The plan has errors: its rule is described here once it checks.*"
        )
    return describe_component(spec, checked)


def describe_component(spec: pm.ComponentSpec, checked: pm.CheckedPlan) -> str:
    lines = [f"**{spec.kind} {spec.name}** · {pm.pays_what(spec)}", pm.rule_sentence(spec.rule, checked)]
    table = pm.rule_table(spec.rule)
    if table:
        lines.append(table.markdown())
    modifiers = [f"{before}`{code}`{after}" for before, code, after in pm.modifiers(spec, checked)]
    if modifiers:
        lines.append("\n".join(f"- {m}" for m in modifiers))
    clause = spec.rule_span
    before = f" (rows dated before {spec.versions[0].start.isoformat()})" if spec.versions else ""
    lines.append(f"Its ledger lines{before} cite the clause `{_where(clause)}`.")
    for version, dated in zip(spec.in_versions()[1:], spec.versions, strict=True):
        lines.append(f"**From {dated.start.isoformat()}** (rows dated then): {pm.rule_sentence(version.rule, checked)}")
        table = pm.rule_table(version.rule)
        if table:
            lines.append(table.markdown())
        if dated.multipliers is not None:
            lines.append("\n".join(f"- `{m.text}`" for m in dated.multipliers))
        lines.append(f"Its lines cite the clause `{_where(version.rule_span)}`.")
    return "\n\n".join(lines)
