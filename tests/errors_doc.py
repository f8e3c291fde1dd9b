"""Builds docs/errors.md from the golden reproducers: every message, an example, and the fix.

SPM_UPDATE_GOLDEN=1 pytest tests/test_errors_doc.py     # rewrite docs/errors.md
"""

from __future__ import annotations

from pathlib import Path

GOLDEN = Path(__file__).parent / "golden"

# code: (what it is, what it means, how to fix it)
CODES = {
    "E100": (
        "Syntax: an unexpected token",
        "The parser met a word or sign where the grammar expects something else; "
        "the hint lists what may come there, or, for what analysts often write (`rate 6% of close_value`, "
        "`pay $500 per deal when ...`, `cap $15,000 per month per agent`), how the language says it.",
        "Write what the hint expects. A missing `}` shows as an unexpected end of file.",
    ),
    "E101": (
        "Syntax: an unexpected character",
        "A character that is not part of the language: `'` (text is "
        "written in double quotes), `=` (settings take no `=`; comparison is `==`).",
        "Replace the character.",
    ),
    "E103": (
        "A date that does not exist",
        "Dates are ISO and checked: 2027-02-30 is not a date.",
        "Write an existing date, YYYY-MM-DD.",
    ),
    "E104": ("An expectation that is not `==`", "Tests check figures exactly.", "Write `== VALUE`."),
    "E110": (
        "A plan too large",
        "A plan holds at most 1,000,000 characters; the file is refused before it is "
        "read (tested in tests/test_hostile.py).",
        "Put large tables in data files and pass them with `--table NAME=PATH`.",
    ),
    "E201": (
        "An unknown name",
        "A name that is not a declared column, a value spm provides (credit, attainment "
        "...) or, in a filter, a word meant as text.",
        'Fix the spelling (see the hint), declare the column, or quote the text: `stage == "won"`.',
    ),
    "E202": (
        "An unknown table",
        "A lookup names a table the plan does not declare.",
        "Declare it: `table NAME { column ... key ... }`.",
    ),
    "E203": (
        "A lookup that does not say which column",
        "The table has several columns besides its key.",
        "Write `table[key].column`, or give the table `value COLUMN`.",
    ),
    "E204": (
        "A column in a period-end condition",
        "Gates and `pay ... once when` conditions are decided at the "
        "end of a period, over the payee's totals, not over a row.",
        "Use attainment, credit, quota, target or count; put row conditions in `where`.",
    ),
    "E205": (
        "An unknown function",
        "The language has a fixed set of functions (the hint lists them); a plan can never call anything else.",
        "Use one of them.",
    ),
    "E206": (
        "An unknown word",
        "A setting, type, role, scope, policy, proration or conversion that is not one of the language's words, "
        "or one written where it does not belong (`prorate` outside the roster).",
        "Use the word the hint suggests.",
    ),
    "E207": (
        "Something given twice",
        "Two columns, filters, components or table rows with the same name or key.",
        "Remove or rename one; the note points at the other.",
    ),
    "E208": (
        "Not a format",
        'A date format uses strftime codes (`%d-%m-%y`); a number format shows how 1234.56 is written (`"1.234,56"`).',
        "Use a format from the hint.",
    ),
    "E301": (
        "Types that do not fit",
        "An operation or comparison between values of the wrong types, or a value "
        "of the wrong type where the plan needs one (a rate must be a percentage when credit is money).",
        "Follow the hint: money is written `$1,000`, rates `8%`, text in quotes.",
    ),
    "E302": ("Not a condition", "A filter, gate or `when` must be true or false.", "Compare: `amount > $0`."),
    "E303": (
        "A function called wrongly",
        "The arguments do not fit the function, or `replace` is given an empty "
        "text to find (it would be found between every two characters).",
        "See the hint.",
    ),
    "E304": ("An empty range", "`LOW .. HIGH` with LOW after HIGH holds nothing.", "Write the earlier value first."),
    "E306": (
        "A text that can grow too long",
        "A text may become at most 16 times as long as the longest text it "
        "reads: a `replace` can lengthen it by what it puts over what it finds, `upper` and `lower` by 3 (a "
        "letter's bytes can triple), and nested they multiply. Checked before any data is read, and again "
        "before a text is made.",
        "Find longer texts, or map whole values with a lookup table.",
    ),
    "E309": (
        "An expression nested too deeply",
        "More than 200 levels: nested `if`s, a long `else if` chain, "
        "parentheses inside parentheses, a long chain of `and`. The error points at the deepest point; nothing "
        "is read further (tested in tests/test_hostile.py).",
        "Split it into simpler parts; a long `else if` chain is better as a lookup table.",
    ),
    "E312": (
        "A constant too large to hold",
        "An amount, rate or multiplier written in the plan past the largest "
        "amount spm holds (4,611,686,018,427.38: a millionth of the currency unit in 64 bits): it could never be "
        "paid. So is an amount made of constants alone (`$2 * 3000000000000`, or a part of a sum), a constant "
        "credit past it, and a whole number past 64 bits.",
        "Fix the digits; in a currency of large amounts count credit in thousands.",
    ),
    "E401": ("Given twice", "A setting or single statement appears twice.", "Keep one."),
    "E402": (
        "A missing block",
        "A plan needs a plan block, a transactions block and components.",
        "Add what the hint shows.",
    ),
    "E403": (
        "A missing statement",
        "The plan year, a transaction key, date, payee or credit, a share, a table's key or name, the managers "
        "of a roster with dates that credit rolls up through.",
        "Add it as the hint shows.",
    ),
    "E404": (
        "Settings that do not fit together",
        "A component with no earning rule, a measure and attainment basis that contradict each other, a fallback "
        "payee without a roster with dates (or with `on outside_employment error`), dated quotas per period, an fx "
        "table with dates where the plan converts at fixed rates, proration without dates or eligibility, or a "
        "component that claws back by recalculating while capped per row or per period, or priced on a "
        "period-to-date measure.",
        "See the hint.",
    ),
    "E405": (
        "Two things where one belongs",
        "Two earning rules in a component or in one of its versions (`from DATE`), or a table row with the wrong "
        "number of values.",
        "Split the component; fix the row.",
    ),
    "E406": (
        "A tier table that does not hold together",
        "Tiers start at 0, have no gaps or overlaps, and the last "
        "is open-ended; rollup components need credit that rolls up.",
        "Fix the bounds as the hint says.",
    ),
    "E407": (
        "A curve, cap or date that does not fit",
        "Curve points must increase; a cap per month needs a monthly plan; a `by` date must be in the plan year; "
        "a draw cannot end before the plan year starts, nor be recovered only from after it ends.",
        "See the hint.",
    ),
    "E408": (
        "A cap that is not positive",
        "A cap of zero or less would pay nothing.",
        "Remove the component or give the cap a positive amount.",
    ),
    "E410": (
        "Too many tiers or rows",
        "A tier table holds at most 1,000 tiers, a plan at most 10,000 inline rows.",
        "Put long schedules and tables in data files.",
    ),
    "E411": (
        "A version's date that does not fit",
        "A component's versions (`from DATE { ... }`) start inside the plan year, after its first day (the "
        "component's own rule holds until the first version), each after the one before.",
        "Give each `from` a day of the plan year after its first, in date order.",
    ),
    "E412": (
        "A statement a version does not take",
        "A version holds an earning rule and, optionally, multipliers. Its filters, caps, gate, clawback, "
        "`payable when` and the credit it pays on are the component's, shared by every version; a once-per-payee "
        "bonus has no versions.",
        "Give the version its rule; move what is the component's out of `from`; write a bonus that changes as a "
        "second bonus with `by DATE`.",
    ),
    "E420": (
        "A test file with a plan in it",
        "A `.test.spm` file holds only tests; its plan is the `.spm` file beside it.",
        "Move the plan to its own file.",
    ),
    "E421": (
        "A test file without its plan",
        "`x.test.spm` tests `x.spm` in the same folder.",
        "Name the test file after its plan.",
    ),
    "E422": (
        "A test that gives or checks nothing",
        "A test needs transactions and at least one expectation.",
        "Add them.",
    ),
    "E423": (
        "A statement a test's table does not take",
        "A table in a test gives its rows (`columns`, `rows`); "
        "how they are read (`key`, `per`, `column` ...) is the plan's declaration of the table.",
        "Declare it in the plan, or leave it out.",
    ),
    "E500": (
        "A file that cannot be read",
        "Not found, a folder, an unknown type, not readable as its type, a "
        "CSV, plan or test file whose text is not UTF-8, a CSV row with more or fewer fields than the header, or a "
        "ledger's manifest that is not the JSON spm wrote.",
        "Check the path and the file; use .parquet, .csv, .arrow or .jsonl; save CSV, plan and test files as UTF-8; "
        "quote values that hold the delimiter.",
    ),
    "E501": (
        "A declared column missing from the data",
        "The plan declares a column the file does not have.",
        "Fix the column's name in the plan or in the file (the hint lists the file's columns).",
    ),
    "E502": (
        "A column of the wrong type",
        "The file's column cannot be read as the declared type (a number where a date is declared).",
        "Declare the right type, or fix the file.",
    ),
    "E503": (
        "No data for a table",
        "The plan needs quotas, targets, a roster, an fx table or a lookup table, and none was given.",
        "Pass it (`--quotas PATH`, `--table fx=PATH` ...) or write its rows in the plan.",
    ),
    "E504": (
        "A bad reference table",
        "Quotas, targets, rosters, fx tables and lookup tables must be clean: every value "
        "readable, periods of the plan, no duplicates, no cycles, no negative quota or target, a roster's rows "
        "apart and each ending on or after its start, rates above zero (and one per currency and day), a rate for "
        "every currency a payee is paid in.",
        "Fix the file (or the plan's rows) at the row named.",
    ),
    "E505": (
        "A file outside the plan's folder",
        "A plan is data: it may name files only inside its own folder.",
        "Pass the file on the command line, or allow it with `--allow-outside-paths`.",
    ),
    "E506": (
        "A file that cannot be written",
        "The ledger, rejects, statements or a report cannot be written "
        "where asked: the path is a folder, a part of it is a file, no permission, a full disk; or a ledger's "
        "manifest would replace that of another ledger of the same name beside it. Paths are checked "
        "before the run; a write that fails midway leaves what the path held before.",
        "Choose another path (a name of its own for each ledger), or free some space.",
    ),
    "E507": (
        "A column appears twice",
        "A file or table the plan reads has two columns of one name (two `amount` "
        "headers in a CSV file, two keys of one name in a JSON object); spm cannot tell which to read. Columns "
        "the plan does not read may repeat.",
        "Rename or remove one of them.",
    ),
    "E508": (
        "A manifest that names a file outside the folders verify reads",
        "A run's manifest is data: `spm "
        "verify` reads the plan and inputs it names only under the ledger's folder, the current folder or a "
        "folder named with `--root DIR`, never anywhere else on the disk.",
        "Verify from a folder that holds "
        "them, name it with `--root DIR`, or allow it with `--allow-outside-paths` if you trust the manifest.",
    ),
    "E509": (
        "A statement template that cannot be used",
        "`spm statement --template DIR` names a folder that is not there or holds none of spm's templates "
        "(statement.html, index.html, style.css), or a template in it is a link to a file outside the folder, is "
        "not UTF-8 text, does not read, asks for a figure it is not "
        "given, or does what a template may not (it runs in a sandbox: it reads the figures it is given, and calls "
        "no code of its own).",
        "Fix the template at the line named; docs/cli.md lists what each template receives.",
    ),
    "E510": (
        "A rejected row that must be an error",
        "With `--strict`, or where the plan says `on SUBJECT error`, a row that would be rejected stops the run.",
        "Fix the data, or let such rows be rejected.",
    ),
    "E511": (
        "An amount too large to hold",
        "A run computed an amount past the largest spm holds "
        "(4,611,686,018,427.38): a payee's credit, a component's earnings, a quota over the year. spm stops and "
        "names the clause, or the payee and period, rather than pay a wrapped number.",
        "Check the plan's rates "
        "and the data's amounts (a misplaced decimal point?); in a currency of large amounts (IDR, VND, KRW) "
        "count credit in thousands: `credit amount / 1000`.",
    ),
    "E512": (
        "An earlier ledger that cannot be used",
        "`--paid LEDGER` names a file that is not a ledger spm wrote, one in another currency (its manifest "
        "says), one with a period this plan year does not have, or one with a line no run writes (an amount "
        "that is not whole cents or not written as spm writes it, a kind or role spm does not write, a line "
        "correcting a period after its own).",
        "Pass the ledgers earlier runs of this plan year wrote with --out; a new plan year starts without --paid.",
    ),
    "E513": (
        "A what-if deal that cannot be used",
        "`spm whatif --deal` (or `Result.whatif`) names a column the plan does not read, gives a value that does "
        "not read as its column's type, gives a key a transaction has already, or no payee; or the transactions "
        "file changed since the run the what-if was asked of.",
        "Name the plan's transaction columns and write values as the data writes them; leave the key out (spm "
        "makes one: `whatif-1`), say whose deal it is with `--payee`; run the plan again on a changed file.",
    ),
    "E514": (
        "A run on a cluster that cannot start or finish",
        "`--cluster` (or `Plan.run(cluster=...)`) needs Dask, which is not installed; or the scheduler at the "
        "address given cannot be reached; or a task failed on the cluster each time Dask retried it (a worker "
        "lost, out of memory). Nothing is written: a ledger folder there before is left as it was.",
        "`pip install 'spmlang[dask]'`; start the scheduler and workers, or check the address; give the workers "
        "more memory or more payee groups (docs/scale.md).",
    ),
    "E515": (
        "Not yet on a cluster",
        "A run on a cluster pays the lines a run on one machine pays, or stops as it stops. Not yet done there: "
        "what-ifs (`Plan.run(..., keep_transactions=True)`); and, with `--strict` or a plan's `on SUBJECT "
        "error`, saying which rejected row stops the run when one place in spm met such rows for two steps "
        "(one `where` filter that looks a key up in two tables, each lacking a different key; docs/scale.md).",
        "Run without `--cluster`, or let such rows be rejected and read them in `--rejects`.",
    ),
    "W101": ("A table never used", "A lookup table no expression reads.", "Use it or remove it."),
    "W102": (
        "Credit that rolls up to no one",
        "`rollup to manager` without a component `on rollup credit`.",
        "Add the manager's component, or remove the rollup.",
    ),
    "W103": (
        "A per-row minimum paid on refunds",
        "`pay max(credit * 4%, $25) per deal` pays its minimum on every "
        "row, so a refund or credit note of negative credit earns $25 too. Warned unless a filter of the "
        "component or the transactions block keeps the credit (or the column it is) at zero or above.",
        "Add `where credit > 0` to the component: refunds are then paid nothing and still lower the credit.",
    ),
    "W104": (
        "A figure written with another currency's sign",
        "Every amount in a plan is in the plan currency: a sign is not converted, so `€250` in a plan in US "
        "dollars pays 250 dollars. Warned for the first figure of each such sign (`$` only in a plan in euros "
        "or pounds: it is many currencies' sign).",
        "Write the amount in the plan currency, with its sign; or, if the plan pays in that currency, change the "
        "plan's `currency`.",
    ),
}

