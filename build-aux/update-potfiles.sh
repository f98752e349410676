#!/bin/sh
# Rewrites po/POTFILES.in from the files that mark strings for translation.
# tests/data/check-potfiles.sh checks the result.
set -eu
cd "$(dirname "$0")/.."
{
  echo "# Files with translatable strings, relative to the top of the source tree."
  echo "# Regenerate with build-aux/update-potfiles.sh; tests/data/check-potfiles.sh checks it."
  {
    ls data/*.desktop.in data/*.metainfo.xml.in data/*.gschema.xml 2>/dev/null
    grep -rlE '\b(N?C?_|Q_|NC_|g?d?n?gettext|g_dngettext)\(' app --include='*.c' --include='*.h' 2>/dev/null || true
    grep -rl 'translatable="yes"' ui --include='*.ui' 2>/dev/null || true
  } | LC_ALL=C sort -u
} > po/POTFILES.in
