"""The modules of `customers` import one another one way: no import cycle, not even one hidden in a function.

The graph is read from the source with `ast`: every import statement counts, at module level or inside a
function (a function-local import that only dodges a cycle is still a cycle, it just fails later). Cycles
entirely inside `customers/importing/` are that package's own business (issue 19, the importer's restructure).
"""

import ast
from pathlib import Path

import customers

ROOT = Path(customers.__file__).resolve().parent
# Left to the importer's restructure: importing/jobs.py queues the segmentation task that follows an import,
# and tasks.py runs the import job. Remove the entry once importing/jobs.py no longer imports customers.tasks.
KNOWN = {frozenset({"customers.tasks", "customers.importing.jobs"})}


def _modules() -> dict[str, tuple[Path, bool]]:
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = ["customers", *path.relative_to(ROOT).with_suffix("").parts]
        if "migrations" in parts:
            continue
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of `customers` it imports (a name imported from a package counts as its submodule
    when there is one: `from customers.services import merge` depends on customers.services.merge)."""
    modules = _modules()

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for name, (path, is_package) in modules.items():
        package = name.split(".") if is_package else name.split(".")[:-1]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(resolve(alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
                for alias in node.names:
                    submodule = f"{base}.{alias.name}"
                    targets.add(submodule if submodule in modules else resolve(base))
        graph[name] = {target for target in targets if target and target != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected groups of more than one module (Tarjan), each a set of modules on a cycle."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_the_graph_sees_function_local_and_package_imports():
    graph = import_graph()
    assert "customers.services.jobs" in graph["customers.views"]  # from .services.jobs import …
    assert "customers.services.merge" in graph["customers.views"]  # from .services import merge as …
    assert "customers.segmentation.points" in graph["customers.services.merge"]  # inside a function
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]


def test_the_customer_modules_import_one_another_one_way():
    found = [
        sorted(group) for group in cycles(import_graph())
        if frozenset(group) not in KNOWN and not all(name.startswith("customers.importing.") for name in group)
    ]
    assert found == []
