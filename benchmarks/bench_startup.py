"""Start-up cost of the notebook tools, and what JupyterLab in the same environment adds.

Every notebook tool (papermill, nbval, nbconvert) imports nbformat, which imports jsonschema.
Measures, in fresh interpreters (median of several runs):
  * ``import papermill`` and ``import jsonschema`` in the project environment (.venv);
  * ``import jsonschema`` in an environment with JupyterLab (``--lab-python``, default
    .venv-lab/bin/python made by ``make lab``): there jupyter_server's
    ``jsonschema[format-nongpl]`` extras are installed, and jsonschema imports
    ``rfc3987_syntax``, which builds a Lark grammar at import time;
  * ``import rfc3987_syntax`` alone.
Prints the times and the ratio; asserts nothing (speed lives here, not in the tests).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _time(python: str, code: str, runs: int) -> float | None:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run([python, "-c", code], capture_output=True, check=False)
        if done.returncode != 0:
            return None
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--lab-python", default=str(ROOT / ".venv-lab" / "bin" / "python"))
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    papermill = _time(args.python, "import papermill", args.runs) or 0.0
    base = _time(args.python, "import jsonschema", args.runs) or 0.0
    print(f"import papermill,  project environment:       {papermill:.2f} s")
    print(f"import jsonschema, project environment:       {base:.2f} s")
    if not Path(args.lab_python).exists():
        print(f"(no JupyterLab environment at {args.lab_python}: run 'make lab' once)")
        return 0
    lab = _time(args.lab_python, "import jsonschema", args.runs)
    rfc = _time(args.lab_python, "import rfc3987_syntax", args.runs)
    bare = _time(args.lab_python, "pass", args.runs)
    if lab is not None:
        print(f"import jsonschema, JupyterLab environment:    {lab:.2f} s "
              f"(+{lab - base:.2f} s: what each notebook tool would pay in one environment)")
    if rfc is not None and bare is not None:
        print(f"import rfc3987_syntax alone (Lark grammar):   {rfc - bare:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
