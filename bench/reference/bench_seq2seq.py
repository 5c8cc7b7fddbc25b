"""Reference side of `bench/run seq2seq`: the three translators of LLMBench seq2seq in PyTorch eager, fp32, as a
tutorial would write them: nn.GRU encoder and decoder (no attention, hidden 160); nn.GRU encoder and an nn.GRUCell
decoder loop with additive (Bahdanau) attention, e_j = v·tanh(W s + U h_j), the context fed to the cell with the
previous word and to the output layer with the new state (hidden 128); nn.Transformer (2 + 2 layers, d 64, 4 heads,
feed-forward 256, post-norm, dropout 0) with sinusoidal positions. One step: forward, cross-entropy, backward,
torch.optim.AdamW. Batch 32, 24 source and 24 target words, vocabularies of 40; LLM_NUM_THREADS threads."""
import json
import math
import os
import resource

import torch
from torch import nn

from common import timed

threads = int(os.environ.get("LLM_NUM_THREADS", "2"))
torch.set_num_threads(threads)
torch.manual_seed(0)
B, S, T, V, E = 32, 24, 24, 40, 64


class RNN(nn.Module):
    def __init__(self, h):
        super().__init__()
        self.src, self.tgt = nn.Embedding(V, E), nn.Embedding(V, E)
        self.encoder, self.decoder = nn.GRU(E, h, batch_first=True), nn.GRU(E, h, batch_first=True)
        self.out = nn.Linear(h, V)

    def forward(self, source, inputs):
        _, final = self.encoder(self.src(source))
        states, _ = self.decoder(self.tgt(inputs), final)
        return self.out(states)


class RNNAttention(nn.Module):
    def __init__(self, h):
        super().__init__()
        self.src, self.tgt = nn.Embedding(V, E), nn.Embedding(V, E)
        self.encoder, self.cell = nn.GRU(E, h, batch_first=True), nn.GRUCell(E + h, h)
        self.query, self.key, self.score = nn.Linear(h, h, bias=False), nn.Linear(h, h), nn.Linear(h, 1, bias=False)
        self.out = nn.Linear(2 * h, V)

    def forward(self, source, inputs):
        states, final = self.encoder(self.src(source))
        keys, s, embedded, logits = self.key(states), final[0], self.tgt(inputs), []
        for t in range(inputs.shape[1]):
            weights = self.score(torch.tanh(keys + self.query(s).unsqueeze(1))).squeeze(2).softmax(-1)
            context = torch.bmm(weights.unsqueeze(1), states).squeeze(1)
            s = self.cell(torch.cat([embedded[:, t], context], 1), s)
            logits.append(self.out(torch.cat([s, context], 1)))
        return torch.stack(logits, 1)


class Transformer(nn.Module):
    def __init__(self, d=64):
        super().__init__()
        self.d = d
        self.src, self.tgt = nn.Embedding(V, d), nn.Embedding(V, d)
        self.transformer = nn.Transformer(d, 4, 2, 2, 256, dropout=0.0, batch_first=True)
        self.out = nn.Linear(d, V)
        table = torch.zeros(256, d)
        for p in range(256):
            for i in range(0, d, 2):
                angle = p / math.pow(10000, i / d)
                table[p, i], table[p, i + 1] = math.sin(angle), math.cos(angle)
        self.register_buffer("table", table)

    def forward(self, source, inputs):
        x = self.src(source) * math.sqrt(self.d) + self.table[: source.shape[1]]
        y = self.tgt(inputs) * math.sqrt(self.d) + self.table[: inputs.shape[1]]
        mask = nn.Transformer.generate_square_subsequent_mask(inputs.shape[1])
        return self.out(self.transformer(x, y, tgt_mask=mask, tgt_is_causal=True))


source = torch.randint(3, V, (B, S))
targets = torch.randint(3, V, (B, T))
inputs = torch.cat([torch.ones(B, 1, dtype=torch.long), targets[:, :-1]], 1)
for name, model in [("rnn (GRU 160)", RNN(160)), ("rnn-attention (GRU 128 + Bahdanau)", RNNAttention(128)),
                    ("transformer (2+2 × 64, 4 heads)", Transformer())]:
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0)

    def step():
        opt.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(source, inputs).reshape(-1, V), targets.reshape(-1)).backward()
        opt.step()

    seconds = timed(step, 7)
    print(json.dumps({"bench": "seq2seq", "shape": name, "variant": "train step B=32 S=T=24",
                      "impl": f"PyTorch {torch.__version__.split('+')[0]} eager", "threads": threads, "seconds": seconds,
                      "tokens_per_s": B * T / seconds,
                      "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6}), flush=True)
