#!/usr/bin/env python3
# End-to-end tests of `vidmark export`, `import` and `eval`, and of the
# atomicity of export under SIGKILL.  Prints TAP.
# Usage: test-export-cli.py PATH-TO-VIDMARK
#
# SPDX-License-Identifier: GPL-3.0-or-later
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from vmtap import case, run_cases, run_checked  # noqa: E402

VIDMARK = sys.argv[1]
tmp = tempfile.mkdtemp(prefix="vm-export-cli-")
cat = os.path.join(tmp, "catalog.sqlite")
lib = os.path.join(tmp, "lib")
N_VIDEOS = 100
N_BIG = 5000


def run(*args, check=None, stdin=None):
    cmd = [VIDMARK, "--catalog", cat] + list(args)
    t = time.time()
    p = run_checked(cmd, check, timeout=120)
    if os.environ.get("VM_TIMING"):
        print(f"# {time.time() - t:.2f} s: {' '.join(args)[:80]}")
    return p


def path(name):
    return os.path.join(tmp, name)


def write(name, text):
    with open(path(name), "w", encoding="utf-8") as f:
        f.write(text)
    return path(name)


def read_jsonl(p):
    with open(p, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@case("catalog with videos")
def _():
    run("status", check=0)
    os.makedirs(lib)
    db = sqlite3.connect(cat)
    now = int(time.time())
    db.execute("INSERT INTO folders (path, added_at) VALUES (?, ?)", (lib, now))
    folder = db.execute("SELECT id FROM folders").fetchone()[0]
    for i in range(N_VIDEOS):
        db.execute("INSERT INTO videos (folder_id, path, duration_ns, fps_num, fps_den, status, added_at)"
                   " VALUES (?, ?, ?, 25, 1, 'indexed', ?)",
                   (folder, os.path.join(lib, f"video{i:03d}.mp4"), 150 * 10**9, now))
    db.commit()
    db.close()


@case("help lists the dataset commands")
def _():
    p = subprocess.run([VIDMARK, "--help"], capture_output=True, text=True)
    for c in ("export", "import", "eval"):
        assert c in p.stdout, p.stdout
        q = subprocess.run([VIDMARK, c, "--help"], capture_output=True, text=True)
        assert q.returncode == 0 and "--set" in q.stdout, q.stdout
    run("export", "-o", path("x"), check=2)                   # no --set
    run("export", "--set", "s", check=2)                      # no -o
    run("export", "--set", "s", "-o", path("x"), "--format", "nope", check=2)
    run("export", "--set", "s", "-o", path("x"), "--format", "didemo", check=2)
    run("export", "--set", "s", "-o", path("x"), "--split", "0.5,0.6", check=2)
    run("export", "--set", "s", "-o", path("x"), "--video-id", "weird", check=2)
    run("import", "--set", "s", path("x"), check=2)           # no --format
    run("eval", check=2)


@case("import a large QVHighlights file")
def _():
    rng = random.Random(7)
    lines = []
    for qid in range(1, N_BIG + 1):
        start = rng.randrange(0, 140)
        lines.append(json.dumps({
            "qid": qid, "query": f"query number {qid} \u00e9\"\\", "duration": 150,
            "vid": f"video{qid % N_VIDEOS:03d}",
            "relevant_windows": [[start, start + rng.randrange(1, 10)]],
            "relevant_clip_ids": [start // 2], "saliency_scores": [[rng.randrange(5) for _ in range(3)]]}))
    write("big.jsonl", "\n".join(lines) + "\n")
    t = time.time()
    p = run("--json", "import", path("big.jsonl"), "--format", "qvhighlights", "--set", "big", check=0)
    report = json.loads(p.stdout)
    assert report["imported"] == N_BIG and report["rejected"] == [], report
    print(f"# imported {N_BIG} queries in {time.time() - t:.2f} s")


@case("export in every format and import back")
def _():
    for fmt in ("qvhighlights", "charades-sta", "activitynet", "tacos", "vidmark"):
        out = path(f"big.{fmt}")
        t = time.time()
        p = run("--json", "export", "--set", "big", "--format", fmt, "-o", out)
        elapsed = time.time() - t
        report = json.loads(p.stdout)
        # Only qvhighlights and vidmark hold saliency: the others report it.
        if fmt in ("qvhighlights", "vidmark"):
            assert p.returncode == 0 and report["skipped"] == [], p.stdout[:500]
        else:
            assert p.returncode == 3 and report["skipped"] == [
                {"where": f"{N_BIG} queries",
                 "reason": "written without their saliency scores, which only the qvhighlights "
                           "and vidmark formats hold"}], (fmt, p.returncode, report["skipped"][:3])
        assert report["queries"] == N_BIG and report["files"] == [out]
        p = run("--json", "import", out, "--format", fmt, "--set", "copy-" + fmt, check=0)
        back = json.loads(p.stdout)
        assert back["imported"] == N_BIG, (fmt, back["imported"])
        print(f"# {fmt}: exported {N_BIG} queries in {elapsed:.2f} s")
    # The vidmark copy exports to the same QVHighlights file.
    run("export", "--set", "copy-vidmark", "-o", path("copy.jsonl"), check=0)
    assert open(path("copy.jsonl")).read() == open(path("big.qvhighlights")).read()


@case("rejected records are reported with line and reason")
def _():
    f = write("bad.jsonl",
              '{"qid": 1, "query": "ok", "vid": "video001", "relevant_windows": [[1, 2]]}\n'
              '{"qid": 2, "query": "backwards", "vid": "video001", "relevant_windows": [[5, 2]]}\n'
              '{"qid": 3, "query": "late", "vid": "video001", "relevant_windows": [[1, 200]]}\n'
              '{"qid": 4, "query": "nobody", "vid": "nosuchvideo", "relevant_windows": [[1, 2]]}\n'
              'not json\n')
    p = run("import", f, "--format", "qvhighlights", "--set", "bad", check=3)
    err = p.stderr.splitlines()
    assert len(err) == 4, p.stderr
    assert err[0].startswith(f + ": line 2: ") and "not before" in err[0], err
    assert err[1].startswith(f + ": line 3: ") and "outside the video" in err[1], err
    assert err[2].startswith(f + ": line 4: ") and "nosuchvideo" in err[2], err
    assert err[3].startswith(f + ": line 5: "), err
    assert "Imported 1 queries" in p.stdout, p.stdout
    # A file that is not JSON at all.
    f = write("bad.json", "[" * 100000)
    p = run("import", f, "--format", "activitynet", "--set", "bad2", check=1)
    assert "nested deeper" in p.stderr, p.stderr
    p = run("import", path("missing.json"), "--format", "activitynet", "--set", "bad2", check=1)


@case("split by video with a seed")
def _():
    out = path("split.jsonl")
    p = run("--json", "export", "--set", "big", "-o", out, "--split", "0.8,0.1,0.1", "--seed", "3", check=0)
    files = json.loads(p.stdout)["files"]
    assert files == [path("split_train.jsonl"), path("split_val.jsonl"), path("split_test.jsonl")], files
    vids = [set(r["vid"] for r in read_jsonl(f)) for f in files]
    assert len(vids[0]) == 80 and len(vids[1]) == 10 and len(vids[2]) == 10, [len(v) for v in vids]
    assert not (vids[0] & vids[1]) and not (vids[0] & vids[2]) and not (vids[1] & vids[2])
    assert sum(len(read_jsonl(f)) for f in files) == N_BIG
    first = [open(f).read() for f in files]
    run("export", "--set", "big", "-o", out, "--split", "0.8,0.1,0.1", "--seed", "3", check=0)
    assert [open(f).read() for f in files] == first
    run("export", "--set", "big", "-o", out, "--split", "0.8,0.1,0.1", "--seed", "4", check=0)
    assert [open(f).read() for f in files] != first


@case("eval scores a predictions file")
def _():
    gt = read_jsonl(path("big.qvhighlights"))[:100]
    with open(path("pred.jsonl"), "w") as f:
        for i, r in enumerate(gt):
            s, e = r["relevant_windows"][0]
            w = [s, e, 0.9] if i % 2 == 0 else [s + 100, e + 100, 0.9]
            f.write(json.dumps({"qid": r["qid"], "query": r["query"], "vid": r["vid"],
                                "pred_relevant_windows": [w]}) + "\n")
    p = run("--json", "eval", "--set", "big", "--predictions", path("pred.jsonl"), check=0)
    m = json.loads(p.stdout)
    assert m["queries"] == 100 and m["missing_predictions"] == N_BIG - 100, m
    assert m["R1@0.5"] == 50.0 and m["mAP@0.5"] == 50.0 and m["mIoU"] == 50.0, m
    p = run("eval", "--set", "big", "--predictions", path("pred.jsonl"), check=0)
    assert "R1@0.5  50.00" in p.stdout, p.stdout
    # Without a predictions file the search engine runs on every query; these
    # videos hold no text, so each query predicts its whole video.
    p = run("--json", "eval", "--set", "big", check=0)
    m = json.loads(p.stdout)
    assert m["queries"] == N_BIG and m["missing_predictions"] == 0, m
    p = run("--json", "eval", "--set", "big", "--baseline", "text", check=0)
    m = json.loads(p.stdout)
    assert m["queries"] == N_BIG and m["missing_predictions"] == 0, m
    run("eval", "--set", "big", "--baseline", "magic", check=2)
    run("eval", "--set", "big", "--baseline", "text", "--predictions", path("pred.jsonl"), check=2)
    p = run("eval", "--set", "nope", "--predictions", path("pred.jsonl"), check=1)


@case("eval runs the search engine on every query, in the query's video")
def _():
    db = sqlite3.connect(cat)
    ids = dict(db.execute("SELECT path, id FROM videos").fetchall())
    v0 = ids[os.path.join(lib, "video000.mp4")]
    v1 = ids[os.path.join(lib, "video001.mp4")]
    rows = [(v0, 20, 30, "the red kite flies over the hill"),
            (v0, 60, 64, "a dog swims in the lake"),        # the other query's words, wrong video
            (v1, 40, 50, "a dog swims in the lake"),
            (v1, 90, 95, "nothing to see here")]
    for vid, a, b, text in rows:
        db.execute("INSERT INTO text_segments (video_id, start_ns, end_ns, source, text)"
                   " VALUES (?, ?, ?, 'subtitle', ?)", (vid, a * 10**9, b * 10**9, text))
    db.commit()
    db.close()
    write("engine.jsonl",
          json.dumps({"qid": 1, "query": "red kite", "duration": 150, "vid": "video000",
                      "relevant_windows": [[20, 30]]}) + "\n" +
          json.dumps({"qid": 2, "query": "dog swims", "duration": 150, "vid": "video001",
                      "relevant_windows": [[40, 50]]}) + "\n")
    run("import", path("engine.jsonl"), "--format", "qvhighlights", "--set", "engine", check=0)
    p = run("--json", "eval", "--set", "engine", check=0)
    m = json.loads(p.stdout)
    # The 0.5 s search margin keeps IoU at 10/11 > 0.7.
    assert m["queries"] == 2 and m["R1@0.7"] == 100.0 and m["mIoU"] > 90, m


@case("eval agrees with a plain restatement of the reference metrics")
def _():
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import reference_eval
    rng = random.Random(5)
    gt, lines = {}, []
    for qid in range(1, 301):
        windows = []
        for _ in range(rng.randrange(1, 4)):
            s = rng.randrange(0, 140) + rng.choice([0, 0.5])
            windows.append([s, s + rng.choice([2, 4, 6.5, 10])])
        windows = sorted(set(map(tuple, windows)))
        clips = {}
        if rng.random() < 0.7:
            for c in rng.sample(range(75), 8):
                clips[c] = [rng.randrange(5) for _ in range(3)]
        gt[qid] = {"windows": [list(w) for w in windows], "duration": 150, "clips": clips}
        rec = {"qid": qid, "query": f"cross check {qid}", "duration": 150,
               "vid": f"video{qid % N_VIDEOS:03d}", "relevant_windows": [list(w) for w in windows]}
        if clips:
            ids = sorted(clips)
            rec["relevant_clip_ids"] = ids
            rec["saliency_scores"] = [clips[c] for c in ids]
        lines.append(json.dumps(rec))
    write("cross.jsonl", "\n".join(lines) + "\n")
    run("import", path("cross.jsonl"), "--format", "qvhighlights", "--set", "cross", check=0)
    preds = {}
    with open(path("cross-pred.jsonl"), "w") as f:
        for qid in range(1, 301):
            if rng.random() < 0.1:
                continue                  # missing predictions
            ws = []
            for _ in range(rng.randrange(1, 14)):
                if rng.random() < 0.4:    # near a ground-truth window
                    g = rng.choice(gt[qid]["windows"])
                    s = max(0, g[0] + rng.choice([-1, 0, 0, 0.5, 1]))
                    e = g[1] + rng.choice([-1, 0, 0, 0.5, 2])
                    if e <= s:
                        e = s + 1
                else:
                    s = rng.randrange(0, 140)
                    e = s + rng.randrange(1, 20)
                ws.append([s, e, rng.choice([0.5, 0.9, round(rng.random(), 3)])])  # ties on purpose
            sal = [rng.choice([0, 1, round(rng.random(), 2)]) for _ in range(75)]
            preds[qid] = {"windows": ws, "saliency": sal}
            f.write(json.dumps({"qid": qid, "pred_relevant_windows": ws, "pred_saliency_scores": sal}) + "\n")
    p = run("--json", "eval", "--set", "cross", "--predictions", path("cross-pred.jsonl"), check=0)
    ours = json.loads(p.stdout)
    ref = reference_eval.evaluate(gt, preds)
    for k, v in ref.items():
        assert abs(ours[k] - v) <= 0.006, (k, ours[k], v)
    print("# " + ", ".join(f"{k} {ours[k]:.2f}" for k in ref))


@case("SIGKILL during export leaves the old file or the new one")
def _():
    out = path("atomic.jsonl")
    write("one.jsonl", '{"qid": 1, "query": "small", "vid": "video001", "relevant_windows": [[1, 2]]}\n')
    run("import", path("one.jsonl"), "--format", "qvhighlights", "--set", "small", check=0)
    run("export", "--set", "small", "-o", out, check=0)
    old = open(out, "rb").read()
    run("export", "--set", "big", "-o", path("reference.jsonl"), check=0)
    new = open(path("reference.jsonl"), "rb").read()
    t = time.time()
    run("export", "--set", "big", "-o", path("timing.jsonl"), check=0)
    full = time.time() - t
    rng = random.Random(11)
    outcomes = {"old": 0, "new": 0}
    for i in range(20):
        shutil.copyfile(path("one.jsonl"), path("scratch"))  # keep the disk busy a little
        p = subprocess.Popen([VIDMARK, "--catalog", cat, "export", "--set", "big", "-o", out],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0, full * 1.2))
        p.send_signal(signal.SIGKILL)
        p.wait()
        data = open(out, "rb").read()
        assert data in (old, new), f"round {i}: the file is neither the old nor the new one"
        outcomes["old" if data == old else "new"] += 1
        for line in data.decode("utf-8").splitlines():
            json.loads(line)
        # Start the next round from the old file again, when it was replaced.
        if data == new:
            with open(out, "wb") as f:
                f.write(old)
    leftovers = [n for n in os.listdir(tmp) if n.startswith("atomic.jsonl.")]
    print(f"# full export {full:.2f} s; after SIGKILL: {outcomes}; temporary files left: {len(leftovers)}")


@case("SIGKILL during import leaves the set empty or complete")
def _():
    t = time.time()
    run("import", path("big.jsonl"), "--format", "qvhighlights", "--set", "timing-import", check=0)
    full = time.time() - t
    rng = random.Random(13)
    seen = set()
    for i in range(5):
        name = f"killed-{i}"
        p = subprocess.Popen([VIDMARK, "--catalog", cat, "import", path("big.jsonl"), "--format",
                              "qvhighlights", "--set", name],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0, full))
        p.send_signal(signal.SIGKILL)
        p.wait()
        db = sqlite3.connect(cat)
        n = db.execute("SELECT count(*) FROM dataset_queries JOIN annotation_sets AS s ON s.id = set_id"
                       " WHERE s.name = ?", (name,)).fetchone()[0]
        db.close()
        assert n in (0, N_BIG), f"round {i}: {n} queries"
        seen.add(n)
    print(f"# full import {full:.2f} s; query counts after SIGKILL: {sorted(seen)}")


def main():
    # The first steps build the library the others use.
    status = run_cases(stop_after=3)
    shutil.rmtree(tmp, ignore_errors=True)
    return status


sys.exit(main())
