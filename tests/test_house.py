"""The shape of the package, kept: imports read one way, a kind's rules live
in its class, the front end knows no parameter by name, and no room grows
past what one sitting can read (see docs/site/architecture.md)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from fluxpanel.tables import TABLES

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "fluxpanel"
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "static" not in p.parts)
SCRIPTS = sorted((ROOT / "js").glob("*.js"))


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


NAMES = {module_name(p) for p in MODULES}


def imports(path: Path) -> tuple[set[str], list[str]]:
    """The package modules ``path`` imports (type-only imports aside), and
    those it imports inside a function or block."""
    here = module_name(path)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {
        id(n)
        for top in tree.body
        if isinstance(top, ast.If) and "TYPE_CHECKING" in ast.unparse(top.test)
        for n in ast.walk(top)
    }
    top_level = {id(n) for n in tree.body}
    found: set[str] = set()
    deferred: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or id(node) in typing_only or not node.level:
            continue
        base = here.split(".")[: len(here.split(".")) - node.level + (path.name == "__init__.py")]
        module = ".".join([*base, *([node.module] if node.module else [])])
        # "from . import _html" imports the module _html, not the package's face.
        subs = [f"{module}.{a.name}" for a in node.names if f"{module}.{a.name}" in NAMES]
        targets = subs if len(subs) == len(node.names) else [*subs, module]
        found.update(targets)
        if id(node) not in top_level:
            deferred += [f"{here}:{node.lineno} {t}" for t in targets]
    return found, deferred


def test_no_import_circle():
    graph = {module_name(p): imports(p)[0] for p in MODULES}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, ()):
            if nxt == goal or (nxt not in seen and (seen.add(nxt) or reaches(nxt, goal, seen))):
                return True
        return False

    circles = [m for m in graph if reaches(m, m, set())]
    assert circles == []


def test_imports_are_at_the_head_of_each_file_but_the_heavy_ones():
    """Deferred only where the module brings something heavy: the widget
    (anywidget, ipywidgets, traitlets) or Pillow."""
    heavy = {"fluxpanel._panel", "fluxpanel._traits", "fluxpanel.providers._placeholder"}
    deferred = [d for p in MODULES for d in imports(p)[1] if d.split()[-1] not in heavy]
    assert deferred == []


def test_no_branch_on_a_parameters_kind_outside_its_class():
    ladders = []
    for path in MODULES:
        if path.name == "_kinds.py" or "testing" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.If, ast.IfExp, ast.Compare)):
                text = ast.unparse(node.test if hasattr(node, "test") else node)
                if re.search(r"\bp(aram)?\.kind\s*(==|!=|in)\b|\bspec\.kind\s*(==|in)\b", text):
                    ladders.append(f"{path.name}:{node.lineno} {text}")
    assert ladders == []


def test_the_front_end_names_no_parameter():
    names = {n for table in TABLES.values() for spec in table.values() for n in spec.params}
    found = []
    for path in [*SCRIPTS, ROOT / "js" / "styles.css"]:
        # Comments and the panel's own class names are not parameters.
        text = re.sub(
            r"//.*|/\*[\s\S]*?\*/|class: \"[^\"]*\"", "", path.read_text(encoding="utf-8")
        )
        for name in names:
            # A role the spec gives ("prompt") is not a name.
            if re.search(rf"(?<!role === )[\"'`]{re.escape(name)}[\"'`]", text):
                found.append(f"{path.name}: {name}")
    assert found == []


def _python_functions(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        ((n.end_lineno or n.lineno) - n.lineno + 1, f"{path.name}:{n.lineno} {n.name}")
        for n in ast.walk(tree)
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
    ]


_JS_START = re.compile(
    r"^\s*(?:export\s+)?(?:async\s+)?function\s+(\w+)\s*\("
    r"|^\s*(?:static\s+)?(?:async\s+)?#?(\w+)\s*\([^;]*\)\s*\{\s*$"
    r"|^\s*(?:const|let)\s+(\w+)\s*=\s*(?:async\s*)?\(?[^=]*\)?\s*=>\s*\{\s*$"
)


def _js_functions(path: Path) -> list[tuple[int, str]]:
    lines = path.read_text(encoding="utf-8").split("\n")
    found = []
    for i, line in enumerate(lines):
        m = _JS_START.match(line)
        if not m or (m.group(2) in ("if", "for", "while", "switch", "catch")):
            continue
        depth, started = 0, False
        for j in range(i, len(lines)):
            code = re.sub(r"`[^`]*`|\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'|//.*$", "", lines[j])
            depth += code.count("{") - code.count("}")
            started = started or "{" in code
            if started and depth <= 0:
                break
        found.append((j - i + 1, f"{path.name}:{i + 1} {next(g for g in m.groups() if g)}"))
    return found


@pytest.mark.parametrize("language", ["python", "javascript"])
def test_no_function_over_60_lines(language):
    if language == "python":
        sizes = [f for p in MODULES if "testing" not in p.parts for f in _python_functions(p)]
    else:
        sizes = [f for p in SCRIPTS for f in _js_functions(p)]
    assert sizes, "the checker found no function"
    assert [name for n, name in sizes if n > 60] == []


def test_no_module_over_600_lines_and_the_widget_under_300():
    lines = {p: len(p.read_text(encoding="utf-8").splitlines()) for p in [*MODULES, *SCRIPTS]}
    assert [str(p.relative_to(ROOT)) for p, n in lines.items() if n > 600] == []
    assert lines[PACKAGE / "_panel.py"] < 300


def test_a_model_at_a_host_is_one_row():
    """Everything a host needs to send a model is in its row: its route and
    spelling; its size rule and price are the row's too."""
    for name, table in TABLES.items():
        for spec in table.values():
            if name in ("bfl", "replicate", "fal"):
                assert spec.wire.route, (name, spec.id)
            json.dumps(spec.to_json())  # the view reads it as it is
            assert spec.size is not None


def test_ruff_is_clean():
    """Imports at the head of each file (PLC0415), deferred only with a reason."""
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "src", "tests", "benchmarks"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout[-3000:]
