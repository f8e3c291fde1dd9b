"""``spm diff``: the cost of a plan change, before anyone approves it.

Both plans run over the same data. The report gives the payout under each and
the difference, per component and in total; per payee, who gains and who
loses and by how much; and the clauses that changed. A plan is a file, or
``REV:path`` read from git (``HEAD~1:plans/ae.spm``).
"""

from __future__ import annotations

import difflib
import json
import subprocess
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from spmlang.api import Plan, Result, loads
from spmlang.diagnostics import InputError, UsageError
from spmlang.figures import change_percent, money, signed_money
from spmlang.syntax import ast
from spmlang.syntax.format import strip_positions
from spmlang.visible import visible

ZERO = Decimal("0.00")


@dataclass
class Cost:
    name: str
    old: Decimal
    new: Decimal

    @property
    def change(self) -> Decimal:
        return self.new - self.old


@dataclass
class ClauseChange:
    what: str  # "component commission", "plan header", "table rates" ...
    change: str  # added | removed | changed
    where: str  # file:line in the new plan (or the old, when removed)
    lines: list[str] = field(default_factory=list)  # -/+ lines of the clause's text


@dataclass
class PlanDiff:
    old: str
    new: str
    old_version: str
    new_version: str
    components: list[Cost]
    payees: list[Cost]
    clauses: list[ClauseChange]
    rows: tuple[int, int]  # rows credited under each plan
    periods: str = ""  # with --paid or --through: which periods are closed, paid now and later (as the runs pay)
    plans: tuple[Plan, Plan] | None = field(default=None, repr=False, compare=False)  # for spm diff --plot

    @property
    def total(self) -> Cost:
        return Cost("total", sum((c.old for c in self.components), ZERO), sum((c.new for c in self.components), ZERO))

    @property
    def gainers(self) -> list[Cost]:
        return sorted((p for p in self.payees if p.change > 0), key=lambda p: (-p.change, p.name))

    @property
    def losers(self) -> list[Cost]:
        return sorted((p for p in self.payees if p.change < 0), key=lambda p: (p.change, p.name))

    # ------------------------------------------------------------------ output
    def to_dict(self) -> dict:
        def cost(c: Cost) -> dict:
            return {"name": c.name, "old": str(c.old), "new": str(c.new), "change": str(c.change)}

        return {
            "old": {"plan": self.old, "version": self.old_version, "rows_credited": self.rows[0]},
            "new": {"plan": self.new, "version": self.new_version, "rows_credited": self.rows[1]},
            "components": [cost(c) for c in self.components],
            "total": cost(self.total),
            "payees": [cost(p) for p in self.payees if p.change],
            "unchanged_payees": sum(1 for p in self.payees if not p.change),
            "clauses": [{"what": c.what, "change": c.change, "where": c.where, "lines": c.lines} for c in self.clauses],
            **({"periods": self.periods} if self.periods else {}),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    def _percent(self) -> str:
        total = self.total
        if total.old == 0:
            return ""
        return f" ({change_percent(total.change / total.old)})"

    def to_text(self) -> str:
        total = self.total
        width = max([len(c.name) for c in self.components] + [9])
        lines = [
            f"cost of the change: {self.old} (version {self.old_version}) -> {self.new} (version {self.new_version})",
            *([self.periods] if self.periods else []),
            "",
            f"{'component'.ljust(width)}  {'old':>15}  {'new':>15}  {'change':>15}",
        ]
        for c in self.components + [total]:
            lines.append(
                f"{visible(c.name).ljust(width)}  {money(c.old):>15}  {money(c.new):>15}  {signed_money(c.change):>15}"
            )
        lines[-1] += self._percent()
        lines += ["", self._payee_summary()]
        for label, group in (("gain", self.gainers), ("lose", self.losers)):
            for p in group[:20]:
                lines.append(
                    f"  {label} {visible(p.name)}: {money(p.old)} -> {money(p.new)} ({signed_money(p.change)})"
                )
            if len(group) > 20:
                lines.append(f"  ... and {len(group) - 20} more who {label}")
        lines += ["", "clauses that changed:" if self.clauses else "no clause changed"]
        for clause in self.clauses:
            lines.append(f"  {clause.change} {clause.what} ({clause.where})")
            lines.extend(f"      {visible(line)}" for line in clause.lines)
        if self.rows[0] != self.rows[1]:
            lines += ["", f"rows credited: {self.rows[0]:,} -> {self.rows[1]:,}"]
        return "\n".join(lines) + "\n"

    def _payee_summary(self) -> str:
        same = sum(1 for p in self.payees if not p.change)
        return f"payees: {len(self.gainers)} gain, {len(self.losers)} lose, {same} unchanged"

    def to_markdown(self) -> str:
        total = self.total
        lines = [
            f"### Cost of this plan change: {signed_money(total.change)}{self._percent()}",
            "",
            f"`{self.old}` (version {self.old_version}) → `{self.new}` (version {self.new_version})",
            *(["", self.periods] if self.periods else []),
            "",
            "| component | before | after | change |",
            "|---|---:|---:|---:|",
        ]
        for c in self.components:
            lines.append(f"| {visible(c.name)} | {money(c.old)} | {money(c.new)} | {signed_money(c.change)} |")
        lines.append(
            f"| **total** | **{money(total.old)}** | **{money(total.new)}** | **{signed_money(total.change)}** |"
        )
        lines += ["", f"**{self._payee_summary()}**"]
        movers = self.gainers[:10] + self.losers[:10]
        if movers:
            lines += ["", "| payee | before | after | change |", "|---|---:|---:|---:|"]
            lines += [
                f"| {visible(p.name)} | {money(p.old)} | {money(p.new)} | {signed_money(p.change)} |" for p in movers
            ]
        if self.clauses:
            lines += ["", "<details><summary>Clauses that changed</summary>", ""]
            for clause in self.clauses:
                lines.append(f"- **{clause.change}** {clause.what} (`{clause.where}`)")
                if clause.lines:
                    lines += ["", "  ```diff", *[f"  {visible(line)}" for line in clause.lines], "  ```"]
            lines += ["", "</details>"]
        if self.rows[0] != self.rows[1]:
            lines += ["", f"Rows credited: {self.rows[0]:,} → {self.rows[1]:,}"]
        return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------- loading plans


def read_plan(reference: str) -> tuple[Plan, str]:
    """A plan from a file, or from git as ``REV:path``. Returns the plan and how to name it."""
    path = Path(reference)
    if path.exists():
        from spmlang.api import load

        return load(path), reference
    if ":" not in reference:
        raise InputError("plan file not found", file=reference, hint="a plan is a file, or REV:path from git")
    revision, _, inside = reference.partition(":")
    if revision.startswith("-"):  # never an option to git (`--output=FILE` writes a file)
        raise UsageError(
            f"cannot read '{reference}': it is not a file, and a git revision cannot start with '-' "
            "(a plan is a file, or REV:PATH from git)"
        )
    if not revision or not inside:
        raise UsageError(f"cannot read '{reference}': a plan is a file, or REV:PATH from git (HEAD~1:plans/ae.spm)")
    try:
        shown = subprocess.run(
            ["git", "show", "--end-of-options", f"{revision}:{inside}"], capture_output=True, text=True, check=False
        )
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise UsageError(f"cannot read {reference}: git is not installed") from None
    if shown.returncode != 0:
        said = "; ".join(line.strip() for line in shown.stderr.splitlines() if line.strip())  # one line, not \x0a
        raise UsageError(f"cannot read {reference} from git: {said}")
    # Name it as the working-tree file, so files the plan names resolve next to it.
    where = Path(top.stdout.strip()) / inside if top.returncode == 0 and not inside.startswith("./") else Path(inside)
    return loads(shown.stdout, str(where)), reference


# ---------------------------------------------------------------------- the diff


def diff_plans(old_reference: str, new_reference: str, **inputs) -> PlanDiff:
    old_plan, old_label = read_plan(old_reference)
    new_plan, new_label = read_plan(new_reference)
    tables = inputs.pop("tables", None) or {}
    either = {str(name) for plan in (old_plan, new_plan) for name in plan.checked.tables}
    old_result = _run(old_plan, old_label, {**inputs, "tables": _own(tables, old_plan, either)})
    new_result = _run(new_plan, new_label, {**inputs, "tables": _own(tables, new_plan, either)})
    names = [c.name for c in old_plan.checked.components]
    names += [c.name for c in new_plan.checked.components if c.name not in names]
    old_by = _by(old_result, "component")
    new_by = _by(new_result, "component")
    components = [Cost(n, old_by.get(n, ZERO), new_by.get(n, ZERO)) for n in names]
    old_payees, new_payees = _by(old_result, "payee"), _by(new_result, "payee")
    payees = [
        Cost(p, old_payees.get(p, ZERO), new_payees.get(p, ZERO)) for p in sorted(set(old_payees) | set(new_payees))
    ]
    return PlanDiff(
        old_label,
        new_label,
        old_plan.version,
        new_plan.version,
        components,
        payees,
        clause_changes(old_plan, new_plan),
        (old_result.accounting["credited"], new_result.accounting["credited"]),
        _periods(new_result),
        (old_plan, new_plan),
    )


def _own(tables: dict, plan: Plan, either: set[str]) -> dict:
    """The tables given that ``plan`` has: the data of a table one of the two plans adds is not the other's (a
    name neither has is refused by the run, as a typo)."""
    return {name: data for name, data in tables.items() if str(name) in plan.checked.tables or name not in either}


def _periods(result: Result) -> str:
    """Against earlier ledgers, what the figures cover: the periods paid now, with the closed ones' changes."""
    from spmlang.report.summary import period_notes

    notes = period_notes(result.payout)  # none unless earlier ledgers closed periods or --through stops short
    if not notes:
        return ""
    run = result.payout.run
    if not run.cycle.first_open:
        return f"{notes[0]} (the figures: what each plan pays through {run.calendar.labels[run.cycle.last]})"
    return f"{notes[0]} (the figures: what each plan pays now, changes to closed periods as adjustments)"


def _run(plan: Plan, label: str, inputs: dict) -> Result:
    try:
        return plan.run(**inputs)
    except InputError as error:
        raise InputError(
            f"running {label}: {error.message}",
            file=error.file,
            column=error.column,
            row=error.row,
            hint=error.hint,
            code=error.code,
        ) from None


def _by(result: Result, key: str) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for row in result.totals().to_pylist():
        name = row[key] if row[key] is not None else "(none)"
        totals[name] = totals.get(name, ZERO) + row["amount"]
    return totals


def clause_changes(old: Plan, new: Plan) -> list[ClauseChange]:
    """Which blocks of the plan were added, removed or changed, each with its changed lines."""
    old_blocks, new_blocks = _blocks(old), _blocks(new)
    changes = []
    for key, (node, text, where) in new_blocks.items():
        if key not in old_blocks:
            changes.append(ClauseChange(key, "added", where, [f"+ {line}" for line in text]))
        elif strip_positions(old_blocks[key][0]) != strip_positions(node):
            diff = [
                line
                for line in difflib.unified_diff(old_blocks[key][1], text, lineterm="", n=0)
                if line[:1] in "+-" and not line.startswith(("---", "+++"))
            ]
            changes.append(ClauseChange(key, "changed", where, [f"{line[0]} {line[1:].strip()}" for line in diff]))
    for key, (_node, text, where) in old_blocks.items():
        if key not in new_blocks:
            changes.append(ClauseChange(key, "removed", where, [f"- {line}" for line in text]))
    return changes


def _blocks(plan: Plan) -> dict[str, tuple[ast.Node, list[str], str]]:
    from spmlang.syntax import parse

    source = plan.checked.source
    tree = parse(source, plan.path)
    lines = source.splitlines()
    blocks: dict[str, tuple[ast.Node, list[str], str]] = {}
    caps = 0
    for item in tree.items:
        if isinstance(item, ast.PlanBlock):
            key = "plan header"
        elif isinstance(item, ast.TransactionsBlock):
            key = "transactions"
        elif isinstance(item, ast.TableBlock):
            key = f"table {item.name.text}" if item.name else item.kind.text
        elif isinstance(item, ast.ComponentBlock):
            key = f"{item.kind.text} {item.name.text}"
        elif isinstance(item, ast.CapStmt):
            caps += 1
            key = f"plan cap {caps}"
        else:
            continue  # tests do not change what is paid
        text = [line.strip() for line in lines[item.span.line - 1 : item.span.end_line] if line.strip()]
        blocks[key] = (item, text, f"{Path(plan.path).name}:{item.span.line}")
    return blocks
