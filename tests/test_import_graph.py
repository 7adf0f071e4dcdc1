"""No import cycle inside `core`, counting every import a running process can make.

import-linter sees only `import` statements. This graph also counts the imports it cannot see:
lazy imports inside functions (they are edges too: whoever calls the function pulls them in),
`importlib.import_module("…")` calls, modules named in a tuple a module imports by name, and the
`"module:attr"` targets a registry loads. Only imports under `if TYPE_CHECKING:` are left out:
no running process makes them.

Names must say what they are: inside one package of `core`, no two files are named so that one
is the other with a prefix (`dask_worker` beside `worker`) or a plural (`executors` beside
`executor`).
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parent.parent
TARGET = ":"  # "module:attr", the form registries and servers load


def module_names(package_dir: Path) -> dict[str, Path]:
    """Every module of the package at `package_dir`, by dotted name (packages by their own name)."""
    base = package_dir.parent
    out: dict[str, Path] = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(base).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node of the module, functions' bodies included, skipping `if TYPE_CHECKING:` blocks."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _is_import_module(call: ast.Call) -> bool:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return name == "import_module"


def imported_names(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The dotted names module `name` imports, statically or by string."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    listed: set[str] = set()
    imports_by_variable = False
    for node in _nodes(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:  # a submodule, or a name the module (or package) defines
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
        elif isinstance(node, ast.Call) and _is_import_module(node) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.add(first.value)
            else:
                imports_by_variable = True
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            target, sep, attr = node.value.partition(TARGET)
            if sep and attr.isidentifier() and target in modules:
                found.add(target)  # a registry's "module:attr"
        elif isinstance(node, ast.Tuple | ast.List | ast.Set):
            listed.update(e.value for e in node.elts if isinstance(e, ast.Constant) and e.value in modules)
    if imports_by_variable:
        found.update(listed)  # the module names in a collection this module imports by name
    return found


def import_graph(package_dir: Path) -> nx.DiGraph:
    """Modules of the package as nodes; an edge from each module to every module of it it imports."""
    modules = module_names(package_dir)
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name, path in modules.items():
        for target in imported_names(name, path, modules):
            if target in modules and target != name:
                graph.add_edge(name, target)
    return graph


def cycles(graph: nx.DiGraph) -> list[list[str]]:
    """One shortest cycle per knot of mutually importing modules, each as the modules in order."""
    out = []
    for component in nx.strongly_connected_components(graph):
        if len(component) < 2:
            continue
        knot = graph.subgraph(component)
        start = min(component)
        back = min(
            (p for p in knot.predecessors(start)), key=lambda p: nx.shortest_path_length(knot, start, p)
        )
        out.append([*nx.shortest_path(knot, start, back), start])
    return sorted(out)


def test_core_has_no_import_cycle() -> None:
    found = cycles(import_graph(ROOT / "core"))
    assert not found, "import cycles in core:\n" + "\n".join(" -> ".join(cycle) for cycle in found)


def _write(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / "pkg"


@pytest.mark.parametrize(
    ("importer", "counted"),
    [
        ("from pkg import b\n", True),
        ("def late():\n    import pkg.b\n", True),  # lazy: still an edge
        ("import importlib\n\ndef late():\n    importlib.import_module('pkg.b')\n", True),
        ("NAMES = ('pkg.b',)\n\ndef load(n):\n    __import__('importlib').import_module(n)\n", True),
        ("REGISTRY = {'b': 'pkg.b:thing'}\n", True),  # a registry names a plug-in it loads
        ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import b\n", False),
        ("NAME = 'pkg.b'  # a module's name alone, never imported by name here\n", False),
        ("import importlib\nNAME = 'pkg.b'\nX = importlib.import_module(f'{NAME}')\n", False),
    ],
)
def test_the_graph_counts_every_import_a_process_can_make(
    tmp_path: Path, importer: str, counted: bool
) -> None:
    package = _write(
        tmp_path, {"pkg/__init__.py": "", "pkg/a.py": importer, "pkg/b.py": "from pkg.a import x\n"}
    )
    found = cycles(import_graph(package))
    assert found == ([["pkg.a", "pkg.b", "pkg.a"]] if counted else [])


def test_relative_imports_resolve_against_their_package(tmp_path: Path) -> None:
    package = _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/sub/__init__.py": "from . import a\n",
            "pkg/sub/a.py": "from ..b import y\n",
            "pkg/b.py": "from pkg.sub import z\n",
        },
    )
    assert cycles(import_graph(package)) == [["pkg.b", "pkg.sub", "pkg.sub.a", "pkg.b"]]


def _collides(a: str, b: str) -> bool:
    return b == f"{a}s" or b.endswith(f"_{a}")


@pytest.mark.parametrize(
    "package", sorted(p.name for p in (ROOT / "core").iterdir() if (p / "__init__.py").is_file())
)
def test_no_two_files_of_a_package_differ_only_by_a_prefix_or_a_plural(package: str) -> None:
    stems = sorted(
        {p.stem for p in (ROOT / "core" / package).rglob("*.py") if p.name != "__init__.py"}
        | {p.name for p in (ROOT / "core" / package).rglob("*") if (p / "__init__.py").is_file()}
    )
    clashes = [(a, b) for a, b in itertools.permutations(stems, 2) if _collides(a, b)]
    assert not clashes, f"core/{package}: names that differ only by a prefix or a plural: {clashes}"


def test_every_registered_plug_in_is_an_import_of_its_registry() -> None:
    """A registry's "module:attr" entries are edges, so a plug-in importing its registry is a cycle."""
    from core.bots import BOTS
    from core.data.providers.registry import MARKET_PROVIDERS
    from core.labeling.labelers import LABELERS
    from core.llm_providers import LLM_PROVIDERS

    graph = import_graph(ROOT / "core")
    registries = {
        "core.bots": BOTS,
        "core.labeling.labelers": LABELERS,
        "core.llm_providers": LLM_PROVIDERS,
        "core.data.providers.registry": MARKET_PROVIDERS,
    }
    for module, registry in registries.items():
        for entry in registry.entries():
            assert graph.has_edge(module, entry.target.partition(":")[0]), (module, entry.target)
