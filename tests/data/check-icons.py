#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Checks the application icons.

Usage: check-icons.py SOURCE_ROOT APP_ID
Prints TAP.
"""

import os
import re
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from vmtap import check, report_checks  # noqa: E402

SVG = "{http://www.w3.org/2000/svg}"


def load(path, label):
    if not os.path.isfile(path):
        check(f"{label} exists", False, path)
        return None
    check(f"{label} exists", True)
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        check(f"{label} is well-formed XML", False, str(e))
        return None
    check(f"{label} is well-formed XML", True)
    check(f"{label} is an SVG document", root.tag == SVG + "svg", root.tag)
    return root


def style_props(el):
    props = {}
    for part in el.get("style", "").split(";"):
        if ":" in part:
            k, v = part.split(":", 1)
            props[k.strip()] = v.strip()
    for k in ("fill", "stroke"):
        if el.get(k) is not None:
            props[k] = el.get(k)
    return props


def common(root, label):
    tags = {el.tag.replace(SVG, "") for el in root.iter()}
    check(f"{label} has no text (fonts differ between systems)", not tags & {"text", "tspan"})
    check(f"{label} embeds or links no images", "image" not in tags)
    hrefs = [v for el in root.iter() for k, v in el.attrib.items()
             if k.endswith("href") and not v.startswith("#")]
    check(f"{label} has no external references", not hrefs, f"{hrefs}")


def main():
    root_dir, app_id = sys.argv[1], sys.argv[2]
    icons = os.path.join(root_dir, "data", "icons", "hicolor")

    label = "application icon"
    icon = load(os.path.join(icons, "scalable", "apps", app_id + ".svg"), label)
    if icon is not None:
        check(f"{label} has a 128x128 viewBox", icon.get("viewBox") == "0 0 128 128",
              icon.get("viewBox"))
        common(icon, label)
        shapes = [el for el in icon.iter()
                  if el.tag.replace(SVG, "") in ("path", "rect", "circle", "ellipse", "polygon")]
        check(f"{label} draws something", len(shapes) >= 5, f"{len(shapes)} shapes")

    label = "symbolic icon"
    sym = load(os.path.join(icons, "symbolic", "apps", app_id + "-symbolic.svg"), label)
    if sym is not None:
        check(f"{label} has a 16x16 viewBox", sym.get("viewBox") == "0 0 16 16", sym.get("viewBox"))
        common(sym, label)
        colours = set()
        strokes = []
        for el in sym.iter():
            props = style_props(el)
            if "fill" in props and props["fill"] != "none":
                colours.add(props["fill"].lower())
            if props.get("stroke", "none") != "none":
                strokes.append(props["stroke"])
        # GTK recolours symbolic icons by fill only: a stroke would keep its colour in dark mode.
        check(f"{label} uses fills, not strokes", not strokes, f"{strokes}")
        check(f"{label} uses a single colour", len(colours) <= 1, f"{sorted(colours)}")
        check(f"{label} has no gradients",
              not any(el.tag.replace(SVG, "").endswith("Gradient") for el in sym.iter()))

    desktop_in = os.path.join(root_dir, "data", app_id + ".desktop.in")
    try:
        with open(desktop_in, encoding="utf-8") as f:
            m = re.search(r"^Icon=(.*)$", f.read(), re.M)
        check("the desktop file names the application icon", m and m.group(1) == app_id,
              m.group(1) if m else "no Icon= line")
    except OSError as e:
        check("the desktop file names the application icon", False, str(e))

    return report_checks()


if __name__ == "__main__":
    sys.exit(main())
