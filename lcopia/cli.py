"""The command line: the only place that prints or chooses an exit code.

Exit codes: 0 done; 1 only for a failed gate under ``score --strict``; 2 for anything the
person can fix (an ``LcopiaError``, or the operating system refusing a file: permissions, a
full disk, a name too long); 3 for a bug (one line, the traceback in a log file); 130 for an
interruption. A user mistake never shows a traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path

from lcopia.errors import FileProblem, InternalError, LcopiaError, UsageError
from lcopia.run_guard import EARLIEST_AS_OF, LATEST_AS_OF  # as_of + days must not overflow
from lcopia.wording import plural

DATA_HELP = ("folder with policy/, taxonomy/, inventory/ (default: $LCOPIA_DATA, else the "
             "project folder at or above this one, or its data/ folder)")




def _date(text: str) -> dt.date:
    """A date as the inventory cells accept it (2026-11-30 or 11/30/2026), in a sane range."""
    from lcopia.load import parse_date

    day = parse_date(text)
    if day is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date; write it as YYYY-MM-DD (2026-11-30) or MM/DD/YYYY "
            "(11/30/2026)")
    if not EARLIEST_AS_OF <= day <= LATEST_AS_OF:
        raise argparse.ArgumentTypeError(
            f"{text!r} is outside the years {EARLIEST_AS_OF.year}-{LATEST_AS_OF.year}; "
            "give the date the assessment describes, e.g. today's")
    return day


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
    from lcopia.progress import read_progress
    from lcopia.project import DataDir
    from lcopia.run_guard import refuse_special_files
    from lcopia.scoring import build_context, inapplicable_answers

    refuse_special_files(args.data)  # a FIFO where a file should be would hang the read
    bundle = load(args.data, as_of=args.as_of)
    read_progress(DataDir(args.data))  # the action-plan progress the next run starts from
    inv = bundle.inventory
    ctx = build_context(bundle, args.as_of or dt.date.today(), list(inv.flows),
                        list(inv.systems), None)
    for warning in [*bundle.warnings, *inapplicable_answers(ctx)]:
        _warn(f"warning: {warning}")
    _emit(summary(bundle))
    return 0


# ----------------------------------------------------------------------------- score


def cmd_score(args: argparse.Namespace) -> int:
    from lcopia.errors import GateFailed
    from lcopia.pipeline import compute
    from lcopia.run_guard import refuse_special_files
    from lcopia.scoring import render_text

    refuse_special_files(args.data)  # a FIFO where an export should be would hang the scan
    found = compute(args.data, args.as_of or dt.date.today())
    for warning in [*found.bundle.warnings, *(found.web.warnings if found.web else [])]:
        _warn(f"warning: {warning}")
    assessment = found.assessment
    if args.format == "json":
        _emit(assessment.to_json())
    else:
        _emit(render_text(assessment))
    if args.strict and assessment.gate.result == "FAIL":
        raise GateFailed(
            "compliance gate FAILED: "
            f"{plural(len(assessment.gate.violations), 'hard-gate violation')}")
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

    report = web.audit_files([Path(p) for p in args.files], first_party=args.first_party,
                             overlay=args.trackers)
    _emit(report.model_dump_json(indent=2) if args.format == "json" else web.web_text(report))
    return 0


# ----------------------------------------------------------------------------- capture


def cmd_capture(args: argparse.Namespace) -> int:
    """Drive Chromium over the library's pages; HARs and a manifest into --out."""
    from lcopia.capture import capture_site

    out = args.out
    if out is None:
        from lcopia.project import resolve_data_dir

        out = resolve_data_dir(args.capture_data, parameter="--data").web_captures
    bar = None
    if _show_progress(args):
        from tqdm import tqdm

        bar = tqdm(total=1, unit="page", desc="Capture", file=sys.stderr, leave=False)

    def progress(done: int, total: int, label: str) -> None:
        if bar is not None:
            bar.total = max(total, done)
            bar.n = done
            bar.set_postfix_str(label, refresh=True)

    try:
        result = capture_site(args.urls, out, search=args.search, pages=args.pages,
                              budget=args.budget, page_timeout=args.page_timeout,
                              headed=args.headed, progress=progress)
    finally:
        if bar is not None:
            bar.close()
    _emit(result.summary())
    _emit(f"Next: lcopia web {out}/*.har   (or 'lcopia assess', which reads that folder)")
    return 0


