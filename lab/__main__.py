"""`python -m lab` and the `concurrency-lab` command: the CLI, imported inside a Ctrl+C guard.

The console script imports this module, then calls main(); the CLI's own modules load inside
it, so a Ctrl+C while they load is an interrupt (130, one line), never a traceback.
"""

from __future__ import annotations

import sys


def main() -> int:
    try:
        from lab.cli import main as cli_main
    except KeyboardInterrupt:
        print("interrupted; nothing ran", file=sys.stderr)
        return 130
    return cli_main()


if __name__ == "__main__":
    raise SystemExit(main())
