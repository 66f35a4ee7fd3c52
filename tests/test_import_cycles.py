"""The labkit package has no import cycles, not even through imports inside functions.

ARCHITECTURE.md asks for one direction of dependency (ops -> layers -> network -> ...).  A
lazy import inside a function hides a cycle from Python but not from this test: every
``import`` statement anywhere in a module (top level, functions, methods, ``if`` blocks,
``TYPE_CHECKING`` blocks excepted) is an edge of the module graph.

Resolution rules:

* ``import labkit.a.b`` and ``from labkit.a import b`` where ``labkit.a.b`` is a module: an
  edge to ``labkit.a.b``; ``from labkit.a import name`` (a function or class): an edge to
  ``labkit.a``; relative imports are resolved against the importing module's package.
* A package ``__init__`` that re-exports names is a module like any other, so importing a name
  from ``labkit.layers`` depends on ``labkit/layers/__init__.py`` (and through it on whatever it
  imports).  Importing ``labkit.a.b`` also runs ``labkit/a/__init__.py``; that implicit edge
  from a module to its *own* parent package is left out, since every submodule would otherwise
  form a cycle with a package ``__init__`` that re-exports it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import labkit

ROOT = Path(labkit.__file__).resolve().parent


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(tree: ast.AST):
    """Every Import/ImportFrom node, at any depth, except under ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def _edges(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_pkg = path.name == "__init__.py"
    package = name if is_pkg else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in _import_nodes(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "labkit":
                    targets.add(alias.name)
            continue
        if node.level:
            base_parts = package.split(".")
            if node.level > 1:
                base_parts = base_parts[:len(base_parts) - (node.level - 1)]
            base = ".".join(base_parts + ([node.module] if node.module else []))
        else:
            base = node.module or ""
        if base.split(".")[0] != "labkit":
            continue
        for alias in node.names:
            sub = f"{base}.{alias.name}"
            targets.add(sub if sub in modules else base)
    # Resolve to known modules (a dotted name that is not a module falls back to its parent).
    resolved = set()
    for t in targets:
        while t and t not in modules:
            t = t.rpartition(".")[0]
        if t and t != name:
            resolved.add(t)
    # Leave out the implicit edge to the module's own parent packages (see the docstring).
    parents = {".".join(name.split(".")[:k]) for k in range(1, name.count(".") + 1)}
    return resolved - parents


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _edges(name, path, modules) for name, path in modules.items()}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each as a cycle
    path ``a -> b -> ... -> a`` through the component."""
    index, low, on_stack, stack, comps = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [_cycle_path(graph, comp) for comp in comps]


def _cycle_path(graph, comp) -> list[str]:
    """One concrete cycle inside a strongly connected component (breadth-first)."""
    members = set(comp)
    start = comp[0]
    prev = {start: None}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph[v] & members):
            if w == start:
                path = [v]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return list(reversed(path)) + [start]
            if w not in prev:
                prev[w] = v
                queue.append(w)
    return comp


def test_graph_sees_lazy_imports():
    # The walk must find imports inside functions, or a lazy import would hide a cycle.
    src = "def f():\n    from labkit.ops import conv\n    import labkit.metrics\n"
    tree = ast.parse(src)
    found = {n.module if isinstance(n, ast.ImportFrom) else n.names[0].name
             for n in _import_nodes(tree)}
    assert found == {"labkit.ops", "labkit.metrics"}


def test_resolution_rules():
    graph = import_graph()
    # from labkit.ops.geometry import Pads -> the module labkit.ops.geometry
    assert "labkit.ops.geometry" in graph["labkit.ops.conv"]
    # from labkit.ops import pooling as P -> the submodule, not the package
    assert "labkit.ops.pooling" in graph["labkit.layers.pooling"]
    # the convolution geometry sits below the algorithms: one direction only
    assert "labkit.ops.conv" not in graph["labkit.ops.im2col"]
    assert "labkit.ops.conv" not in graph["labkit.ops.winograd"]


def test_cycle_finder_reports_a_path():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycles(graph) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    cycles = find_cycles(import_graph())
    assert not cycles, "import cycles in labkit:\n" + "\n".join(
        "  " + " -> ".join(c) for c in cycles)
