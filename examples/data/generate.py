"""Make the example data for the AE, SDR and EMEA plans (seeded: the same files every time).

    python examples/data/generate.py

The deals are invented but shaped like a real CRM export: a few lost and
renewal deals the plan filters out, multi-year terms, new logos in Q1, credit
notes (negative amounts), and one deal dated in the next plan year, which the
run rejects with its reason.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
YEAR = dt.date(2027, 1, 1)


def _write(name: str, header: list[str], rows: list[list]) -> None:
    with (HERE / name).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def account_executives(rng: np.random.Generator) -> None:
    reps = [
        "ana.ruiz",
        "ben.okafor",
        "chloe.martin",
        "dev.patel",
        "emma.schulz",
        "farid.haddad",
        "grace.liu",
        "henry.walsh",
    ]
    skill = dict(zip(reps, [1.35, 1.1, 0.95, 0.8, 1.05, 0.6, 1.2, 0.9], strict=True))
    deals = []
    number = 1000
    for rep in reps:
        for _ in range(int(rng.integers(30, 46))):
            number += 1
            day = YEAR + dt.timedelta(days=int(rng.integers(0, 365)))
            deal_type = rng.choice(["new_logo", "expansion", "renewal"], p=[0.35, 0.45, 0.20])
            stage = rng.choice(["Closed Won", "Closed Lost"], p=[0.8, 0.2])
            amount = float(np.round(rng.lognormal(10.4, 0.7) * skill[rep], 2))
            term = int(rng.choice([12, 24, 36], p=[0.6, 0.25, 0.15]))
            deals.append([f"D-{number}", rep, day.isoformat(), stage, deal_type, f"{amount:.2f}", term])
    # A credit note: part of a Q2 deal refunded in Q3.
    deals.append(["D-9001", "ben.okafor", "2027-08-14", "Closed Won", "expansion", "-12500.00", 12])
    # Booked in the next plan year: rejected as outside the plan year, never silently dropped.
    deals.append(["D-9002", "grace.liu", "2028-01-04", "Closed Won", "new_logo", "41000.00", 12])
    deals.sort(key=lambda d: (d[2], d[0]))
    _write("ae_deals.csv", ["deal_id", "owner", "close_date", "stage", "deal_type", "amount", "term_months"], deals)
    quotas = [
        [rep, f"2027-Q{q}", f"{quota:.2f}"]
        for rep in reps
        for q, quota in zip(range(1, 5), [200_000, 250_000, 250_000, 300_000], strict=True)
    ]
    _write("ae_quotas.csv", ["owner", "quarter", "quota"], quotas)
    _write("ae_targets.csv", ["owner", "target_incentive"], [[rep, "80000.00"] for rep in reps])


def sales_development(rng: np.random.Generator) -> None:
    sdrs = ["ivy.chen", "jon.baker", "kai.moreno", "lena.fischer", "marco.rossi", "nina.sato"]
    pace = dict(zip(sdrs, [1.3, 1.0, 0.7, 1.1, 0.45, 0.9], strict=True))
    rows = []
    number = 0
    for sdr in sdrs:
        for month in range(1, 13):
            count = int(rng.poisson(24 * pace[sdr]))
            for _ in range(count):
                number += 1
                start = dt.date(2027, month, 1)
                day = start + dt.timedelta(days=int(rng.integers(0, 28)))
                kind = rng.choice(["meeting", "opportunity"], p=[0.8, 0.2])
                qualified = bool(rng.random() < 0.85)
                pipeline = f"{float(np.round(rng.lognormal(10.5, 0.8), 2)):.2f}" if kind == "opportunity" else ""
                rows.append([f"A{number:05d}", sdr, day.isoformat(), kind, "true" if qualified else "false", pipeline])
    rows.sort(key=lambda r: (r[2], r[0]))
    _write("sdr_activities.csv", ["activity_id", "sdr", "activity_date", "activity", "qualified", "pipeline"], rows)
    quotas = [[sdr, f"2027-{m:02d}", 20] for sdr in sdrs for m in range(1, 13)]
    _write("sdr_quotas.csv", ["sdr", "month", "meetings"], quotas)


def crm_quotas() -> None:
    """Quotas for the CRM sample (it has none): $300,000 a year, ramping in Q1, when deals start in March."""
    with (HERE / "crm" / "sales_teams.csv").open(encoding="utf-8") as handle:
        agents = [row["sales_agent"] for row in csv.DictReader(handle)]
    rows = [
        [agent, f"2017-Q{q}", f"{amount:.2f}"]
        for agent in agents
        for q, amount in zip(range(1, 5), [45_000, 85_000, 85_000, 85_000], strict=True)
    ]
    _write("crm/quotas.csv", ["sales_agent", "quarter", "quota"], rows)


EMEA = {  # rep -> (manager, market currency, the currency they are paid in)
    "amelie.dubois": ("claire.martin", "EUR", "EUR"),
    "oliver.hughes": ("james.taylor", "GBP", "GBP"),
    "sofia.rossi": ("claire.martin", "EUR", "EUR"),
    "lukas.weber": ("claire.martin", "EUR", "EUR"),
    "noah.fischer": ("claire.martin", "EUR", "EUR"),
}


def _employed(rep: str, day: dt.date) -> bool:
    if rep == "oliver.hughes":
        return day >= dt.date(2027, 2, 15)
    if rep == "sofia.rossi":
        return not dt.date(2027, 8, 1) <= day <= dt.date(2027, 9, 30)
    return True


def emea(rng: np.random.Generator) -> None:
    """A year of an EMEA team's deals in EUR, GBP and USD, its roster with dates (a hire, a leave, a part-timer,
    a transfer), monthly rates and a promotion's target from July 1. A few deals fall outside their owner's
    employment (credited to the house account) and one is in a currency the fx table lacks."""
    folder = HERE / "emea"
    folder.mkdir(exist_ok=True)
    deals = []
    number = 5000
    for rep, (_, market, _) in EMEA.items():
        for _ in range(int(rng.integers(28, 40))):
            number += 1
            day = YEAR + dt.timedelta(days=int(rng.integers(0, 365)))
            while not _employed(rep, day):  # deals come while their owner works: the few that do not are below
                day = YEAR + dt.timedelta(days=int(rng.integers(0, 365)))
            currency = rng.choice([market, "USD"], p=[0.8, 0.2])
            stage = rng.choice(["Closed Won", "Closed Lost"], p=[0.85, 0.15])
            amount = float(np.round(rng.lognormal(10.2, 0.6), 2))
            deals.append([f"E-{number}", rep, day.isoformat(), stage, str(currency), f"{amount:.2f}"])
    deals.append(["E-9001", "sofia.rossi", "2027-08-20", "Closed Won", "EUR", "18500.00"])  # on leave: the house's
    deals.append(["E-9002", "oliver.hughes", "2027-02-03", "Closed Won", "GBP", "9000.00"])  # before his start
    deals.append(["E-9003", "lukas.weber", "2027-05-12", "Closed Won", "CHF", "12000.00"])  # no CHF rate
    deals.sort(key=lambda d: (d[2], d[0]))
    _write("emea/deals.csv", ["deal_id", "owner", "close_date", "stage", "deal_currency", "amount"], deals)
    roster = [
        ["amelie.dubois", "claire.martin", "2025-04-01", "", "EUR", ""],
        ["oliver.hughes", "james.taylor", "2027-02-15", "", "GBP", ""],
        ["sofia.rossi", "claire.martin", "2024-09-01", "2027-07-31", "EUR", ""],
        ["sofia.rossi", "claire.martin", "2027-10-01", "", "EUR", ""],  # back after two months' leave
        ["lukas.weber", "claire.martin", "2026-01-01", "", "EUR", "60%"],
        ["noah.fischer", "claire.martin", "2026-06-01", "2027-05-31", "EUR", ""],
        ["noah.fischer", "james.taylor", "2027-06-01", "", "GBP", ""],  # moves to London on June 1
        ["claire.martin", "", "2020-01-01", "", "EUR", ""],
        ["james.taylor", "", "2021-03-01", "", "GBP", ""],
    ]
    _write("emea/roster.csv", ["rep", "manager", "start", "end", "paid_in", "fte"], roster)
    rates = []
    for currency, level in (("EUR", 1.08), ("GBP", 1.27)):
        for month in range(1, 13):
            level = float(np.round(level * (1 + rng.normal(0, 0.01)), 4))
            rates.append([dt.date(2027, month, 1).isoformat(), currency, f"{level:.4f}"])
    _write("emea/fx.csv", ["date", "currency", "rate"], rates)
    quotas = [
        [person, f"2027-Q{q}", "250000.00"]
        for person in [*EMEA, "claire.martin", "james.taylor", "house"]
        for q in range(1, 5)
    ]
    _write("emea/quotas.csv", ["owner", "quarter", "quota"], quotas)
    targets = [[person, "", "60000.00"] for person in [*EMEA, "claire.martin", "james.taylor", "house"]]
    targets.append(["amelie.dubois", "2027-07-01", "75000.00"])  # promoted on July 1
    _write("emea/targets.csv", ["owner", "effective", "target_incentive"], sorted(targets))


if __name__ == "__main__":
    generator = np.random.default_rng(2027)
    account_executives(generator)
    sales_development(generator)
    crm_quotas()
    emea(np.random.default_rng(2028))  # a generator of its own: the files above stay as they were
