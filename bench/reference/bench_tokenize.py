"""Reference side of `bench/run tokenize`: tiktoken on the same corpora and encodings as LLMBench
(the .tiktoken files from ../shared/data or the package's resources, so no network is needed)."""
import json
import os
import sys

import tiktoken
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from tiktoken.load import load_tiktoken_bpe
from common import timed  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from make_tokenizer_goldens import PATTERNS  # noqa: E402  (one copy of the patterns)

RESOURCES = os.path.join(ROOT, "Sources", "Tokenizers", "Resources")
DATA = os.path.normpath(os.path.join(ROOT, "..", "shared", "data"))
SPECIALS = {
    "gpt2": ("r50k_base", "r50k", {"<|endoftext|>": 50256}),
    "cl100k_base": ("cl100k_base", "cl100k", {"<|endoftext|>": 100257, "<|fim_prefix|>": 100258, "<|fim_middle|>": 100259,
                                              "<|fim_suffix|>": 100260, "<|endofprompt|>": 100276}),
    "o200k_base": ("o200k_base", "o200k", {"<|endoftext|>": 199999, "<|endofprompt|>": 200018}),
}



mixed = open(os.path.join(ROOT, "Tests", "TokenizersTests", "Resources", "parity-corpus.txt"), encoding="utf-8", newline="").read()
english = "\n".join(open(os.path.join(DATA, f), encoding="utf-8", newline="").read()
                    for f in ["the-verdict.txt", "instruction-data.json", "SMSSpamCollection.tsv"])
threads = os.cpu_count()
for corpus_name, text in [("mixed", mixed), ("english", english)]:
    mb = len(text.encode()) / 1e6
    lines = text.split("\n")
    for name, (file, pattern, specials) in SPECIALS.items():
        enc = tiktoken.Encoding(name=name, pat_str=PATTERNS[pattern],
                                mergeable_ranks=load_tiktoken_bpe(os.path.join(RESOURCES, file + ".tiktoken")),
                                special_tokens=specials)
        ids = enc.encode_ordinary(text)
        rows = [("encode", timed(lambda: enc.encode_ordinary(text), 5), 1),
                ("decode", timed(lambda: enc.decode_bytes(ids), 5), 1),
                ("encode-batch", timed(lambda: enc.encode_batch(lines, num_threads=threads, allowed_special="all"), 5), threads)]
        for op, seconds, t in rows:
            print(json.dumps({"bench": "tokenize", "shape": f"{name}/{corpus_name}", "variant": op,
                              "impl": f"tiktoken {tiktoken.__version__}", "threads": t, "seconds": seconds,
                              "mb_per_s": mb / seconds, "tokens": len(ids)}), flush=True)

    # BPE training with Hugging Face tokenizers: byte-level, GPT-2 pre-tokenization, 8,000 tokens.
    def train():
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=8000, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                      show_progress=False)
        tok.train_from_iterator([text], trainer=trainer)
    seconds = timed(train, repeats=3)
    import tokenizers
    print(json.dumps({"bench": "tokenize", "shape": f"train-8000/{corpus_name}", "variant": "train",
                      "impl": f"HF tokenizers {tokenizers.__version__}", "threads": threads, "seconds": seconds,
                      "mb_per_s": mb / seconds, "tokens": 8000}), flush=True)
