"""Reference side of `bench/run finetune`: two epochs, each timed, of the book's chapter 6 recipe in PyTorch eager fp32 —
GPT-2 124M shape (random weights, dropout 0), a Linear(768, 2) head on the last position, everything
frozen but the last transformer block, the final norm and the head, AdamW lr 5e-5 weight decay 0.1,
batch 8, shuffled, last partial batch dropped — on bench/.cache/sms-train.tsv.

Two variants: the book's (every text padded with <|endoftext|> to the longest text of the training set),
and the same loop with each batch padded only to its own longest text (the work our side does)."""
import json
import os
import resource
import time

import tiktoken
import tiktoken.load
import torch
from transformers import GPT2Config, GPT2Model

threads = int(os.environ.get("LLM_NUM_THREADS", "2"))
torch.set_num_threads(threads)
torch.manual_seed(0)
here = os.path.dirname(os.path.abspath(__file__))
encoding = tiktoken.Encoding(
    name="gpt2", explicit_n_vocab=50257,
    pat_str=r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s""",
    mergeable_ranks=tiktoken.load.load_tiktoken_bpe(os.path.join(here, "..", "..", "Sources", "Tokenizers", "Resources", "r50k_base.tiktoken")),
    special_tokens={"<|endoftext|>": 50256})
rows = [line.rstrip("\n").split("\t", 1) for line in open(os.path.join(here, "..", ".cache", "sms-train.tsv"), encoding="utf-8")]
texts = [encoding.encode_ordinary(text) for _, text in rows]
labels = [int(label == "spam") for label, _ in rows]
longest = max(map(len, texts))


class Classifier(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.gpt = GPT2Model(GPT2Config(n_positions=1024, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0))
        self.head = torch.nn.Linear(768, 2)

    def forward(self, ids):
        return self.head(self.gpt(ids).last_hidden_state[:, -1, :])


def epoch(model, opt, pad_to_set):
    order = torch.randperm(len(texts)).tolist()
    for b in range(len(texts) // 8):
        members = order[b * 8:(b + 1) * 8]
        width = longest if pad_to_set else max(len(texts[i]) for i in members)
        ids = torch.tensor([texts[i] + [50256] * (width - len(texts[i])) for i in members])
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(ids), torch.tensor([labels[i] for i in members])).backward()
        opt.step()


for variant, pad_to_set in [("book recipe: pad to the longest text of the set", True),
                            ("padded per batch", False)]:
    model = Classifier().train()
    for p in model.parameters():
        p.requires_grad = False
    for p in list(model.gpt.h[-1].parameters()) + list(model.gpt.ln_f.parameters()) + list(model.head.parameters()):
        p.requires_grad = True
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=5e-5, weight_decay=0.1)
    examples = len(texts) // 8 * 8
    for n in (1, 2):  # two epochs, each timed (ours caches the frozen blocks' output in its first)
        start = time.perf_counter()
        epoch(model, opt, pad_to_set)
        seconds = time.perf_counter() - start
        print(json.dumps({"bench": "finetune", "shape": f"gpt2 124M, SMS spam, {examples} examples",
                          "variant": f"epoch {n}, last block trainable",
                          "impl": f"PyTorch {torch.__version__.split('+')[0]} eager, {variant}", "threads": threads,
                          "seconds": seconds, "examples_per_s": examples / seconds,
                          "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6}), flush=True)
    del model, opt
