#!/usr/bin/env bash
# Installs what is missing, builds Vidmark, creates the demo library on the
# first run and starts Vidmark on it.
#
# Until the window exists, "starting" means: index the demo library with the
# command line and print what it found.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

bash build-aux/install-deps.sh

builddir=${VIDMARK_BUILDDIR:-_build/run}
if [ ! -f "$builddir/build.ninja" ]; then
  meson setup "$builddir" --buildtype=release -Dtests=false
fi
meson compile -C "$builddir"

vidmark="$builddir/app/cli/vidmark"
demo="${XDG_DATA_HOME:-$HOME/.local/share}/vidmark/demo"

if [ ! -f "$demo/README.txt" ]; then
  echo "Creating the demo library in $demo …"
  "$vidmark" demo --output "$demo"
fi

"$vidmark" add "$demo"
"$vidmark" index
echo
"$vidmark" status
echo
"$vidmark" list
