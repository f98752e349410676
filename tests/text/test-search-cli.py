#!/usr/bin/env python3
# `vidmark search` end to end: the demo library is generated, added and
# indexed (subtitles and on-screen text by default), and its known words are
# searched for.  Prints TAP.  Usage: test-search-cli.py PATH-TO-VIDMARK
#
# SPDX-License-Identifier: GPL-3.0-or-later
import json
import os
import shutil
import subprocess
import sys
import tempfile

VIDMARK = sys.argv[1]
tmp = tempfile.mkdtemp(prefix="vm-search-cli-")
env = dict(os.environ)
env["XDG_CACHE_HOME"] = os.path.join(tmp, "cache")
env["XDG_DATA_HOME"] = os.path.join(tmp, "data")
env.pop("NO_COLOR", None)
lib = os.path.join(tmp, "demo")
cat = os.path.join(tmp, "catalog.sqlite")
results = []


def run(*args, check=None):
    cmd = [VIDMARK, "--catalog", cat] + list(args)
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    if check is not None and p.returncode != check:
        raise AssertionError(f"{' '.join(cmd)}: exit {p.returncode}, expected {check}\n"
                             f"stdout: {p.stdout}\nstderr: {p.stderr}")
    return p


def search_json(*args):
    return json.loads(run("search", "--json", *args, check=0).stdout)


def case(name):
    def wrap(fn):
        results.append((name, fn))
        return fn
    return wrap


@case("the demo library's words are found after the first index")
def _():
    run("demo", "--output", lib, "-q", check=0)
    run("add", lib, check=0)
    run("index", "-q", check=0)

    # Embedded subtitle track (MKV).
    r = search_json("ball")
    m = r["moments"][0]
    assert m["path"].endswith("subtitled.mkv"), m
    assert m["signals"] == ["subtitle"], m
    assert m["snippets"][0]["language"] in ("en", None), m
    assert "[ball]" in m["snippets"][0]["highlighted"].lower(), m
    # Sidecar .srt.
    m = search_json("colour bars")["moments"][0]
    assert m["path"].endswith("sidecar.mp4"), m
    assert abs(m["start"] - 0.0) < 0.01 and abs(m["end"] - 4.0) < 0.01, m
    # On-screen text (OCR).
    m = search_json("welcome")["moments"][0]
    assert m["path"].endswith("welcome.mp4"), m
    assert m["signals"] == ["ocr"], m
    assert 0.4 <= m["start"] <= 0.6 and 6.0 <= m["end"] <= 7.0, m


@case("search --json is stable and complete")
def _():
    r = search_json('"red ball"', "--top", "1")
    assert set(r) == {"query", "fts_query", "moments"}, r
    assert r["query"] == '"red ball"' and r["fts_query"] == '"red ball"', r
    assert len(r["moments"]) == 1
    m = r["moments"][0]
    assert set(m) == {"rank", "video_id", "path", "start", "end", "start_timestamp", "end_timestamp",
                      "score", "signals", "snippets"}, m
    assert m["rank"] == 1 and m["start_timestamp"] == "0:00:00.000", m
    assert m["end_timestamp"] == "0:00:03.500", m
    assert 0 < m["score"] <= 1
    s = m["snippets"][0]
    assert set(s) == {"source", "start", "end", "language", "text", "highlighted", "confidence", "score"}, s
    assert s["source"] == "subtitle" and s["start"] == 0.5 and s["end"] == 3.0, s
    assert s["highlighted"] == "A [red ball] bounces across the screen", s


@case("prefix, phrase, diacritics, filters, margins")
def _():
    # Prefix: "scree*" matches "screen" in two videos.
    paths = {m["path"].rsplit("/", 1)[1] for m in search_json("scree*")["moments"]}
    assert {"subtitled.mkv", "sidecar.mp4"} <= paths, paths
    # Phrase order matters.
    assert search_json('"ball red"')["moments"] == []
    # Diacritics fold.
    assert search_json("cólour")["moments"], "diacritics not folded"
    # One video only.
    r = search_json("scree*", "--video", os.path.join(lib, "sidecar.mp4"))
    assert [m["path"].rsplit("/", 1)[1] for m in r["moments"]] == ["sidecar.mp4"], r
    # One source only.
    assert search_json("welcome", "--source", "subtitle")["moments"] == []
    assert search_json("welcome", "--source", "ocr,speech")["moments"]
    # No margin: the cue's own times.
    m = search_json('"red ball"', "--margin", "0")["moments"][0]
    assert m["start"] == 0.5 and m["end"] == 3.0, m
    # --top
    assert len(search_json("the", "--top", "1")["moments"]) <= 1


@case("plain output: time range, score, signals, [highlight]")
def _():
    p = run("search", "ball", check=0)
    first = p.stdout.splitlines()[0]
    assert first.startswith("1. ") and "subtitled.mkv" in first, p.stdout
    assert "0:00:00.000–0:00:06.500" in first, first
    assert "(subtitle)" in first and "score" in first, first
    assert "[ball]" in p.stdout, p.stdout
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


print(f"1..{len(results)}")
failed = 0
for i, (name, fn) in enumerate(results, 1):
    try:
        fn()
        print(f"ok {i} - {name}")
    except Exception as e:  # noqa: BLE001 - report every failure as TAP
        failed += 1
        print(f"not ok {i} - {name}")
        for line in str(e).splitlines():
            print(f"# {line}")
    sys.stdout.flush()

shutil.rmtree(tmp, ignore_errors=True)
sys.exit(1 if failed else 0)
