#!/usr/bin/env python3
# End-to-end tests of `vidmark model install` against a loopback fake of the
# Hugging Face Hub (fakehub.py), plus the model commands around it.
# Prints TAP.  Usage: test-model-install.py PATH-TO-VIDMARK
#
# SPDX-License-Identifier: GPL-3.0-or-later
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakehub  # noqa: E402
import tinymodel  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from vmtap import case, run_cases, run_checked  # noqa: E402

VIDMARK = sys.argv[1]
signal.alarm(240)  # bounded lifetime, whatever happens

tmp = tempfile.mkdtemp(prefix="vm-store-")
hub = fakehub.FakeHub()


def fresh_env(token=None):
    """A new empty data folder per case."""
    data = tempfile.mkdtemp(prefix="data-", dir=tmp)
    env = dict(os.environ)
    env["XDG_DATA_HOME"] = data
    env["XDG_CACHE_HOME"] = os.path.join(tmp, "cache")
    env["VIDMARK_HF_ENDPOINT"] = hub.endpoint
    env.pop("HF_TOKEN", None)
    if token:
        env["HF_TOKEN"] = token
    return env


def models_dir(env):
    return os.path.join(env["XDG_DATA_HOME"], "vidmark", "models")


def run(env, *args, check=None):
    return run_checked([VIDMARK] + list(args), check, what=f"vidmark {' '.join(args)}", env=env, timeout=60)


def visible_dirs(env):
    d = models_dir(env)
    if not os.path.isdir(d):
        return []
    return sorted(e for e in os.listdir(d) if not e.startswith(".") and os.path.isdir(os.path.join(d, e)))


def check_installed(env, name, repo):
    path = os.path.join(models_dir(env), name)
    manifest = json.load(open(os.path.join(path, "vidmark-model.json")))
    assert manifest["source"] == "hf:" + repo.id, manifest
    assert manifest["revision"] == repo.commit, manifest
    wanted = {p for p in repo.files if p in ("config.json", "model.safetensors", "vocab.json", "merges.txt",
                                               "tokenizer.json", "tokenizer_config.json",
                                               "special_tokens_map.json", "preprocessor_config.json")}
    assert {f["path"] for f in manifest["files"]} == wanted, manifest
    for f in manifest["files"]:
        data = open(os.path.join(path, f["path"]), "rb").read()
        assert data == repo.files[f["path"]], f["path"]
        assert f["sha256"] == hashlib.sha256(data).hexdigest()
        assert f["size"] == len(data)
    # Nothing else (no pytorch_model.bin, no .part, no lock).
    assert sorted(os.listdir(path)) == sorted(wanted | {"vidmark-model.json"}), os.listdir(path)
    assert not any(e.startswith(".partial") for e in os.listdir(models_dir(env))), os.listdir(models_dir(env))


tiny = hub.add(fakehub.Repo("acme/tiny-clip", tinymodel.files()))
# The known model's pinned commit (app/model/vm-model-download.c): the fake
# Hub answers only it and "main", so an install that ignored the pin fails.
openai = hub.add(fakehub.Repo("openai/clip-vit-base-patch32", tinymodel.files(seed=1),
                              commit="d15b5f29721ca72dac15f8526b284be910de18be"))
big_files = tinymodel.files(seed=2)
big_files["model.safetensors"] = big_files["model.safetensors"]  # ~2.3 kB
flaky = hub.add(fakehub.Repo("acme/flaky", big_files))
gated = hub.add(fakehub.Repo("acme/gated", tinymodel.files(seed=3), gated=True))
no_st = dict(tinymodel.files())
del no_st["model.safetensors"]
hub.add(fakehub.Repo("acme/no-safetensors", no_st))
hub.add(fakehub.Repo("acme/not-clip", tinymodel.files("no-projection")))