def _add_capture(command: Callable[[str, str, str], argparse.ArgumentParser]) -> None:
    p = command("capture", "record the library's own pages with Chromium for 'lcopia web'",
                "  lcopia capture https://www.mylibrary.org/\n"
                "  lcopia capture https://www.mylibrary.org/ https://catalog.mylibrary.org/ "
                "--pages 10\n"
                "  lcopia capture https://www.mylibrary.org/ --out captures --headed\n\n"
                "Visits the home page, the catalog search (with a made-up search term), a "
                "result,\nthe login page and a few links, once without touching the cookie "
                "banner and\nonce accepting it; a fresh browser profile each time. If the "
                "site refuses\nheadless browsers, add --headed (a visible window).\n")
    p.add_argument("urls", nargs="+", metavar="URL", help="the library's site, and its "
                   "catalog's if that is on another address")
    p.add_argument("--search", metavar="TERM", help="the search term to type (default: a "
                   "generated harmless term, recorded in the manifest)")
    p.add_argument("--pages", type=int, default=5, metavar="N",
                   help="same-site links to visit besides the fixed pages")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="folder for the HAR files and manifest (default: the project's "
                   "evidence/web/ folder)")
    p.add_argument("--data", dest="capture_data", type=Path, default=None, metavar="FOLDER",
                   help=DATA_HELP)
    p.add_argument("--budget", type=_positive_int, default=180, metavar="SECONDS",
                   help="time the capture may spend on the pages, in all")
    p.add_argument("--page-timeout", type=_positive_int, default=30, metavar="SECONDS",
                   help="longest wait for one page to load and settle")
    p.add_argument("--headed", action="store_true",
                   help="show the browser window (for sites that block headless browsers)")
    p.set_defaults(func=cmd_capture)


# ----------------------------------------------------------------------------- init


def cmd_init(args: argparse.Namespace) -> int:
    from lcopia.scaffold import init_project

    result = init_project(args.folder, today=dt.date.today(), sample=args.sample)
    what = "the illustrative sample library" if args.sample else "a new library's project"
    _emit(f"Created {what} in {args.folder} ({len(result.created)} files).")
    if not args.sample:
        _emit("Next: replace every 'REPLACE:' value in inventory/library.yaml, then\n"
              f"  lcopia workbook export --data {args.folder}\n"
              "to fill the inventory in a spreadsheet (see README.md in the folder).")
    return 0


# ----------------------------------------------------------------------------- workbook


def cmd_workbook(args: argparse.Namespace) -> int:
    from lcopia.workbook import export_workbook, import_workbook

    as_of = args.as_of or dt.date.today()
    if args.action == "export":
        out = export_workbook(args.data, args.file or Path("inventory.xlsx"), as_of=as_of)
        _emit(f"Wrote {out}: edit the sheets, save, then run 'lcopia workbook import {out}'.")
        return 0
    if args.file is None:
        raise UsageError("workbook import needs the workbook to read: "
                         "lcopia workbook import inventory.xlsx")
    result = import_workbook(args.file, args.data, as_of=as_of, force=args.force)
    for warning in result.warnings:
        _warn(f"warning: {warning}")
    for change in result.changes:
        if change.any:
            _emit(f"{change.table}: {len(change.added)} added, {len(change.changed)} changed, "
                  f"{len(change.removed)} removed")
            for label, keys in (("+", change.added), ("~", change.changed),
                                ("-", change.removed)):
                for key in keys:
                    _emit(f"  {label} {key}")
    _emit("Wrote " + ", ".join(result.written) if result.written else
          "Nothing changed: the workbook matches the inventory.")
    return 0


