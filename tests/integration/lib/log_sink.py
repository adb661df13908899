#!/usr/bin/env python3
"""A log reader that can stop reading, like journald or Docker's log driver when they stall.

usage: log_sink.py OUT < PIPE

Copies its standard input (the read end of a service's stderr pipe or FIFO) to the file OUT,
flushed line by line, after shrinking the pipe to one page (F_SETPIPE_SZ, 4096 bytes on Linux):
a service blocks in write(2) once a page of its log lines waits unread, instead of after the
64 KiB a pipe holds by default, so that a test needs a few dozen lines, not a thousand. A test
stops the reading with SIGSTOP (what a stalled log collector does: it stops reading) and
resumes it with SIGCONT. Exits at end of input.
"""
import fcntl
import os
import sys

F_SETPIPE_SZ = 1031  # fcntl.F_SETPIPE_SZ from Python 3.10 on; the value is Linux's


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.split("\n\n")[1])
    try:
        fcntl.fcntl(0, F_SETPIPE_SZ, 4096)
    except OSError as e:  # not a pipe: still copy, a test then sees no stall
        print(f"log_sink: cannot shrink the pipe: {e}", file=sys.stderr)
    with open(sys.argv[1], "ab", buffering=0) as out:
        while True:
            chunk = os.read(0, 65536)
            if not chunk:
                return
            out.write(chunk)


if __name__ == "__main__":
    main()