@case("clean install of org/repo at main, pinned to the commit in the manifest")
def _():
    env = fresh_env()
    hub.reset_faults()
    hub.clear_log()
    p = run(env, "model", "install", "acme/tiny-clip", check=0)
    assert "Installed model “tiny-clip”" in p.stdout, p.stdout
    check_installed(env, "tiny-clip", tiny)
    paths = [r[2] for r in hub.requests()]
    assert "/api/models/acme/tiny-clip/revision/main" in paths, paths
    assert "/api/models/acme/tiny-clip/tree/" + tiny.commit in paths, paths
    # Every file request names the commit, never the branch.
    assert all("/resolve/" + tiny.commit + "/" in r for r in paths if "/resolve/" in r), paths
    assert not any("pytorch_model.bin" in r for r in paths), paths
    # The LFS file came from the CDN after a redirect.
    assert hub.requests("cdn", "model.safetensors"), hub.log
    # Non-interactive progress lines.
    assert "downloading model.safetensors" in p.stderr, p.stderr
    p = run(env, "model", "list", "--json", check=0)
    doc = json.loads(p.stdout)
    assert doc["default"] == "tiny-clip" and doc["models"][0]["embed_dim"] == 8, doc
    assert doc["models"][0]["revision"] == tiny.commit
    # The manifest checks the files later on.
    p = run(env, "model", "verify", check=0)
    assert "intact" in p.stdout, p.stdout
    st = os.path.join(models_dir(env), "tiny-clip", "model.safetensors")
    data = bytearray(open(st, "rb").read())
    data[-1] ^= 1
    open(st, "wb").write(bytes(data))
    p = run(env, "model", "verify", "tiny-clip", check=1)
    assert "model.safetensors of model “tiny-clip” has changed" in p.stderr, p.stderr
    data[-1] ^= 1
    open(st, "wb").write(bytes(data))
    run(env, "model", "verify", "tiny-clip", check=0)
    # Installing again is refused before any download.
    p = run(env, "model", "install", "acme/tiny-clip", check=1)
    assert "already installed" in p.stderr, p.stderr


@case("short name installs the known repository under the short name")
def _():
    env = fresh_env()
    hub.reset_faults()
    p = run(env, "--json", "model", "install", "clip-vit-base-patch32", check=0)
    doc = json.loads(p.stdout)
    assert doc["name"] == "clip-vit-base-patch32" and doc["default"], doc
    check_installed(env, "clip-vit-base-patch32", openai)
    # --revision with a commit works; an unknown revision is a clear error.
    env2 = fresh_env()
    run(env2, "model", "install", "clip-vit-base-patch32", "--revision", openai.commit, "--name", "b32", check=0)
    check_installed(env2, "b32", openai)
    p = run(env2, "model", "install", "clip-vit-base-patch32", "--revision", "v9", "--name", "x", check=1)
    assert "has no revision “v9”" in p.stderr, p.stderr
    p = run(env2, "model", "install", "not a repo", check=1)
    assert "neither a known model" in p.stderr, p.stderr


@case("a dropped connection is retried with Range within the run")
def _():
    env = fresh_env()
    hub.reset_faults()
    hub.clear_log()
    hub.drop_at["model.safetensors"] = [1000, 1]
    run(env, "model", "install", "acme/flaky", check=0)
    check_installed(env, "flaky", flaky)
    ranges = [r[3].get("Range") for r in hub.requests("cdn", "model.safetensors")]
    assert ranges == [None, "bytes=1000-"], ranges


@case("server errors are retried, client errors are not")
def _():
    env = fresh_env()
    hub.reset_faults()
    hub.clear_log()
    hub.fail["model.safetensors"] = [503, 1]
    run(env, "model", "install", "acme/flaky", check=0)
    check_installed(env, "flaky", flaky)
    assert len(hub.requests("cdn", "model.safetensors")) == 2
    env = fresh_env()
    hub.reset_faults()
    hub.clear_log()
    hub.fail["vocab.json"] = [403, 1]
    p = run(env, "model", "install", "acme/flaky", check=1)
    assert "HTTP 403" in p.stderr, p.stderr
    assert len(hub.requests("hub", "vocab.json")) == 1
    assert visible_dirs(env) == []


@case("an interrupted download resumes on the next run from the .part size")
def _():
    env = fresh_env()
    hub.reset_faults()
    hub.clear_log()
    hub.drop_at["model.safetensors"] = [1200, 100]   # never gets past byte 1200
    p = run(env, "model", "install", "acme/flaky", check=1)
    assert "run the command again" in p.stderr, p.stderr
    assert visible_dirs(env) == [], visible_dirs(env)
    part = os.path.join(models_dir(env), ".partial-flaky", "model.safetensors.part")
    assert os.path.getsize(part) == 1200, os.path.getsize(part)
    # The model is not listed while incomplete; the interrupted download is.
    p = run(env, "model", "list", "--json", check=0)
    doc = json.loads(p.stdout)
    assert doc["models"] == [], p.stdout
    assert doc["interrupted"] == [{"name": "flaky", "repo": "acme/flaky", "revision": flaky.commit,
                                   "size": sum(len(flaky.files[f]) for f in ("config.json", "merges.txt"))
                                   + 1200}], doc
    p = run(env, "model", "list", check=0)
    assert "No CLIP model is installed" in p.stdout, p.stdout
    assert "vidmark model install acme/flaky” again" in p.stdout, p.stdout
    hub.reset_faults()
    hub.clear_log()
    p = run(env, "model", "install", "acme/flaky", check=0)
    assert "resuming model.safetensors" in p.stderr, p.stderr
    ranges = [r[3].get("Range") for r in hub.requests("cdn", "model.safetensors")]
    assert ranges == ["bytes=1200-"], ranges
    # Files completed in the first run are not fetched again.
    assert not hub.requests("hub", "/resolve/" + flaky.commit + "/config.json"), hub.log
    check_installed(env, "flaky", flaky)