# ----------------------------------------------------------------------------- questionnaire


def cmd_questionnaire(args: argparse.Namespace) -> int:
    from lcopia.questionnaire import build_questionnaires, import_questionnaires

    as_of = args.as_of or dt.date.today()
    words = list(args.items)
    if words and words[0] == "import":
        files = [Path(w) for w in words[1:]]
        if not files:
            raise UsageError("questionnaire import needs the returned workbooks: "
                             "lcopia questionnaire import returned/*.xlsx")
        report = import_questionnaires(files, args.data, as_of=as_of, force=args.force)
        for line in report.skipped:
            _warn(f"kept: {line}")
        for c in report.changes:
            _emit(f"  {c.key[0]} for {c.key[2]}: {c.old_status or 'no answer'} -> "
                  f"{c.new_status} ({c.workbook})")
        _emit(f"Recorded {plural(len(report.changes), 'answer')} in inventory/answers.csv."
              if report.written else "No answer recorded.")
        return 0
    due = args.due or as_of + dt.timedelta(days=30)
    sent = build_questionnaires(args.data, args.out, as_of=as_of, due=due,
                                systems=words or None)
    for s in sent:
        _emit(f"{s.path}: {plural(s.questions, 'question')} for {s.vendor}")
    if not sent:
        _emit("No vendor has an open question: every applicable control is answered.")
    return 0


# ----------------------------------------------------------------------------- plan


def cmd_plan(args: argparse.Namespace) -> int:
    from lcopia.plan_import import import_plan

    as_of = args.as_of or dt.date.today()
    report = import_plan(args.file, args.data, as_of=as_of, force=args.force)
    for warning in report.warnings:
        _warn(f"warning: {warning}")
    for line in report.skipped:
        _warn(f"kept: {line}")
    for c in report.actions:
        label = f"action {c.number}" if c.number else "your own action"
        done = f" ({c.done_date.isoformat()})" if c.done_date else ""
        _emit(f"  {label}, {textwrap.shorten(c.action, 60, placeholder=' ...')}: "
              f"{c.old_status or 'nothing recorded'} -> {c.new_status}{done}")
        olds = {a.key: a.old_status for a in report.answers}
        for key in c.answers:
            _emit(f"    {key[0]} for {key[2]}: {olds.get(key) or 'no answer'} -> implemented")
    for note in report.notes:
        _warn(f"note: {note}")
    if report.written:
        _emit(f"Recorded progress on {plural(len(report.actions), 'action')}"
              + (f" and {plural(len(report.answers), 'answer')}" if report.answers else "")
              + " in " + " and ".join(report.written) + ".")
    else:
        _emit("Nothing new to record: the plan matches what was recorded.")
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
        progress=_show_progress(args),
        cell_timeout=args.cell_timeout,
    )
    _emit(result.summary())
    if args.verbose:
        for step, seconds in result.steps.items():
            _warn(f"  {step}: {seconds:.2f} s")
    return 0


def _show_progress(args: argparse.Namespace) -> bool:
    """A progress bar only for a person watching: never in logs, pipes or with --quiet."""
    if args.quiet:
        return False
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


# ----------------------------------------------------------------------------- parser

CHROMIUM_HELP = (
    "The PDF of the Board report is printed by Chromium (or Google Chrome / Microsoft Edge). "
    "lcopia looks for it on the PATH and in the usual install places on Linux, macOS and "
    "Windows; set LCOPIA_CHROMIUM to the browser's full path to choose one.")

