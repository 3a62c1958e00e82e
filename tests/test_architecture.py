"""The package layout: no import cycles between sipas modules, no stage importing another stage,
and ARCHITECTURE.md's folder tree lists every module."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "sipas"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    return "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """sipas modules imported anywhere in ``path`` (also inside functions), except under ``if TYPE_CHECKING``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            skip.update(id(n) for child in node.body for n in ast.walk(child))
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from sipas.x import y` imports sipas.x.y when y is a module, else sipas.x
            names = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module
                     for a in node.names]
        else:
            continue
        for name in names:
            if not name.startswith("sipas"):
                continue
            while name not in modules and "." in name:
                name = name.rsplit(".", 1)[0]
            if name in modules:
                found.add(name)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        deps = _imports(path, modules)
        # a package's __init__ re-exports its modules: an edge from the package to them, none back
        graph[name] = {d for d in deps if d != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _edges_into_packages(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Importing a package runs its ``__init__``, which imports its modules: make that explicit."""
    return graph


def test_no_import_cycles():
    graph = _graph()
    cycles = _cycles(graph)
    assert cycles == [], f"import cycles between sipas modules: {cycles}"


def test_cycle_detector_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_stage_imports_another_stage():
    graph = _graph()
    stages = {m for m in graph if m.startswith("sipas.stages.") and not m.endswith("._common")}
    bad = {m: sorted(graph[m] & stages) for m in stages if graph[m] & stages}
    assert bad == {}, f"a stage imports another stage (shared code belongs below the stages): {bad}"


@pytest.mark.parametrize("lower, upper", [
    ("sipas.text", ("sipas.sampling", "sipas.forms", "sipas.estimation", "sipas.reliability", "sipas.indices",
                    "sipas.report", "sipas.stages")),
    ("sipas.estimation", ("sipas.indices", "sipas.report", "sipas.stages", "sipas.sampling", "sipas.forms")),
    ("sipas.reliability", ("sipas.report", "sipas.stages", "sipas.indices")),
    ("sipas.indices", ("sipas.report", "sipas.stages")),
    ("sipas.sampling", ("sipas.report", "sipas.stages", "sipas.indices", "sipas.estimation")),
    ("sipas.forms", ("sipas.report", "sipas.stages", "sipas.indices", "sipas.estimation")),
    ("sipas.report", ("sipas.stages",)),
])
def test_folders_import_only_downwards(lower, upper):
    graph = _graph()
    bad = {m: sorted(d for d in deps if d.startswith(upper))
           for m, deps in graph.items() if (m == lower or m.startswith(lower + ".")) and
           any(d.startswith(upper) for d in deps)}
    assert bad == {}, f"{lower} imports a folder above it: {bad}"


def test_architecture_tree_matches_the_package():
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- tree -->\n```\n(.*?)```", text, re.S)
    assert block, "ARCHITECTURE.md has no '<!-- tree -->' block"
    listed = set()
    folder: list[str] = []
    for line in block.group(1).splitlines():
        m = re.match(r"^(\s*)([\w.]+/?)", line)
        if not m:
            continue
        depth = len(m.group(1)) // 2
        name = m.group(2)
        folder = folder[:depth]
        if name.endswith("/"):
            folder.append(name.rstrip("/"))
        elif name.endswith(".py"):
            listed.add("/".join(folder + [name]))
    actual = {p.relative_to(ROOT).as_posix() for p in PKG.rglob("*.py")}
    assert listed == actual, (f"missing from ARCHITECTURE.md: {sorted(actual - listed)}; "
                              f"listed but absent: {sorted(listed - actual)}")


KIND_NAMES = ("household", "service_user", "national")


def test_only_kinds_module_names_a_kind():
    """Stages and the report ask the kind object; they do not compare kind names."""
    pattern = re.compile(r"""(==|!=|\bin\b)\s*\(?\s*["'](%s)["']|["'](%s)["']\s*(==|!=)""" %
                         ("|".join(KIND_NAMES), "|".join(KIND_NAMES)))
    bad = [f"{p.relative_to(ROOT)}:{i}" for p in PKG.rglob("*.py") if p.name != "kinds.py"
           for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if pattern.search(line)]
    assert bad == []
