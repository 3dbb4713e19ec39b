#!/usr/bin/env bash
# Packaging check, run by `make test` after pytest: build the wheel, install it apart from the
# source tree (its dependencies come from the project environment, so this takes seconds),
# then, from a folder outside the repository, start a new library with `lcopia init`, and run
# the whole assessment on the packaged sample (`lcopia init --sample`).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
py="$root/.venv/bin/python"
work=$(mktemp -d "${TMPDIR:-/tmp}/lcopia-pkgcheck.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$py" -m pip wheel --quiet --no-deps --wheel-dir "$work/dist" "$root" >/dev/null 2>&1 \
  || "$py" -m pip wheel --no-deps --wheel-dir "$work/dist" "$root"
"$py" -m pip install --quiet --no-deps --target "$work/site" "$work"/dist/lcopia-*.whl
cd "$work"
export PYTHONPATH="$work/site" LCOPIA_DATA=
run() { "$py" -P -m lcopia "$@"; }
"$py" -P -c 'import sys, lcopia; assert lcopia.__file__.startswith(sys.argv[1]), lcopia.__file__' \
  "$work/site"

# a new library: validate must name the placeholders to replace (exit 2)
run init mylib >/dev/null
set +e
out=$(run validate --data mylib 2>&1); rc=$?
set -e
if [ "$rc" -ne 2 ] || ! grep -q "placeholder" <<<"$out"; then
  echo "packaging check: 'validate' of a new project should exit 2 naming placeholders" >&2
  echo "$out" >&2
  exit 1
fi

# the packaged sample: the whole assessment, outside the repository
run init --sample sample >/dev/null
run validate --data sample >/dev/null
run assess --data sample --out reports --as-of 2026-11-30 --quiet >/dev/null
for f in reports/2026-11-30/board-report.html reports/2026-11-30/board-report.pdf \
         reports/2026-11-30/results.json; do
  [ -s "$f" ] || { echo "packaging check: $f was not written" >&2; exit 1; }
done
echo "packaging check: wheel installed apart; init, validate and assess ran outside the repository"