EPILOG = f"""\
examples:
  lcopia validate --data data
  lcopia score --data data --as-of 2026-11-30 --strict
  lcopia assess --data data --out reports --previous reports/2025-11-30
  lcopia scan data/evidence/exports/circulation_loans.csv
  lcopia web data/evidence/web/*.har

exit codes:
  0  done
  1  score --strict: the compliance gate failed
  2  a problem you can fix: the data, an option, a file's permissions, a full disk, a name
  3  a bug in lcopia: one line here, the details in the log file it names
  130 interrupted (Ctrl-C or SIGTERM); nothing was replaced

environment:
  LCOPIA_CHROMIUM
{textwrap.fill(CHROMIUM_HELP, 78, initial_indent="    ", subsequent_indent="    ")}
"""


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Shows each option's default unless its help already says it, or it has none."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if ("default" in text.lower() or default in (None, False, argparse.SUPPRESS)
                or not action.option_strings):
            return text
        return f"{text} (default: {default})"


def _common(suppress: bool) -> argparse.ArgumentParser:
    """-q/-v for the main parser and (with SUPPRESS defaults) after any command too."""
    common = argparse.ArgumentParser(add_help=False)
    default: dict[str, object] = {"default": argparse.SUPPRESS} if suppress else {}
    common.add_argument("-q", "--quiet", action="store_true",
                        help="no progress bar (warnings and errors still show)",
                        **default)
    common.add_argument("-v", "--verbose", action="count",
                        help="more detail: step timings, and a traceback on internal errors",
                        **({"default": argparse.SUPPRESS} if suppress else {"default": 0}))
    return common


