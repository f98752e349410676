#!/usr/bin/env python3
# `vidmark model tokenize` against the golden ids of the independent
# reference tokenizer in tests/model/make-clip-vocab.py.  Prints TAP.
# Usage: test-tokenize-cli.py VIDMARK MAKE_CLIP_VOCAB_PY
#
# SPDX-License-Identifier: GPL-3.0-or-later
import json
import os
import shutil
import subprocess
import sys
import tempfile

vidmark, maker = sys.argv[1], sys.argv[2]
shared = os.environ.get("VIDMARK_SHARED_DIR", "")
bpe = os.path.join(shared, "data", "clip-bpe", "bpe_simple_vocab_16e6.txt.gz")
if not os.path.exists(bpe):
    print(f"1..0 # SKIP the CLIP merges list {bpe} is absent")
    sys.exit(0)

tmp = tempfile.mkdtemp(prefix="vm-tokenize-")
vocab = os.path.join(tmp, "vocab")
golden = os.path.join(tmp, "golden.json")
p = subprocess.run([sys.executable, maker, bpe, vocab, golden], capture_output=True, text=True)
if p.returncode == 77:
    print("1..0 # SKIP the reference needs python3-regex")
    sys.exit(0)
assert p.returncode == 0, p.stderr
cases = json.load(open(golden))["cases"]


def tokenize(text, *opts):
    return subprocess.run([vidmark, "model", "tokenize", "--vocab", vocab, *opts, "--", text],
                          capture_output=True, text=True, timeout=60)


print(f"1..{len(cases) + 3}")
n = 0
failed = 0
for case in cases:
    n += 1
    p = tokenize(case["text"], "--json", "--context", "0")
    ok = p.returncode == 0 and json.loads(p.stdout) == {"ids": case["ids"]}
    # The default context of 77 truncates and keeps the end token, unpadded.
    p77 = tokenize(case["text"], "--json")
    padded = case["padded"]
    used = len(padded) - (len(padded) - max(i for i, v in enumerate(padded) if v != 0) - 1)
    ok = ok and p77.returncode == 0 and json.loads(p77.stdout)["ids"] == padded[:used]
    failed += not ok
    label = case["text"][:30].replace("\n", "\\n")
    print(f"{'ok' if ok else 'not ok'} {n} - tokenize {label!r}")
    if not ok:
        print(f"# {p.stdout.strip()[:300]} {p.stderr.strip()[:300]}")

n += 1
p = tokenize("a photo of a cat")
ok = p.returncode == 0 and p.stdout.split() == "49406 320 1125 539 320 2368 49407".split()
failed += not ok
print(f"{'ok' if ok else 'not ok'} {n} - plain output of 'a photo of a cat'")

n += 1
p = subprocess.run([vidmark, "model", "tokenize", "--vocab", tmp + "/missing", "x"],
                   capture_output=True, text=True)
ok = p.returncode == 1 and p.stderr.startswith("vidmark: ") and p.stderr.count("\n") == 1
failed += not ok
print(f"{'ok' if ok else 'not ok'} {n} - a missing vocabulary is a one-line error")

n += 1
p = subprocess.run([vidmark, "model", "tokenize", "--vocab", vocab], capture_output=True, text=True)
ok = p.returncode == 2
failed += not ok
print(f"{'ok' if ok else 'not ok'} {n} - no text is a usage error")

shutil.rmtree(tmp, ignore_errors=True)
sys.exit(1 if failed else 0)
