#!/usr/bin/env python3
"""Trains two small byte-level BPE tokenizers with Hugging Face `tokenizers`, shaped as Llama 3's and Qwen's
`tokenizer.json` are (the real files are not reachable here), and writes them with `tokenizers`' own ids for
the parity corpus, under Tests/TokenizersTests/Resources:

- llama3-bpe.tokenizer.json: Split with Llama 3's pattern (cl100k's) + ByteLevel(use_regex=False), Llama 3's
  special tokens added after training (as its ids put them after the ordinary ones);
- qwen2-bpe.tokenizer.json: Qwen2/Qwen3's pattern (single digits), the NFC normalizer, ChatML's special tokens;
- parity-llama3-bpe.ids, parity-qwen2-bpe.ids: `Tokenizer.encode(corpus, add_special_tokens=False).ids` as
  LEB128 varints, like parity-<encoding>.ids (added tokens are matched wherever they occur, even so: the
  corpus's special-token look-alikes become their ids);
- hf-tokenizer-goldens.json: a few texts with special tokens in them, encoded.

Run by hand after make_tokenizer_goldens.py (CI needs no Python):
  pip install tokenizers && python3 scripts/make_hf_tokenizer_goldens.py
"""
import json
import os
import unicodedata

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "TokenizersTests", "Resources")
LLAMA3 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
QWEN2 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"

with open(os.path.join(OUT, "parity-corpus.txt"), encoding="utf-8", newline="") as f:
    corpus = f.read()
# Lines whose NFC differs between `tokenizers` (its Rust Unicode tables) and Python's unicodedata, which agrees
# with Swift's: two Sogdian combining marks ordered differently. The Qwen-style tokenizer (NFC) is compared on
# the corpus without them; the test drops the same lines.
lines = corpus.split("\n")
disputed = [i for i, line in enumerate(lines) if normalizers.NFC().normalize_str(line) != unicodedata.normalize("NFC", line)]
nfc_corpus = "\n".join(line for i, line in enumerate(lines) if i not in set(disputed))


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


def train(name, pattern, specials, nfc):
    tok = Tokenizer(models.BPE())
    if nfc:
        tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=3000, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator([corpus[i:i + 10000] for i in range(0, len(corpus), 10000)], trainer)
    tok.add_special_tokens(specials)
    tok.save(os.path.join(OUT, f"{name}.tokenizer.json"))
    text = nfc_corpus if nfc else corpus
    ids = tok.encode(text, add_special_tokens=False).ids
    # Added tokens are matched in any text (the corpus has special-token look-alikes): compare with them kept.
    assert tok.decode(ids, skip_special_tokens=False) == (unicodedata.normalize("NFC", text) if nfc else text)
    with open(os.path.join(OUT, f"parity-{name}.ids"), "wb") as f:
        f.write(varints(ids))
    print(f"{name}: {tok.get_vocab_size()} tokens, corpus -> {len(ids)} ids")
    return tok


cases = []
llama = train("llama3-bpe", LLAMA3, ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"], False)
for text in ["<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWhat is 12345 + 678?<|eot_id|>",
             "Héllo wörld 1234567 don't WE'LL \r\n\n  end"]:
    cases.append({"tokenizer": "llama3-bpe", "text": text, "ids": llama.encode(text, add_special_tokens=False).ids})
qwen = train("qwen2-bpe", QWEN2, ["<|endoftext|>", "<|im_start|>", "<|im_end|>"], True)
for text in ["<|im_start|>user\nWhat is 12345 + 678?<|im_end|>\n<|im_start|>assistant\n",
             "Cafe\u0301 (decomposed) and Caf\u00e9 (composed) 2024"]:
    cases.append({"tokenizer": "qwen2-bpe", "text": text, "ids": qwen.encode(text, add_special_tokens=False).ids})
with open(os.path.join(OUT, "hf-tokenizer-goldens.json"), "w") as f:
    json.dump({"generator": "Hugging Face tokenizers", "cases": cases, "nfc_disputed_lines": disputed}, f, ensure_ascii=False, indent=1)
print("lines left out for the NFC tokenizer:", disputed)