def build_parser() -> argparse.ArgumentParser:
    from lcopia import __version__

    parser = argparse.ArgumentParser(
        prog="lcopia", formatter_class=_HelpFormatter, epilog=EPILOG,
        parents=[_common(suppress=False)],
        description="Privacy impact assessment of library records against the "
        "confidentiality policy and Mo. Rev. Stat. 182.815/182.817.")
    parser.add_argument("--version", action="version", version=f"lcopia {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    child = _common(suppress=True)

    def command(name: str, help_text: str, examples: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_text, description=help_text[0].upper() +
                              help_text[1:] + ".", parents=[child],
                              formatter_class=_HelpFormatter,
                              epilog="examples:\n" + examples)

    def data_opt(p: argparse.ArgumentParser) -> None:
        p.add_argument("--data", type=Path, default=None, help=DATA_HELP)

    date_forms = "YYYY-MM-DD or MM/DD/YYYY"
    p = command("validate", "check the policy, taxonomy and inventory files",
                "  lcopia validate --data data\n  lcopia validate --as-of 2026-11-30\n")
    data_opt(p)
    p.add_argument("--as-of", type=_date,
                   help=f"also refuse dates after this assessment date, {date_forms}")
    p.set_defaults(func=cmd_validate)

    p = command("score", "score every flow and system; print the assessment",
                "  lcopia score --data data\n  lcopia score --format json > assessment.json\n"
                "  lcopia score --strict   # exit 1 when the compliance gate fails\n")
    data_opt(p)
    p.add_argument("--as-of", type=_date,
                   help=f"assessment date, {date_forms} (default: today)")
    p.add_argument("--format", choices=["json", "text"], default="text",
                   help="text for people, json for programs")
    p.add_argument("--strict", action="store_true", help="exit 1 when the compliance gate fails")
    p.set_defaults(func=cmd_score)

    p = command("scan", "check export files for identifying data (masked output)",
                "  lcopia scan loans.csv\n"
                "  lcopia scan stats.csv --quasi month,branch,age_band --k 10\n"
                "  lcopia scan loans.csv --date-column checkout_time --retention-days 90\n")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--data", type=Path, default=None,
                   help="folder whose policy/scales.yaml sets k, l and sampling (default: "
                   "$LCOPIA_DATA or the project folder above; built-in values outside one)")
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
    p.add_argument("--format", choices=["json", "text"], default="text",
                   help="text for people, json for programs")
    p.set_defaults(func=cmd_scan)

    p = command("web", "audit browser captures (HAR) for third-party tracking",
                "  lcopia web catalog.har\n"
                "  lcopia web *.har --first-party mylibrary.org --format json\n")
    p.add_argument("files", nargs="+", metavar="FILE.har")
    p.add_argument("--first-party", action="append", metavar="DOMAIN",
                   help="the library's own domain (default: the first page's domain)")
    p.add_argument("--trackers", type=Path, metavar="FILE",
                   help="a project's own trackers.yaml, read on top of the packaged list")
    p.add_argument("--format", choices=["json", "text"], default="text",
                   help="text for people, json for programs")
    p.set_defaults(func=cmd_web)

    _add_capture(command)

    p = command("assess", "run every notebook and write the dated report folder",
                "  lcopia assess\n"
                "  lcopia assess --data data --out reports --as-of 2026-11-30\n"
                "  lcopia assess --previous reports/2025-11-30 --jobs 4\n\n"
                + textwrap.fill(CHROMIUM_HELP, 78) + "\n")
    data_opt(p)
    p.add_argument("--as-of", type=_date, help=f"assessment date, {date_forms} (default: today)")
    p.add_argument("--out", type=Path, default=Path("reports"),
                   help="reports folder; the run writes <out>/<as-of>/")
    p.add_argument("--jobs", type=_positive_int, default=2, help="notebooks run at once")
    p.add_argument("--previous", type=Path,
                   help="an earlier run folder to compare against, e.g. reports/2025-11-30 "
                   "(default: the newest earlier run of the same library in --out)")
    p.add_argument("--cell-timeout", type=_positive_int, default=600, metavar="SECONDS",
                   help="longest a notebook cell may run before the run stops")
    p.set_defaults(func=cmd_assess)

    p = command("init", "start a new library's project folder",
                "  lcopia init mylibrary\n  lcopia init --sample sample   # try the sample\n")
    p.add_argument("folder", type=Path, metavar="FOLDER")
    p.add_argument("--sample", action="store_true",
                   help="copy the illustrative sample library instead of a blank inventory")
    p.set_defaults(func=cmd_init)

    p = command("workbook", "export the inventory as one workbook, or import it back",
                "  lcopia workbook export            # writes inventory.xlsx\n"
                "  lcopia workbook import inventory.xlsx\n")
    data_opt(p)
    p.add_argument("action", choices=["export", "import"])
    p.add_argument("file", type=Path, nargs="?", metavar="FILE.xlsx",
                   help="the workbook (export default: inventory.xlsx)")
    p.add_argument("--as-of", type=_date, help=f"assessment date, {date_forms} (default: today)")
    p.add_argument("--force", action="store_true",
                   help="import even if a CSV file changed after the workbook was exported")
    p.set_defaults(func=cmd_workbook)

    p = command("questionnaire", "write vendor questionnaires, or import returned ones",
                "  lcopia questionnaire --out questionnaires\n"
                "  lcopia questionnaire ils econtent --due 1/15/2027\n"
                "  lcopia questionnaire import returned/*.xlsx\n")
    data_opt(p)
    p.add_argument("items", nargs="*", metavar="SYSTEM|import FILE",
                   help="systems to ask about (default: every contracted vendor), or "
                   "'import' and the returned workbooks")
    p.add_argument("--out", type=Path, default=Path("questionnaires"),
                   help="folder for the questionnaires")
    p.add_argument("--due", type=_date, help=f"reply date, {date_forms} (default: in 30 days)")
    p.add_argument("--as-of", type=_date, help=f"today's date, {date_forms} (default: today)")
    p.add_argument("--force", action="store_true",
                   help="on import, replace answers dated after the questionnaire")
    p.set_defaults(func=cmd_questionnaire)

    p = command("plan", "record the progress staff kept in action-plan.xlsx",
                "  lcopia plan import reports/2026-11-30/action-plan.xlsx\n"
                "  lcopia plan import action-plan.xlsx --force\n")
    data_opt(p)
    p.add_argument("action", choices=["import"])
    p.add_argument("file", type=Path, metavar="FILE.xlsx",
                   help="the action plan staff kept up to date")
    p.add_argument("--as-of", type=_date, help=f"today's date, {date_forms} (default: today)")
    p.add_argument("--force", action="store_true",
                   help="replace answers and progress recorded after this plan's dates")
    p.set_defaults(func=cmd_plan)
    return parser


