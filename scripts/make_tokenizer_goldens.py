#!/usr/bin/env python3
"""Writes the tokenizer parity fixtures under Tests/TokenizersTests/Resources:

- parity-corpus.txt: ~1.6 MB of text built to stress the split patterns: English prose (The Verdict,
  the instruction data set, the SMS Spam Collection's messages), source code (this repository's own), generated CJK / Hangul / Arabic /
  Devanagari words, emoji with ZWJ sequences and modifiers, combining marks, unusual whitespace,
  long runs of one character, long digit strings, upper-case contractions, special-token
  look-alikes, and characters drawn from every Unicode general category.
- parity-<encoding>.ids: tiktoken's `encode_ordinary(corpus)` for gpt2, cl100k_base and o200k_base,
  as LEB128 varints (about half the size of 32-bit ids).
- tokenizer-goldens.json: small cases: encode with allowed specials, decode of invalid UTF-8, the
  book's SimpleTokenizer examples (Python's `re`), and digests.

Run by hand (CI needs no Python):  pip install tiktoken && python3 scripts/make_tokenizer_goldens.py
The .tiktoken files are read from ../shared/data (tiktoken's expected hashes), so no network is needed.
"""
import glob
import json
import os
import random
import re
import sys
import unicodedata

import tiktoken
from tiktoken.load import load_tiktoken_bpe

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), ".."))
DATA = os.path.normpath(os.path.join(ROOT, "..", "shared", "data"))
OUT = os.path.join(ROOT, "Tests", "TokenizersTests", "Resources")
rng = random.Random(20261129)

PATTERNS = {
    "r50k": r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s""",
    "cl100k": r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s""",
    "o200k": "|".join([
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""", r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""", r"""\s*[\r\n]+""", r"""\s+(?!\S)""", r"""\s+"""]),
}


def encodings():
    def enc(name, file, pattern, specials):
        return tiktoken.Encoding(name=name, pat_str=PATTERNS[pattern],
                                 mergeable_ranks=load_tiktoken_bpe(os.path.join(DATA, file)),
                                 special_tokens=specials)
    return {
        "gpt2": enc("gpt2", "r50k_base.tiktoken", "r50k", {"<|endoftext|>": 50256}),
        "cl100k_base": enc("cl100k_base", "cl100k_base.tiktoken", "cl100k",
                           {"<|endoftext|>": 100257, "<|fim_prefix|>": 100258, "<|fim_middle|>": 100259,
                            "<|fim_suffix|>": 100260, "<|endofprompt|>": 100276}),
        "o200k_base": enc("o200k_base", "o200k_base.tiktoken", "o200k",
                          {"<|endoftext|>": 199999, "<|endofprompt|>": 200018}),
    }


def words(alphabet, count, low=1, high=6, sep=" "):
    return sep.join("".join(rng.choice(alphabet) for _ in range(rng.randint(low, high))) for _ in range(count))


def chars(a, b):
    return [chr(c) for c in range(a, b + 1) if unicodedata.category(chr(c)) != "Cn"]


