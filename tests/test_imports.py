"""The layout holds: no import cycle between spmlang's modules, and the engine reads the checked plan (ir/), never
the checker's code.

A static walk of every module's imports, those inside functions and under ``if TYPE_CHECKING:`` included: an
import moved into a function to dodge a cycle is still a cycle, and so is one made for type hints only (the two
modules still cannot be understood, or moved, one without the other).
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "spmlang"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The spmlang modules ``path`` imports (``from spmlang.x import y`` names module x.y where y is one)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("spmlang"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("spmlang") and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if full in modules else node.module)
    return found


def import_graph() -> dict[str, set[str]]:
    paths = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    modules = set(paths)
    graph = {}
    for name, path in paths.items():
        targets = set()
        for target in imports_of(path, modules):
            # A package's __init__ runs on importing anything in it, but it is not where the cycle is.
            targets.add(target)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return stack[stack.index(target) :] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_module_imports_itself_through_others():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_walk_counts_imports_for_type_hints_and_inside_functions(tmp_path):
    module = tmp_path / "spmlang" / "a.py"
    module.parent.mkdir()
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from spmlang.b import B\n"
        "def f():\n    import spmlang.c\n"
    )
    assert imports_of(module, {"spmlang.a", "spmlang.b", "spmlang.c"}) == {"spmlang.b", "spmlang.c"}


def test_the_walk_finds_a_cycle_where_there_is_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_engine_and_spm_test_read_the_ir_never_the_checker():
    graph = import_graph()
    readers = [name for name in graph if name.startswith(("spmlang.engine", "spmlang.testing", "spmlang.report"))]
    wrong = {name: sorted(t for t in graph[name] if t.startswith("spmlang.check")) for name in readers}
    assert not {name: targets for name, targets in wrong.items() if targets}


def test_the_ir_imports_no_stage():
    graph = import_graph()
    stages = ("spmlang.syntax", "spmlang.check", "spmlang.engine", "spmlang.report", "spmlang.cli")
    assert not {
        name: sorted(t for t in graph[name] if t.startswith(stages))
        for name in graph
        if name.startswith("spmlang.ir") and any(t.startswith(stages) for t in graph[name])
    }


# The engine's stages, in the order a transaction goes through them. A stage imports the stages before it, and
# the values the engine's top-level modules hold (calendar.py, compile.py: the compiled plan; credited.py: the
# run read and credited); the steps that drive them (run.py, payout.py, batch.py, steps.py) import any stage and
# no stage imports them.
ENGINE_STAGES = ("runtime", "kernels", "expressions", "read", "credit", "pay", "settle")
ENGINE_DRIVERS = ("run", "payout", "batch", "steps")


def test_each_engine_stage_imports_only_the_stages_before_it():
    graph = import_graph()
    wrong = {}
    for name, targets in graph.items():
        parts = name.split(".")
        if parts[:2] != ["spmlang", "engine"] or len(parts) < 4 or parts[2] not in ENGINE_STAGES:
            continue
        own = ENGINE_STAGES.index(parts[2])
        for target in targets:
            into = target.split(".")
            if into[:2] != ["spmlang", "engine"] or len(into) < 3:
                continue
            later = into[2] in ENGINE_STAGES and ENGINE_STAGES.index(into[2]) > own
            if later or into[2] in ENGINE_DRIVERS:
                wrong.setdefault(name, []).append(target)
    assert not wrong, wrong
