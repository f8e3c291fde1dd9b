"""Where a payout in another currency puts its fx line: last among its payee's lines of its period (hypothesis)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from spmlang.engine.pay.lines import PAID, ROW, Lines, make_lines
from spmlang.engine.pay.payments import order_with_payment_lines
from spmlang.ir.kinds import LineKind

cells = st.lists(st.tuples(st.integers(0, 4), st.integers(0, 3)), min_size=1, max_size=40)


@given(cells, st.data())
def test_an_fx_line_follows_the_last_line_of_its_payee_and_period_whatever_order_the_lines_came_in(cells, data):
    n = len(cells)
    payee = np.array([p for p, _ in cells], np.int32)
    period = np.array([q for _, q in cells], np.int16)
    lines = make_lines(
        n,
        payee=payee,
        role=0,
        component=0,
        kind=LineKind.EARNING,
        period=period,
        phase=ROW,
        amount=np.arange(1, n + 1),  # each line known by its amount
        explanation=pa.array(["earned"] * n, pa.string()),
        clause=0,
    )
    order = np.lexsort((np.array(data.draw(st.permutations(range(n)))), period, payee))  # ledger order: any ties
    groups = sorted(set(cells))
    paid = [g for g in groups if data.draw(st.booleans(), label=f"paid in another currency: {g}")]
    fx = make_lines(
        len(paid),
        payee=np.array([p for p, _ in paid], np.int32),
        role=0,
        component=-1,
        kind=LineKind.FX,
        period=np.array([q for _, q in paid], np.int16),
        phase=PAID,
        amount=-np.arange(1, len(paid) + 1),
        explanation=pa.array(["fx"] * len(paid), pa.string()),
        clause=0,
    )

    place = order_with_payment_lines(payee[order], period[order], order, fx)

    expected = []
    for at, line in enumerate(order):
        expected.append(int(lines.amount[line]))
        group = (int(payee[line]), int(period[line]))
        last_of_group = at + 1 == n or (int(payee[order[at + 1]]), int(period[order[at + 1]])) != group
        if last_of_group and group in paid:
            expected.append(-(paid.index(group) + 1))
    assert Lines.concat([lines, fx]).take(place).amount.tolist() == expected
