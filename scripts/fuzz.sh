#!/usr/bin/env bash
# Coverage-guided fuzzing of every reader of outside input (fuzz/Sources/LLMFuzz/Targets.swift: the file
# formats; fuzz/Sources/LLMFuzzHTTP: request bodies through the whole server).
#   scripts/fuzz.sh [SECONDS] [TARGET...]   each target for SECONDS (default 60); all targets when none named,
#                                           `readers` for every file format (not http, whose build takes long)
#   FUZZ_RUNS=N scripts/fuzz.sh SECONDS ...  each target until N executions or SECONDS, whichever comes first
#   FUZZ_SKIP_BUILD=1 scripts/fuzz.sh ...     the harness as last built (long runs while the tree is being edited)
# Builds fuzz/ with libFuzzer and AddressSanitizer, seeds each target's corpus from our real files (model
# directories, GGUF files, encodings, data), runs it, and prints executions and coverage per target. A crash
# keeps its input in fuzz/crashes/TARGET/ and fails the script: add the input to Tests/FormatsTests/Resources/fuzz/
# (a regression case the normal test suite replays) and fix the reader.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
repo="$(pwd)"
fuzz="$repo/fuzz"
readers=(safetensors config tiktoken tiktoken-sidecar tokenizer-json encoder-vocab token-file csv instructions adapter gguf tensorflow word2vec wordpiece-vocab wordpiece-json vector-index sentence-transformer)
requested=("$@")
[ $# -gt 0 ] || requested=(readers http)
targets=()
for t in "${requested[@]}"; do
  if [ "$t" = readers ]; then targets+=("${readers[@]}"); else targets+=("$t"); fi
done
products=()
for t in "${targets[@]}"; do
  if [ "$t" = http ]; then products+=(LLMFuzzHTTP); else products+=(LLMFuzz); fi
done
echo "building the fuzz harness (libFuzzer + AddressSanitizer)..." >&2
# Coverage instrumentation as -sanitize=fuzzer gives it, and libFuzzer's driver without its main().
runtime="$(dirname "$(dirname "$(realpath "$(command -v swiftc)")")")/lib/clang"
nomain="$(ls "$runtime"/*/lib/linux/libclang_rt.fuzzer_no_main-"$(uname -m)".a | head -1)"
# SwiftPM does not notice files added to a path dependency; a fresh build plan does (the objects are kept).
rm -f "$fuzz/.build/release.yaml"
for product in $(printf '%s\n' "${products[@]}" | sort -u); do
  [ -z "${FUZZ_SKIP_BUILD:-}" ] || break
  swift build -c release --package-path "$fuzz" --product "$product" -Xswiftc -sanitize=address \
    -Xswiftc -sanitize-coverage=edge,trace-cmp,inline-8bit-counters,pc-table -Xlinker "$nomain" -Xlinker -lstdc++ >&2
done
binary() { if [ "$1" = http ]; then echo "$fuzz/.build/release/LLMFuzzHTTP"; else echo "$fuzz/.build/release/LLMFuzz"; fi; }

# Seeds: our real files, cut to a few KB where they are large (libFuzzer mutates small inputs faster).
# A corpus of this run's own, so runs side by side do not share one.
corpus="$fuzz/.corpus/run-$$"
rm -rf "$corpus"
seed() { mkdir -p "$corpus/$1"; cat > "$corpus/$1/$2"; }
res="$repo/Tests/Fixtures"
for d in tiny-gpt2-tied tiny-gpt2-untied tiny-gpt2-classifier ours-micro tiny-llama3 tiny-qwen3 ours-micro-llama; do seed config "$d" < "$res/$d/config.json"; done
# Model files are hundreds of KB (slow to mutate): a small file of the same format, every dtype, plus one real model.
header='{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"F16","shape":[3],"data_offsets":[16,22]},"c":{"dtype":"BF16","shape":[1,1],"data_offsets":[22,24]},"__metadata__":{"format":"pt"}}'
{ printf "\\x$(printf %02x ${#header})\\0\\0\\0\\0\\0\\0\\0"; printf '%s' "$header"; head -c 24 /dev/zero | tr '\0' '\74'; } | seed safetensors small
seed safetensors tiny-gpt2-classifier < "$res/tiny-gpt2-classifier/model.safetensors"
# GGUF: a few-KB model of each weight type from our writer, and one file from the gguf Python writer.
[ ! -x "$fuzz/.build/release/LLMFuzz" ] || LLM_FUZZ_SEEDS="$corpus/gguf" "$fuzz/.build/release/LLMFuzz"
seed gguf tiny-q8_0 < "$res/gguf/tiny-q8_0.gguf"
seed gguf tiny-mixed < "$res/gguf/tiny-mixed.gguf" # Q4_0, Q4_1, Q5_0 and Q5_1 matrices
# TensorFlow: the u32 length of the index, the index, the data (a tiny GPT-2 written by TensorFlow).
tf="$res/openai-tiny/model.ckpt"
n="$(wc -c < "$tf.index")"
{ printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $((n & 255)) $((n >> 8 & 255)) $((n >> 16 & 255)) $((n >> 24 & 255)))"
  cat "$tf.index" "$tf.data-00000-of-00001"; } | seed tensorflow openai-tiny
