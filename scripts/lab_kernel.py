"""Register the project's Python as the ``python3`` kernel of the JupyterLab environment.

JupyterLab lives in its own environment (``.venv-lab``) because its server pulls in
``jsonschema[format-nongpl]``, whose ``rfc3987-syntax`` builds a Lark grammar on import and
adds about a second to every papermill, nbval and nbconvert start (see
``benchmarks/bench_startup.py``). The notebooks still run on the project's own interpreter,
with the same settings ``make`` gives the runner.

Usage: python scripts/lab_kernel.py LAB_PREFIX PROJECT_PYTHON BUILD_DIR
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    prefix, build = Path(argv[0]).resolve(), Path(argv[2]).resolve()
    # absolute, not resolved: a venv's python is a symlink to the base interpreter, and
    # following it would start the kernel without the project's packages
    python = Path(argv[1]).absolute()
    kernel = prefix / "share" / "jupyter" / "kernels" / "python3"
    kernel.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (lcopia)",
        "language": "python",
        "env": {"IPYTHONDIR": str(build / "ipython"), "MPLCONFIGDIR": str(build / "matplotlib"),
                "PYDEVD_DISABLE_FILE_VALIDATION": "1"},
        "metadata": {"debugger": True},
    }
    (kernel / "kernel.json").write_text(json.dumps(spec, indent=1) + "\n", encoding="utf-8")
    print(f"kernel python3 -> {python}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
