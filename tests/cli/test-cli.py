#!/usr/bin/env python3
# End-to-end tests of the `vidmark` command line on generated media.
# Prints TAP.  Usage: test-cli.py PATH-TO-VIDMARK
#
# SPDX-License-Identifier: GPL-3.0-or-later
import json
import os
import re
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


def run(*args, check=None, catalog=None, env=None):
    cmd = [VIDMARK]
    if catalog:
        cmd += ["--catalog", catalog]
    cmd += list(args)
    return run_checked(cmd, check, env=env, timeout=300)


tmp = tempfile.mkdtemp(prefix="vm-cli-")
env = dict(os.environ)
env["XDG_CACHE_HOME"] = os.path.join(tmp, "cache")
env["XDG_DATA_HOME"] = os.path.join(tmp, "data")
lib = os.path.join(tmp, "library")
cat = os.path.join(tmp, "catalog.sqlite")


@case("help and usage errors")
def _():
    p = run("--help", check=0)
    for cmd in ("add", "remove", "index", "list", "info", "status", "demo", "gpu"):
        assert cmd in p.stdout, cmd
    assert "Exit status" in p.stdout
    for cmd in ("add", "remove", "index", "list", "info", "status", "demo"):
        p = run(cmd, "--help", check=0)
        assert "--catalog" in p.stdout and cmd in p.stdout, p.stdout
    # model's commands: every one listed, the summaries in one column.
    p = run("model", "--help", check=0)
    rows = [l for l in p.stdout.splitlines() if l.startswith("  ")]
    names = [r.split()[0] for r in rows]
    assert names == ["list", "import", "install", "remove", "default", "verify", "tokenize"], names
    assert any("tokenize [--vocab DIR] [--json] TEXT" in r for r in rows), rows
    starts = {re.match(r"  (\S.*?\S)  +\S", r).end() for r in rows}
    assert len(starts) == 1, p.stdout
    run("model", check=2)
    run("frobnicate", check=2)
    run("index", "--mode", "sometimes", catalog=cat, check=2)
    run("index", "--rate", "-1", catalog=cat, check=2)
    run("add", catalog=cat, check=2)
    run("--json", check=2)
    # No command: the window where there is a display, the usage without one.
    headless = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    run(check=2, env=headless)
    p = run("--version", check=0)
    assert p.stdout.startswith("vidmark ")


@case("demo library is generated")
def _():
    p = run("demo", "--output", lib, check=0, env=env)
    names = sorted(os.listdir(lib))
    exts = {os.path.splitext(n)[1] for n in names}
    assert {".mp4", ".webm", ".mkv", ".srt"} <= exts, names
    assert "README.txt" in names, names


@case("empty library explains what to do")
def _():
    p = run("status", catalog=cat, check=0, env=env)
    assert "vidmark add" in p.stdout, p.stdout
    p = run("index", catalog=cat, check=1, env=env)
    assert "vidmark add" in p.stderr, p.stderr


@case("add, index --json, list --json, status --json")
def _():
    p = run("--json", "add", lib, catalog=cat, check=0, env=env)
    assert json.loads(p.stdout)["added"][0]["path"] == os.path.realpath(lib)
    p = run("index", "--json", catalog=cat, check=0, env=env)
    report = json.loads(p.stdout)
    n_videos = len([n for n in os.listdir(lib) if n.endswith((".mp4", ".webm", ".mkv"))])
    assert report["found"] == n_videos, report
    assert report["indexed"] == n_videos and report["failed"] == 0, report
    assert report["frames"] > 0 and report["interrupted"] is False
    assert all(f["result"] == "indexed" for f in report["files"]), report
    p = run("list", "--json", catalog=cat, check=0, env=env)
    videos = json.loads(p.stdout)["videos"]
    assert len(videos) == n_videos
    for v in videos:
        assert v["status"] == "indexed" and v["frames"] > 0, v
        assert v["duration"] > 1 and v["width"] > 0 and v["height"] > 0, v
        for key in ("id", "path", "size", "fps", "container", "video_codec",
                    "audio_codec", "has_audio", "fingerprint", "indexed_at", "error"):
            assert key in v, key
    p = run("status", "--json", catalog=cat, check=0, env=env)
    st = json.loads(p.stdout)
    assert st["videos"]["total"] == n_videos and st["videos"]["indexed"] == n_videos, st
    assert st["schema_version"] >= 1 and st["frames"] > 0
    # Plain output too.
    p = run("list", catalog=cat, check=0, env=env)
    assert p.stdout.count("indexed") == n_videos, p.stdout
    # The second run skips everything.
    p = run("index", "--json", catalog=cat, check=0, env=env)
    again = json.loads(p.stdout)
    assert again["unchanged"] == n_videos and again["indexed"] == 0, again


