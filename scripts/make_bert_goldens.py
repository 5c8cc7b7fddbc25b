"""A tiny random BERT saved by `transformers` (pip install torch transformers safetensors), for Tests/Fixtures/:

  tiny-bert/          BertModel(BertConfig(vocab 3,000, 32 wide, 2 layers, 4 heads), seed 0).save_pretrained: unprefixed
                      names, with the cased WordPiece vocabulary of the tokenizer tests as vocab.txt, and
                      reference.json: a padded batch of two texts and a sentence pair (ids, token types, mask as
                      BertTokenizerFast makes them) with transformers' last hidden states and pooled outputs
  tiny-bert-mlm/      the same encoder inside BertForMaskedLM ("bert." prefix, and the MLM head), with reference.json:
                      the logits of a text with two [MASK]s and the loss over its two labelled positions
Run from the repository root: python3 scripts/make_bert_goldens.py
"""
import json
import os
import shutil

import torch
from transformers import BertConfig, BertForMaskedLM, BertModel, BertTokenizerFast

root = os.path.join(os.path.dirname(__file__), "..")
vocab = os.path.join(root, "Tests", "TokenizersTests", "Resources", "wordpiece-cased-vocab.txt")
out = os.path.join(root, "Tests", "Fixtures", "tiny-bert")
mlm_out = os.path.join(root, "Tests", "Fixtures", "tiny-bert-mlm")
torch.manual_seed(0)
config = BertConfig(vocab_size=3000, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                    max_position_embeddings=64, hidden_act="gelu")
model = BertModel(config).eval()
model.save_pretrained(out, safe_serialization=True)
shutil.copy(vocab, os.path.join(out, "vocab.txt"))
mlm = BertForMaskedLM(config).eval()
mlm.bert.load_state_dict(model.state_dict(), strict=False)
mlm.save_pretrained(mlm_out, safe_serialization=True)
shutil.copy(vocab, os.path.join(mlm_out, "vocab.txt"))

tokenizer = BertTokenizerFast(vocab, do_lower_case=False)
tokenizer.save_pretrained(out)      # tokenizer.json and tokenizer_config.json ("do_lower_case": false) beside vocab.txt
tokenizer.save_pretrained(mlm_out)
cases = []
batch = tokenizer(["The cat sat on the mat.", "A longer second sentence, with more words in it than the first!"],
                  padding=True, return_tensors="pt")
pair = tokenizer(["Is this the question?"], ["And this, the answer."], return_tensors="pt")
with torch.no_grad():
    for enc in [batch, pair]:
        o = model(**enc)
        cases.append({"input_ids": enc["input_ids"].tolist(), "token_type_ids": enc["token_type_ids"].tolist(),
                      "attention_mask": enc["attention_mask"].tolist(),
                      "last_hidden_state": o.last_hidden_state.tolist(), "pooler_output": o.pooler_output.tolist()})
json.dump({"cases": cases}, open(os.path.join(out, "reference.json"), "w"))

# The masked-LM head: logits for a text with two [MASK]s, and the loss over labelled positions only (-100 elsewhere).
masked = tokenizer(["The [MASK] sat on the [MASK]."], return_tensors="pt")
labels = torch.full_like(masked["input_ids"], -100)
positions = (masked["input_ids"][0] == tokenizer.mask_token_id).nonzero().flatten().tolist()
for p, word in zip(positions, ["cat", "mat"]):
    labels[0, p] = tokenizer.convert_tokens_to_ids(word)
with torch.no_grad():
    o = mlm(**masked, labels=labels)
json.dump({"input_ids": masked["input_ids"].tolist()[0], "labels": labels.tolist()[0], "logits": o.logits[0].tolist(),
           "loss": o.loss.item()}, open(os.path.join(mlm_out, "reference.json"), "w"))
print("wrote", out, mlm_out)