for e in r50k_base cl100k_base; do
  head -c 4000 "$repo/Sources/Tokenizers/Resources/$e.tiktoken" | sed '$d' | seed tiktoken "$e"
  { head -c 4000 "$repo/Sources/Tokenizers/Resources/$e.tiktoken" | sed '$d'; printf '\0{"pat_str":"\\\\w+| ?[^\\\\s\\\\w]+|\\\\s+","special_tokens":{"<|endoftext|>":50256}}'; } | seed tiktoken-sidecar "$e"
done
head -c 6000 "$repo/Tests/TokenizersTests/Resources/gpt2-tokenizer.json" | seed tokenizer-json truncated
printf '{"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2,"\\u0120":3},"merges":["a b"]},"added_tokens":[{"id":4,"content":"<|endoftext|>","special":true}]}' | seed tokenizer-json small
# Whole small tokenizer.json files of the Llama 3 and Qwen kinds (290 tokens, trained by `tokenizers` on The Verdict).
for f in "$fuzz"/seeds/tokenizer-json/*.json; do seed tokenizer-json "$(basename "$f" .json)" < "$f"; done
{ printf '{"a": 0, "b": 1, "ab": 2, "\\u0120": 3}'; printf '\0#version: 0.2\na b\n'; } | seed encoder-vocab small
{ head -c 3000 "$repo/Tests/TokenizersTests/Resources/gpt2-encoder.json"; printf '\0'; head -c 2000 "$repo/Tests/TokenizersTests/Resources/gpt2-vocab.bpe"; } | seed encoder-vocab truncated
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp" "$corpus"' EXIT
head -c 3000 "$repo/Sources/LLMCommand/Resources/the-verdict.txt" > "$tmp/verdict.txt"
"$repo/.build/release/llm" prepare -o "$tmp/verdict.tokens" "$tmp/verdict.txt" > /dev/null 2>&1 && seed token-file verdict < "$tmp/verdict.tokens"
printf 'label\ttext\nham\tGo until jurong point, crazy..\nspam\tFree entry in 2 a wkly comp\n' | seed csv tsv
printf 'label,text\nham,"Ok lar... ""joking"" wif u oni"\nspam,"WINNER!!, claim"\n' | seed csv csv
printf '[{"instruction": "Rewrite the sentence.", "input": "The car is fast.", "output": "The car is quick."}]' | seed instructions array
printf '{"instruction": "Name a colour.", "input": "", "output": "Blue."}\n{"instruction": "Add 2 and 3.", "input": "", "output": "5"}\n' | seed instructions jsonl
{ printf '{"r": 2, "lora_alpha": 4}\0'; head -c 3000 "$res/tiny-gpt2-tied/model.safetensors"; } | seed adapter config
# HTTP: the first byte picks the endpoint (0 completions, 1 chat, 2 tokenize, 3 detokenize), then the body
# (the fuzzed server's model has a 292-token vocabulary: prompt ids below that).
printf '\0{"model":"tiny","prompt":"Every effort moves you","max_tokens":5,"temperature":0.7,"top_k":40,"top_p":0.9,"seed":1,"stop":["."],"logprobs":2,"echo":true}' | seed http completion
printf '\0{"prompt":[46,32],"max_tokens":3,"stream":true,"stream_options":{"include_usage":true}}' | seed http completion-ids
printf '\1{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":[{"type":"text","text":"Hi"}]}],"max_completion_tokens":4,"logprobs":true,"top_logprobs":3}' | seed http chat
printf '\1{"messages":[{"role":"user","content":"Hi"}],"stream":true,"stop":"\\n","n":1,"user":"u"}' | seed http chat-stream
printf '\2{"text":"Hello <|endoftext|> world","encoding":"cl100k_base"}' | seed http tokenize
printf '\3{"tokens":[15496,995,50256],"encoding":"gpt2"}' | seed http detokenize

# WordPiece: the cased test vocabulary (the first 400 tokens and all), and its tokenizer.json cut short and whole.
head -n 400 "$repo/Tests/TokenizersTests/Resources/wordpiece-cased-vocab.txt" | seed wordpiece-vocab head
seed wordpiece-vocab cased < "$repo/Tests/TokenizersTests/Resources/wordpiece-cased-vocab.txt"
seed wordpiece-json cased < "$repo/Tests/TokenizersTests/Resources/wordpiece-cased-tokenizer.json"
head -c 5000 "$repo/Tests/TokenizersTests/Resources/wordpiece-cased-tokenizer.json" | seed wordpiece-json truncated
# word2vec vectors: gensim's text and binary files (the first rows), and a tiny file of each layout.
head -c 3000 "$res/word2vec/gensim-vectors.txt" | seed word2vec gensim-text
head -c 2000 "$res/word2vec/gensim-vectors.bin" | seed word2vec gensim-binary
printf '2 3\nking 0.1 -0.2 3e-05\nqueen 1 2 3\n' | seed word2vec small-text
# Retrieval: an index our writer made (with the GGUF seeds above); sentence-transformers files split at NUL bytes.
mkdir -p "$corpus/vector-index"
printf '[{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},{"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"},{"idx":2,"name":"2","path":"2_Normalize","type":"sentence_transformers.models.Normalize"}]\0{"word_embedding_dimension":32,"pooling_mode_cls_token":false,"pooling_mode_mean_tokens":true}\0{"max_seq_length":16,"do_lower_case":false}' \
  | seed sentence-transformer minilm-like

mkdir -p "$fuzz/crashes"
printf '%-18s %12s %10s %8s %8s\n' target executions exec/s cov ft
status=0
for t in "${targets[@]}"; do
  mkdir -p "$fuzz/crashes/$t" "$corpus/$t"
  log="$tmp/$t.log"
  # HummingbirdTesting's router client makes a channel for every request's context and never closes it
  # (~8 KB a request under ASan, 4 GB at 516,555 requests): the http target gets room for a million. The
  # server itself does not grow (`llm serve`: 56 MB after 20,000 requests over HTTP).
  rss=4096
  [ "$t" != http ] || rss=12288
  if ! LLM_FUZZ_TARGET="$t" ASAN_OPTIONS=detect_leaks=0 "$(binary "$t")" "$corpus/$t" -max_total_time="$seconds" ${FUZZ_RUNS:+-runs="$FUZZ_RUNS"} -timeout=10 \
      -rss_limit_mb="$rss" -malloc_limit_mb=2048 -artifact_prefix="$fuzz/crashes/$t/" -print_final_stats=1 > "$log" 2>&1; then
    echo "$t: CRASH (input kept in fuzz/crashes/$t/)"; grep -m5 -E "ERROR|Fatal|crash|SUMMARY" "$log" || tail -5 "$log"
    status=1
  fi
  runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)"
  speed="$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)"
  cov="$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)"
  printf '%-18s %12s %10s %8s %8s\n' "$t" "$runs" "$speed" "$(echo "$cov" | awk '{print $2}')" "$(echo "$cov" | awk '{print $4}')"
done
exit $status
