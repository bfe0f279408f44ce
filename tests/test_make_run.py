"""``make run`` stops cleanly on Ctrl-C: honcho stops its processes, make exits 0 and
prints no error (bin/run.py). Driven through a pseudo-terminal, as a person would."""

import os
import pty
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HONCHO = Path(sys.executable).parent / "honcho"

pytestmark = pytest.mark.skipif(
    shutil.which("make") is None or not HONCHO.exists(), reason="needs make and honcho"
)


def run_in_terminal(makefile: Path, *, interrupt_after: float) -> tuple[int, str]:
    """Run ``make run`` with a pseudo-terminal as its output, press Ctrl-C after
    ``interrupt_after`` seconds (if still running), return its exit status and everything
    it printed.

    make runs in a session of its own whose controlling terminal is the pseudo-terminal,
    as in a shell, so a Ctrl-C typed there reaches its foreground process group. (Started
    with subprocess, not ``pty.fork``: forking a multi-threaded pytest process may
    deadlock the child.)
    """
    # A fresh terminal: not a sub-make of the `make test` that may be running this suite
    # (make would then print "make[1]: ***" instead of "make: ***").
    env = {k: v for k, v in os.environ.items() if k not in {"MAKELEVEL", "MAKEFLAGS", "MFLAGS"}}
    fd, terminal = pty.openpty()
    make = ["make", "--no-print-directory", "-f", str(makefile), "run"]
    take_terminal = (
        "import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
        "os.execvp(sys.argv[1], sys.argv[1:])"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", take_terminal, *make],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env=env,
        start_new_session=True,
    )
    os.close(terminal)
    output = b""

    def read(seconds: float) -> bool:
        nonlocal output
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    return False
                if not data:
                    return False
                output += data
        return True

    if read(interrupt_after):
        os.write(fd, b"\x03")  # Ctrl-C, sent by the terminal to its foreground group
        read(30)
    code = process.wait(timeout=30)
    os.close(fd)
    return code, output.decode(errors="replace")


def makefile(tmp_path: Path, procfile: str) -> Path:
    (tmp_path / "Procfile").write_text(procfile)
    path = tmp_path / "Makefile"
    path.write_text(
        "run:\n"
        f"\t@{sys.executable} {ROOT / 'bin' / 'run.py'} {HONCHO} "
        f"--procfile {tmp_path / 'Procfile'} start\n"
    )
    return path


def test_ctrl_c_stops_every_process_and_make_exits_0_quietly(tmp_path):
    marker = tmp_path / "stopped"
    procfile = (
        f"web: trap 'echo web >> {marker}; exit 0' TERM; while true; do sleep 0.1; done\n"
        "worker: sleep 60\n"
    )
    code, output = run_in_terminal(makefile(tmp_path, procfile), interrupt_after=3)
    assert code == 0, output
    assert "SIGINT received" in output  # honcho saw the Ctrl-C and stopped its processes
    assert marker.read_text() == "web\n"
    assert "make: ***" not in output and "Error" not in output and "Traceback" not in output


def test_a_process_that_fails_still_fails_make(tmp_path):
    code, output = run_in_terminal(
        makefile(tmp_path, "web: sleep 60\nbroken: sh -c 'exit 3'\n"), interrupt_after=15
    )
    assert code != 0
    assert "make: ***" in output
