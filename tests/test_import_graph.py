"""The package's import graph, read from the source with ``ast``: no cycle, no function-level
import that dodges one, subpackages one level deep, each with a docstring saying its job."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "siamese"
HEAVY = ("tensorflow", "keras", "openTSNE")  # a function-level import may defer these, nothing else
BACKEND = "siamese.model.backend"  # imports TensorFlow on import, inside a function that keeps its banner off stderr


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(path: Path, known: dict[str, Path]) -> list[tuple[str, bool]]:
    """(imported module, at module level?) for every import in ``path``: siamese modules and the heavy libraries."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    in_function = {id(n) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef) for n in ast.walk(f)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level <= 1, f"{path}: a relative import from more than one level up"
            base = node.module or ""
            if node.level:
                base = ".".join([*module_name(path).split(".")[: -1 if path.name != "__init__.py" else None], *([base] if base else [])])
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for name in names:
            if name.split(".")[0] in HEAVY:
                found.append((name.split(".")[0], id(node) not in in_function))
            elif name.startswith("siamese"):
                while name not in known and "." in name:
                    name = name.rsplit(".", 1)[0]
                found.append((name, id(node) not in in_function))
    return found


def graph(function_level: bool = True) -> dict[str, set[str]]:
    known = modules()
    return {name: {target for target, at_top in imports(path, known) if target in known and (at_top or function_level)}
            for name, path in known.items()}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        stack.pop()
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_cycle_finder_finds_a_cycle_and_passes_a_tree():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_no_siamese_module_imports_itself_round_a_cycle_even_inside_a_function():
    cycle = find_cycle(graph(function_level=True))
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_a_function_level_import_only_defers_tensorflow_or_opentsne():
    known = modules()
    heavy: dict[str, bool] = {}

    def loads_heavy(name: str, seen: frozenset = frozenset()) -> bool:
        if name == BACKEND:
            return True
        if name not in heavy:
            direct = imports(known[name], known)
            heavy[name] = any(t in HEAVY and top for t, top in direct) or any(
                top and t in known and t not in seen and loads_heavy(t, seen | {name}) for t, top in direct)
        return heavy[name]

    dodges = [f"{name} imports {target} in a function" for name, path in known.items()
              for target, top in imports(path, known) if not top and target in known and not loads_heavy(target)]
    assert not dodges, dodges
    assert loads_heavy("siamese.model.network") and not loads_heavy("siamese.training.loop")


def test_subpackages_are_one_level_deep_and_each_says_its_job():
    packages = [p for p in PACKAGE.rglob("__init__.py") if p.parent != PACKAGE]
    assert len(packages) >= 6
    for init in packages:
        assert init.parent.parent == PACKAGE, f"{init}: subpackages sit directly under siamese/"
        docstring = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert docstring and len(docstring.splitlines()) == 1, f"{init}: a one-line docstring saying the folder's job"

