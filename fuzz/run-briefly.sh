#!/bin/sh
# Builds the libFuzzer targets with clang in BUILD_ROOT/fuzz-clang and runs
# each for SECONDS (default 30, or $VIDMARK_FUZZ_SECONDS).  A crash, leak or
# sanitizer report fails; its input is kept in BUILD_ROOT/fuzz-artifacts/.
#
# Usage: run-briefly.sh SOURCE_ROOT BUILD_ROOT [SECONDS]
# As a meson test (suite 'fuzz') it is skipped unless VIDMARK_FUZZ=1: it
# takes a few minutes.
#
# SPDX-License-Identifier: GPL-3.0-or-later
set -eu

src=$1
build=$2
secs=${3:-${VIDMARK_FUZZ_SECONDS:-30}}

if [ "${VIDMARK_FUZZ:-0}" != 1 ] && [ $# -lt 3 ]; then
  echo "skipped: set VIDMARK_FUZZ=1 to build and run the fuzzers (a few minutes)"
  exit 77
fi
if ! command -v clang >/dev/null; then
  echo "skipped: clang is not installed"
  exit 77
fi

dir="$build/fuzz-clang"
if [ ! -f "$dir/build.ninja" ]; then
  CC=clang meson setup "$dir" "$src" --buildtype=debugoptimized -Dsanitizers=false >/dev/null
fi
ninja -C "$dir" fuzz/fuzz-safetensors fuzz/fuzz-tokenizer fuzz/fuzz-clip-config

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
artifacts="$build/fuzz-artifacts"
mkdir -p "$artifacts"

python=$(command -v python3 || true)
st_seeds=
if [ -n "$python" ]; then
  "$python" "$src/tests/model/make-safetensors.py" "$work/st"
  st_seeds="$work/st/corpus"
  bpe="${VIDMARK_SHARED_DIR:-$src/../shared}/data/clip-bpe/bpe_simple_vocab_16e6.txt.gz"
  if [ -f "$bpe" ] && "$python" "$src/tests/model/make-clip-vocab.py" "$bpe" "$work/vocab"; then
    export VIDMARK_FUZZ_VOCAB_DIR="$work/vocab"
  fi
fi

for t in safetensors tokenizer clip-config; do
  mkdir -p "$work/$t"
  seeds="$src/fuzz/corpus/$t"
  [ "$t" = safetensors ] && seeds=$st_seeds
  echo "== fuzz-$t for ${secs}s"
  # shellcheck disable=SC2086
  "$dir/fuzz/fuzz-$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -max_len=200000 -print_final_stats=1 -artifact_prefix="$artifacts/$t-" \
    "$work/$t" $seeds
done