REJECTS_INTRO = """## Rejected rows

A transaction row that cannot be paid is rejected with its reason, counted in
the run summary and written with `--rejects FILE` (`result.rejects`); the run
goes on. The plan can make a kind of problem an error (`on missing_lookup
error`), and `--strict` makes them all errors (E510).
"""

# Each reason of a rejected row: (reason, example messages, fix); a row of the table in docs/errors.md.
REJECT_REASONS = (
    (
        "invalid_value",
        "cannot read '31-02-17' as a date in the format \"%d-%m-%y\" / '01-03-27' reads as 0001-03-27 in the "
        'format "%Y-%m-%d" (the default), a century or more from the plan year: the column\'s format looks wrong; '
        "declare `column day date \"%d-%m-%y\"` / '5000000000000' is too large",
        "fix the value, or declare the right type or format",
    ),
    ("missing_value", "the payee (rep) is empty", "fill it in, or exclude such rows with a `where` filter"),
    (
        "missing_lookup",
        "'GTXPro' is not in table products (did you mean 'GTX Pro'?)",
        'add the key, give the table a `default`, or map it (`replace(product, "GTXPro", "GTX Pro")`)',
    ),
    (
        "outside_year",
        "the date 2028-01-05 is outside the plan year (2027-01-01 to 2027-12-31)",
        "run the plan over its year, or filter",
    ),
    (
        "missing_quota",
        "no quota for cy in 2027-Q1 / the quota basis of bo is zero in 2027-Q1 / no target incentive for cy",
        "add the quota or target",
    ),
    ("duplicate_key", "duplicate key 'G1' (first seen at row 2)", "give each transaction its own key"),
    ("bad_split", "shares add up to 130% (share_a + share_b), more than 100%", "fix the shares"),
    (
        "outside_employment",
        "ann is not employed on 2027-08-14 / ann is not in the roster / ann is on plan 'SE 2027' on 2027-08-14, "
        "not this one",
        "correct the date or the payee, add the employment to the roster, or name a `fallback` payee",
    ),
    (
        "missing_fx_rate",
        "no JPY rate on or before 2027-04-15 in fx.csv",
        "add the rate to the fx table (a rate holds from its date until the currency's next one)",
    ),
)


