#!/usr/bin/env bash
# Installs what is missing, builds Vidmark and runs the whole test suite under
# Xvfb and a D-Bus session, with Mesa's lavapipe as the Vulkan device and the
# Khronos validation layer on; then the engine tests again under
# AddressSanitizer and UndefinedBehaviorSanitizer.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

bash build-aux/install-deps.sh

jobs=$(nproc)
main=${VIDMARK_BUILDDIR:-_build/test}
asan=${VIDMARK_ASAN_BUILDDIR:-_build/asan}

# Vulkan on the CPU: lavapipe, with validation.
lvp=$(ls /usr/share/vulkan/icd.d/lvp_icd.*.json 2>/dev/null | head -n 1 || true)
if [ -n "$lvp" ]; then
  export VK_DRIVER_FILES="$lvp" VK_ICD_FILENAMES="$lvp"
fi
export VIDMARK_VULKAN_VALIDATION=1
# Tests must not touch the user's data or cache.
export XDG_DATA_HOME="$here/$main/test-home/data"
export XDG_CACHE_HOME="$here/$main/test-home/cache"
export XDG_CONFIG_HOME="$here/$main/test-home/config"
mkdir -p "$XDG_DATA_HOME" "$XDG_CACHE_HOME" "$XDG_CONFIG_HOME"

setup() {
  local dir=$1; shift
  if [ -f "$dir/build.ninja" ]; then
    meson setup --reconfigure "$dir" "$@" >/dev/null
  else
    meson setup "$dir" "$@"
  fi
}

status=0

echo "== Build (debugoptimized) =="
setup "$main" --buildtype=debugoptimized
meson compile -C "$main"

echo "== Test suite (Xvfb, D-Bus, lavapipe) =="
rm -f "$main"/meson-logs/testlog-*.json "$asan"/meson-logs/testlog-*.json 2>/dev/null || true
dbus-run-session -- xvfb-run -a -s "-screen 0 1280x800x24 -nolisten tcp" \
  env GDK_BACKEND=x11 GSK_RENDERER=cairo \
  meson test -C "$main" --print-errorlogs --num-processes "$jobs" --no-suite fuzz || status=1
cp "$main/meson-logs/testlog.json" "$main/meson-logs/testlog-suite.json"

echo "== Engine tests under AddressSanitizer + UndefinedBehaviorSanitizer =="
setup "$asan" --buildtype=debug -Dsanitizers=true
meson compile -C "$asan"
ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:halt_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  meson test -C "$asan" --suite engine --print-errorlogs --num-processes "$jobs" \
    --timeout-multiplier 3 || status=1
cp "$asan/meson-logs/testlog.json" "$asan/meson-logs/testlog-suite.json"

echo "== Fuzzers (libFuzzer with clang, briefly) =="
if command -v clang >/dev/null; then
  VIDMARK_FUZZ=1 VIDMARK_FUZZ_SECONDS=${VIDMARK_FUZZ_SECONDS:-15} \
    meson test -C "$main" --suite fuzz --print-errorlogs || status=1
  cp "$main/meson-logs/testlog.json" "$main/meson-logs/testlog-fuzz.json"
else
  echo "clang is not installed: fuzzers skipped"
fi

# One closing line over all runs.
python3 - "$main/meson-logs/testlog-suite.json" "$asan/meson-logs/testlog-suite.json" \
  "$main/meson-logs/testlog-fuzz.json" <<'PY'
import json, sys, os
passed = failed = skipped = 0
for log in sys.argv[1:]:
    if not os.path.exists(log):
        continue
    for line in open(log):
        r = json.loads(line).get("result")
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY

exit $status
