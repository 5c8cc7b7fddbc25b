"""Checks that the official `openai` Python package's `embeddings.create` works unchanged against `llm serve` on a
sentence-embedding model: a text, a list of texts and token ids, the client's default base64 transfer and floats, and
errors mapped to the package's exceptions. The vectors must equal `llm embed --json`'s for the same texts.

Usage: python scripts/check_openai_embeddings.py http://127.0.0.1:8080/v1 LLM MODEL_DIR   (needs `pip install openai`)
"""
import json
import subprocess
import sys

import openai

url, llm, directory = sys.argv[1:4]
client = openai.OpenAI(base_url=url, api_key="unused")
model = client.models.list().data[0].id
texts = ["The cat sat on the mat.", "Naïve café, 東京 and emoji 🙂 too.", "A third text."]
offline = [d["embedding"] for d in json.loads(subprocess.run([llm, "embed", "--model", directory, "--json", *texts],
                                                             capture_output=True, text=True, check=True).stdout)["data"]]


def close(a, b):
    return len(a) == len(b) and all(abs(x - y) < 1e-6 for x, y in zip(a, b))


one = client.embeddings.create(model=model, input=texts[0])  # the client asks for base64 and decodes it
assert one.object == "list" and one.model == model and one.usage.prompt_tokens > 0
assert close(one.data[0].embedding, offline[0]), "a text, base64"
many = client.embeddings.create(model=model, input=texts, encoding_format="float")
assert [d.index for d in many.data] == [0, 1, 2] and all(close(d.embedding, v) for d, v in zip(many.data, offline)), "a list, floats"
tokens = client.embeddings.create(model=model, input=[[2000, 2001], [2002]])
assert len(tokens.data) == 2 and len(tokens.data[0].embedding) == len(offline[0]), "token ids"
for bad, error in [(dict(input=""), openai.BadRequestError), (dict(input="hi", dimensions=3), openai.BadRequestError)]:
    try:
        client.embeddings.create(model=model, **bad)
        raise AssertionError(f"{bad} was accepted")
    except error:
        pass
try:
    client.embeddings.create(model="no-such-model", input="hi")
    raise AssertionError("an unknown model was accepted")
except openai.NotFoundError:
    pass
print(f"openai {openai.__version__}: embeddings.create works against {url} ({model}, {len(offline[0])} dimensions)")
