"""The harness's modules import each other without a cycle, and none is too long to read.

A cycle "dodged" with an import inside a function is still a cycle: the two modules cannot be
understood (or tested) apart. So the graph includes function-level imports; only imports under
``if TYPE_CHECKING:`` are left out, since they never run.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

HARNESS = Path(__file__).resolve().parents[2] / "harness"
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = list(path.relative_to(HARNESS.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(HARNESS.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement in ``node``, at any depth, except under ``if TYPE_CHECKING:``."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for orelse in child.orelse:
                yield from _imports(orelse)
            continue
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child
        yield from _imports(child)


def imported_modules(name: str, path: Path, known: set[str]) -> set[str]:
    """The harness modules that ``name`` (at ``path``) imports."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _imports(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")
            anchor = anchor[: len(anchor) - (node.level - 1)]
            base = ".".join([*anchor, base] if base else anchor)
        # `from pkg import submodule` reaches the submodule; the package counts only when a name
        # is taken from the package itself (`from pkg import function`).
        submodules = {f"{base}.{alias.name}" for alias in node.names} & known
        found.update(submodules)
        if len(submodules) < len(node.names):
            found.add(base)
    return {module for module in found if module in known and module != name}


def import_graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imported_modules(name, path, set(known)) for name, path in known.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_the_cycle_finder_sees_function_level_imports_and_skips_type_checking() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    source = (
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import harness.x\n"
        "def f():\n    from harness import y\n"
    )
    names = {node.module or node.names[0].name for node in _imports(ast.parse(source))}
    assert names == {"typing", "harness"}


def test_no_import_cycle_in_harness() -> None:
    graph = import_graph()
    assert graph, f"no modules found under {HARNESS}"
    found = cycles(graph)
    assert not found, "import cycles (function-level imports included):\n" + "\n".join(
        " <-> ".join(component) for component in found
    )


def test_no_module_over_the_line_limit() -> None:
    long = {
        name: count for name, path in modules().items() if (count := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines: " + ", ".join(f"{n} ({c})" for n, c in sorted(long.items()))


def test_a_submodule_taken_from_its_package_is_an_edge_to_the_submodule_only(tmp_path: Path) -> None:
    known = {"harness.pkg", "harness.pkg.sub", "harness.user"}
    only_sub = tmp_path / "a.py"
    only_sub.write_text("from harness.pkg import sub\n")
    assert imported_modules("harness.user", only_sub, known) == {"harness.pkg.sub"}
    with_name = tmp_path / "b.py"
    with_name.write_text("from harness.pkg import sub, helper\n")
    assert imported_modules("harness.user", with_name, known) == {"harness.pkg.sub", "harness.pkg"}