def _nul_argument(argv: Sequence[str] | None) -> str | None:
    """The first command-line argument holding a NUL (no file name can)."""
    for arg in sys.argv[1:] if argv is None else argv:
        if "\0" in str(arg):
            return str(arg)
    return None


def _special_file_argument(args: argparse.Namespace) -> str | None:
    """A FIFO, socket or device given as a file to read (reading a FIFO blocks forever)."""
    import stat

    kinds = {stat.S_IFIFO: "a named pipe (FIFO)", stat.S_IFSOCK: "a socket",
             stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device"}
    for name in getattr(args, "files", None) or []:
        try:
            kind = kinds.get(stat.S_IFMT(os.stat(name).st_mode))
        except (OSError, ValueError):
            continue  # missing or unnameable: the command says so in its own words
        if kind is not None:
            return (f"{name} is {kind}, not a file; lcopia reads only regular files. Save the "
                    "data to a file and give its path")
    return None


def _crash_log(exc: BaseException) -> Path:
    """Write the traceback to a private temporary log file and return its path."""
    import tempfile
    import traceback

    fd, name = tempfile.mkstemp(prefix="lcopia-error-", suffix=".log")  # mode 0600
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("".join(traceback.format_exception(exc)))
    return Path(name)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, run one command, and map every outcome to one exit code (see ``EPILOG``)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    command = args.command
    nul = _nul_argument(argv)
    if nul is not None:
        _warn(f"lcopia {command}: {nul!r} contains a NUL character (\\0), which no file name "
              "can hold; type the path again")
        return 2
    special = _special_file_argument(args)
    if special is not None:
        _warn(f"lcopia {command}: {special}")
        return 2
    try:
        if "data" in vars(args):
            from lcopia.project import resolve_data_dir

            try:
                args.data = resolve_data_dir(args.data, parameter="--data").root
            except UsageError:
                if command != "scan" or args.data is not None:
                    raise
                # scan works on any file anywhere: outside a project, built-in k and l apply
        return args.func(args)
    except LcopiaError as exc:
        if isinstance(exc, InternalError) and args.verbose:
            _warn(exc.log_text())
        _warn(f"lcopia {command}: {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"lcopia {command}: interrupted; nothing was replaced.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:  # the environment, not the data: permissions, disk full, names
        _warn(f"lcopia {command}: {FileProblem.from_os_error(exc)}")
        return FileProblem.exit_code
    except ValueError as exc:
        if "null" in str(exc) and ("byte" in str(exc) or "character" in str(exc)):
            _warn(f"lcopia {command}: a path (on the command line or in the evidence "
                  "manifest) contains a NUL character (\\0), which no file name can hold; "
                  "find it and type it again")
            return 2
        return _internal(command, exc, args.verbose)
    except Exception as exc:
        return _internal(command, exc, args.verbose)


def _internal(command: str, exc: Exception, verbose: int) -> int:
    """An unexpected error: one line, the traceback in a log file, exit 3."""
    error = InternalError(exc, str(_crash_log(exc)))
    if verbose:
        _warn(error.log_text())
    _warn(f"lcopia {command}: {error}")
    return error.exit_code
def _json_default(value: object) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def dumps(data: object) -> str:
    """Deterministic JSON (sorted keys, dates as ISO) for every machine-readable output."""
    return json.dumps(data, indent=2, sort_keys=True, default=_json_default, ensure_ascii=False)
