"""Checking the plan block: name, version, currency, plan year, payout frequency, measure, attainment basis.

After an error the setting takes its default, so that the rest of the file is checked too.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar

from spmlang.check.context import CheckContext
from spmlang.check.cycle import clawback_spec, payout_floor
from spmlang.check.words import BASIS_WORDS, FREQUENCY_WORDS, MEASURE_WORDS
from spmlang.diagnostics import Span, did_you_mean
from spmlang.ir.constants import is_currency_code
from spmlang.ir.kinds import AttainmentBasis, Frequency, Measure
from spmlang.ir.plan import ClawbackSpec, Settings
from spmlang.syntax import ast

Word = TypeVar("Word", bound=StrEnum)


def check_settings(c: CheckContext, block: ast.PlanBlock) -> Settings:
    by_key = _settings_by_key(c, block)
    name = str(block.name.value).strip()
    if not name:
        c.error("E403", "the plan needs a name", block.name.span)
    version = _text(by_key["version"]) if "version" in by_key else "1"
    currency = _currency(c, by_key.get("currency"))
    year_start = _year_start(c, by_key.get("year"), block)
    frequency = _word(c, by_key.get("payout"), FREQUENCY_WORDS, "payout frequency", Frequency.QUARTERLY)
    measure = _word(c, by_key.get("measure"), MEASURE_WORDS, "measure", Measure.YEAR_TO_DATE)
    basis = _attainment_basis(c, by_key.get("attainment"), measure)
    _rounding(c, by_key.get("rounding"))
    c.year_known = year_start is not None
    clawback, floor, floor_span = _cycle(c, block)
    return Settings(
        name,
        version,
        currency,
        year_start or dt.date(2000, 1, 1),
        frequency or Frequency.QUARTERLY,
        measure or Measure.YEAR_TO_DATE,
        basis or AttainmentBasis.TO_DATE,
        block.span,
        clawback,
        floor,
        floor_span,
    )


def _cycle(c: CheckContext, block: ast.PlanBlock) -> tuple[ClawbackSpec | None, Decimal | None, Span | None]:
    """The plan's clawback and payout floor, each given at most once."""
    clawbacks = [s for s in block.settings if isinstance(s, ast.ClawbackStmt)]
    floors = [s for s in block.settings if isinstance(s, ast.PayoutFloorStmt)]
    extras: list[ast.ClawbackStmt | ast.PayoutFloorStmt] = [*clawbacks[1:], *floors[1:]]
    for extra in extras:
        c.error("E401", "set twice in the plan block", extra.span)
    clawback = clawback_spec(c, clawbacks[0]) if clawbacks else None
    floor = payout_floor(c, floors[0]) if floors else None
    return clawback, floor, floors[0].span if floor is not None else None


def _settings_by_key(c: CheckContext, block: ast.PlanBlock) -> dict[str, ast.Setting]:
    by_key: dict[str, ast.Setting] = {}
    for setting in block.settings:
        if not isinstance(setting, ast.Setting):
            continue
        if setting.key in by_key:
            c.error(
                "E401",
                f"'{setting.key}' is set twice",
                setting.span,
                notes=((by_key[setting.key].span, "first set here"),),
            )
            continue
        by_key[setting.key] = setting
    return by_key


def _text(setting: ast.Setting) -> str:
    """The setting's first value as text (``version 2`` or ``version "2027.1"``)."""
    written = setting.values[0]
    return str(written.value) if isinstance(written, ast.Literal) else written.text


def _currency(c: CheckContext, setting: ast.Setting | None) -> str:
    if setting is None:
        return "USD"
    word = setting.values[0]
    currency = word.text
    if not is_currency_code(currency):
        c.error(
            "E206",
            f"'{currency}' is not a currency code",
            word.span,
            "use a three-letter ISO code such as USD, EUR, GBP",
        )
    return currency


def _year_start(c: CheckContext, setting: ast.Setting | None, block: ast.PlanBlock) -> dt.date | None:
    """The first day of the plan year; None if the plan has none, or one spm cannot count periods from."""
    if setting is None:
        c.error(
            "E403",
            "the plan has no plan year",
            block.span,
            "add `year starts 2027-01-01` (the first day of the plan year) to the plan block",
        )
        return None
    written = setting.values[0]
    year_start = written.value if isinstance(written, ast.Literal) else None
    if not isinstance(year_start, dt.date):
        return None
    if not 1900 <= year_start.year <= 2999:  # dates are read within a century of the plan year, in 1..9999
        c.error(
            "E404",
            "a plan year starts between 1900 and 2999",
            setting.span,
            "write the first day of the plan year, e.g. year starts 2027-01-01",
        )
        return None
    if year_start.day > 28:
        c.error(
            "E404",
            "a plan year must start on day 1 to 28 of a month",
            setting.span,
            "periods are whole months counted from the first day of the plan year",
        )
        return None
    return year_start


def _attainment_basis(c: CheckContext, setting: ast.Setting | None, measure: Measure | None) -> AttainmentBasis | None:
    default = AttainmentBasis.TO_DATE if measure is Measure.YEAR_TO_DATE else AttainmentBasis.PERIOD
    if setting is None:
        return default
    words = [v.text for v in setting.values]
    basis = _word(c, setting, BASIS_WORDS, "attainment basis", default)
    if len(words) > 1 and words[1] != "quota":
        c.error(
            "E206",
            f"expected 'quota' after '{words[0]}'",
            setting.values[1].span,
            "write `attainment against annual quota` or `attainment against quota_to_date`",
        )
    if measure is Measure.PERIOD_TO_DATE and basis is AttainmentBasis.TO_DATE:
        c.error(
            "E404",
            "a period-to-date measure cannot be compared with a quota to date",
            setting.span,
            "use `attainment against period quota` or `annual quota`",
        )
    return basis


def _rounding(c: CheckContext, setting: ast.Setting | None) -> None:
    if setting is None:
        return
    word = setting.values[0]
    if word.text != "cumulative":
        c.error(
            "E206",
            f"unknown rounding '{word.text}'",
            word.span,
            "spm rounds cumulatively, half away from zero: `rounding cumulative`",
        )


def _word(
    c: CheckContext, setting: ast.Setting | None, words: dict[str, Word], what: str, default: Word
) -> Word | None:
    """The member of a closed set (a frequency, a measure ...) the setting's word means; None if none."""
    if setting is None:
        return default
    word = setting.values[0]
    value = words.get(word.text)
    if value is None:
        canonical = sorted(set(words.values()))
        hint = did_you_mean(word.text, words) or f"one of: {', '.join(canonical)}"
        c.error("E206", f"unknown {what} '{word.text}'", word.span, hint)
    return value
