#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Builds CLIP's vocab.json and merges.txt from the BPE merges list, and
writes golden token ids computed by an independent reference tokenizer.

Usage: make-clip-vocab.py BPE_GZ OUT_DIR [GOLDEN_JSON]

The vocabulary is laid out as CLIP's: the 256 byte symbols, the same with
"</w>", one token per merge (the pair joined), then <|startoftext|> and
<|endoftext|>.  The reference tokenizer follows the algorithm of OpenAI's
simple_tokenizer.py (without ftfy) using the `regex` module and
html.unescape; it shares no code with the C implementation under test.
"""

import gzip
import html
import json
import os
import sys
import unicodedata

try:
    import regex
except ImportError:
    sys.stderr.write("the Python module regex is missing (Debian: python3-regex)\n")
    sys.exit(77)

N_MERGES = 49152 - 256 - 2
START = "<|startoftext|>"
END = "<|endoftext|>"
CONTEXT = 77


def byte_symbols():
    """Byte value -> printable stand-in character (GPT-2's table), in
    vocabulary order: the printable bytes first, then the others."""
    printable = list(range(0x21, 0x7F)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    table = {b: chr(b) for b in printable}
    others = [b for b in range(256) if b not in table]
    for k, b in enumerate(others):
        table[b] = chr(0x100 + k)
    return table


def read_merges(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        lines = f.read().split("\n")
    # The first line is a version comment.
    return [tuple(line.split()) for line in lines[1:1 + N_MERGES]]


def build_vocab(merges):
    symbols = list(byte_symbols().values())
    tokens = symbols + [s + "</w>" for s in symbols]
    tokens += ["".join(pair) for pair in merges]
    tokens += [START, END]
    return {tok: i for i, tok in enumerate(tokens)}


class Reference:
    PATTERN = regex.compile(
        r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|"
        r"[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+",
        regex.IGNORECASE)

    def __init__(self, vocab, merges):
        self.vocab = vocab
        self.rank = {}
        for r, pair in enumerate(merges):
            self.rank[pair] = r
        self.symbols = byte_symbols()

    @staticmethod
    def clean(text):
        text = html.unescape(html.unescape(text)).strip()
        text = regex.sub(r"\s+", " ", text).strip()
        return text.lower()

    def pieces(self, text):
        return regex.findall(self.PATTERN, self.clean(text))

    def merge_word(self, chars):
        parts = list(chars[:-1]) + [chars[-1] + "</w>"]
        while len(parts) > 1:
            ranked = [(self.rank.get((a, b)), k)
                      for k, (a, b) in enumerate(zip(parts, parts[1:]))]
            ranked = [(r, k) for r, k in ranked if r is not None]
            if not ranked:
                break
            _, k = min(ranked)
            left, right = parts[k], parts[k + 1]
            merged = []
            k = 0
            while k < len(parts):
                if k + 1 < len(parts) and parts[k] == left and parts[k + 1] == right:
                    merged.append(left + right)
                    k += 2
                else:
                    merged.append(parts[k])
                    k += 1
            parts = merged
        return parts

    def encode(self, text):
        ids = [self.vocab[START]]
        for piece in self.pieces(text):
            if piece in (START, END):
                ids.append(self.vocab[piece])
                continue
            chars = "".join(self.symbols[b] for b in piece.encode("utf-8"))
            ids.extend(self.vocab[p] for p in self.merge_word(chars))
        ids.append(self.vocab[END])
        return ids

    def encode_padded(self, text):
        ids = self.encode(text)
        if len(ids) > CONTEXT:
            ids = ids[:CONTEXT]
            ids[-1] = self.vocab[END]
        return ids + [0] * (CONTEXT - len(ids))


CASES = [
    "a photo of a cat",
    "A Photo Of A CAT!!!",
    "Hello, world! (really?) -- yes... #1 @home $5 50% a+b=c {x}[y] <z> ~/path_to/file.txt",
    "12345 3.14",
    "don't I'll we've they're she'd you'm 'S it's o'clock",
    "it'\u017f and '\u017fome",
    "café naïve Ångström",
    "ΟΔΥΣΣΕΥΣ καί Σ ΑΣ. λόγος",
    "İstanbul KELVIN \u212a",
    "Привет, мир! Съешь же ещё этих мягких французских булок",
    "中文分词测试：我爱北京天安门。",
    "日本語のテキスト、カタカナとひらがな。",
    "مرحبا بالعالم",
    "नमस्ते दुनिया",
    "emoji 🐶🏊‍♂️ and 👍🏽!",
    "&amp;lt;b&amp;gt;",
    "&eacute;t&eacute; &copy 2024 &notit; &#233;&#xE9;&#XE9 &#0; &#128; &#x81; &#1; &#x110000; &#55296; &#99999999999999999999;",
    "&amp &ampx &AMP; &hellip;&mdash;&nbsp;x &apos;quoted&apos; & &; &# &#x; &#xg;",
    "&aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; &ltabcdefghijklmnopqrstuvwxyzabcdefgh;",
    "  lots   of\t\ttabs\n\nand\r\nnewlines \u00a0nbsp\u3000ideographic\u2028  ",
    "\x1c edge\x1cspace\x1f \x85next\x0bvt ",
    "",
    "   \t\n  ",
    "<|startoftext|>inside<|endoftext|> <|ENDOFTEXT|> <|endoftext",
    "x" * 300,
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "a photo of a cat " * 30,
    "mixed123numbers4you 2nd 1st ½ ² Ⅻ ٣",
    "invalid\ufffdreplacement \u0301combining e\u0301",
]


def entity_cases():
    """Every named reference the C side documents (HTML 4.01 + &apos; with
    semicolons, the legacy names without), each also glued to letters."""
    import html.entities as he
    names = {n + ";" for n in he.name2codepoint} | {"apos;"}
    names |= {n for n in he.html5 if not n.endswith(";")}
    text = " ".join("&" + n for n in sorted(names))
    glued = " ".join("x&" + n + "yz" for n in sorted(names))
    return [text, glued]


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    bpe_path, out_dir = sys.argv[1], sys.argv[2]
    merges = read_merges(bpe_path)
    vocab = build_vocab(merges)
    assert len(vocab) == 49408, len(vocab)

    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(out_dir, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for a, b in merges:
            f.write(f"{a} {b}\n")

    if len(sys.argv) == 4:
        ref = Reference(vocab, merges)
        cat = ref.encode("a photo of a cat")
        assert cat == [49406, 320, 1125, 539, 320, 2368, 49407], cat
        cases = [{
            "text": text,
            "clean": ref.clean(text),
            "pieces": ref.pieces(text),
            "ids": ref.encode(text),
            "padded": ref.encode_padded(text),
        } for text in CASES + entity_cases()]
        # Every code point of planes 0-1 alone between spaces: checks
        # lower-casing and white space classes one character at a time.
        every = " ".join(chr(c) for c in range(1, 0x20000)
                         if not 0xD800 <= c <= 0xDFFF and chr(c) != "&")
        # Each doubled between a letter and a punctuation mark: checks the
        # letter / number / other / space classes of the split.
        # Only characters assigned in Python's Unicode version: the C side
        # may know a newer one.
        classes = " ".join("x" + chr(c) * 2 + "!" for c in range(1, 0x20000)
                           if unicodedata.category(chr(c)) not in ("Cn", "Cs")
                           and chr(c) not in "&'<")
        with open(sys.argv[3], "w", encoding="utf-8") as f:
            json.dump({"cases": cases,
                       "every": {"text": every, "clean": Reference.clean(every)},
                       "classes": {"text": classes, "pieces": ref.pieces(classes)}},
                      f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
