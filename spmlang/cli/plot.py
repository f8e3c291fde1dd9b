"""``spm plot``: each component's pay along its measure, drawn from the compiled plan, as SVG or PNG."""

import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer

from spmlang.cli.console import out
from spmlang.cli.data_options import PlanFile
from spmlang.cli.errors import errors_to_exit_codes
from spmlang.diagnostics import UsageError

ChartFile = Annotated[
    Path, typer.Option("--out", metavar="PATH", help="The chart to write: .svg or .png.", show_default=False)
]
QuotaOption = Annotated[
    str | None,
    typer.Option(
        "--quota",
        metavar="AMOUNT",
        help="Draw for a payee with this quota (the year's, or the period's under period_to_date): pay in money "
        "instead of % of quota, and the caps and gates that need it.",
    ),
]
TargetOption = Annotated[
    str | None,
    typer.Option(
        "--target",
        metavar="AMOUNT",
        help="Draw for a payee with this target incentive (on the quota's basis): the caps and curves in % of target.",
    ),
]


def plot_command(
    plan: PlanFile,
    output: ChartFile,
    component: Annotated[
        list[str] | None,
        typer.Option("--component", metavar="NAME", help="Only this component (repeatable)."),
    ] = None,
    quota: QuotaOption = None,
    target: TargetOption = None,
) -> None:
    """Draw each component's pay against attainment (or credit), with its marginal rate beneath."""
    from spmlang.files import check_writable, write_bytes

    with errors_to_exit_codes():
        chart_format(output)
        check_writable(output)
        from spmlang.report.render.charts import require_matplotlib

        require_matplotlib()
        from spmlang.api import load
        from spmlang.diagnostics import did_you_mean
        from spmlang.report.curves import plan_curves
        from spmlang.report.render.charts import figure_bytes, plan_figure

        loaded = load(plan)
        names = loaded.components
        for name in component or []:
            if name not in names:
                hint = did_you_mean(name, names) or f"its components: {', '.join(names)}"
                raise UsageError(f"no component '{name}' in {plan}; {hint}")
        scale = chart_scale(loaded.compiled, quota, target)
        curves = plan_curves(loaded.compiled, scale, component or None)
        title = f"{loaded.name} (version {loaded.version})\n{scale_words(loaded.compiled, scale)}"
        write_bytes(output, figure_bytes(plan_figure(title, curves), chart_format(output)))
        drawn = len(curves)
        out.print(f"wrote {output} ({drawn} chart{'' if drawn == 1 else 's'})", markup=False)


def chart_format(path: Path) -> str:
    """svg or png, from the file's extension; anything else is a usage error, said before any work."""
    kind = path.suffix.lower().lstrip(".")
    if kind not in ("svg", "png"):
        raise UsageError(f"{path}: a chart is written as .svg or .png, not '{path.suffix or 'no extension'}'")
    return kind


def amount_option(text: str | None, option: str) -> Decimal | None:
    """An amount as a person writes it: 400000, 400,000, $400,000.00."""
    if text is None:
        return None
    try:
        value = Decimal(re.sub(r"[\s,$€£¥]", "", text))
    except InvalidOperation:
        raise UsageError(f"{option} takes an amount such as 400000 or $400,000, not '{text}'") from None
    if not value.is_finite() or value <= 0:
        raise UsageError(f"{option} takes an amount above zero, not '{text}'")
    return value


def chart_scale(compiled, quota: str | None, target: str | None):
    """The payee a chart is drawn for, from --quota and --target."""
    from spmlang.engine.kernels.money import LIMIT, decimal_to_units
    from spmlang.report.curves import Scale

    amounts = {}
    for option, text in (("--quota", quota), ("--target", target)):
        value = amount_option(text, option)
        if value is not None and value * 1_000_000 >= LIMIT:
            raise UsageError(f"{option} {text} is larger than spm can hold")
        amounts[option] = decimal_to_units(value) if value is not None else None
    return Scale(quota=amounts["--quota"], target=amounts["--target"])


def scale_words(compiled, scale) -> str:
    """What the chart is drawn for, as its title says it."""
    from spmlang.figures import format_money

    stretch = "the plan year" if compiled.year_to_date or compiled.calendar.count == 1 else "one period"
    given = []
    if scale.quota is not None:
        given.append(f"a quota of {format_money(Decimal(scale.quota) / 1_000_000)}")
    if scale.target is not None:
        given.append(f"a target incentive of {format_money(Decimal(scale.target) / 1_000_000)}")
    return f"pay over {stretch}" + (f", for {' and '.join(given)}" if given else "")