def corpus():
    parts = []
    verdict = open(os.path.join(DATA, "the-verdict.txt"), encoding="utf-8").read()
    parts.append(verdict)
    records = json.load(open(os.path.join(DATA, "instruction-data.json"), encoding="utf-8"))
    parts.append("\n\n".join(f"{r['instruction']}\n{r['input']}\n{r['output']}" for r in records))
    parts.append(json.dumps(records, indent=2, ensure_ascii=False))
    sms = open(os.path.join(DATA, "SMSSpamCollection.tsv"), encoding="utf-8").read()
    parts.extend(sms.split("\n"))
    code = []
    for path in sorted(glob.glob(os.path.join(ROOT, "Sources", "**", "*.*"), recursive=True)):
        if path.endswith((".swift", ".c", ".h")):
            code.append(open(path, encoding="utf-8").read())
    code.append(open(__file__, encoding="utf-8").read())
    parts.append("\r\n".join("\n".join(code).split("\n")[:6000]))  # some CRLF line endings too
    cjk = chars(0x4E00, 0x9FFF)
    kana = chars(0x3041, 0x30FF)
    hangul = chars(0xAC00, 0xD7A3)
    arabic = chars(0x0621, 0x064A)
    arabic_marks = chars(0x064B, 0x0652)
    deva = chars(0x0905, 0x0939)
    deva_marks = chars(0x093E, 0x094D)
    for _ in range(150):
        parts.append(words(cjk + kana, 40, 1, 8, sep=rng.choice(["", "，", "。", " ", "\u3000"])))
        parts.append(words(hangul, 30))
        parts.append(" ".join("".join(rng.choice(arabic) + (rng.choice(arabic_marks) if rng.random() < 0.3 else "")
                                      for _ in range(rng.randint(2, 7))) for _ in range(30)) + "؟")
        parts.append(" ".join("".join(rng.choice(deva) + (rng.choice(deva_marks) if rng.random() < 0.5 else "")
                                      for _ in range(rng.randint(2, 6))) for _ in range(30)) + "।")
    emoji = ["👨‍👩‍👧‍👦", "🏳️‍🌈", "👍🏽", "🇫🇷", "🇯🇵", "❤️", "🧑🏿‍💻", "😀", "🤖", "👩‍❤️‍💋‍👨", "🫠", "✋🏻", "🐈‍⬛", "1️⃣", "#️⃣"]
    for _ in range(400):
        parts.append(" ".join(rng.choice(emoji) * rng.randint(1, 3) for _ in range(rng.randint(1, 12))) + rng.choice(["", "!", " ok", "\n"]))
    marks = [chr(c) for c in range(0x0300, 0x036F)]
    for _ in range(300):
        parts.append(" ".join("".join(rng.choice("aeiouAEIOUnsyz") + "".join(rng.choice(marks) for _ in range(rng.randint(0, 3)))
                                      for _ in range(rng.randint(1, 8))) for _ in range(10)))
    spaces = ["\r\n", "\t", "\u00a0", "\u3000", "\u2028", "\u2029", "\u0085", "\u1680", "\u2003", "\u202f", "\u205f",
              "\x0b", "\x0c", "\x1c", "\x1f", "\u200b", "\ufeff", " ", "  ", "\n\n", "\r", " \n ", "\t\n"]
    for _ in range(600):
        parts.append("".join(rng.choice(["word", "Word", "42", "!?", "x", "'s", "é", "中", "🙂"]) + rng.choice(spaces)
                             for _ in range(rng.randint(1, 15))))
    for ch, n in [("a", 5000), (" ", 3000), ("\n", 500), ("!", 2000), ("中", 1500), ("🙂", 700), ("\u00a0", 300),
                  ("ab", 1000), ("0", 1200), ("\t", 200), ("é", 800)]:
        parts.append(ch * n)
    parts.append("1234567890" * 300)
    parts.append(" ".join(str(rng.randint(0, 10 ** rng.randint(1, 30))) for _ in range(2000)))
    parts.append("٠١٢٣٤٥٦٧٨٩ ४२ Ⅻ ½ ²³ 𝟘𝟙𝟚")
    contractions = ["DON'T", "I'LL", "WE'VE", "It'S", "you'RE", "'ſ", "'Ll", "'lL", "HE'D", "I'M", "they'Re", "o'clock",
                    "rock'n'roll", "'tis", "''s", "' s", "Ma'am", "ſ'ſ", "X'S'S", "ÉCOLE'S", "Ǆ'D", "ǅungla's"]
    for _ in range(300):
        parts.append(" ".join(rng.choice(contractions) for _ in range(rng.randint(1, 10))) + rng.choice([".", "", "\n"]))
    lookalikes = ["<|endoftext|>", "<|endoftext", "endoftext|>", "<|fim_prefix|>", "<|endofprompt|>", "< |endoftext| >",
                  "<|endoftext|><|endoftext|>", "<||>", "<|unk|>", "<|im_start|>"]
    for _ in range(200):
        parts.append("".join(rng.choice(lookalikes + [" ", "x", "\n"]) for _ in range(rng.randint(1, 8))))
    # Characters of every general category, as short "words", including astral planes.
    by_category = {}
    for c in list(range(0x20, 0x3400)) + list(range(0xA000, 0xD800)) + list(range(0xF900, 0x10000)) + list(range(0x10000, 0x1FB00)):
        ch = chr(c)
        cat = unicodedata.category(ch)
        if cat in ("Cn", "Cs", "Co") or (0xFDD0 <= c <= 0xFDEF) or (c & 0xFFFE) == 0xFFFE:
            continue
        by_category.setdefault(cat, []).append(ch)
    for _ in range(1500):
        cat = rng.choice(sorted(by_category))
        parts.append("".join(rng.choice(by_category[rng.choice([cat, cat, "Ll", "Lu", "Zs", "Mn"])]) for _ in range(rng.randint(1, 6))))
    rng.shuffle(parts)
    seps = ["\n\n", "\n", " ", "", "\r\n", "\t"]
    return "".join(p + rng.choice(seps) for p in parts)


