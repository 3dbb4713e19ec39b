"""The command line: the only place that prints or chooses an exit code.

Every ``LcopiaError`` becomes its message on stderr and exit code 2 (1 for a failed gate
under ``--strict``); a user mistake never shows a traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from lcopia.errors import LcopiaError, UsageError

DEFAULT_DATA = Path("data")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-11-30") from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be 1 or more")
    return value


# C0/C1 controls (but newline and tab), DEL, and the bidirectional overrides and isolates:
# an inventory cell holding these could clear the screen, recolour text or reorder a line
# on the privacy officer's terminal (Trojan Source). They are shown escaped instead.
_UNSAFE_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape_char(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def terminal_safe(text: str) -> str:
    """Text with every terminal-steering character written as a visible ``\\uXXXX`` escape.

    Applied at the output edge, so models keep the exact strings. In JSON the same escape is
    the standard one, so a JSON reader still gets the exact string back.
    """
    return _UNSAFE_TEXT.sub(_escape_char, text)


def _emit(text: str) -> None:
    text = terminal_safe(text)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _warn(text: str) -> None:
    print(terminal_safe(text), file=sys.stderr)


# ----------------------------------------------------------------------------- validate


def cmd_validate(args: argparse.Namespace) -> int:
    from lcopia.load import load, summary

    bundle = load(args.data, as_of=args.as_of)
    for warning in bundle.warnings:
        _warn(f"warning: {warning}")
    _emit(summary(bundle))
    return 0


# ----------------------------------------------------------------------------- score


def cmd_score(args: argparse.Namespace) -> int:
    from lcopia.errors import GateFailed
    from lcopia.pipeline import compute
    from lcopia.scoring import render_text

    found = compute(args.data, args.as_of or dt.date.today())
    for warning in found.bundle.warnings:
        _warn(f"warning: {warning}")
    assessment = found.assessment
    if args.format == "json":
        _emit(assessment.to_json())
    else:
        _emit(render_text(assessment))
    if args.strict and assessment.gate.result == "FAIL":
        raise GateFailed(
            f"compliance gate FAILED: {len(assessment.gate.violations)} hard-gate violation(s)")
    return 0


# ----------------------------------------------------------------------------- scan


def cmd_scan(args: argparse.Namespace) -> int:
    from lcopia import evidence

    if (args.date_column is None) != (args.retention_days is None):
        raise UsageError("--date-column and --retention-days go together: give both or neither")
    report = evidence.scan_files(
        [Path(p) for p in args.files],
        quasi=[c.strip() for c in args.quasi.split(",") if c.strip()] if args.quasi else None,
        k=args.k,
        sensitive=args.sensitive,
        date_column=args.date_column,
        retention_days=args.retention_days,
        as_of=args.as_of or dt.date.today(),
        data_dir=args.data,
        claims=args.claims,
        person_key=args.person_key,
        time_grain=args.time_grain,
    )
    _emit(report.model_dump_json(indent=2) if args.format == "json"
          else evidence.evidence_text(report))
    return 0


# ----------------------------------------------------------------------------- web


def cmd_web(args: argparse.Namespace) -> int:
    from lcopia import web

    report = web.audit_files([Path(p) for p in args.files], first_party=args.first_party)
    _emit(report.model_dump_json(indent=2) if args.format == "json" else web.render_text(report))
    return 0


# ----------------------------------------------------------------------------- assess


def cmd_assess(args: argparse.Namespace) -> int:
    from lcopia.run import run_assessment

    result = run_assessment(
        data=args.data,
        as_of=args.as_of or dt.date.today(),
        out=args.out,
        jobs=args.jobs,
        previous=args.previous,
        progress=not args.quiet,
        cell_timeout=args.cell_timeout,
    )
    _emit(result.summary())
    return 0


# ----------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lcopia",
        description="Privacy impact assessment of library records against the "
        "confidentiality policy and Mo. Rev. Stat. 182.815/182.817.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def data_opt(p: argparse.ArgumentParser) -> None:
        p.add_argument("--data", type=Path, default=DEFAULT_DATA,
                       help="folder with policy/, taxonomy/, inventory/ (default: data)")

    p = sub.add_parser("validate", help="check the policy, taxonomy and inventory files")
    data_opt(p)
    p.add_argument("--as-of", type=_date,
                   help="also refuse dates after this assessment date, YYYY-MM-DD")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("score", help="score every flow and system; print the assessment")
    data_opt(p)
    p.add_argument("--as-of", type=_date, help="assessment date, YYYY-MM-DD (default: today)")
    p.add_argument("--format", choices=["json", "text"], default="text")
    p.add_argument("--strict", action="store_true", help="exit 1 when the compliance gate fails")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("scan", help="check export files for identifying data (masked output)")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA,
                   help="folder whose policy/scales.yaml sets k, l and sampling (default: data)")
    p.add_argument("--quasi", help="comma-separated quasi-identifier columns (default: inferred)")
    p.add_argument("--k", type=_positive_int, help="k for k-anonymity (default: from policy data)")
    p.add_argument("--sensitive", help="column for l-diversity (title, subject, genre...)")
    p.add_argument("--date-column", help="column holding the record date, for retention")
    p.add_argument("--retention-days", type=int, help="days a record may be kept")
    p.add_argument("--as-of", type=_date, help="date retention is measured from (default: today)")
    p.add_argument("--claims", choices=["statistics", "deidentified", "pseudonymized",
                                        "identified"],
                   help="what the files are said to be (the evidence manifest's words); "
                        "re-identification is checked unless 'identified'")
    p.add_argument("--person-key", metavar="COLUMN",
                   help="column standing for one person (default: a card number, patron id "
                        "or pseudonymous key found in the file)")
    p.add_argument("--time-grain", choices=["day", "month"], default="day",
                   help="inferred quasi-identifier dates are counted by this (default: day)")
    p.add_argument("--format", choices=["json", "text"], default="text")
    p.set_defaults(func=cmd_scan)

    p = sub.add_parser("web", help="audit browser captures (HAR) for third-party tracking")
    p.add_argument("files", nargs="+", metavar="FILE.har")
    p.add_argument("--first-party", action="append", metavar="DOMAIN",
                   help="the library's own domain (default: the first page's domain)")
    p.add_argument("--format", choices=["json", "text"], default="text")
    p.set_defaults(func=cmd_web)

    p = sub.add_parser("assess", help="run every notebook and write the dated report folder")
    data_opt(p)
    p.add_argument("--as-of", type=_date, help="assessment date, YYYY-MM-DD (default: today)")
    p.add_argument("--out", type=Path, default=Path("reports"), help="reports folder")
    p.add_argument("--jobs", type=_positive_int, default=2, help="notebooks run at once")
    p.add_argument("--previous", type=Path, help="an earlier run folder to compare against")
    p.add_argument("--cell-timeout", type=_positive_int, default=600, metavar="SECONDS",
                   help="longest a notebook cell may run before the run stops (default 600)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_assess)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return args.func(args)
    except LcopiaError as exc:
        _warn(f"lcopia {args.command}: {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"lcopia {args.command}: interrupted; nothing was replaced.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def _json_default(value: object) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def dumps(data: object) -> str:
    """Deterministic JSON (sorted keys, dates as ISO) for every machine-readable output."""
    return json.dumps(data, indent=2, sort_keys=True, default=_json_default, ensure_ascii=False)
