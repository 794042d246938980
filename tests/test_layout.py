"""The house's shape: no import cycle between Matrix Pulse modules (lazy imports included),
no code file over ~450 lines outside the simulator, and
nothing in include/ imports the Airflow glue (orchestration.py is imported by DAG files only)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "include" / "matrix_pulse"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for target in targets:
                if target in modules and target != name and not name.startswith(target + "."):
                    graph[name].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found, done = [], set()

    def visit(node: str, stack: list[str]) -> None:
        if node in stack:
            found.append(stack[stack.index(node) :] + [node])
            return
        if node in done:
            return
        for nxt in sorted(graph[node]):
            visit(nxt, stack + [node])
        done.add(node)

    for node in sorted(graph):
        visit(node, [])
    return found


def test_no_import_cycle() -> None:
    graph = _imports()
    # a package's __init__ re-exporting its modules is not a cycle of responsibilities
    for name in graph:
        graph[name] = {t for t in graph[name] if not name.startswith(t)}
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"a"}}) == [["a", "b", "a"]]


def test_include_does_not_import_the_airflow_glue() -> None:
    importers = [name for name, targets in _imports().items() if "matrix_pulse.orchestration" in targets]
    assert importers == []


# A file a newcomer must read whole stays short enough to read whole. The simulator is exempt
# (a generator of many sources' mess, read by its tests, not by the pipeline's maintainers).
MAX_LINES = 450
CODE_ROOTS = ("include", "plugins", "dags")


def _long_files(root: Path) -> dict[str, int]:
    long = {}
    for top in CODE_ROOTS:
        for path in (root / top).rglob("*.py"):
            rel = path.relative_to(root).as_posix()
            if "/simulator/" in rel or "/.venv/" in rel:
                continue
            n = len(path.read_text(encoding="utf-8").splitlines())
            if n > MAX_LINES:
                long[rel] = n
    return long


def test_no_code_file_over_the_line_limit() -> None:
    assert _long_files(PACKAGE.parents[1]) == {}


def test_the_line_counter_finds_a_long_file(tmp_path: Path) -> None:
    (tmp_path / "include").mkdir()
    (tmp_path / "include" / "big.py").write_text("x = 1\n" * (MAX_LINES + 1))
    assert _long_files(tmp_path) == {"include/big.py": MAX_LINES + 1}
