"""The naive baselines: plans/bench.spm as a plain Python loop and in pandas, written straight from the plan
by someone who knows the library but not the algebra (see expert_polars.py for that).

Each returns the payout per (payee, period, component) in cents, and is checked to the cent against spm's
ledger before it is timed. The plan's arithmetic is exact in integer micro-units (rates of whole percents
times cents; quotas and targets in whole currency units), so both work in integers:

- credit rows: deals that are not renewals, per payee in (date, deal id) order, credit = amount;
- commission: 8% x [0.5, 1, 1.5, 2] marginal on year-to-date attainment against quota to date, at
  0% / 50% / 100% / 150%; a 3-year deal earns 2x; a true-up re-prices earlier credit at each quarter;
  earnings rounded to cents cumulatively over the year, then capped at 250% of the annual target;
- SPIF: $500 per new-logo deal closed 2027-03-01 .. 2027-05-31, at most $5,000 a year;
- clawbacks: a deal cancelled in the plan year at most 180 days after it closed pays back, in the quarter of
  the cancellation, what each component paid on it;
- a recoverable draw of $3,000 a quarter for every payee, up to the last quarter with a credited deal.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

MICRO = 1_000_000
RATES = (4, 8, 12, 16)  # percent: 8% x 0.5, 1, 1.5, 2
BOUNDS = (0, 1, 2, 3)  # in halves of the quota basis: 0%, 50%, 100%, 150%
SPIF_FROM, SPIF_TO = dt.date(2027, 3, 1), dt.date(2027, 5, 31)
SPIF, SPIF_CAP, CAP_SHARE = 50_000, 500_000, 2.5  # cents, cents, x target
YEAR, NEXT_YEAR = dt.date(2027, 1, 1), dt.date(2028, 1, 1)
CLAWBACK_WITHIN = 180  # days
DRAW = 300_000  # cents a quarter
COMPONENTS = ("commission", "spring_new_logos")


def quarter_of(day: dt.date) -> int:
    return (day.month - 1) // 3


def half_away(micro: int) -> int:
    """Micro-units to cents, half away from zero."""
    return (abs(micro) + 5_000) // 10_000 * (1 if micro >= 0 else -1)


def clawed_in(closed: dt.date, cancelled: dt.date | None) -> int | None:
    """The quarter a deal is clawed back in, if it is."""
    if cancelled is None or cancelled >= NEXT_YEAR or (cancelled - closed).days > CLAWBACK_WITHIN:
        return None
    return quarter_of(cancelled)


def pay(totals: dict, who: str, name: str, amounts: list, limit: int, exact: bool, claws: dict) -> None:
    """Adds what a payee's component pays to ``totals``: its lines (quarter, amount, row; -1 for a true-up) in
    order, rounded cumulatively from micro-units if ``exact``, then capped at ``limit``; a row clawed back
    (``claws``: each row's quarter of clawback, or None) pays back in that quarter what it was paid."""
    running = rounded = paid = 0
    for p, amount, i in amounts:
        running += amount
        cents_now = half_away(running) if exact else running
        line, rounded = cents_now - rounded, cents_now
        kept = min(paid + line, limit) - min(paid, limit)
        paid += line
        if exact or amount:
            totals[(who, p, name)] = totals.get((who, p, name), 0) + kept
            back = claws.get(i)
            if back is not None:
                totals[(who, back, name)] = totals.get((who, back, name), 0) - kept


def draw(totals: dict, payees, last: int) -> None:
    """Adds each payee's draw lines per quarter to ``totals``, quarter by quarter: pay below the draw is topped
    up to it and owed; what is owed is recovered from pay above the draw."""
    for who in payees:
        owed = 0
        for p in range(last + 1):
            pay = sum(totals.get((who, p, c), 0) for c in COMPONENTS)
            top = max(DRAW - pay, 0)
            owed += top
            recovered = min(owed, max(pay + top - DRAW, 0))
            owed -= recovered
            totals[(who, p, "draw")] = top - recovered


# ---------------------------------------------------------------------- plain Python


def python_loop(deals, quotas, targets) -> dict:
    """Row by row, in plain Python: what a careful script would do."""
    payee = deals.column("payee").to_pylist()
    day = deals.column("close_date").to_pylist()
    deal_type = deals.column("deal_type").to_pylist()
    term = deals.column("term_months").to_pylist()
    cents = [int(a * 100) for a in deals.column("amount").to_pylist()]
    ident = deals.column("deal_id").to_pylist()
    cancelled = deals.column("cancelled").to_pylist()
    quota = {
        (p, int(q[-1]) - 1): int(a) * MICRO
        for p, q, a in zip(*(quotas.column(c).to_pylist() for c in ("payee", "period", "amount")), strict=True)
    }
    target = dict(zip(targets.column("payee").to_pylist(), targets.column("amount").to_pylist(), strict=True))
    rows_of: dict = {}
    for i in range(len(payee)):
        if deal_type[i] != "renewal":
            rows_of.setdefault(payee[i], []).append(i)
    totals: dict = {}
    for who, rows in rows_of.items():
        rows.sort(key=lambda i: (day[i], ident[i]))
        basis = [sum(quota[(who, q)] for q in range(p + 1)) for p in range(4)]

        def earned(m: int, p: int, basis: list = basis) -> int:
            lows = [b * basis[p] // 2 for b in BOUNDS]
            tier = sum(1 for low in lows[1:] if m >= low)
            value = sum(RATES[k] * (lows[k + 1] - lows[k]) for k in range(tier)) // 100
            return value + RATES[tier] * (m - lows[tier]) // 100

        m, lines, spif = 0, [], []
        for i in rows:
            before, m = m, m + cents[i] * 10_000
            factor = 2 if term[i] >= 36 else 1
            p = quarter_of(day[i])
            lines.append((p, 1, factor * (earned(m, p) - earned(before, p)), before, m, factor, i))
            in_window = deal_type[i] == "new_logo" and SPIF_FROM <= day[i] <= SPIF_TO
            spif.append((p, SPIF if in_window else 0, i))
        stream, so_far = [], 0
        for p in range(4):
            if p:
                earlier = [line for line in lines if line[0] < p]
                repriced = sum(f * (earned(b, p) - earned(a, p)) for _, _, _, a, b, f, _ in earlier)
                so_far += sum(line[2] for line in lines if line[0] == p - 1)
                if earlier and repriced != so_far:
                    stream.append((p, repriced - so_far, -1))
                so_far = repriced if earlier else so_far
            stream.extend((p, line[2], line[6]) for line in lines if line[0] == p)
        cap = round(target[who] * CAP_SHARE * 100)
        claws = {i: clawed_in(day[i], cancelled[i]) for i in rows}
        pay(totals, who, "commission", stream, cap, True, claws)
        pay(totals, who, "spring_new_logos", spif, SPIF_CAP, False, claws)
    last = max(quarter_of(day[i]) for rows in rows_of.values() for i in rows)
    draw(totals, set(quota_payee for quota_payee, _ in quota) | set(target) | set(rows_of), last)
    return totals


# ---------------------------------------------------------------------- vectorized helpers (numpy formulas)


def earned_np(m, q):
    """E(m) in micro-units for tiers at 0 / 50% / 100% / 150% of q (arrays of int64)."""
    l1, l2, l3 = q // 2, q, 3 * q // 2
    tier = (m >= l1).astype(np.int64) + (m >= l2) + (m >= l3)
    low = np.select([tier == 0, tier == 1, tier == 2], [0, l1, l2], l3)
    base = np.select(
        [tier == 0, tier == 1, tier == 2],
        [0, 4 * l1 // 100, (4 * l1 + 8 * (l2 - l1)) // 100],
        (4 * l1 + 8 * (l2 - l1) + 12 * (l3 - l2)) // 100,
    )
    rate = np.take(np.array(RATES, dtype=np.int64), tier)
    return base + rate * (m - low) // 100


# ---------------------------------------------------------------------- pandas


def pandas_frames(deals, quotas, targets) -> dict:
    import pandas as pd

    frame = deals.to_pandas()
    frame = frame[frame["deal_type"].astype(str) != "renewal"].copy()
    frame["payee"] = frame["payee"].astype(str)
    frame["day"] = pd.to_datetime(frame["close_date"])
    frame = frame.sort_values(["payee", "day", "deal_id"], kind="stable").reset_index(drop=True)
    frame["credit"] = (frame["amount"].astype("float64") * 100).round().astype("int64") * 10_000
    frame["period"] = (frame["day"].dt.month - 1) // 3
    frame["after"] = frame.groupby("payee", sort=False)["credit"].cumsum()
    frame["before"] = frame["after"] - frame["credit"]
    frame["factor"] = np.where(frame["term_months"] >= 36, 2, 1)
    cancelled = pd.to_datetime(frame["cancelled"])
    clawed = (cancelled < str(NEXT_YEAR)) & ((cancelled - frame["day"]).dt.days <= CLAWBACK_WITHIN)
    frame["clawed_in"] = np.where(clawed, (cancelled.dt.month.fillna(1).astype(int) - 1) // 3, -1)
    q = quotas.to_pandas()
    q["p"] = q["period"].str[-1].astype(int) - 1
    basis = q.pivot(index="payee", columns="p", values="amount").cumsum(axis=1).mul(MICRO).astype("int64")
    basis_of = {p: frame["payee"].map(basis[p]).to_numpy() for p in range(4)}
    own = np.choose(frame["period"].to_numpy(), [basis_of[p] for p in range(4)])
    m_a, m_b, f = frame["after"].to_numpy(), frame["before"].to_numpy(), frame["factor"].to_numpy()
    frame["line"] = f * (earned_np(m_a, own) - earned_np(m_b, own))
    lines = frame[["payee", "period", "line"]].assign(phase=1, order=np.arange(len(frame)))
    true_ups, so_far = [], pd.Series(0, index=pd.Index(frame["payee"].unique()), dtype="int64")
    for p in range(1, 4):
        so_far = so_far.add(frame.loc[frame["period"] == p - 1].groupby("payee")["line"].sum(), fill_value=0)
        earlier = (frame["period"] < p).to_numpy()
        repriced_rows = f[earlier] * (
            earned_np(m_a[earlier], basis_of[p][earlier]) - earned_np(m_b[earlier], basis_of[p][earlier])
        )
        repriced = pd.Series(repriced_rows).groupby(frame["payee"].to_numpy()[earlier]).sum()
        change = (repriced - so_far.reindex(repriced.index, fill_value=0)).astype("int64")
        change = change[change != 0]
        so_far = so_far.add(change, fill_value=0)
        true_ups.append(
            pd.DataFrame({"payee": change.index, "period": p, "line": change.to_numpy(), "phase": 0, "order": -1})
        )
    stream = pd.concat([lines, *true_ups]).sort_values(["payee", "period", "phase", "order"], kind="stable")
    running = stream.groupby("payee", sort=False)["line"].cumsum().to_numpy()
    cents = np.where(running >= 0, (running + 5_000) // 10_000, -((-running + 5_000) // 10_000))
    stream["cents"] = cents - np.where(
        stream["payee"].ne(stream["payee"].shift()), 0, np.concatenate([[0], cents[:-1]])
    )
    cap = stream["payee"].map(targets.to_pandas().set_index("payee")["amount"] * CAP_SHARE * 100).round()
    paid = stream.groupby("payee", sort=False)["cents"].cumsum()
    kept = np.minimum(paid, cap) - np.minimum(paid - stream["cents"], cap)
    stream["kept"] = kept
    stream["clawed_in"] = np.where(stream["order"] >= 0, frame["clawed_in"].to_numpy()[stream["order"]], -1)
    totals = {
        (who, int(p), "commission"): int(v) for (who, p), v in stream.groupby(["payee", "period"])["kept"].sum().items()
    }
    back = stream[stream["clawed_in"] >= 0]
    for (who, p), v in back.groupby(["payee", "clawed_in"])["kept"].sum().items():
        totals[(who, int(p), "commission")] = totals.get((who, int(p), "commission"), 0) - int(v)
    spif = frame[
        (frame["deal_type"].astype(str) == "new_logo")
        & (frame["day"] >= str(SPIF_FROM))
        & (frame["day"] <= str(SPIF_TO))
    ]
    paid = spif.groupby("payee", sort=False).cumcount().add(1) * SPIF
    kept = np.minimum(paid, SPIF_CAP) - np.minimum(paid - SPIF, SPIF_CAP)
    spif = spif.assign(kept=kept)
    for (who, p), v in spif.groupby(["payee", "period"])["kept"].sum().items():
        totals[(who, int(p), "spring_new_logos")] = int(v)
    for (who, p), v in spif[spif["clawed_in"] >= 0].groupby(["payee", "clawed_in"])["kept"].sum().items():
        totals[(who, int(p), "spring_new_logos")] = totals.get((who, int(p), "spring_new_logos"), 0) - int(v)
    everyone = set(q["payee"]) | set(targets.column("payee").to_pylist()) | set(frame["payee"])
    draw(totals, everyone, int(frame["period"].max()))
    return totals
