"""Lark parse tree to :mod:`spmlang.syntax.ast` nodes, with spans.

Literal values are read here (``$1,000`` -> Decimal 1000, ``12.5%`` -> 0.125,
``2027-02-30`` -> an error), so later stages never see raw token text.

One module on purpose, though long: a method per rule of grammar/spm.lark, in the grammar's order, found by
the rule's name; each is a line or two, and the grammar is read beside it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal, InvalidOperation

from lark import Token, Tree

from spmlang.diagnostics import Diagnostic, Span
from spmlang.syntax import ast


def _unescape(text: str) -> str:
    body = text[1:-1]
    out, i = [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append({"n": "\n", "t": "\t", '"': '"', "\\": "\\"}.get(nxt, "\\" + nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


class ToAst:
    """Each rule of the grammar is a method ``rule(meta, children)`` of its transformed children."""

    def __init__(self, path: str):
        self.path = path
        self.diagnostics: list[Diagnostic] = []

    def transform(self, tree: Tree):
        """The tree, bottom up, without recursion: a deep expression cannot exhaust Python's stack here (the
        parser refuses expressions nested past MAX_EXPRESSION_DEPTH before the stages that do recurse)."""
        done: list = []  # transformed children, in order, of the trees on the stack
        stack: list[tuple[Tree, bool]] = [(tree, False)]
        marks: list[int] = []
        while stack:
            node, visited = stack.pop()
            if not isinstance(node, Tree):
                done.append(node)  # a token (or a placeholder None) stays as it is
            elif not visited:
                marks.append(len(done))
                stack.append((node, True))
                stack.extend((child, False) for child in reversed(node.children))
            else:
                start = marks.pop()
                children = done[start:]
                del done[start:]
                done.append(getattr(self, node.data)(node.meta, children))
        return done[0]

    # ------------------------------------------------------------ positions
    def _span(self, meta) -> Span:
        if getattr(meta, "empty", True):
            return Span(self.path, 1, 1, 1, 2)
        return Span(self.path, meta.line, meta.column, meta.end_line, meta.end_column)

    def _tspan(self, token: Token) -> Span:
        # lark types a token's position Optional (a token made by hand has none); a parsed one has it
        line, column = token.line or 1, token.column or 1
        return Span(self.path, line, column, token.end_line or line, token.end_column or column + 1)

    def _name(self, token: Token) -> ast.Name:
        return ast.Name(str(token), self._tspan(token))

    def _error(self, code: str, message: str, span: Span, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, hint))

    # ------------------------------------------------------------ literals
    def _decimal(self, text: str, token: Token) -> Decimal:
        try:
            return Decimal(text)
        except InvalidOperation:  # the token patterns make this unreachable; keep it safe
            self._error("E102", f"cannot read '{token}' as a number", self._tspan(token))
            return Decimal(0)

    def _literal_from_token(self, token: Token, negative: bool = False, span: Span | None = None) -> ast.Literal:
        text = str(token)
        span = span or self._tspan(token)
        kind = token.type
        sign = Decimal(-1) if negative else Decimal(1)
        shown = ("-" + text) if negative else text
        if kind == "STRING":
            return ast.Literal("string", text, _unescape(text), span)
        if kind == "NUMBER":
            return ast.Literal("number", shown, sign * self._decimal(text.replace("_", ""), token), span)
        if kind == "MONEY":
            return ast.Literal("money", shown, sign * self._decimal(text[1:].replace(",", ""), token), span)
        if kind == "PERCENT":
            return ast.Literal("percent", shown, sign * self._decimal(text[:-1], token) / 100, span)
        if kind == "MULT":
            return ast.Literal("multiplier", text, self._decimal(text[:-1], token), span)
        if kind == "DATE":
            try:
                value = dt.date.fromisoformat(text)
            except ValueError:
                self._error("E103", f"'{text}' is not a valid date", span, "dates are written YYYY-MM-DD")
                value = dt.date(1970, 1, 1)
            return ast.Literal("date", text, value, span)
        if kind == "PERIOD":
            return ast.Literal("period", text, text, span)
        if kind in ("TRUE", "FALSE"):
            return ast.Literal("bool", text, kind == "TRUE", span)
        if kind == "NAME":
            return ast.Literal("word", text, text, span)
        raise AssertionError(f"unhandled literal token {kind}")

    def string(self, meta, children):
        return self._literal_from_token(children[0])

    number = money = percent = date = period = multiplier = boolean = bare_word = string

    def empty_value(self, meta, children):
        span = self._span(meta)
        return ast.Literal("empty", "empty", None, span)

    def negative(self, meta, children):
        return self._literal_from_token(children[-1], negative=True, span=self._span(meta))

    # ------------------------------------------------------------ expressions
    def ref(self, meta, children):
        return ast.Ref(str(children[0]), self._span(meta))

    def lookup(self, meta, children):
        table, key = children[0], children[1]
        column = self._name(children[2]) if len(children) > 2 and children[2] is not None else None
        return ast.Lookup(self._name(table), key, column, self._span(meta))

    def call(self, meta, children):
        args = tuple(c for c in children[1:] if c is not None)
        return ast.Call(self._name(children[0]), args, self._span(meta))

    def if_expr(self, meta, children):
        return ast.IfExpr(children[0], children[1], children[2], self._span(meta))

    def _fold(self, op: str, meta, children):
        node = children[0]
        for right in children[1:]:
            node = ast.Binary(op, node, right, self._span(meta))
        return node

    def or_expr(self, meta, children):
        return self._fold("or", meta, children)

    def and_expr(self, meta, children):
        return self._fold("and", meta, children)

    def not_expr(self, meta, children):
        return ast.Unary("not", children[0], self._span(meta))

    def neg(self, meta, children):
        return ast.Unary("-", children[0], self._span(meta))

    def binary(self, meta, children):
        left, op, right = children
        return ast.Binary(str(op), left, right, self._span(meta))

    def compare(self, meta, children):
        left, op, right = children
        return ast.Compare(str(op), left, right, self._span(meta))

    def in_list(self, meta, children):
        values = tuple(c for c in children[1:] if c is not None)
        return ast.InList(children[0], values, False, self._span(meta))

    def not_in_list(self, meta, children):
        values = tuple(c for c in children[1:] if c is not None)
        return ast.InList(children[0], values, True, self._span(meta))

    def in_range(self, meta, children):
        return ast.InRange(children[0], children[1], children[2], self._span(meta))

    def is_empty(self, meta, children):
        return ast.IsEmpty(children[0], False, self._span(meta))

    def is_not_empty(self, meta, children):
        return ast.IsEmpty(children[0], True, self._span(meta))

    # ------------------------------------------------------------ plan header
    def _setting(self, key: str, meta, children):
        values: list[ast.Name | ast.Literal] = []
        for child in children:
            if child is None:
                continue
            if isinstance(child, Token) and child.type == "NAME":
                values.append(self._name(child))
            else:
                values.append(self._literal_from_token(child))
        return ast.Setting(key, tuple(values), self._span(meta))

    def version_stmt(self, meta, children):
        return self._setting("version", meta, children)

    def currency_stmt(self, meta, children):
        return self._setting("currency", meta, children)

    def year_stmt(self, meta, children):
        return self._setting("year", meta, children)

    def payout_stmt(self, meta, children):
        return self._setting("payout", meta, children)

    def measure_stmt(self, meta, children):
        return self._setting("measure", meta, children)

    def attainment_stmt(self, meta, children):
        return self._setting("attainment", meta, children)

    def rounding_stmt(self, meta, children):
        return self._setting("rounding", meta, children)

    def clawback_stmt(self, meta, children):
        within = self._literal_from_token(children[1]) if len(children) > 1 and children[1] is not None else None
        unit = self._name(children[2]) if len(children) > 2 and children[2] is not None else None
        return ast.ClawbackStmt(self._name(children[0]), within, unit, self._span(meta))

    def payout_floor_stmt(self, meta, children):
        return ast.PayoutFloorStmt(children[0], self._span(meta))

    def plan_block(self, meta, children):
        name = self._literal_from_token(children[0])
        return ast.PlanBlock(name, tuple(children[1:]), self._span(meta))

    # ------------------------------------------------------------ data blocks
    def file_stmt(self, meta, children):
        return ast.FileStmt(self._literal_from_token(children[0]), self._span(meta))

    def column_stmt(self, meta, children):
        fmt = self._literal_from_token(children[2]) if len(children) > 2 and children[2] is not None else None
        return ast.ColumnStmt(self._name(children[0]), self._name(children[1]), fmt, self._span(meta))

    def key_stmt(self, meta, children):
        return ast.KeyStmt(self._name(children[0]), self._span(meta))

    def date_stmt(self, meta, children):
        return ast.DateStmt(self._name(children[0]), self._span(meta))

    def payee_stmt(self, meta, children):
        share = children[1] if len(children) > 1 else None
        return ast.PayeeStmt(self._name(children[0]), share, self._span(meta))

    def credit_stmt(self, meta, children):
        return ast.CreditStmt(children[0], self._span(meta))

    def where_stmt(self, meta, children):
        if len(children) == 2:
            return ast.WhereStmt(self._name(children[0]), children[1], self._span(meta))
        return ast.WhereStmt(None, children[0], self._span(meta))

    def rollup_stmt(self, meta, children):
        table = self._name(children[1]) if len(children) > 1 and children[1] is not None else None
        return ast.RollupStmt(self._name(children[0]), table, self._span(meta))

    def policy_stmt(self, meta, children):
        return ast.PolicyStmt(self._name(children[0]), self._name(children[1]), self._span(meta))

    def cancelled_stmt(self, meta, children):
        return ast.CancelledStmt(self._name(children[0]), self._span(meta))

    def refunded_stmt(self, meta, children):
        return ast.RefundedStmt(children[0], self._span(meta))

    def tx_currency_stmt(self, meta, children):
        words = tuple(self._name(word) for word in children[1:] if word is not None)
        return ast.CurrencyStmt(self._name(children[0]), words, self._span(meta))

    def fallback_stmt(self, meta, children):
        payee = children[0]
        written = self._literal_from_token(payee) if payee.type == "STRING" else self._name(payee)
        return ast.FallbackStmt(written, self._span(meta))

    def prorate_stmt(self, meta, children):
        return ast.ProrateStmt(self._name(children[0]), self._span(meta))

    def transactions_block(self, meta, children):
        return ast.TransactionsBlock(tuple(children), self._span(meta))

    def table_kind(self, meta, children):
        return self._name(children[0])

    role = table_kind
    component_kind = table_kind

    def role_stmt(self, meta, children):
        return ast.RoleStmt(children[0].text, self._name(children[1]), self._span(meta))

    def per_stmt(self, meta, children):
        return ast.PerStmt(self._name(children[0]), self._span(meta))

    def default_stmt(self, meta, children):
        return ast.DefaultStmt(children[0], self._span(meta))

    def row(self, meta, children):
        return (tuple(children), self._span(meta))

    def rows_block(self, meta, children):
        rows = tuple(values for values, _ in children)
        spans = tuple(span for _, span in children)
        return ast.RowsBlock(rows, spans, self._span(meta))

    def table_block(self, meta, children):
        kind = children[0]
        rest = children[1:]
        name = None
        if rest and isinstance(rest[0], Token):
            name = self._name(rest[0])
            rest = rest[1:]
        elif rest and rest[0] is None:
            rest = rest[1:]
        return ast.TableBlock(kind, name, tuple(rest), self._span(meta))

    # ------------------------------------------------------------ components
    def component_block(self, meta, children):
        return ast.ComponentBlock(children[0], self._name(children[1]), tuple(children[2:]), self._span(meta))

    def from_block(self, meta, children):
        return ast.FromBlock(self._literal_from_token(children[0]), tuple(children[1:]), self._span(meta))

    def on_credit_stmt(self, meta, children):
        return ast.OnCreditStmt(self._name(children[0]), self._span(meta))

    def rate_stmt(self, meta, children):
        return ast.RateStmt(children[0], self._span(meta))

    def money_amount(self, meta, children):
        return ast.Amount(children[0], False, self._span(meta))

    def target_amount(self, meta, children):
        return ast.Amount(children[0], True, self._span(meta))

    def pay_row_stmt(self, meta, children):
        return ast.PayRowStmt(children[0], self._name(children[1]), self._span(meta))

    def pay_once_stmt(self, meta, children):
        by = self._literal_from_token(children[2]) if len(children) > 2 and children[2] is not None else None
        return ast.PayOnceStmt(children[0], children[1], by, self._span(meta))

    def multiplier_stmt(self, meta, children):
        return ast.MultiplierStmt(children[0], children[1], self._span(meta))

    def gate_stmt(self, meta, children):
        return ast.GateStmt(children[0], self._span(meta))

    def payable_stmt(self, meta, children):
        return ast.PayableStmt(children[0], self._span(meta))

    # ------------------------------------------------------------ draws
    def draw_block(self, meta, children):
        return ast.DrawBlock(tuple(children), self._span(meta))

    def draw_amount_stmt(self, meta, children):
        return ast.DrawAmountStmt(children[0], self._name(children[1]), self._span(meta))

    def draw_kind_stmt(self, meta, children):
        return ast.DrawKindStmt(self._name(children[0]), self._span(meta))

    def recover_limit_stmt(self, meta, children):
        return ast.RecoverLimitStmt(children[0], self._span(meta))

    def recover_from_stmt(self, meta, children):
        return ast.RecoverFromStmt(self._literal_from_token(children[0]), self._span(meta))

    def draw_until_stmt(self, meta, children):
        return ast.DrawUntilStmt(self._literal_from_token(children[0]), self._span(meta))

    def cap_stmt(self, meta, children):
        covers = children[2] if len(children) > 2 and children[2] is not None else ()
        return ast.CapStmt(children[0], self._name(children[1]), self._span(meta), covers)

    def cap_covers(self, meta, children):
        return tuple(children)

    def cap_component(self, meta, children):
        return ast.CapCover(self._name(children[0]), False, self._span(meta))

    def cap_role(self, meta, children):
        return ast.CapCover(self._name(children[0]), True, self._span(meta))

    def basis(self, meta, children):
        return tuple(self._name(c) for c in children if c is not None)

    def signed_number(self, meta, children):
        negative = len(children) == 2
        literal = self._literal_from_token(children[-1], negative=negative, span=self._span(meta))
        if not isinstance(literal.value, Decimal):
            raise AssertionError("the grammar's signed numbers are numbers, money or percentages")
        return ast.Bound(literal.value, literal.kind, literal.text, literal.span)

    def bound(self, meta, children):
        return children[0]

    def tier_rate(self, meta, children):
        return ("rate", children[0])

    def tier_multiplier(self, meta, children):
        return ("multiplier", self._literal_from_token(children[0]))

    def tier_row(self, meta, children):
        low = children[0]
        high = children[1] if len(children) == 3 else None
        kind, value = children[-1]
        rate = value if kind == "rate" else None
        multiplier = value if kind == "multiplier" else None
        return ast.TierRow(low, high, rate, multiplier, self._span(meta))

    def tiers_block(self, meta, children):
        mode, basis, rows = self._name(children[0]), children[1], tuple(children[2:])
        return ast.TiersBlock(mode, basis, rows, self._span(meta))

    def accelerator_block(self, meta, children):
        return ast.AcceleratorBlock(children[0], tuple(children[1:]), self._span(meta))

    def curve_point(self, meta, children):
        return ast.CurvePoint(children[0], children[1], self._span(meta))

    def extend_stmt(self, meta, children):
        return self._name(children[0])

    def curve_block(self, meta, children):
        basis = children[0]
        points = tuple(c for c in children[1:] if isinstance(c, ast.CurvePoint))
        extends = tuple(c for c in children[1:] if isinstance(c, ast.Name))
        return ast.CurveBlock(basis, points, extends, self._span(meta))

    # ------------------------------------------------------------ tests
    def columns_stmt(self, meta, children):
        return ast.ColumnsStmt(tuple(self._name(c) for c in children), self._span(meta))

    def test_data(self, meta, children):
        return ast.TestData(tuple(children), self._span(meta))

    def strict_stmt(self, meta, children):
        return ast.StrictStmt(self._span(meta))

    def test_block(self, meta, children):
        return ast.TestBlock(self._literal_from_token(children[0]), tuple(children[1:]), self._span(meta))

    def where_period(self, meta, children):
        return ("period", children[0])

    def where_component(self, meta, children):
        return ("component", self._name(children[0]))

    def where_payee(self, meta, children):
        return ("payee", children[0])

    def _expect_compare(self, what, meta, children):
        subject, *wheres, op, value = children
        where = dict(wheres)
        if str(op) != "==":
            self._error("E104", f"expectations compare with ==, not {op}", self._tspan(op))
        return ast.Expect(
            what,
            subject,
            where.get("period"),
            where.get("component"),
            where.get("payee"),
            str(op),
            value,
            None,
            self._span(meta),
        )

    def expect_payout(self, meta, children):
        return self._expect_compare("payout", meta, children)

    def expect_attainment(self, meta, children):
        return self._expect_compare("attainment", meta, children)

    def expect_line(self, meta, children):
        return self._expect_compare("line", meta, children)

    def expect_paid(self, meta, children):
        """``expect paid PAYEE in PERIOD == AMOUNT [CURRENCY]``: the payout in the currency the payee is paid in."""
        currency = children[-1]
        children = children[:-1]
        expect = self._expect_compare("paid", meta, children)
        for where, name in (("component", "for COMPONENT"), ("payee", "of PAYEE")):
            if getattr(expect, where) is not None:
                self._error(
                    "E104",
                    f"expect paid takes a payee and a period, not {name}",
                    getattr(expect, where).span,
                    "write expect paid PAYEE in PERIOD == AMOUNT CURRENCY",
                )
        if currency is None:
            return expect
        return dataclasses.replace(expect, reason=self._name(currency))

    def expect_reject(self, meta, children):
        return ast.Expect(
            "reject", children[0], None, None, None, None, None, self._name(children[1]), self._span(meta)
        )

    def expect_excluded(self, meta, children):
        reason = self._name(children[1]) if len(children) > 1 and children[1] is not None else None
        return ast.Expect("excluded", children[0], None, None, None, None, None, reason, self._span(meta))

    def expect_error(self, meta, children):
        message = self._literal_from_token(children[1]) if len(children) > 1 and children[1] is not None else None
        return ast.Expect(
            "error", self._literal_from_token(children[0]), None, None, None, None, message, None, self._span(meta)
        )

    # ------------------------------------------------------------ file
    def start(self, meta, children):
        return [c for c in children if c is not None]
