"""A GGUF written by llama.cpp's own converter, and what llama.cpp computes from it, for
Tests/Fixtures/gguf/llamacpp-gpt2-q8_0.gguf and llamacpp-reference.json:

  - a small random GPT-2 (transformers, vocab 50257, 2 layers of 32) with GPT-2's tokenizer files,
    converted by llama.cpp's convert_hf_to_gguf.py --outtype q8_0;
  - llama.cpp's logits for a prompt's last position and its greedy continuation (through llama-cpp-python), and
    transformers' fp32 logits for the same prompt.

Run by hand: python scripts/make_llamacpp_goldens.py LLAMA_CPP_DIR LLAMA_PYTHON
  LLAMA_CPP_DIR  a llama.cpp source tree (e.g. vendor/llama.cpp of the llama-cpp-python sdist)
  LLAMA_PYTHON   a python with llama-cpp-python installed (bench/run generate makes bench/.venv-llama)
needs torch, transformers, numpy here.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import torch
from transformers import GPT2Config, GPT2LMHeadModel

llama_cpp_dir, llama_python = sys.argv[1], sys.argv[2]
here = os.path.dirname(os.path.abspath(__file__))
root = os.path.join(here, "..")
target = os.path.join(root, "Tests", "Fixtures", "gguf")
model_dir = tempfile.mkdtemp()
torch.manual_seed(0)
config = GPT2Config(n_embd=32, n_layer=2, n_head=4, n_positions=64, vocab_size=50257)
model = GPT2LMHeadModel(config).eval()
model.save_pretrained(model_dir, safe_serialization=True)
with open(os.path.join(model_dir, "config.json")) as f:
    c = json.load(f)
c["n_ctx"] = c["n_positions"]  # the converter reads n_ctx, which transformers 5 no longer writes
json.dump(c, open(os.path.join(model_dir, "config.json"), "w"))
shutil.copy(os.path.join(root, "Tests", "TokenizersTests", "Resources", "gpt2-tokenizer.json"), os.path.join(model_dir, "tokenizer.json"))
shutil.copy(os.path.join(root, "..", "shared", "data", "gpt2-encoder.json"), os.path.join(model_dir, "vocab.json"))
shutil.copy(os.path.join(root, "..", "shared", "data", "gpt2-vocab.bpe"), os.path.join(model_dir, "merges.txt"))
json.dump({"tokenizer_class": "GPT2Tokenizer", "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>"},
          open(os.path.join(model_dir, "tokenizer_config.json"), "w"))

gguf_path = os.path.join(target, "llamacpp-gpt2-q8_0.gguf")
env = dict(os.environ, PYTHONPATH=os.path.join(llama_cpp_dir, "gguf-py"))
subprocess.run([sys.executable, os.path.join(llama_cpp_dir, "convert_hf_to_gguf.py"), model_dir, "--outtype", "q8_0",
                "--outfile", gguf_path], check=True, env=env)

prompt = [6109, 3626, 6100, 345, 1863, 262]
with torch.no_grad():
    hf_logits = model(torch.tensor([prompt])).logits[0].tolist()
llama = subprocess.run([llama_python, "-c", f"""
import json
from llama_cpp import Llama
llm = Llama(model_path={gguf_path!r}, n_ctx=64, logits_all=True, verbose=False, n_threads=1)
llm.eval({prompt!r})
logits = [list(map(float, row)) for row in llm.scores[:{len(prompt)}]]
llm.reset()
greedy = []
for t in llm.generate({prompt!r}, top_k=1, temp=0.0):
    greedy.append(t)
    if len(greedy) == 20: break
text = "Every effort moves you toward the naïve café 🙂"
print(json.dumps({{"logits": logits, "greedy": greedy, "text": text,
                  "text_ids": llm.tokenize(text.encode(), add_bos=False, special=False)}}))
"""], check=True, capture_output=True, text=True)
ref = json.loads(llama.stdout.strip().splitlines()[-1])
# The last position's logits only (rounded to 1e-5), to keep the fixture small.
json.dump({"prompt": prompt, "transformers_logits": [round(x, 5) for x in hf_logits[-1]],
           "llamacpp_logits": [round(x, 5) for x in ref["logits"][-1]],
           "llamacpp_greedy": ref["greedy"], "text": ref["text"], "llamacpp_text_ids": ref["text_ids"]},
          open(os.path.join(target, "llamacpp-reference.json"), "w"))
print("wrote", gguf_path, os.path.getsize(gguf_path), "bytes, and llamacpp-reference.json")
