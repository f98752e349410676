#!/usr/bin/env python3
# `vidmark search` end to end: the demo library is generated, added and
# indexed (subtitles and on-screen text by default), and its known words are
# searched for.  Prints TAP.  Usage: test-search-cli.py PATH-TO-VIDMARK
#
# SPDX-License-Identifier: GPL-3.0-or-later
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from vmtap import case, run_cases, run_checked  # noqa: E402

VIDMARK = sys.argv[1]
tmp = tempfile.mkdtemp(prefix="vm-search-cli-")
env = dict(os.environ)
env["XDG_CACHE_HOME"] = os.path.join(tmp, "cache")
env["XDG_DATA_HOME"] = os.path.join(tmp, "data")
env.pop("NO_COLOR", None)
lib = os.path.join(tmp, "demo")
own = os.path.join(tmp, "own")
cat = os.path.join(tmp, "catalog.sqlite")


def run(*args, check=None):
    cmd = [VIDMARK, "--catalog", cat] + list(args)
    return run_checked(cmd, check, env=env, timeout=600)


def search_json(*args):
    return json.loads(run("search", "--json", *args, check=0).stdout)


def iou(a, b):
    inter = min(a[1], b[1]) - max(a[0], b[0])
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if inter > 0 and union > 0 else 0.0


@case("the demo library's known words are found after the first index")
def _():
    run("demo", "--output", lib, "-q", check=0)
    # The README lists what each clip says, shows and subtitles, with times.
    entries = []
    clip = None
    for line in open(os.path.join(lib, "README.txt"), encoding="utf-8"):
        m = re.match(r"^(\S+\.(?:mp4|mkv|webm)) — ", line)
        if m:
            clip = m.group(1)
            continue
        m = re.match(r"^\s+(subtitle|sidecar subtitle|on screen) ([\d.]+)–([\d.]+) s: “(.*)”", line)
        if m and clip:
            entries.append((clip, m.group(1), float(m.group(2)), float(m.group(3)), m.group(4)))
    assert len(entries) >= 4, entries
    assert any(e[1] == "on screen" for e in entries), entries

    run("add", lib, check=0)
    run("index", "-q", check=0)

    # One query per listed entry: a word of its own, the longest.
    words = {}
    for e in entries:
        for w in re.findall(r"[A-Za-z]+", e[4]):
            words.setdefault(w.lower(), set()).add(e)
    found = queried = 0
    for e in entries:
        own_words = [w for w in re.findall(r"[A-Za-z]+", e[4]) if len(words[w.lower()]) == 1]
        if not own_words:
            continue
        q = max(own_words, key=len)
        queried += 1
        r = search_json(q)
        ok = False
        if r["moments"]:
            m = r["moments"][0]
            ok = m["path"].endswith("/" + e[0]) and iou((m["start"], m["end"]), (e[2], e[3])) >= 0.5
        print(f"# demo: {q!r} → {r['moments'][0]['path'].rsplit('/', 1)[1] if r['moments'] else None}"
              f" ({e[1]} {e[2]}–{e[3]} s in {e[0]}){'' if ok else '  MISS'}")
        found += ok
    assert queried >= 4 and found == queried, f"{found} of {queried} demo entries found"

    # Own clips with known sidecars, for the checks below.
    os.makedirs(own)
    shutil.copy(os.path.join(lib, "bars-h264.mp4"), os.path.join(own, "clip.mp4"))
    shutil.copy(os.path.join(lib, "bars-h264.mp4"), os.path.join(own, "other.mp4"))
    with open(os.path.join(own, "clip.en.srt"), "w", encoding="utf-8") as f:
        f.write("1\n00:00:00,500 --> 00:00:03,000\nA red ball bounces across the screen\n\n"
                "2\n00:00:03,500 --> 00:00:06,000\nThe ball stops near the corner\n")
    with open(os.path.join(own, "other.fr.srt"), "wb") as f:
        f.write("1\n00:00:01,000 --> 00:00:02,500\nLe café est fermé\n".encode("latin-1"))

    run("add", own, check=0)
    run("index", "-q", check=0)



