"""The terms of plans/bench.spm as the hand-written baselines use them, in integers.

Money is in cents (the input amounts have two decimals); earnings are in hundredths of a cent, exact: a
whole-percent rate times cents. Quotas and targets are whole currency units.

- credit rows: deals that are not renewals, per payee in (date, deal id) order, credit = amount;
- commission: 8% x [0.5, 1, 1.5, 2] marginal on year-to-date attainment against quota to date, at
  0% / 50% / 100% / 150%; a deal of 36 months or more earns 2x; a true-up re-prices earlier credit at
  each quarter; earnings rounded to cents cumulatively over the year (half away from zero), then capped
  at 250% of the annual target;
- SPIF: $500 per new-logo deal closed 2027-03-01 .. 2027-05-31, at most $5,000 a year;
- clawbacks, as paid: a deal cancelled in the plan year at most 180 days after it closed has, in the quarter of
  its cancellation, a line per component of minus what that component paid on it (after rounding and caps);
  one cancelled later is not clawed back, nor one cancelled after the year (the next year's to claw back);
- a recoverable draw of $3,000 a quarter, for every payee of the run (of the quotas and the targets) and the
  quarters up to the last one with a credited deal: in quarter order, pay below the draw is topped up to it
  and the top-up owed; owed money is recovered from pay above the draw (docs/calculation.md, section 6).

With rates of 4, 8, 12 and 16% each tier adds 4% to the one below, so what m cents of year-to-date credit
earn against a quota to date of q whole units (tiers starting at 50q, 100q and 150q cents) is, in
hundredths of a cent::

    E(m) = 4 * (m + max(m - 50q, 0) + max(m - 100q, 0) + max(m - 150q, 0))
"""

from __future__ import annotations

import datetime as dt

YEAR = dt.date(2027, 1, 1)
NEXT_YEAR = dt.date(2028, 1, 1)
PERIODS = 4  # quarters
KICKER_MONTHS = 36  # a deal this long or longer earns twice
STEP = 4  # percent added at each tier
TIER_STARTS = (50, 100, 150)  # cents per whole unit of quota to date: 50%, 100%, 150%
SPIF_FROM, SPIF_TO = dt.date(2027, 3, 1), dt.date(2027, 5, 31)
SPIF = 50_000  # cents a deal
SPIF_CAP = 500_000  # cents a year
CAP_PER_TARGET = 250  # cents of cap per whole unit of annual target: 250%
TO_CENTS = 100  # hundredths of a cent in a cent
CLAWBACK_WITHIN = 180  # days after the deal's date
DRAW = 300_000  # cents a quarter
