"""Show or refresh the vendored tracker database (a module of its own, so that
``python -m lcopia.web.refresh`` runs it without the package having imported it first).

    python -m lcopia.web.refresh info
    python -m lcopia.web.refresh refresh dist/trackers.json dist/companies.json --commit SHA
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from lcopia.errors import LcopiaError
from lcopia.web.trackerdb import DEFAULT_SOURCE, TrackerDb, coverage, load_trackerdb, refresh


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lcopia.web.refresh",
                                     description="Show or refresh the vendored tracker "
                                     "database snapshot.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="print the snapshot's source and coverage")
    p = sub.add_parser("refresh", help="convert companiesdb's dist files into the snapshot")
    p.add_argument("trackers", type=Path, help="dist/trackers.json of a companiesdb checkout")
    p.add_argument("companies", type=Path, help="dist/companies.json of the same checkout")
    p.add_argument("--commit", required=True, help="the checkout's commit (git rev-parse HEAD)")
    p.add_argument("--source", default=DEFAULT_SOURCE, help="the repository it came from")
    p.add_argument("--out", type=Path, help="write here instead of the packaged snapshot")
    args = parser.parse_args(argv)
    try:
        if args.command == "refresh":
            out, snapshot = refresh(args.trackers, args.companies, commit=args.commit,
                                    source=args.source, out=args.out)
            db = TrackerDb(snapshot, "")
            print(f"wrote {out}\n{coverage(db)}")
        else:
            print(coverage(load_trackerdb()))
    except LcopiaError as exc:
        print(f"lcopia trackerdb: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":  # pragma: no cover - command line
    sys.exit(main())