@case("info on a file, in and out of the library")
def _():
    mp4 = sorted(n for n in os.listdir(lib) if n.endswith(".mp4"))[0]
    p = run("--json", "info", os.path.join(lib, mp4), catalog=cat, check=0, env=env)
    info = json.loads(p.stdout)
    assert info["duration"] > 1 and info["catalog"]["status"] == "indexed", info
    p = run("info", os.path.join(lib, mp4), catalog=cat, check=0, env=env)
    assert "Duration" in p.stdout or "Dauer" in p.stdout
    bad = os.path.join(tmp, "not-a-video.mp4")
    open(bad, "w").write("hello\n")
    p = run("info", bad, catalog=cat, check=1, env=env)
    assert p.stderr.strip().count("\n") == 0 and "not-a-video.mp4" in p.stderr, p.stderr
    run("info", os.path.join(tmp, "missing.mp4"), catalog=cat, check=1, env=env)


@case("bad files are reported, the batch goes on, exit 3")
def _():
    shutil.copy(os.path.join(lib, sorted(n for n in os.listdir(lib) if n.endswith(".mp4"))[0]),
                os.path.join(lib, "copy.mp4"))
    open(os.path.join(lib, "zero.mp4"), "wb").close()
    open(os.path.join(lib, "junk.mkv"), "wb").write(os.urandom(20000))
    p = run("index", catalog=cat, check=3, env=env)
    assert "zero.mp4" in p.stderr and "junk.mkv" in p.stderr, p.stderr
    for line in p.stderr.splitlines():
        if "zero.mp4" in line or "junk.mkv" in line:
            assert line.startswith("error: "), line
    p = run("list", "--json", "--status", "error", catalog=cat, check=0, env=env)
    errs = json.loads(p.stdout)["videos"]
    assert {os.path.basename(v["path"]) for v in errs} == {"zero.mp4", "junk.mkv"}, errs
    assert all(v["error"] for v in errs)
    os.unlink(os.path.join(lib, "zero.mp4"))
    os.unlink(os.path.join(lib, "junk.mkv"))


@case("moved and deleted files")
def _():
    os.rename(os.path.join(lib, "copy.mp4"), os.path.join(lib, "renamed.mp4"))
    p = run("index", "--json", catalog=cat, check=0, env=env)
    r = json.loads(p.stdout)
    # zero.mp4 and junk.mkv are gone (missing), copy.mp4 moved to renamed.mp4.
    assert r["moved"] == 1 and r["missing"] == 2 and r["indexed"] == 0, r


@case("a catalog from a newer Vidmark is refused and left untouched")
def _():
    newer = os.path.join(tmp, "newer.sqlite")
    shutil.copy(cat, newer)
    for ext in ("-wal", "-shm"):
        if os.path.exists(cat + ext):
            shutil.copy(cat + ext, newer + ext)
    db = sqlite3.connect(newer)
    db.execute("PRAGMA user_version = 9999")
    db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    before = open(newer, "rb").read()
    p = run("status", catalog=newer, check=4, env=env)
    assert "newer" in p.stderr, p.stderr
    assert open(newer, "rb").read() == before


