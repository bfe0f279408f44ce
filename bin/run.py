"""Run a command (``make run``: honcho and the Procfile) so that Ctrl-C stops it cleanly.

Ctrl-C reaches every process of the terminal's foreground group. Under ``make`` that
includes make itself, which then reports the interrupted recipe as a failure
(``make: *** ... Error 130``) whatever the command did. So:

1. the command runs in a process group of its own, made the terminal's foreground group
   for as long as it runs: Ctrl-C reaches it (honcho stops web, worker and beat) and not
   make;
2. when it ends, the terminal is handed back to the group it came from;
3. an exit asked for with Ctrl-C (honcho's 130, or any end after our SIGINT) is a normal
   end: exit status 0. Any other failure keeps its status.

Without a terminal (a script, CI) a SIGINT or SIGTERM sent to this process is passed on.
"""

import os
import signal
import subprocess
import sys


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: run.py command [args...]", file=sys.stderr)
        return 2
    interrupted = False

    def note_interrupt(signum: int, frame: object) -> None:
        nonlocal interrupted
        interrupted = True
        if child is not None and not tty:
            child.send_signal(signum)

    tty = _terminal()
    child = None
    previous_group = os.tcgetpgrp(tty) if tty is not None else None
    signal.signal(signal.SIGINT, note_interrupt)
    signal.signal(signal.SIGTERM, note_interrupt)
    child = subprocess.Popen(argv, process_group=0)
    if tty is not None:
        _give_terminal(tty, child.pid)
    try:
        while True:
            try:
                code = child.wait()
                break
            except InterruptedError:
                continue
    finally:
        if tty is not None and previous_group is not None:
            _give_terminal(tty, previous_group)
    if interrupted or code in (130, -signal.SIGINT, 143, -signal.SIGTERM):
        return 0
    return code


def _terminal() -> int | None:
    """The controlling terminal's descriptor, when we run in its foreground group."""
    try:
        fd = sys.stdin.fileno()
        if os.isatty(fd) and os.tcgetpgrp(fd) == os.getpgrp():
            return fd
    except (OSError, ValueError):
        pass
    return None


def _give_terminal(fd: int, group: int) -> None:
    # A background group changing the foreground group gets SIGTTOU unless it ignores it.
    old = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    try:
        os.tcsetpgrp(fd, group)
    except OSError:
        pass
    finally:
        signal.signal(signal.SIGTTOU, old)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
