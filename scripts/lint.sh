#!/usr/bin/env bash
# Checks formatting (clang-format-19, repo .clang-format files) and runs clang-tidy-19 (repo
# .clang-tidy) over the project's userspace sources using the build's compile_commands.json.
#   scripts/lint.sh [BUILD_DIR]        FIX=1 scripts/lint.sh   rewrites formatting instead
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build}

mapfile -t format_files < <(git ls-files --cached --others --exclude-standard \
  '*.cpp' '*.h' '*.c' | grep -vE '^(build|third_party)/' | grep -v '_corpus/')
if [[ ${FIX:-0} == 1 ]]; then
  clang-format-19 -i "${format_files[@]}"
else
  clang-format-19 --dry-run --Werror "${format_files[@]}"
fi
echo "lint: clang-format ok (${#format_files[@]} files)"

mapfile -t tidy_files < <(git ls-files --cached --others --exclude-standard 'userspace/*.cpp')
run-clang-tidy-19 -quiet -p "$build_dir" -j "$(nproc)" -clang-tidy-binary clang-tidy-19 \
  "${tidy_files[@]/#/$PWD/}" >"$build_dir/clang-tidy.log" 2>&1 || {
  grep -E 'error:|warning:' "$build_dir/clang-tidy.log" | sort -u | head -50
  echo "lint: clang-tidy failed (full log: $build_dir/clang-tidy.log)" >&2
  exit 1
}
echo "lint: clang-tidy ok (${#tidy_files[@]} files)"