@case("Ctrl-C stops cleanly and the next run resumes")
def _():
    lib2 = os.path.join(tmp, "lib2")
    os.makedirs(lib2)
    src = [os.path.join(lib, n) for n in sorted(os.listdir(lib)) if n.endswith((".mp4", ".webm", ".mkv"))]
    for i in range(12):
        # Identical copies are distinct videos (none of them moved).
        ext = os.path.splitext(src[i % len(src)])[1]
        shutil.copy(src[i % len(src)], os.path.join(lib2, f"c{i:02d}{ext}"))
    cat2 = os.path.join(tmp, "cat2.sqlite")
    run("add", lib2, catalog=cat2, check=0, env=env)
    proc = subprocess.Popen([VIDMARK, "--catalog", cat2, "index", "--json"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode in (0, 130), (proc.returncode, err)
    if proc.returncode == 130:
        assert "resume" in err, err
        assert json.loads(out)["interrupted"] is True
    # The catalog is consistent: integrity check passes and a new run finishes the job.
    db = sqlite3.connect(cat2)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    p = run("index", "--json", catalog=cat2, check=0, env=env)
    r = json.loads(p.stdout)
    p = run("list", "--json", catalog=cat2, check=0, env=env)
    assert all(v["status"] == "indexed" for v in json.loads(p.stdout)["videos"])


@case("remove keeps nothing but annotated videos")
def _():
    p = run("remove", lib, catalog=cat, check=0, env=env)
    p = run("list", "--json", catalog=cat, check=0, env=env)
    assert json.loads(p.stdout)["videos"] == [], p.stdout
    run("remove", os.path.join(tmp, "never-added"), catalog=cat, check=1, env=env)


@case("gpu lists devices; no driver is a clear error")
def _():
    p = run("gpu", "--json", env=env)
    doc = json.loads(p.stdout)
    if p.returncode == 0:
        assert len(doc["devices"]) >= 1 and doc["error"] is None, doc
        assert sum(d["chosen"] for d in doc["devices"]) == 1, doc
        for d in doc["devices"]:
            for key in ("name", "type", "usable", "api_version", "features", "memory_heaps"):
                assert key in d, key
            assert "shader_float16" in d["features"] and "cooperative_matrix_nv" in d["features"]
        p = run("gpu", env=env, check=0)
        assert "* 0:" in p.stdout or "* " in p.stdout, p.stdout
    else:
        assert doc["error"], doc
    bad = dict(env)
    bad["VK_DRIVER_FILES"] = bad["VK_ICD_FILENAMES"] = os.path.join(tmp, "no-such-icd.json")
    p = run("gpu", env=bad, check=1)
    assert p.stderr.startswith("vidmark: ") and p.stderr.count("\n") == 1, p.stderr


def numpy_python():
    for candidate in ("/usr/bin/python3", sys.executable, shutil.which("python3")):
        if candidate and subprocess.run([candidate, "-c", "import numpy"],
                                        capture_output=True).returncode == 0:
            return candidate
    return None


@case("index: text only without a model, embeddings with the default model")
def _():
    menv = dict(env)
    menv["XDG_DATA_HOME"] = os.path.join(tmp, "data-models")
    lib3 = os.path.join(tmp, "lib3")
    os.makedirs(lib3)
    for n in sorted(os.listdir(lib)):
        if n.endswith((".mp4", ".webm")):
            shutil.copy(os.path.join(lib, n), lib3)
    n_videos = len(os.listdir(lib3))
    cat3 = os.path.join(tmp, "cat3.sqlite")
    run("add", lib3, catalog=cat3, check=0, env=menv)
    # Bad options.
    run("index", "--dedupe-threshold", "2", catalog=cat3, check=2, env=menv)
    run("index", "--keep-every", "-1", catalog=cat3, check=2, env=menv)
    run("index", "--batch-size", "0", catalog=cat3, check=2, env=menv)
    run("index", "--model", "x", "--no-visual", catalog=cat3, check=2, env=menv)
    run("index", "--model", "no-such-model", catalog=cat3, check=1, env=menv)
    p = run("index", "--help", check=0, env=menv)
    for opt in ("--model", "--no-visual", "--dedupe-threshold", "--keep-every"):
        assert opt in p.stdout, p.stdout
    # No model installed: text signals only, and one note on how to add one.
    p = run("index", "--json", catalog=cat3, check=0, env=menv)
    assert p.stderr.count("note:") == 1 and "vidmark model" in p.stderr, p.stderr
    r = json.loads(p.stdout)
    assert r["indexed"] == n_videos and r["embedded"] == 0 and r["model"] is None, r
    assert r["sampled"] == r["frames"] + r["dropped"] and r["frames"] >= n_videos, r
    p = run("index", "--no-visual", catalog=cat3, check=0, env=menv)
    assert "vidmark model" not in p.stderr, p.stderr
    python = numpy_python()
    script = os.path.join(os.environ.get("VIDMARK_TEST_SRCDIR", ""), "clip", "make-tiny-clip.py")
    if python is None or not os.path.exists(script):
        print("# no python3 with numpy: skipping the model part", flush=True)
        return
    models = os.path.join(tmp, "tiny-models")
    subprocess.run([python, script, models], check=True, capture_output=True)
    run("model", "import", os.path.join(models, "tiny-quick-f32"), check=0, env=menv)
    # No usable Vulkan device: a clear warning, text signals only.
    bad = dict(menv)
    bad["VK_DRIVER_FILES"] = bad["VK_ICD_FILENAMES"] = os.path.join(tmp, "no-such-icd.json")
    p = run("index", "--json", catalog=cat3, check=0, env=bad)
    assert "Vulkan" in p.stderr, p.stderr
    assert json.loads(p.stdout)["embedded"] == 0
    p = run("gpu", "--json", env=menv)
    if p.returncode != 0:
        print("# no Vulkan device: skipping the embedding part", flush=True)
        return
    # The default model is picked up by itself; the indexed videos get their embeddings.
    p = run("index", "--progress-json", catalog=cat3, check=0, env=menv)
    lines = [json.loads(line) for line in p.stdout.splitlines()]
    done = [e for e in lines if e["type"] == "file" and e["result"] == "indexed"]
    assert len(done) == n_videos, lines
    assert all(e["embedded"] == e["frames"] > 0 and e["sampled"] >= e["frames"] for e in done), done
    db = sqlite3.connect(cat3)
    frames = db.execute("SELECT COUNT(*) FROM frames").fetchone()[0]
    embedded = db.execute("SELECT SUM(n_frames) FROM embeddings").fetchone()[0]
    assert db.execute("SELECT name FROM models").fetchall() == [("tiny-quick-f32",)]
    db.close()
    assert frames == embedded, (frames, embedded)
    p = run("index", "--json", catalog=cat3, check=0, env=menv)
    r = json.loads(p.stdout)
    assert r["indexed"] == 0 and r["unchanged"] == n_videos and r["model"] == "tiny-quick-f32", r
    p = run("index", "--force", catalog=cat3, check=0, env=menv)
    assert "embedded with tiny-quick-f32" in p.stdout, p.stdout


status = run_cases()
shutil.rmtree(tmp, ignore_errors=True)
sys.exit(status)
