"""Checks that the official `openai` Python package works unchanged against `llm serve`: completions and chat
completions, streamed and not, usage, logprobs, and an error mapped to the package's exception.

Usage: python scripts/check_openai_client.py http://127.0.0.1:8080/v1   (needs `pip install openai`;
bench/run serve runs it against a server it starts)."""
import sys

import openai

client = openai.OpenAI(base_url=sys.argv[1], api_key="unused")
model = client.models.list().data[0].id

done = client.completions.create(model=model, prompt="Every effort moves you", max_tokens=12, temperature=0, logprobs=2)
assert done.choices[0].finish_reason in ("stop", "length") and done.usage.completion_tokens > 0
assert len(done.choices[0].logprobs.token_logprobs) == done.usage.completion_tokens
pieces = [c.choices[0].text for c in client.completions.create(model=model, prompt="Every effort moves you", max_tokens=12,
                                                              temperature=0, stream=True) if c.choices]
assert "".join(pieces) == done.choices[0].text, (pieces, done.choices[0].text)

chat = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Hello"}], max_tokens=10,
                                      temperature=0, logprobs=True, top_logprobs=2)
assert chat.choices[0].message.role == "assistant" and chat.usage.total_tokens > 0
assert chat.choices[0].logprobs.content[0].top_logprobs
stream = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Hello"}], max_tokens=10,
                                        temperature=0, stream=True, stream_options={"include_usage": True})
chunks = list(stream)
assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == chat.choices[0].message.content

try:
    client.completions.create(model=model, prompt="x", temperature=7)
    raise AssertionError("temperature 7 was accepted")
except openai.BadRequestError as error:
    assert error.status_code == 400
print("openai", openai.__version__, "works against", sys.argv[1], "(completions, chat, streaming, usage, logprobs, errors)")
