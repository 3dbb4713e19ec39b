"""Show or refresh the vendored autoconsent snapshot (a module of its own, so that
``python -m lcopia.capture.refresh`` runs without importing Playwright).

    python -m lcopia.capture.refresh info
    python -m lcopia.capture.refresh refresh            # newest release, from npm
    python -m lcopia.capture.refresh refresh --version 16.23.0

``refresh`` asks npm for the package (``npm pack``, the registry's own client), then keeps
only what a capture injects: the Playwright content script, the rules that can accept a
banner (``optIn`` steps; the generated site-specific rules only reject), the licence, and
a ``snapshot.json`` naming the version, date and npm integrity hash.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path

from lcopia.capture.consent import (
    DATA_DIR,
    PACKAGE,
    RULES_FILE,
    SCRIPT_FILE,
    SNAPSHOT_FILE,
    load_snapshot,
)
from lcopia.errors import LcopiaError, UsageError

NPM_TIMEOUT = 300


def _npm(args: list[str], cwd: Path) -> str:
    npm = shutil.which("npm")
    if npm is None:
        raise UsageError("npm is not installed; install Node.js and npm (Debian: apt-get "
                         "install npm), then run the refresh again")
    try:
        done = subprocess.run([npm, *args], cwd=cwd, capture_output=True, text=True,
                              timeout=NPM_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise UsageError(f"npm {args[0]} took more than {NPM_TIMEOUT} s; check the network "
                         "and run the refresh again") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise UsageError(f"npm {args[0]} failed ({last}); check the network and the version "
                         "asked for, then run the refresh again")
    return done.stdout


def keep_opt_in_rules(rules: dict) -> dict:
    """Only rules that can accept a banner: a capture accepts, it never rejects."""
    kept = [r for r in rules.get("autoconsent", []) if isinstance(r, dict) and r.get("optIn")]
    return {"autoconsent": kept}


def refresh(version: str = "latest", out: Path | None = None,
            today: dt.date | None = None) -> tuple[Path, dict]:
    """Download ``@duckduckgo/autoconsent@version`` with npm and rewrite the snapshot."""
    out = DATA_DIR if out is None else out
    with tempfile.TemporaryDirectory(prefix="lcopia-autoconsent-") as tmp:
        work = Path(tmp)
        meta = json.loads(_npm(["view", f"{PACKAGE}@{version}", "--json", "version",
                                "license", "dist.integrity"], work))
        if isinstance(meta, list):
            meta = meta[-1]
        tgz = _npm(["pack", f"{PACKAGE}@{meta['version']}", "--silent"], work).strip()
        with tarfile.open(work / tgz.splitlines()[-1]) as tar:
            tar.extractall(work, filter="data")
        pkg = work / "package"
        rules = keep_opt_in_rules(json.loads((pkg / "rules" / "rules.json").read_text("utf-8")))
        out.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(pkg / "dist" / "autoconsent.playwright.js", out / SCRIPT_FILE)
        shutil.copyfile(pkg / "LICENSE", out / "LICENSE")
        (out / RULES_FILE).write_text(json.dumps(rules, separators=(",", ":")) + "\n",
                                      encoding="utf-8")
    snapshot = {
        "package": PACKAGE, "version": meta["version"], "license": meta.get("license"),
        "integrity": meta.get("dist.integrity"),
        "date": (today or dt.date.today()).isoformat(),
        "rules": len(rules["autoconsent"]),
        "files": {SCRIPT_FILE: "dist/autoconsent.playwright.js",
                  RULES_FILE: "rules/rules.json, rules with optIn steps only",
                  "LICENSE": "LICENSE"},
    }
    (out / SNAPSHOT_FILE).write_text(json.dumps(snapshot, indent=2) + "\n", encoding="utf-8")
    return out, snapshot


def info() -> str:
    snap = load_snapshot()
    return (f"{snap['package']} {snap['version']} ({snap['license']}), snapshot of "
            f"{snap['date']}: {snap['rules']} consent-manager rules that can accept")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lcopia.capture.refresh",
                                     description="Show or refresh the vendored autoconsent "
                                     "snapshot that lcopia capture injects into pages.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="print the snapshot's version, date and rule count")
    p = sub.add_parser("refresh", help="download the package with npm and rewrite the snapshot")
    p.add_argument("--version", default="latest", help="the npm version to take")
    p.add_argument("--out", type=Path, help="write here instead of the packaged snapshot")
    args = parser.parse_args(argv)
    try:
        if args.command == "refresh":
            out, snap = refresh(args.version, args.out)
            print(f"wrote {out}: {snap['package']} {snap['version']}, {snap['rules']} rules")
        else:
            print(info())
    except LcopiaError as exc:
        print(f"lcopia capture refresh: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":  # pragma: no cover - command line
    sys.exit(main())
