#!/usr/bin/env bash
# The experiment of docs/WORD2VEC.md: word2vec vectors and a GPT's own token embeddings, both trained here on
# one corpus (bench/reference/prepare_word2vec.py's 0.84M words of Wikipedia text), side by side: each word's
# nearest neighbours and the same words' 2-D picture (PCA) from both.
#   scripts/word2vec_vs_gpt.sh [LLM] [OUT_DIR]     (default: .build/release/llm, docs/word2vec)
# Needs python3 with gensim once, to extract the corpus from gensim's test data. About 10 minutes on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
llm="${1:-.build/release/llm}"
out="${2:-docs/word2vec}"
corpus=bench/.cache/word2vec-corpus.txt
[ -f "$corpus" ] || python3 bench/reference/prepare_word2vec.py
mkdir -p "$out"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
words="king queen man woman french english german paris london city river water fire war army film music red blue two three january"

echo "word2vec (skip-gram, 100-d, 5 epochs)..." >&2
"$llm" word2vec --data "$corpus" --output "$work/w2v" --skip-gram --seed 1 --json | tail -1 > "$out/word2vec-run.json"
echo "GPT (the tiny preset: 2 blocks, 128-d embeddings, one epoch)..." >&2
"$llm" prepare -o "$work/corpus.tokens" "$corpus" > /dev/null 2>&1
"$llm" train --preset tiny --data "$work/corpus.tokens" --epochs 1 --lr 3e-3 --warmup-steps 50 --eval-every 400 --eval-batches 20 --seed 1 \
  --output "$work/gpt" --json | tail -1 > "$out/gpt-run.json"

# shellcheck disable=SC2086
"$llm" word2vec similar --vectors "$work/w2v/vectors.txt" --top 5 $words > "$out/word2vec-neighbours.txt"
# shellcheck disable=SC2086
"$llm" word2vec plot --vectors "$work/w2v/vectors.txt" --words $words --output "$out/word2vec-pca.svg" > /dev/null
# shellcheck disable=SC2086
"$llm" embeddings --model "$work/gpt" --words $words --nearest 5 --output "$out/gpt-pca.svg" | grep ': ' > "$out/gpt-neighbours.txt"
# The picture's title names the model by its (temporary) path; name it by what it is.
sed -i "s#$work/gpt#a GPT (tiny preset, one epoch)#" "$out/gpt-pca.svg"
echo "wrote $out" >&2