@case("remove discards an interrupted download")
def _():
    env = fresh_env()
    hub.reset_faults()
    hub.drop_at["model.safetensors"] = [500, 100]
    run(env, "model", "install", "acme/flaky", "--name", "other", check=1)
    p = run(env, "model", "list", check=0)
    assert "install acme/flaky --name other” again" in p.stdout, p.stdout
    p = run(env, "model", "remove", "other", check=0)
    assert "Discarded" in p.stdout, p.stdout
    assert os.listdir(models_dir(env)) == [], os.listdir(models_dir(env))
    p = run(env, "model", "remove", "other", check=1)
    assert "No model named “other”" in p.stderr, p.stderr


@case("a server that ignores Range (200) makes the download start over")
def _():
    env = fresh_env()
    hub.reset_faults()
    hub.drop_at["model.safetensors"] = [700, 100]
    run(env, "model", "install", "acme/flaky", check=1)
    hub.reset_faults()
    hub.ignore_range = True
    hub.clear_log()
    run(env, "model", "install", "acme/flaky", check=0)
    ranges = [r[3].get("Range") for r in hub.requests("cdn", "model.safetensors")]
    assert ranges == ["bytes=700-"], ranges
    check_installed(env, "flaky", flaky)


@case("a corrupted file fails with a clear error and installs nothing")
def _():
    for name in ("model.safetensors", "vocab.json"):
        env = fresh_env()
        hub.reset_faults()
        hub.corrupt.add(name)
        p = run(env, "model", "install", "acme/tiny-clip", check=1)
        assert "damaged" in p.stderr and name in p.stderr, p.stderr
        assert ("SHA-256" if name == "model.safetensors" else "git blob") in p.stderr, p.stderr
        assert visible_dirs(env) == [], visible_dirs(env)
        assert not os.path.exists(os.path.join(models_dir(env), ".partial-tiny-clip", name + ".part"))
        assert not os.path.exists(os.path.join(models_dir(env), ".partial-tiny-clip", name))
        p = run(env, "model", "default", check=1)
        assert "No CLIP model is installed" in p.stderr, p.stderr
        # Once the server is fixed, the same command completes.
        hub.reset_faults()
        run(env, "model", "install", "acme/tiny-clip", check=0)
        check_installed(env, "tiny-clip", tiny)


@case("missing repository, gated repository and HF_TOKEN")
def _():
    env = fresh_env()
    hub.reset_faults()
    p = run(env, "model", "install", "acme/nothing", check=1)
    assert "has no model repository “acme/nothing”" in p.stderr, p.stderr
    assert "HF_TOKEN" in p.stderr, p.stderr
    assert visible_dirs(env) == []
    p = run(env, "model", "install", "acme/gated", check=1)
    assert "gated" in p.stderr and "HF_TOKEN" in p.stderr, p.stderr
    assert visible_dirs(env) == []
    p = run(fresh_env(token="wrong"), "model", "install", "acme/gated", check=1)
    assert "refused access" in p.stderr and "check that HF_TOKEN" in p.stderr, p.stderr
    env = fresh_env(token="secret")
    hub.clear_log()
    run(env, "model", "install", "acme/gated", check=0)
    check_installed(env, "gated", gated)
    assert all(r[3].get("Authorization") == "Bearer secret" for r in hub.requests("hub")), hub.log
    # The token never goes to another origin (the CDN).
    cdn = hub.requests("cdn")
    assert cdn and all("Authorization" not in r[3] for r in cdn), cdn


@case("a repository without safetensors or without CLIP projections is refused")
def _():
    env = fresh_env()
    hub.reset_faults()
    p = run(env, "model", "install", "acme/no-safetensors", check=1)
    assert "model.safetensors" in p.stderr and "safetensors format" in p.stderr, p.stderr
    p = run(env, "model", "install", "acme/not-clip", check=1)
    assert "not a usable CLIP model" in p.stderr, p.stderr
    assert visible_dirs(env) == []
    assert not os.path.exists(os.path.join(models_dir(env), ".partial-not-clip"))


@case("the endpoint refusing connections is a clear error")
def _():
    env = fresh_env()
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    env["VIDMARK_HF_ENDPOINT"] = "http://127.0.0.1:%d" % port
    p = run(env, "model", "install", "acme/tiny-clip", check=1)
    assert "Cannot reach" in p.stderr, p.stderr
    env["VIDMARK_HF_ENDPOINT"] = "ftp://127.0.0.1/"
    p = run(env, "model", "install", "acme/tiny-clip", check=1)
    assert "not an http" in p.stderr, p.stderr


