#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Checks po/POTFILES.in against the source tree:
#  - every file under app/ (C sources and headers) that marks strings with _(), N_(), C_(),
#    NC_(), Q_() or ngettext() is listed;
#  - every GtkBuilder file under ui/ with translatable="yes" is listed;
#  - every data/ file that merges translations (*.desktop.in, *.metainfo.xml.in, *.gschema.xml)
#    is listed;
#  - every listed file exists.
# Usage: check-potfiles.sh SOURCE_ROOT
set -u

export LC_ALL=C
root=$(cd "${1:-.}" && pwd) || exit 1
potfiles="$root/po/POTFILES.in"

if [ ! -f "$potfiles" ]; then
  echo "check-potfiles: $potfiles not found"
  exit 1
fi

listed=$(mktemp)
wanted=$(mktemp)
trap 'rm -f "$listed" "$wanted"' EXIT

# Entries, without comments and blank lines (an optional [encoding: ...] line is ignored too).
sed -e 's/#.*$//' -e 's/[[:space:]]*$//' -e 's/^[[:space:]]*//' "$potfiles" \
  | grep -v -e '^$' -e '^\[' | sort -u > "$listed"

cd "$root" || exit 1

{
  if [ -d app ]; then
    find app -type f \( -name '*.c' -o -name '*.h' \) -print | sort | while read -r f; do
      if grep -q -E '(^|[^A-Za-z0-9_])(N_|C_|NC_|Q_|_|g_dngettext|ngettext|g_dpgettext2)[[:space:]]*\(' "$f"; then
        # A header that only defines the macros (no string literal inside) does not count.
        if grep -E '(^|[^A-Za-z0-9_])(N_|C_|NC_|Q_|_|g_dngettext|ngettext|g_dpgettext2)[[:space:]]*\([[:space:]]*"' "$f" >/dev/null; then
          echo "$f"
        fi
      fi
    done
  fi
  if [ -d ui ]; then
    find ui -type f -name '*.ui' -print | sort | while read -r f; do
      if grep -q 'translatable="yes"' "$f"; then
        echo "$f"
      fi
    done
  fi
  if [ -d data ]; then
    find data -maxdepth 1 -type f \( -name '*.desktop.in' -o -name '*.metainfo.xml.in' -o -name '*.gschema.xml' \) -print | sort
  fi
} | sort -u > "$wanted"

status=0

missing=$(comm -23 "$wanted" "$listed")
if [ -n "$missing" ]; then
  echo "check-potfiles: these files have translatable strings but are not in po/POTFILES.in; add the lines:"
  printf '%s\n' "$missing" | sed 's/^/  /'
  status=1
fi

for f in $(cat "$listed"); do
  if [ ! -f "$f" ]; then
    echo "check-potfiles: po/POTFILES.in lists $f, which does not exist"
    status=1
  fi
done

# Sorted, so that merges stay simple.
if ! sed -e 's/#.*$//' -e '/^[[:space:]]*$/d' "$potfiles" | sort -c 2>/dev/null; then
  echo "check-potfiles: po/POTFILES.in is not sorted (LC_ALL=C sort)"
  status=1
fi

if [ "$status" -eq 0 ]; then
  echo "check-potfiles: $(wc -l < "$listed") files listed, all present, none missing"
fi
exit "$status"
