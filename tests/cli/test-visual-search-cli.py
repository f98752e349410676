#!/usr/bin/env python3
# `vidmark search` with a model, end to end: a tiny random CLIP model is
# imported, the demo library generated and indexed (its frames embedded), and
# searched.  A random model means nothing about what matches: this checks the
# structure (signals, times, ranks, filters, the JSON object), not semantics.
# Prints TAP.  Usage: test-visual-search-cli.py VIDMARK PYTHON-WITH-NUMPY make-tiny-clip.py
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

VIDMARK, PYTHON, MAKE_TINY = sys.argv[1:4]
tmp = tempfile.mkdtemp(prefix="vm-visual-search-")
env = dict(os.environ)
env["XDG_CACHE_HOME"] = os.path.join(tmp, "cache")
env["XDG_DATA_HOME"] = os.path.join(tmp, "data")
env["XDG_CONFIG_HOME"] = os.path.join(tmp, "config")
# Every command starts the device and loads the model; the validation layer
# would double that.  The engine's own test (tests/search) runs under it.
env.pop("NO_COLOR", None)
lib = os.path.join(tmp, "demo")
cat = os.path.join(tmp, "catalog.sqlite")
state = {}

TIMESTAMP = r"\d+:\d\d:\d\d\.\d{3}"


def run(*args, check=None, catalog=True):
    cmd = [VIDMARK] + (["--catalog", cat] if catalog else []) + list(args)
    return run_checked(cmd, check, env=env, timeout=600)


def search_json(*args):
    return json.loads(run("search", "--json", *args, check=0).stdout)


def check_result(r, visual=True):
    assert set(r) >= {"query", "fts_query", "model", "notice", "signals_used", "example", "frames_scanned",
                      "refined", "timings", "moments"}, r
    assert set(r["timings"]) >= {"sync_ms", "encode_ms", "scan_ms", "curves_ms", "ground_ms", "text_ms",
                                 "total_ms", "refine_ms"}, r["timings"]
    for v in r["timings"].values():
        assert isinstance(v, (int, float)) and v >= 0, r["timings"]
    if visual:
        assert r["model"] == "tiny-quick-f32", r
        assert "visual" in r["signals_used"], r
        assert r["frames_scanned"] > 0, r
    order = ["subtitle", "ocr", "speech", "visual"]
    assert r["signals_used"] == [s for s in order if s in r["signals_used"]], r
    last = None
    for i, m in enumerate(r["moments"], 1):
        assert set(m) >= {"rank", "video_id", "path", "start", "end", "start_timestamp", "end_timestamp",
                          "start_ts", "end_ts", "score", "signals", "snippets"}, m
        assert m["rank"] == i, m
        assert 0 <= m["start"] < m["end"], m
        assert re.fullmatch(TIMESTAMP, m["start_ts"]) and re.fullmatch(TIMESTAMP, m["end_ts"]), m
        assert m["start_ts"] == m["start_timestamp"] and m["end_ts"] == m["end_timestamp"], m
        assert 0 <= m["score"] <= 1, m
        assert last is None or m["score"] <= last, r["moments"]
        last = m["score"]
        assert m["signals"] and m["signals"] == [s for s in order if s in m["signals"]], m
        assert set(m["signals"]) <= set(r["signals_used"]), (m, r["signals_used"])
        assert os.path.isabs(m["path"]), m
        dur = state["durations"].get(m["path"])
        assert dur is None or m["end"] <= dur + 0.01, (m, dur)
        if "visual" not in m["signals"]:
            assert m["snippets"], m


@case("a model is imported, the demo library indexed with embeddings")
def _():
    out = os.path.join(tmp, "models-src")
    subprocess.run([PYTHON, MAKE_TINY, out], check=True, capture_output=True, env=env, timeout=120)
    run("model", "import", os.path.join(out, "tiny-quick-f32"), check=0, catalog=False)
    run("demo", "--output", lib, "-q", check=0)
    run("add", lib, check=0)
    # Two frames a second, all kept, so that every clip has a curve worth grounding.
    run("index", "-q", "--mode", "rate", "--rate", "2", "--keep-every", "0", "--no-ocr", check=0)
    videos = json.loads(run("--json", "list", check=0).stdout)["videos"]
    assert len(videos) >= 4, videos
    state["videos"] = {v["path"]: v for v in videos}
    state["durations"] = {v["path"]: v["duration"] for v in videos if v.get("duration")}


@case("search --json: visual moments ranked with the text ones")
def _():
    r = search_json("a white ball bounces", "--top", "20")
    check_result(r)
    assert r["notice"] is None, r
    assert r["signals_used"] == ["subtitle", "ocr", "speech", "visual"], r
    assert any("visual" in m["signals"] for m in r["moments"]), r["moments"]
    # Each visual candidate video brings moments; more than one video shows up.
    assert len({m["path"] for m in r["moments"]}) >= 2, r["moments"]
    # A query with no word for the text index still searches the frames.
    r = search_json("***")
    check_result(r)
    assert r["moments"], r


@case("--visual-only, --text-only, --source")
def _():
    r = search_json("ball", "--visual-only", "--top", "5")
    check_result(r)
    assert r["signals_used"] == ["visual"], r
    assert r["moments"] and all(m["signals"] == ["visual"] and m["snippets"] == [] for m in r["moments"]), r
    assert len(r["moments"]) <= 5
    r = search_json("ball", "--text-only")
    check_result(r, visual=False)
    assert "visual" not in r["signals_used"], r
    assert r["moments"] and all(m["signals"] == ["subtitle"] for m in r["moments"]), r
    r = search_json("ball", "--source", "subtitle,visual")
    check_result(r)
    assert r["signals_used"] == ["subtitle", "visual"], r