def rejects() -> str:
    rows = [f"| `{reason}` | {example} | {fix} |" for reason, example, fix in REJECT_REASONS]
    return "\n".join([REJECTS_INTRO, "| reason | example message | fix |", "|---|---|---|", *rows, ""])


def build() -> str:
    lines = [
        "# Errors and what to do about them",
        "",
        "Every message spm can show, by code, with an example and the fix. Each example is a reproducer in",
        "`tests/golden/` whose output is tested: what you read here is what spm prints.",
        "",
        "Exit codes: 1 for errors in a plan or a test, 2 for unusable inputs and usage errors (see [cli.md](cli.md)).",
        "",
    ]
    examples: dict[str, list[tuple[str, str, str]]] = {code: [] for code in CODES}
    for plan in sorted((GOLDEN / "errors").glob("*.spm")):
        code = plan.stem.split("-")[0]
        examples[code].append((plan.stem, f"spm check {plan.name}", plan.with_suffix(".txt").read_text()))
    for folder in sorted(p for p in (GOLDEN / "input_errors").iterdir() if p.is_dir()):
        code = folder.name.split("-")[0]
        output = (folder / "expected.txt").read_text().split("\n", 1)[1]
        examples[code].append((folder.name, "spm " + (folder / "args").read_text().strip(), output))
    for code, (title, meaning, fix) in CODES.items():
        lines += [f"## {code} — {title}", "", meaning, "", f"**Fix:** {fix}", ""]
        for name, command, output in examples[code]:
            lines += [f"`{command}` (reproducer `{name}`):", "", "```", output.rstrip(), "```", ""]
    lines.append(rejects())
    return "\n".join(lines).rstrip() + "\n"
