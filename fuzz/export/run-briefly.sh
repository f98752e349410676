#!/bin/sh
# Builds the dataset importers' libFuzzer target with clang (in
# BUILD_ROOT/fuzz-clang) and runs it for SECONDS (default 30, or
# $VIDMARK_FUZZ_SECONDS) from a copy of tests/export/corpus.  A crash, leak or
# sanitizer report fails the run; the input is kept in
# BUILD_ROOT/fuzz-artifacts/export-*.
#
# Usage: run-briefly.sh SOURCE_ROOT BUILD_ROOT [SECONDS]
# As a meson test (suite 'fuzz') it is skipped unless VIDMARK_FUZZ=1.
#
# SPDX-License-Identifier: GPL-3.0-or-later
set -eu

src=$1
build=$2
secs=${3:-${VIDMARK_FUZZ_SECONDS:-30}}

if [ "${VIDMARK_FUZZ:-0}" != 1 ] && [ $# -lt 3 ]; then
  echo "skipped: set VIDMARK_FUZZ=1 to build and run the export fuzzer"
  exit 77
fi
command -v clang >/dev/null || { echo "skipped: clang is not installed"; exit 77; }

dir="$build/fuzz-clang"
[ -f "$dir/build.ninja" ] || CC=clang meson setup "$dir" "$src" --buildtype=debugoptimized -Dsanitizers=false >/dev/null
ninja -C "$dir" fuzz/export/fuzz-import

corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT INT TERM
cp "$src"/tests/export/corpus/* "$corpus"/
mkdir -p "$build/fuzz-artifacts"
echo "== fuzz-import for ${secs}s"
"$dir/fuzz/export/fuzz-import" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -print_final_stats=1 -artifact_prefix="$build/fuzz-artifacts/export-" "$corpus"
