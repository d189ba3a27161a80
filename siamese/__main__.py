"""Entry point for ``python -m siamese`` and the ``siamese`` console script."""

import os
import sys

from siamese.cli import main

INTERRUPTED = 130


def run() -> None:
    """Run the command line and exit with its status (the console script's target).

    After Ctrl-C the command has already recorded its state (a training's run.json says
    cancelled, every file written whole), but TensorFlow's threads may have been stopped
    mid-wait, and its finalizers can then wait for them forever at interpreter exit (seen
    once in a test run: run.json said cancelled, the process sat idle in a futex with no
    Python frame left).
    So an interrupted command flushes its output and leaves at once.
    """
    status = main()
    if status == INTERRUPTED:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    raise SystemExit(status)


if __name__ == "__main__":
    run()
