"""GGUF files of the Llama 3 and Qwen3 families written by llama.cpp's own converter, and what llama.cpp computes from
them, for Tests/Fixtures/gguf/llamacpp-{llama3-q8_0,qwen3-f16}.gguf and llamacpp-llama-family.json:

  - small random LlamaForCausalLM (grouped-query attention, Llama 3 rope scaling: rope_freqs) and Qwen3ForCausalLM
    (one key/value head, head_dim != hidden / heads, q/k norms) from transformers, with the Llama-3-style and
    Qwen-style tokenizers of scripts/make_hf_tokenizer_goldens.py, converted by llama.cpp's convert_hf_to_gguf.py
    (--outtype q8_0 and f16). The converter recognises a pre-tokenizer by hashing what it makes of a test text, which
    our small trained tokenizers cannot match: this script tells it the family's name (llama-bpe, qwen2) instead;
  - llama.cpp's logits for a prompt (token ids, no BOS), its greedy continuation, and its tokens for a text (through
    llama-cpp-python), and transformers' fp32 logits for the prompt.

Run by hand: python scripts/make_llamacpp_llama_goldens.py LLAMA_CPP_DIR LLAMA_PYTHON
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
from transformers import LlamaConfig, LlamaForCausalLM, Qwen3Config, Qwen3ForCausalLM

llama_cpp_dir, llama_python = sys.argv[1], sys.argv[2]
here = os.path.dirname(os.path.abspath(__file__))
root = os.path.join(here, "..")
target = os.path.join(root, "Tests", "Fixtures", "gguf")
tokenizers = os.path.join(root, "Tests", "TokenizersTests", "Resources")
torch.manual_seed(0)

# Runs the converter with the pre-tokenizer's name given, everything else as llama.cpp does it.
CONVERT = """
import sys
sys.path.insert(0, {dir!r})
sys.path.insert(0, {gguf!r})
import conversion.base
import convert_hf_to_gguf as c
conversion.base.TextModel.get_vocab_base_pre = lambda self, tokenizer: {pre!r}
sys.argv = ["convert_hf_to_gguf.py"] + {args!r}
c.main()
"""

prompt = [36, 627, 352, 814, 855, 1888, 310, 313, 5, 900]
text = "Every effort moves you toward the naïve café 12345 🙂"
models = [
    ("llama3", "q8_0", "llama-bpe", "llama3-bpe", LlamaForCausalLM, LlamaConfig(
        vocab_size=3005, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-5, tie_word_embeddings=False,
        rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
                         "high_freq_factor": 4.0, "original_max_position_embeddings": 16},
        bos_token_id=3000, eos_token_id=3001)),
    ("qwen3", "f16", "qwen2", "qwen2-bpe", Qwen3ForCausalLM, Qwen3Config(
        vocab_size=3003, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=1, head_dim=32, max_position_embeddings=64, rms_norm_eps=1e-6, tie_word_embeddings=True,
        rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}, eos_token_id=3000)),
]
reference = {"prompt": prompt, "text": text}
for name, outtype, pre, tokenizer, cls, config in models:
    model = cls(config).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    model_dir = tempfile.mkdtemp()
    model.save_pretrained(model_dir, safe_serialization=True)
    shutil.copy(os.path.join(tokenizers, f"{tokenizer}.tokenizer.json"), os.path.join(model_dir, "tokenizer.json"))
    json.dump({"tokenizer_class": "PreTrainedTokenizerFast"}, open(os.path.join(model_dir, "tokenizer_config.json"), "w"))
    gguf_path = os.path.join(target, f"llamacpp-{name}-{outtype}.gguf")
    script = CONVERT.format(dir=llama_cpp_dir, gguf=os.path.join(llama_cpp_dir, "gguf-py"), pre=pre,
                            args=[model_dir, "--outtype", outtype, "--outfile", gguf_path])
    subprocess.run([sys.executable, "-c", script], check=True)
    with torch.no_grad():
        hf_logits = model(torch.tensor([prompt])).logits[0]
    llama = subprocess.run([llama_python, "-c", f"""
import json
from llama_cpp import Llama
llm = Llama(model_path={gguf_path!r}, n_ctx=64, logits_all=True, verbose=False, n_threads=1)
llm.eval({prompt!r})
logits = [list(map(float, row)) for row in llm.scores[:{len(prompt)}]]
llm.reset()
greedy = []
for t in llm.generate({prompt!r}, top_k=1, temp=0.0, reset=True):
    greedy.append(t)
    if len(greedy) == 12: break
print(json.dumps({{"logits": logits, "greedy": greedy,
                  "text_ids": llm.tokenize({text!r}.encode(), add_bos=False, special=False)}}))
"""], check=True, capture_output=True, text=True)
    ref = json.loads(llama.stdout.strip().splitlines()[-1])
    # The last two positions' logits (rounded to 1e-5), to keep the fixture small.
    reference[name] = {"file": os.path.basename(gguf_path), "transformers_logits": [[round(x, 5) for x in row] for row in hf_logits[-2:].tolist()],
                       "llamacpp_logits": [[round(x, 5) for x in row] for row in ref["logits"][-2:]],
                       "llamacpp_greedy": ref["greedy"], "llamacpp_text_ids": ref["text_ids"]}
    print("wrote", gguf_path, os.path.getsize(gguf_path), "bytes; greedy", ref["greedy"])
json.dump(reference, open(os.path.join(target, "llamacpp-llama-family.json"), "w"))
