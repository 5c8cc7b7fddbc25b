"""Tests/Fixtures/tiny-bert-classifier: the tiny-bert encoder (Tests/Fixtures/tiny-bert, made by make_bert_goldens.py)
inside transformers' BertForSequenceClassification with three labels and a seeded head, saved by save_pretrained, with
reference.json: a right-padded batch of three texts (ids and mask as BertTokenizerFast makes them), the class logits,
the cross-entropy for given labels, and the gradients of that loss for the head, the pooler and one encoder weight
(nn.Linear layout, (out, in)). Dropout is off (eval mode), as the test runs.
Needs: pip install torch transformers safetensors. Run from the repository root:
  python3 scripts/make_bert_classifier_goldens.py
"""
import json
import os
import shutil

import torch
from transformers import BertForSequenceClassification, BertTokenizerFast

root = os.path.join(os.path.dirname(__file__), "..")
source = os.path.join(root, "Tests", "Fixtures", "tiny-bert")
out = os.path.join(root, "Tests", "Fixtures", "tiny-bert-classifier")
torch.manual_seed(1)
labels = ["negative", "neutral", "positive"]
model = BertForSequenceClassification.from_pretrained(source, num_labels=3, id2label=dict(enumerate(labels)),
                                                      label2id={l: i for i, l in enumerate(labels)})
model.eval()
model.save_pretrained(out, safe_serialization=True)
for name in ["vocab.txt", "tokenizer.json", "tokenizer_config.json"]:
    shutil.copy(os.path.join(source, name), os.path.join(out, name))

tokenizer = BertTokenizerFast.from_pretrained(source)
texts = ["A fine film.", "The plot was thin, and the ending came far too soon for anyone.", "Dull."]
enc = tokenizer(texts, padding=True, return_tensors="pt")
targets = torch.tensor([2, 0, 1])
o = model(**enc, labels=targets)
o.loss.backward()
grads = {name: p.grad.tolist() for name, p in model.named_parameters()
         if name in ["classifier.weight", "bert.pooler.dense.weight", "bert.encoder.layer.0.attention.self.query.weight"]}
json.dump({"input_ids": enc["input_ids"].tolist(), "attention_mask": enc["attention_mask"].tolist(), "labels": targets.tolist(),
           "logits": o.logits.tolist(), "loss": o.loss.item(), "gradients": grads}, open(os.path.join(out, "reference.json"), "w"))
print("wrote", out)
