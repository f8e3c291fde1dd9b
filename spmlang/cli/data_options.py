"""The options that name a run's data, defined once for the commands that run a plan (run, explain, statement,
diff).

Each option is a type (``typing.Annotated``) a command's parameter takes, so that each command lists them where
its help shows them; :class:`DataOptions` holds their values, and :meth:`DataOptions.run_arguments` turns them
into :meth:`spmlang.api.Plan.run`'s arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from spmlang.diagnostics import UsageError

if TYPE_CHECKING:
    from spmlang.api import Result
    from spmlang.progress import Report

PlanFile = Annotated[Path, typer.Argument(metavar="PLAN", help="The plan file.", show_default=False)]
Deals = Annotated[
    str | None,
    typer.Option("--deals", "--transactions", metavar="PATH", help="Transactions: parquet, CSV, Arrow or JSON lines."),
]
ClusterDeals = Annotated[  # spm run's: it alone takes --cluster
    str | None,
    typer.Option(
        "--deals",
        "--transactions",
        metavar="PATH",
        help="Transactions: parquet, CSV, Arrow or JSON lines. With --cluster also a glob ('data/*.parquet'), a "
        "folder of parquet files or a URL (s3://...).",
    ),
]
Quotas = Annotated[Path | None, typer.Option("--quotas", metavar="PATH", help="Quotas (payee, period, amount).")]
Targets = Annotated[
    Path | None, typer.Option("--targets", metavar="PATH", help="Target incentives (payee, [period,] amount).")
]
Roster = Annotated[Path | None, typer.Option("--roster", metavar="PATH", help="Roster (payee, manager) for rollups.")]
Tables = Annotated[
    list[str] | None, typer.Option("--table", metavar="NAME=PATH", help="A lookup table: NAME=PATH (repeatable).")
]
Strict = Annotated[bool, typer.Option("--strict", help="Any rejected row is an error (exit 2).")]
Paid = Annotated[
    list[Path] | None,
    typer.Option(
        "--paid",
        metavar="LEDGER",
        help="An earlier ledger of this plan year (repeatable): its periods are closed, changes since are adjusted.",
    ),
]
Through = Annotated[
    str | None, typer.Option("--through", metavar="PERIOD", help="Pay up to and including this period, e.g. 2027-Q2.")
]
Cluster = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        metavar="CLUSTER",
        help="Run on a Dask cluster: local:N (N worker processes) or a scheduler's address (tcp://host:8786); "
        "the ledger is then a folder of parquet parts (docs/scale.md). Needs pip install 'spmlang[dask]'.",
    ),
]
OutsidePaths = Annotated[
    bool, typer.Option("--allow-outside-paths", help="Let the plan name files outside its own folder.")
]


@dataclass(frozen=True)
class DataOptions:
    """The data a command runs its plan over, as its options name it."""

    deals: str | Path | None = None
    quotas: Path | None = None
    targets: Path | None = None
    roster: Path | None = None
    tables: list[str] | None = None  # NAME=PATH, as --table takes them
    strict: bool = False
    allow_outside_paths: bool = False
    paid: list[Path] | None = None
    through: str | None = None

    def files_read(self, plan: Path) -> list[tuple[str, Path]]:
        """The files a run reads as these options name them (the plan's own files are known once it runs), each
        with what it is, as a message says it."""
        from spmlang.files import files_given

        given = [("--deals", self.deals), ("--quotas", self.quotas), ("--targets", self.targets)]
        given += [("--roster", self.roster)]
        named = [(f"read by {option} {path}", path) for option, path in given if path is not None]
        named += [(f"read by --table {name}={path}", path) for name, path in named_tables(self.tables or []).items()]
        return files_given(plan, named, self.paid or [])

    def run_arguments(self) -> dict[str, Any]:
        """:meth:`spmlang.api.Plan.run`'s keyword arguments for this data."""
        return {
            "deals": self.deals,
            "quotas": self.quotas,
            "targets": self.targets,
            "roster": self.roster,
            "tables": named_tables(self.tables or []),
            "strict": self.strict,
            "allow_outside_paths": self.allow_outside_paths,
            "paid": list(self.paid or []),
            "through": self.through,
        }


def named_tables(tables: list[str]) -> dict[str, Path]:
    """``--table NAME=PATH`` options as the lookup tables they name."""
    result = {}
    for item in tables:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise UsageError(f"--table takes NAME=PATH, not '{item}'")
        if name.strip() in result:
            raise UsageError(f"--table {name.strip()} is given twice: give each table once")
        result[name.strip()] = Path(path.strip())
    return result


def run_plan(plan: Path, data: DataOptions, progress: Report | None = None, workers: int | None = None) -> Result:
    """Load ``plan`` and run it over ``data``."""
    from spmlang.api import load

    return load(plan).run(**data.run_arguments(), progress=progress, workers=workers)


def run_on_cluster(plan: Path, data: DataOptions, cluster: str, out: Path | None, rejects: Path | None, bar: bool):
    """Load ``plan`` and run it over ``data`` on ``cluster`` (a :class:`spmlang.cluster.result.ClusterResult`);
    ``bar``: show Dask's progress bar."""
    from spmlang.api import load

    return load(plan).run(**data.run_arguments(), cluster=cluster, out=out, rejects=rejects, progress=bar or None)