@case("Ctrl-C keeps the .part file and the next run resumes it")
def _():
    env = fresh_env()
    hub.reset_faults()
    hub.throttle["model.safetensors"] = 0.05     # 64 bytes every 50 ms: ~2 s for the file
    proc = subprocess.Popen([VIDMARK, "model", "install", "acme/flaky"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    part = os.path.join(models_dir(env), ".partial-flaky", "model.safetensors.part")
    deadline = time.time() + 20
    while time.time() < deadline and not (os.path.exists(part) and os.path.getsize(part) >= 256):
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, (proc.returncode, err)
    assert "Interrupted" in err, err
    have = os.path.getsize(part)
    assert 0 < have < len(flaky.files["model.safetensors"]), have
    hub.reset_faults()
    hub.clear_log()
    run(env, "model", "install", "acme/flaky", check=0)
    ranges = [r[3].get("Range") for r in hub.requests("cdn", "model.safetensors")]
    assert ranges == ["bytes=%d-" % have], (ranges, have)
    check_installed(env, "flaky", flaky)


@case("on a terminal, one progress line with rate and ETA")
def _():
    import pty
    env = fresh_env()
    hub.reset_faults()
    hub.throttle["model.safetensors"] = 0.02     # ~0.8 s for the file
    master, slave = pty.openpty()
    proc = subprocess.Popen([VIDMARK, "model", "install", "acme/flaky"], env=env,
                            stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    proc.wait(timeout=30)
    hub.reset_faults()
    text = b"".join(chunks).decode()
    assert proc.returncode == 0, text
    assert "\r\x1b[K[" in text and "model.safetensors (3/5)" in text, text
    assert "/s, ETA " in text and "…/s, ETA …" in text, text
    assert any(c.isdigit() for line in text.split("\r") if "/s, ETA " in line and "…" not in line
               for c in line.split("ETA ")[1]), text
    # No per-file lines on a terminal.
    assert "downloading model.safetensors" not in text, text


@case("import, list, default and remove from the command line")
def _():
    env = fresh_env()
    p = run(env, "model", "list", check=0)
    assert "No CLIP model is installed" in p.stdout and "vidmark model install" in p.stdout, p.stdout
    src = os.path.join(tmp, "src-good")
    tinymodel.write(src)
    run(env, "model", "import", src, "--name", "one", check=0)
    run(env, "model", "import", src, "--name", "two", check=0)
    p = run(env, "model", "list", check=0)
    lines = p.stdout.splitlines()
    assert any(line.startswith("* one") for line in lines), p.stdout
    assert any(line.startswith("  two") and " 8 " in line for line in lines), p.stdout
    for variant, message in (("missing-merges", "merges.txt is missing"),
                             ("bad-config", "not a CLIP config"),
                             ("bad-safetensors", "model.safetensors in"),
                             ("no-projection", "projections")):
        bad = os.path.join(tmp, "src-" + variant)
        tinymodel.write(bad, variant)
        p = run(env, "model", "import", bad, check=1)
        assert message in p.stderr, (variant, p.stderr)
    assert visible_dirs(env) == ["one", "two"], visible_dirs(env)
    assert not [e for e in os.listdir(models_dir(env)) if e.startswith(".tmp")]
    run(env, "model", "default", "two", check=0)
    assert run(env, "model", "default", check=0).stdout.strip() == "two"
    p = run(env, "model", "default", "three", check=1)
    assert "No model named “three”" in p.stderr, p.stderr
    p = run(env, "model", "remove", "two", check=1)
    assert "--force" in p.stderr, p.stderr
    run(env, "model", "remove", "one", check=0)
    run(env, "model", "remove", "two", "--force", check=0)
    assert visible_dirs(env) == []
    run(env, "model", "remove", "two", check=1)
    run(env, "model", check=2)
    run(env, "model", "frobnicate", check=2)
    p = run(env, "model", "install", "--help", check=0)
    assert "clip-vit-base-patch32" in p.stdout and "laion/CLIP-ViT-B-32-laion2B-s34B-b79K" in p.stdout
    p = run(env, "model", "list", "--available", "--json", check=0)
    names = [m["name"] for m in json.loads(p.stdout)["available"]]
    assert names == ["clip-vit-base-patch32", "clip-vit-base-patch16", "clip-vit-large-patch14",
                     "laion-clip-vit-b-32"], names


status = run_cases(full_traceback=True)
hub.close()
shutil.rmtree(tmp, ignore_errors=True)
sys.exit(status)