@case("search --json is stable and complete")
def _():
    r = search_json('"red ball"', "--top", "1")
    # Fields are only ever added (docs/CLI.md); the search engine's are checked here too.
    assert set(r) >= {"query", "fts_query", "moments", "model", "notice", "signals_used", "timings"}, r
    assert r["query"] == '"red ball"' and r["fts_query"] == '"red ball"', r
    assert r["model"] is None and "vidmark model" in r["notice"], r
    assert r["signals_used"] == ["subtitle", "ocr", "speech"], r
    assert len(r["moments"]) == 1
    m = r["moments"][0]
    assert set(m) >= {"rank", "video_id", "path", "start", "end", "start_timestamp", "end_timestamp",
                      "score", "signals", "snippets"}, m
    assert m["path"] == os.path.join(own, "clip.mp4"), m
    assert m["rank"] == 1 and m["start_timestamp"] == "0:00:00.000", m
    assert m["end_timestamp"] == "0:00:03.500", m
    assert m["signals"] == ["subtitle"], m
    assert 0 < m["score"] <= 1
    s = m["snippets"][0]
    assert set(s) == {"source", "start", "end", "language", "text", "highlighted", "confidence", "score"}, s
    assert s["source"] == "subtitle" and s["start"] == 0.5 and s["end"] == 3.0, s
    assert s["language"] == "en", s
    assert s["highlighted"] == "A [red ball] bounces across the screen", s


@case("prefix, phrase, diacritics, filters, margins")
def _():
    clip = os.path.join(own, "clip.mp4")
    other = os.path.join(own, "other.mp4")
    assert [m["path"] for m in search_json("corn*")["moments"]] == [clip]
    assert search_json('"ball red"')["moments"] == []
    # Diacritics fold both ways; the Latin-1 sidecar was decoded and its language kept.
    for q in ("cafe", "CAFÉ", "ferme"):
        r = search_json(q)["moments"]
        assert [m["path"] for m in r] == [other], (q, r)
        assert r[0]["snippets"][0]["language"] == "fr", r
        assert r[0]["snippets"][0]["text"] == "Le café est fermé", r
    # One video only.
    assert search_json("ball", "--video", other)["moments"] == []
    assert [m["path"] for m in search_json("ball", "--video", clip)["moments"]] == [clip]
    # One source only: the on-screen WELCOME is OCR, not subtitles.
    assert search_json("welcome", "--source", "subtitle")["moments"] == []
    assert search_json("welcome", "--source", "ocr,speech")["moments"]
    # No margin: the cue's own times.
    m = search_json('"red ball"', "--margin", "0")["moments"][0]
    assert m["start"] == 0.5 and m["end"] == 3.0, m
    assert len(search_json("the", "--top", "1")["moments"]) == 1


@case("plain output: time range, score, signals, [highlight]")
def _():
    p = run("search", "corner", check=0)
    first = p.stdout.splitlines()[0]
    assert first.startswith("1. ") and "clip.mp4" in first, p.stdout
    assert "0:00:03.000–0:00:06.500" in first, first
    assert "(subtitle)" in first and "score" in first, first
    assert "[corner]" in p.stdout, p.stdout
    assert "\033[" not in p.stdout
    p = run("search", "zebra crossing", check=0)
    assert "No moment matches" in p.stdout, p.stdout


@case("bad queries and options are usage errors, never crashes")
def _():
    for q in ['"', "*", "-", "  ", '""']:
        p = run("search", q, check=2)
        assert p.stderr.startswith("vidmark: ") and p.stderr.count("\n") == 1, p.stderr
    run("search", check=2)
    run("search", "x", "--top", "0", check=2)
    run("search", "x", "--margin", "-1", check=2)
    run("search", "x", "--source", "smell", check=2)
    for q in ["NEAR(a b)", "a AND", "OR", "col:x", "^x", "x -y", "(x", "'; DROP TABLE videos; --", "\"x\"*y"]:
        run("search", q, check=0)
    p = run("search", "x", "--video", "/nonexistent/video.mkv", check=1)
    assert "not in the catalog" in p.stderr, p.stderr
    p = run("search", "--help", check=0)
    assert "--top" in p.stdout and "--video" in p.stdout, p.stdout
    assert "search" in run("--help", check=0).stdout


status = run_cases()
shutil.rmtree(tmp, ignore_errors=True)
sys.exit(status)
