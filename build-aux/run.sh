#!/usr/bin/env bash
# Installs what is missing, builds Vidmark, creates the demo library on the
# first run and starts Vidmark on it.
#
# Starting means: index the demo library with the command line, then open the
# window on it; without a display, print what was found instead.
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

if [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; then
  # Uninstalled: the settings schema compiled into the build folder.
  schemas=$(cd "$builddir/data" && pwd)
  export GSETTINGS_SCHEMA_DIR="$schemas${GSETTINGS_SCHEMA_DIR:+:$GSETTINGS_SCHEMA_DIR}"
  exec "$vidmark"
fi

echo
echo "No display: here is the library on the command line (run \"vidmark\" on a desktop for the window)."
echo
"$vidmark" status
echo
"$vidmark" list
