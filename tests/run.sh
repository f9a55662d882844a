#!/bin/sh
# Runs every test binary given, prints each one's verdict and a closing summary line
# ("N passed, N failed") counted from cmocka's per-test results; a .py or .sh script counts
# as one test that passes when it exits 0.
set -u
passed=0; failed=0; bad_bins=""
for t in "$@"; do
  name=$(basename "$t")
  case "$t" in
    *.py) out=$(python3 "$t" 2>&1); rc=$? ;;
    *.sh) out=$(sh "$t" 2>&1); rc=$? ;;
    *)    out=$("$t" 2>&1); rc=$? ;;
  esac
  p=$(printf '%s\n' "$out" | grep -c '^\[       OK \]')
  case "$t" in *.py|*.sh) [ $rc -eq 0 ] && p=1 ;; esac
  f=$(printf '%s\n' "$out" | grep -c '^\[  FAILED  \] [a-z_0-9]*$\|^\[  ERROR   \]')
  if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  passed=$((passed + p)); failed=$((failed + f))
  if [ $rc -eq 0 ]; then
    printf '  ok    %-32s %4d tests\n' "$name" "$p"
  else
    printf '  FAIL  %-32s (exit %d)\n' "$name" "$rc"
    printf '%s\n' "$out" | tail -40 | sed 's/^/        | /'
    bad_bins="$bad_bins $name"
  fi
done
echo "tests ($BUILD): $passed passed, $failed failed"
[ -z "$bad_bins" ] || { echo "failing:$bad_bins"; exit 1; }
