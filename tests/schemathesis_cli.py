"""The schemathesis CLI as the suite runs it: seeded, one worker, no example database, the
examples and fuzzing phases; what it printed is kept beside the test's files."""

import subprocess
import sys
from pathlib import Path

import pytest

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"


def run_schemathesis(
    schema: str, *options: str, checks: str, max_examples: int, cwd: Path, timeout: int
) -> subprocess.CompletedProcess[str]:
    """Run ``schemathesis run schema *options`` in ``cwd`` (where a schemathesis.toml may
    wait) and return what it did; its output is also written to cwd/schemathesis.txt."""
    if not SCHEMATHESIS.exists():
        pytest.fail("schemathesis is not installed in the virtualenv (pip install -e '.[test]')")
    result = subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            schema,
            *options,
            "--checks",
            checks,
            "--phases",
            "examples,fuzzing",
            "--max-examples",
            str(max_examples),
            "--seed",
            "1",
            "--workers",
            "1",
            "--request-timeout",
            "20",
            "--generation-database",
            "none",
            "--no-color",
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    (cwd / "schemathesis.txt").write_text(result.stdout + result.stderr)
    return result
