"""plans/bench.spm in DuckDB SQL, as an expert would write it: its own parquet reader, exact integer money,
window functions over one ordering, the plan's algebra for true-ups (see expert_polars.py).

Payees are an ENUM made from the file's distinct names: partitioned and sorted as 2-byte codes, not text
(the window over the credited rows takes ~25% less time so; a packed (day, deal id) key instead of the two
columns measured no faster in DuckDB).

``lines`` prices every credited row (its commission after cumulative rounding and the cap, its SPIF after
the SPIF's cap), every true-up and every clawback, then sums the lines; ``totals`` computes the totals by the
algebra: group sums per payee, and only the kicker and the cancelled rows priced at their place in the running
credit. Both then settle the draw on each payee's pay per quarter (``SETTLED``).
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.terms import (
    CAP_PER_TARGET,
    CLAWBACK_WITHIN,
    DRAW,
    KICKER_MONTHS,
    NEXT_YEAR,
    SPIF,
    SPIF_CAP,
    SPIF_FROM,
    SPIF_TO,
    STEP,
    TIER_STARTS,
    TO_CENTS,
)

MACROS = f"""
CREATE MACRO earned(m, q) AS {STEP} * (m + {" + ".join(f"greatest(m - {s} * q, 0)" for s in TIER_STARTS)});
CREATE MACRO cents(x) AS CASE WHEN x >= 0 THEN (x + {TO_CENTS // 2}) // {TO_CENTS}
                              ELSE -(({TO_CENTS // 2} - x) // {TO_CENTS}) END;
CREATE MACRO basis(p, q0, q1, q2, q3) AS CASE p WHEN 0 THEN q0 WHEN 1 THEN q1 WHEN 2 THEN q2 ELSE q3 END;
"""


def _per_quarter(expression: str, alias: str, condition: str = "period <= {p}") -> str:
    """One aggregate per quarter: ``expression`` (with ``{p}``) over the rows meeting ``condition``."""
    return ", ".join(
        f"coalesce(sum({expression.format(p=p)}) FILTER (WHERE {condition.format(p=p)}), 0)::BIGINT AS {alias}{p}"
        for p in range(4)
    )


# The credited rows ordered once: each row's running credit before it, per payee, and the quarter it is clawed
# back in (NULL: it is not); for the lines also the SPIF deals before it and how many kicker rows up to it
# (each window sum adds ~0.35 s at 3M rows), for the totals the order itself (date and deal id).
ORDERED = f"""
CREATE TYPE payee_name AS ENUM (SELECT DISTINCT payee FROM read_parquet({{deals}}));
CREATE TEMP TABLE ordered AS
SELECT payee, period, cents, kicker, spif, clawed_in,  -- sums are HUGEINT in DuckDB: cast, or 128-bit follows
       (sum(cents) OVER w)::BIGINT - cents AS before{{lines}}
FROM (SELECT payee::payee_name AS payee, quarter(close_date) - 1 AS period, close_date, deal_id,
             CAST(amount * 100 AS BIGINT) AS cents,  -- exact: decimal(18, 2) times 100
             term_months >= {KICKER_MONTHS} AS kicker,
             deal_type = 'new_logo' AND close_date BETWEEN DATE '{SPIF_FROM}' AND DATE '{SPIF_TO}' AS spif,
             CASE WHEN cancelled < DATE '{NEXT_YEAR}' AND cancelled - close_date <= {CLAWBACK_WITHIN}
                  THEN quarter(cancelled) - 1 END AS clawed_in
      FROM read_parquet({{deals}}) WHERE deal_type <> 'renewal')
WINDOW w AS (PARTITION BY payee ORDER BY close_date, deal_id ROWS UNBOUNDED PRECEDING)
"""

TOTAL_ORDER = ", close_date, deal_id"

LINE_ORDER = """,
       (sum(spif::INTEGER) OVER w)::BIGINT - spif::INTEGER AS spif_before,
       (sum(kicker::INTEGER) OVER w)::BIGINT AS kickers"""

# Per payee: quota to date and cap; credit and SPIF deals to date; what kicker rows earn beyond 1x on each
# quarter's basis (k: rows of quarters up to p; x: rows before p); the year's earnings at each quarter's end
# (c) and at its start after its true-up (r).
PAYEES = f"""
CREATE TEMP TABLE payees AS
WITH terms AS (
  SELECT TRY_CAST(q.payee AS payee_name) AS payee,  -- NULL for a payee with no deals: left out
         {_per_quarter("CAST(round(q.amount) AS BIGINT)", "q", "CAST(right(q.period, 1) AS INTEGER) <= {p} + 1")},
         any_value(CAST(round(t.amount * {CAP_PER_TARGET}) AS BIGINT)) AS cap
  FROM read_parquet({{quotas}}) q JOIN read_parquet({{targets}}) t ON t.payee = q.payee GROUP BY 1
), sums AS (
  SELECT payee, {_per_quarter("cents", "m")}, {_per_quarter("spif::INTEGER", "n")} FROM ordered GROUP BY payee
), kicked AS (
  SELECT o.payee, {_per_quarter("earned(o.before + o.cents, t.q{p}) - earned(o.before, t.q{p})", "k")},
         {_per_quarter("earned(o.before + o.cents, t.q{p}) - earned(o.before, t.q{p})", "x", "period < {p}")}
  FROM ordered o JOIN terms t ON t.payee = o.payee WHERE o.kicker GROUP BY o.payee
)
SELECT s.payee, q0, q1, q2, q3, cap, n0, n1, n2, n3,
       0 AS x0, {", ".join(f"coalesce(x{p}, 0) AS x{p}" for p in range(1, 4))},
       {", ".join(f"earned(m{p}, q{p}) + coalesce(k{p}, 0) AS c{p}" for p in range(4))}, 0 AS r0,
       {", ".join(f"earned(m{p - 1}, q{p}) + coalesce(x{p}, 0) AS r{p}" for p in range(1, 4))}
FROM sums s JOIN terms t ON t.payee = s.payee LEFT JOIN kicked k ON k.payee = s.payee
"""

# The clawbacks by the algebra: the cancelled rows priced alone. The year's exact earnings after row i of
# quarter p are E_p(b_i), plus what the kicker rows of earlier quarters earn beyond 1x on p's basis (x), plus
# the same of the quarter's kicker rows up to i: a window over the kicker and cancelled rows. A SPIF row's pay
# depends on the SPIF deals before it: a window over the SPIF and cancelled rows.
CLAWED_BACK = f"""
SELECT payee, clawed_in AS period,
       least(cents(year - gain * CASE WHEN kicker THEN 2 ELSE 1 END), cap) - least(cents(year), cap) AS commission,
       CASE WHEN spif THEN least(spif_before * {SPIF}, {SPIF_CAP}) - least((spif_before + 1) * {SPIF}, {SPIF_CAP})
            ELSE 0 END AS spring_new_logos
FROM (
  SELECT *, earlier + earned(before + cents, basis) + (sum(CASE WHEN kicker THEN gain ELSE 0 END) OVER k)::BIGINT
              AS year,
         (sum(spif::INTEGER) OVER s)::BIGINT - spif::INTEGER AS spif_before
  FROM (SELECT o.*, cap, basis(period, x0, x1, x2, x3) AS earlier, basis(period, q0, q1, q2, q3) AS basis,
               earned(before + cents, basis) - earned(before, basis) AS gain
        FROM ordered o JOIN payees USING (payee) WHERE kicker OR spif OR clawed_in IS NOT NULL)
  WINDOW k AS (PARTITION BY payee, period ORDER BY close_date, deal_id ROWS UNBOUNDED PRECEDING),
         s AS (PARTITION BY payee ORDER BY close_date, deal_id ROWS UNBOUNDED PRECEDING)
)
WHERE clawed_in IS NOT NULL
"""

# The totals by the algebra: what each quarter pays is what the year has paid by its end less by the end of the
# quarter before (the commission rounded and capped, the SPIF capped), and the clawbacks.
TOTALS = f"""
SELECT payee, p AS period,
       least(cents(basis(p, c0, c1, c2, c3)), cap)
         - CASE WHEN p > 0 THEN least(cents(basis(p - 1, c0, c1, c2, c3)), cap) ELSE 0 END AS commission,
       least(basis(p, n0, n1, n2, n3) * {SPIF}, {SPIF_CAP})
         - CASE WHEN p > 0 THEN least(basis(p - 1, n0, n1, n2, n3) * {SPIF}, {SPIF_CAP}) ELSE 0 END
         AS spring_new_logos
FROM payees, range(4) t(p)
UNION ALL {CLAWED_BACK}
"""

# Every line, without a second sort of the rows. The year's exact earnings after row i of quarter p are
#     E_p(credit after i) + sum over kicker rows j up to i of (E_p(b_j) - E_p(a_j))
# (the rows before i telescope; a kicker row earns its gain once more). The sums over kicker rows, on each
# quarter's basis, are running sums over the kicker rows alone (a sort of those), which every row finds by
# its count of kicker rows so far. The row lines are summed per payee, quarter and quarter of cancellation:
# the sums give both the quarter's lines and, negated, the clawbacks, in one pass over the rows.
LINES = f"""
WITH kicked AS (
  SELECT payee, kickers, {
    ", ".join(f"(sum(earned(before + cents, q{p}) - earned(before, q{p})) OVER k)::BIGINT AS s{p}" for p in range(4))
}
  FROM ordered JOIN payees USING (payee) WHERE kicker
  WINDOW k AS (PARTITION BY payee ORDER BY kickers ROWS UNBOUNDED PRECEDING)
), priced AS (
  SELECT payee, period, clawed_in, spif, spif_before, cap,
         earned(before + cents, basis(period, q0, q1, q2, q3))
           + coalesce(basis(period, s0, s1, s2, s3), 0) AS after,  -- the year's exact earnings after the row
         (earned(before + cents, basis(period, q0, q1, q2, q3)) - earned(before, basis(period, q0, q1, q2, q3)))
           * CASE WHEN kicker THEN 2 ELSE 1 END AS e
  FROM ordered JOIN payees USING (payee) LEFT JOIN kicked USING (payee, kickers)
), row_lines AS MATERIALIZED (
  SELECT payee, period, clawed_in,
         sum(least(cents(after), cap) - least(cents(after - e), cap))::BIGINT AS commission,
         sum(CASE WHEN spif THEN least((spif_before + 1) * {SPIF}, {SPIF_CAP}) - least(spif_before * {SPIF}, {SPIF_CAP})
                  ELSE 0 END)::BIGINT AS spring_new_logos
  FROM priced GROUP BY payee, period, clawed_in
)
SELECT payee, period, commission, spring_new_logos FROM row_lines
UNION ALL  -- the clawbacks: minus what the cancelled rows were paid, in the quarter of the cancellation
SELECT payee, clawed_in, -commission, -spring_new_logos FROM row_lines WHERE clawed_in IS NOT NULL
UNION ALL  -- the true-up at p takes the year from c(p - 1) to r(p)
SELECT payee, t.period, least(cents(basis(t.period, r0, r1, r2, r3)), cap)
                        - least(cents(basis(t.period - 1, c0, c1, c2, c3)), cap), 0
FROM payees, (VALUES (1), (2), (3)) t(period)
"""

# The lines summed per payee and quarter, and the draw: for every payee of the run (of the quotas, the targets
# and the credited deals) and every quarter up to the last one with a credited deal, in order, pay below the
# draw is topped up to it and owed, and what is owed is recovered from pay above the draw. The balance after
# quarter p is so max(0, balance before + draw - pay); with S_p the running sum of (draw - pay), it is
# S_p - min(0, S_0, ..., S_p), and the quarter's draw lines add up to its change.
SETTLED = f"""
WITH cells AS (
  SELECT payee::VARCHAR AS payee, period, sum(commission)::BIGINT AS commission,
         sum(spring_new_logos)::BIGINT AS spring_new_logos
  FROM ({{cells}}) GROUP BY ALL
), everyone AS (  -- every payee with a credited deal has a line
  SELECT payee FROM read_parquet({{quotas}}) UNION SELECT payee FROM read_parquet({{targets}})
  UNION SELECT payee FROM cells
), running AS (
  SELECT payee, t.period, sum({DRAW} - coalesce(commission + spring_new_logos, 0)) OVER w AS s
  FROM everyone CROSS JOIN range((SELECT max(period) + 1 FROM ordered)) t(period)
       LEFT JOIN cells USING (payee, period)
  WINDOW w AS (PARTITION BY payee ORDER BY t.period)
), owed AS (
  SELECT payee, period, s - least(0, min(s) OVER w) AS owed
  FROM running WINDOW w AS (PARTITION BY payee ORDER BY period)
)
SELECT payee, period, coalesce(commission, 0), coalesce(spring_new_logos, 0),
       coalesce(owed - coalesce(lag(owed) OVER (PARTITION BY payee ORDER BY period), 0), 0)::BIGINT AS draw
FROM cells FULL JOIN owed USING (payee, period)
"""


def _connect(deals: Path, quotas: Path, targets: Path, lines: bool = False):
    import duckdb

    connection = duckdb.connect()
    connection.execute(MACROS)
    files = _files(deals, quotas, targets)
    connection.execute(ORDERED.format(**files, lines=LINE_ORDER if lines else TOTAL_ORDER))
    connection.execute(PAYEES.format(**files))
    return connection


def _files(deals: Path, quotas: Path, targets: Path) -> dict[str, str]:
    """Each file's path as an SQL string."""
    return {
        name: "'" + str(path).replace("'", "''") + "'"
        for name, path in (("deals", deals), ("quotas", quotas), ("targets", targets))
    }


def _settled(connection, cells: str, deals: Path, quotas: Path, targets: Path) -> dict:
    rows = connection.execute(SETTLED.format(cells=cells, **_files(deals, quotas, targets))).fetchall()
    return {
        (payee, period, component): int(value)
        for payee, period, *amounts in rows
        for component, value in zip(("commission", "spring_new_logos", "draw"), amounts, strict=True)
    }


def totals(deals: Path, quotas: Path, targets: Path) -> dict:
    """The totals by the algebra, the clawbacks of the cancelled rows, then the draw."""
    return _settled(_connect(deals, quotas, targets), TOTALS, deals, quotas, targets)


def lines(deals: Path, quotas: Path, targets: Path) -> dict:
    """Every line priced, then summed per payee and quarter; then the draw."""
    return _settled(_connect(deals, quotas, targets, lines=True), LINES, deals, quotas, targets)