def varints(ids):
    out = bytearray()
    for v in ids:
        while True:
            b = v & 0x7F
            v >>= 7
            out.append(b | (0x80 if v else 0))
            if not v:
                break
    return bytes(out)


def main():
    os.makedirs(OUT, exist_ok=True)
    text = corpus()
    encs = encodings()
    with open(os.path.join(OUT, "parity-corpus.txt"), "w", encoding="utf-8", newline="") as f:
        f.write(text)
    summary = {}
    for name, enc in encs.items():
        ids = enc.encode_ordinary(text)
        assert enc.decode(ids) == text
        with open(os.path.join(OUT, f"parity-{name}.ids"), "wb") as f:
            f.write(varints(ids))
        summary[name] = len(ids)

    cases = []
    examples = ["Hello, do you like tea? <|endoftext|> In the sunlit terraces of someunknownPlace.",
                "hello <|endoftext|>", "<|endoftext|><|endoftext|>x", "a<|fim_prefix|>b<|fim_suffix|>c<|endofprompt|>",
                "<|endofprompt|> \n end", " <|endoftext|> ", "Akwirw ier"]
    for name, enc in encs.items():
        for s in examples:
            cases.append({"encoding": name, "text": s, "allowed": "all", "ids": enc.encode(s, allowed_special="all")})
        cases.append({"encoding": name, "text": examples[0], "allowed": "none", "ids": enc.encode_ordinary(examples[0])})
    verdict = open(os.path.join(DATA, "the-verdict.txt"), encoding="utf-8").read()
    decode_cases = []
    gpt2 = encs["gpt2"]
    for ids in ([40, 367, 2885, 1464], [8582, 247], [8582], [247, 40], [30325, 230], [171, 120, 253], [50256, 8582]):
        decode_cases.append({"encoding": "gpt2", "ids": ids, "text": gpt2.decode(ids), "bytes": list(gpt2.decode_bytes(ids))})

    # The book's chapter 2, with Python's `re` as the reference.
    preprocessed = [t.strip() for t in re.split(r'([,.:;?_!"()\']|--|\s)', verdict) if t.strip()]
    vocab = {t: i for i, t in enumerate(sorted(set(preprocessed)) + ["<|endoftext|>", "<|unk|>"])}
    v2_text = "Hello, do you like tea? <|endoftext|> In the sunlit terraces of the palace."
    v2_ids = [vocab.get(t, vocab["<|unk|>"]) for t in
              [t.strip() for t in re.split(r'([,.:;?_!"()\']|--|\s)', v2_text) if t.strip()]]
    inv = {i: t for t, i in vocab.items()}
    v2_decoded = re.sub(r'\s+([,.?!"()\'])', r"\1", " ".join(inv[i] for i in v2_ids))
    simple = {"verdict_tokens": len(preprocessed), "vocabulary": len(vocab) - 2, "first_tokens": preprocessed[:30],
              "v2_text": v2_text, "v2_ids": v2_ids, "v2_decoded": v2_decoded}

    with open(os.path.join(OUT, "tokenizer-goldens.json"), "w", encoding="utf-8") as f:
        json.dump({"generator": f"tiktoken {tiktoken.__version__}, Python {sys.version.split()[0]}",
                   "corpus_tokens": summary, "corpus_bytes": len(text.encode()), "encode": cases,
                   "decode": decode_cases, "verdict_gpt2": gpt2.encode_ordinary(verdict), "simple": simple},
                  f, ensure_ascii=False)
    print(f"corpus {len(text.encode()) / 1e6:.2f} MB; tokens {summary}")


if __name__ == "__main__":
    main()