@case("filters: --video, --folder, --min/--max-duration, --since/--until")
def _():
    # A video with a visual moment (a random model finds none in a clip whose frames are all alike).
    everything = search_json("ball", "--visual-only", "--top", "50")["moments"]
    one = everything[-1]["path"]
    r = search_json("ball", "--video", one, "--top", "50")
    check_result(r)
    assert r["moments"] and {m["path"] for m in r["moments"]} == {one}, r
    r = search_json("ball", "--folder", lib, "--top", "50")
    check_result(r)
    assert r["moments"] and all(m["path"].startswith(lib + "/") for m in r["moments"]), r
    assert search_json("ball", "--folder", os.path.join(tmp, "cache"))["moments"] == []
    assert search_json("ball", "--min-duration", "100000")["moments"] == []
    # A threshold between the clips' durations splits them; each side keeps to its own.
    durations = sorted(set(state["durations"].values()))
    assert len(durations) >= 2, durations
    cut = (durations[0] + durations[-1]) / 2
    longer = search_json("ball", "--min-duration", str(cut), "--top", "50")
    shorter = search_json("ball", "--max-duration", str(cut), "--top", "50")
    assert all(state["durations"][m["path"]] >= cut for m in longer["moments"]), longer
    assert all(state["durations"][m["path"]] <= cut for m in shorter["moments"]), shorter
    assert longer["moments"] or shorter["moments"]
    assert longer["frames_scanned"] + shorter["frames_scanned"] == search_json("ball")["frames_scanned"]
    assert search_json("ball", "--since", "2999-01-01")["moments"] == []
    assert search_json("ball", "--until", "1990-01-01")["moments"] == []
    assert search_json("ball", "--since", "1990-01-01", "--until", "2999-12-31")["moments"]


@case("--like PATH@TIME: query by example, the example's own moment left out")
def _():
    path = max(state["durations"], key=state["durations"].get)
    r = search_json("--like", f"{path}@2.5", "--top", "20")
    check_result(r)
    assert r["query"] is None and r["signals_used"] == ["visual"], r
    assert r["example"]["path"] == path and r["example"]["time"] == 2.5, r
    frame = r["example"]["frame_time"]
    assert abs(frame - 2.5) <= 1.0, r
    assert r["moments"], r
    for m in r["moments"]:
        assert m["signals"] == ["visual"], m
        assert not (m["path"] == path and m["start"] <= frame <= m["end"]), (m, frame)
    r2 = search_json("--like", f"{path}@0:00:02.500", "--top", "20")
    assert r2["moments"] == r["moments"], (r, r2)


@case("--refine sharpens or leaves the coarse moments; --timings")
def _():
    p = run("--json", "search", "ball", "--visual-only", "--refine=2", check=0)
    r = json.loads(p.stdout)
    check_result(r)
    assert r["moments"], r
    assert r["refined"] == min(2, len(r["moments"])), r
    assert "not refined" not in p.stderr, p.stderr
    assert r["timings"]["refine_ms"] > 0, r
    # Refining again finds the dense frames' embeddings cached.
    again = json.loads(run("--json", "search", "ball", "--visual-only", "--refine=2", check=0).stdout)
    assert [(m["path"], m["start"], m["end"]) for m in again["moments"]] == \
        [(m["path"], m["start"], m["end"]) for m in r["moments"]], (r, again)
    p = run("search", "ball", "--timings", check=0)
    lines = p.stdout.splitlines()
    assert re.match(rf"^1\. /.+  {TIMESTAMP}–{TIMESTAMP}  score \d\.\d{{3}}  \(.+\)$", lines[0]), lines
    assert lines[-1].startswith("timings: ") and "total" in lines[-1], lines


@case("a deleted file's video is never returned after re-indexing")
def _():
    path = sorted(state["videos"])[-1]
    os.remove(path)
    run("index", "-q", "--no-ocr", check=0)
    for q in ("ball", "***"):
        r = search_json(q, "--top", "100")
        assert all(m["path"] != path for m in r["moments"]), r
    r = search_json("--like", f"{sorted(state['videos'])[0]}@1", "--top", "100")
    assert all(m["path"] != path for m in r["moments"]), r


@case("usage errors and failures are clear, never crashes")
def _():
    some = sorted(state["videos"])[0]
    for args in (["ball", "--text-only", "--visual-only"], ["--like", "nowhere"], ["--like", f"{some}@-3"],
                 ["--like", f"{some}@1", "ball"], ["ball", "--since", "yesterday"],
                 ["ball", "--until", "2024-02-30"], ["ball", "--refine=0"], ["ball", "--min-duration", "-1"],
                 ["ball", "--min-duration", "10", "--max-duration", "5"], ["ball", "--source", "smell"],
                 ["ball", "--top", "0"]):
        p = run("search", *args, check=2)
        assert p.stderr.startswith("vidmark: "), (args, p.stderr)
    for args in (["ball", "--model", "no-such-model"], ["--like", "/nonexistent.mp4@1"],
                 ["ball", "--folder", "/nonexistent-folder"], ["ball", "--video", "/nonexistent.mp4"]):
        p = run("search", *args, check=1)
        assert p.stderr.startswith("vidmark: ") and p.stderr.count("\n") == 1, (args, p.stderr)
    p = run("search", "--help", check=0)
    for opt in ("--like", "--refine", "--visual-only", "--since", "--model", "--timings"):
        assert opt in p.stdout, (opt, p.stdout)


status = run_cases()
shutil.rmtree(tmp, ignore_errors=True)
sys.exit(status)
