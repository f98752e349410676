#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Checks the structure of the Flatpak manifest (it does not build it).

Usage: check-flatpak-manifest.py MANIFEST APP_ID
Prints TAP.
"""

import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from vmtap import check, report_checks  # noqa: E402

HEX64 = re.compile(r"^[0-9a-f]{64}$")
HEX40 = re.compile(r"^[0-9a-f]{40}$")


def main():
    if len(sys.argv) != 3:
        print("usage: check-flatpak-manifest.py MANIFEST APP_ID", file=sys.stderr)
        return 2
    path, app_id = sys.argv[1], sys.argv[2]

    try:
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
    except (OSError, ValueError) as e:
        print("1..1")
        print(f"not ok 1 - manifest parses as JSON # {e}")
        return 1
    check("manifest parses as JSON", isinstance(manifest, dict))

    check("id is the application ID",
          manifest.get("id", manifest.get("app-id")) == app_id,
          f"got {manifest.get('id', manifest.get('app-id'))!r}")
    check("runtime is org.gnome.Platform", manifest.get("runtime") == "org.gnome.Platform")
    check("sdk is org.gnome.Sdk", manifest.get("sdk") == "org.gnome.Sdk")
    check("runtime-version is 47", manifest.get("runtime-version") == "47",
          f"got {manifest.get('runtime-version')!r}")
    check("command is vidmark", manifest.get("command") == "vidmark")

    args = manifest.get("finish-args", [])
    check("finish-args is a list of strings",
          isinstance(args, list) and all(isinstance(a, str) for a in args))
    for needed in ("--share=ipc", "--socket=wayland", "--socket=fallback-x11", "--device=dri",
                   "--share=network", "--filesystem=xdg-videos:ro"):
        check(f"finish-args has {needed}", needed in args)
    too_broad = [a for a in args
                 if re.match(r"^--filesystem=(home|host|host-os|~)(/?)(:rw)?$", a)
                 or a in ("--socket=x11", "--device=all", "--filesystem=/")]
    check("finish-args asks for no broad access", not too_broad, f"found {too_broad}")
    check("finish-args has no duplicates", len(args) == len(set(args)))

    modules = manifest.get("modules", [])
    check("modules is a non-empty list", isinstance(modules, list) and modules)
    names = [m.get("name") for m in modules if isinstance(m, dict)]
    check("every module is an object with a name",
          len(names) == len(modules) and all(isinstance(n, str) and n for n in names))
    check("module names are unique", len(names) == len(set(names)))
    for needed in ("glslang", "leptonica", "tesseract"):
        check(f"module {needed} is present", needed in names)
    if "leptonica" in names and "tesseract" in names:
        check("leptonica is built before tesseract",
              names.index("leptonica") < names.index("tesseract"))

    for m in modules:
        if not isinstance(m, dict):
            continue
        name = m.get("name")
        sources = m.get("sources", [])
        check(f"module {name} has sources", isinstance(sources, list) and sources)
        check(f"module {name} has a buildsystem",
              m.get("buildsystem") in ("meson", "cmake", "cmake-ninja", "autotools", "simple", "qmake"))
        if m.get("buildsystem") == "simple":
            check(f"module {name} has build-commands", m.get("build-commands"))
        for i, s in enumerate(sources):
            kind = s.get("type")
            label = f"module {name} source {i} ({kind})"
            if kind in ("archive", "file"):
                check(f"{label} has an https url", str(s.get("url", "")).startswith("https://"))
                check(f"{label} is pinned by sha256", HEX64.match(str(s.get("sha256", ""))),
                      f"sha256 {s.get('sha256')!r}")
            elif kind == "git":
                check(f"{label} is pinned by commit", HEX40.match(str(s.get("commit", ""))))
            elif kind == "dir":
                check(f"{label} has a path", s.get("path"))
            else:
                check(f"{label} has a known type", False, f"type {kind!r}")

    last = modules[-1] if modules and isinstance(modules[-1], dict) else {}
    check("the last module is vidmark", last.get("name") == "vidmark")
    check("vidmark builds with meson", last.get("buildsystem") == "meson")
    src = last.get("sources", [{}])
    check("vidmark is built from the source tree",
          len(src) == 1 and src[0].get("type") == "dir" and src[0].get("path") == "..")
    tree = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(path)), ".."))
    check("the source tree path holds the top-level meson.build",
          os.path.isfile(os.path.join(tree, "meson.build")), tree)
    check("vidmark is built without its test suite", "-Dtests=false" in last.get("config-opts", []))

    ext = manifest.get("add-extensions", {})
    ffmpeg = ext.get("org.freedesktop.Platform.ffmpeg-full")
    check("the ffmpeg-full codecs extension is declared", isinstance(ffmpeg, dict))
    if isinstance(ffmpeg, dict):
        check("the codecs extension matches the runtime's freedesktop branch",
              ffmpeg.get("version") == "24.08")
        mount = ffmpeg.get("directory", "")
        check("the codecs extension's mount point is created",
              any(mount in c for c in manifest.get("cleanup-commands", [])))

    return report_checks()


if __name__ == "__main__":
    sys.exit(main())
