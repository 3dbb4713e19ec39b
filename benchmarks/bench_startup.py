"""Start-up cost of the notebook tools, with and without JupyterLab in the same environment.

Every notebook tool (papermill, nbval, nbconvert) imports nbformat, which imports jsonschema.
JupyterLab's server depends on ``jsonschema[format-nongpl]``; that extra installs
``rfc3987-syntax``, which jsonschema imports whenever it is present and which builds a Lark
grammar at import time. That is the whole cost: in one environment with JupyterLab, every
papermill, nbval and nbconvert start (and each ``lcopia assess``, which starts papermill and
nbconvert) pays for a grammar nobody uses.

The fix is where JupyterLab lives: ``make`` installs it into its own environment
(``.venv-lab``) and registers the project's interpreter as its kernel, so the notebooks still
run on the project's packages while the notebook tools never see the extra.

This script measures, in fresh interpreters (median of ``--runs``):

* ``papermill --help`` and one ``lcopia assess`` of the sample in the project environment
  (what ``make`` sets up), and
* the same two in an environment that also has JupyterLab (an overlay interpreter whose
  ``site-packages`` are the project's plus ``.venv-lab``'s, made in a temporary folder: what a
  single ``pip install jupyterlab`` into the project environment would give),

plus the import of ``rfc3987_syntax`` alone. Prints times and differences; asserts nothing
(speed lives in benchmarks, not in tests).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _site_packages(python: str) -> str:
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    return subprocess.run([python, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip()


def _prefix(python: str) -> str:
    return subprocess.run([python, "-c", "import sys; print(sys.prefix)"], capture_output=True,
                          text=True, check=True).stdout.strip()


def overlay_python(project_python: str, lab_python: str, folder: Path) -> str:
    """An interpreter that sees the project's packages and JupyterLab's, without installing."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    purelib = Path(sysconfig.get_paths(vars={"base": str(folder),
                                             "platbase": str(folder)})["purelib"])
    purelib.mkdir(parents=True, exist_ok=True)
    dirs = [_site_packages(project_python), _site_packages(lab_python)]
    lines = "; ".join(f"site.addsitedir({d!r})" for d in dirs)
    (purelib / "_lcopia_overlay.pth").write_text(f"import site; {lines}\n", encoding="utf-8")
    exe = folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    return str(exe)


def _time(argv: list[str], runs: int, env: dict[str, str] | None = None) -> float | None:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, check=False, env=env)
        if done.returncode != 0:
            sys.stderr.write(done.stderr.decode(errors="replace")[-2000:])
            return None
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _assess(python: str, out: Path, runs: int, jupyter_path: list[str]) -> float | None:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    # nbconvert finds its templates under <prefix>/share/jupyter; the overlay has no prefix
    # of its own, so both environments' folders are named.
    env["JUPYTER_PATH"] = os.pathsep.join(jupyter_path)
    shutil.rmtree(out, ignore_errors=True)
    argv = [python, "-m", "lcopia", "assess", "--data", str(ROOT / "data"), "--out", str(out),
            "--as-of", "2026-11-30", "--quiet"]
    samples = []
    for _ in range(runs):
        shutil.rmtree(out, ignore_errors=True)
        t = _time(argv, 1, env)
        if t is None:
            return None
        samples.append(t)
    return statistics.median(samples)


def _line(label: str, base: float | None, lab: float | None) -> str:
    if base is None or lab is None:
        return f"{label:<28} failed (see the error above)"
    return (f"{label:<28} {base:6.2f} s without, {lab:6.2f} s with JupyterLab "
            f"(+{lab - base:.2f} s, {lab / base:.2f}x)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable,
                        help="the project's interpreter (default: this one)")
    parser.add_argument("--lab-python", default=str(ROOT / ".venv-lab" / "bin" / "python"),
                        help="JupyterLab's interpreter (default: .venv-lab, made by make)")
    parser.add_argument("--runs", type=int, default=5, help="runs of papermill --help")
    parser.add_argument("--assess-runs", type=int, default=1, help="runs of lcopia assess")
    args = parser.parse_args()
    if not Path(args.lab_python).exists():
        print(f"no JupyterLab environment at {args.lab_python}: run 'make lab-env' once")
        return 0
    with tempfile.TemporaryDirectory(prefix="lcopia-bench-startup-") as tmp:
        both = overlay_python(args.python, args.lab_python, Path(tmp) / "overlay")
        has_rfc = subprocess.run([both, "-c", "import rfc3987_syntax"],
                                 capture_output=True, check=False).returncode == 0
        print(f"overlay environment imports rfc3987_syntax: {'yes' if has_rfc else 'no'}")
        help_argv = ["-m", "papermill", "--help"]
        base = _time([args.python, *help_argv], args.runs)
        lab = _time([both, *help_argv], args.runs)
        print(_line("papermill --help", base, lab))
        bare = _time([both, "-c", "pass"], args.runs)
        rfc = _time([both, "-c", "import rfc3987_syntax"], args.runs)
        if bare is not None and rfc is not None:
            print(f"{'import rfc3987_syntax':<28} {rfc - bare:6.2f} s (the Lark grammar)")
        shares = [str(Path(_prefix(p)) / "share" / "jupyter")
                  for p in (args.python, args.lab_python)]
        a_base = _assess(args.python, Path(tmp) / "out-base", args.assess_runs, shares)
        a_lab = _assess(both, Path(tmp) / "out-lab", args.assess_runs, shares)
        print(_line("lcopia assess (sample)", a_base, a_lab))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
