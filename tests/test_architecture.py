"""The shape of the code that the next engineer relies on (see docs/architecture.md,
'Apps and their direction'). Import direction between apps is checked by import-linter
(`lint-imports`, configured in pyproject.toml); this module checks what it cannot see."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = [
    "statusportal",
    "components",
    "incidents",
    "subscriptions",
    "monitoring",
    "manageapi",
    "importer",
    "demo",
]


def project_modules() -> list[Path]:
    return sorted(
        path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    )


def imports_inside_functions(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, function) of every import statement in a function body, but for
    ``AppConfig.ready()``, the one place Django wants apps to import their receivers."""
    found = []

    def visit(node: ast.AST, function: str | None, in_ready: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(child, child.name, in_ready or child.name == "ready")
            elif isinstance(child, ast.Import | ast.ImportFrom):
                if function is not None and not in_ready:
                    found.append((child.lineno, function))
            else:
                visit(child, function, in_ready)

    visit(tree, None, False)
    return found


def test_the_checker_sees_an_import_in_a_function():
    tree = ast.parse("def f():\n    import os\nclass A:\n    def ready(self):\n        import os\n")
    assert imports_inside_functions(tree) == [(2, "f")]


@pytest.mark.parametrize("path", project_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_imports_inside_a_function(path):
    # An import inside a function hides a dependency (usually a cycle) from the reader and
    # from import-linter: move the code so that imports go one way instead.
    found = imports_inside_functions(ast.parse(path.read_text(), str(path)))
    assert not found, f"{path.relative_to(ROOT)}: imports inside functions at {found}"


# Issue numbers and the founding design document mean nothing to a reader of the repo:
# "issue 6", "issues 6 and 17", "issue #12", "DESIGN §4", 'DESIGN "Page status"'.
STALE_REFERENCE = re.compile(r"\bissues? #?\d|\bDESIGN\b")


def test_the_stale_reference_pattern_sees_what_it_should():
    seen = ["issue 6", "issues 6 and 17", "(issue #12)", "DESIGN §4", 'DESIGN "Page status"']
    unseen = ["an issue with 3 parts", "the design", "docs/architecture.md", "Issuer 3"]
    assert all(STALE_REFERENCE.search(text) for text in seen)
    assert not any(STALE_REFERENCE.search(text) for text in unseen)


def modules_and_tests() -> list[Path]:
    """The apps and the core, and the tests and the benchmark that describe them."""
    return project_modules() + sorted(
        path
        for folder in ("tests", "bench")
        for path in (ROOT / folder).rglob("*.py")
        if path.resolve() != Path(__file__).resolve()
    )


@pytest.mark.parametrize("path", modules_and_tests(), ids=lambda p: str(p.relative_to(ROOT)))
def test_comments_point_to_the_architecture_document_not_to_issues(path):
    found = STALE_REFERENCE.search(path.read_text())
    assert found is None, f"{path.relative_to(ROOT)} cites {found.group()!r}"


LONG_MODULE = 400  # lines


@pytest.mark.parametrize("path", project_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_a_long_module_says_why_it_is_one_concern(path):
    # Past ~400 lines a module is usually two concerns; when it is one, its docstring says
    # so and why ("One concern, kept in one module although it passes 400 lines: ...").
    text = path.read_text()
    if text.count("\n") <= LONG_MODULE:
        return
    docstring = ast.get_docstring(ast.parse(text)) or ""
    assert "One concern" in docstring, (
        f"{path.relative_to(ROOT)} has {text.count(chr(10))} lines: split it, or say in its "
        "docstring why it is one concern"
    )
