"""Checks that the official `openai` Python package's vector-store calls work unchanged against `llm serve --index`:
`vector_stores.list`, `retrieve` and `search` (a text, a filter, a score threshold), an unknown store mapped to the
package's NotFoundError, and `chat.completions.create` with the `file_search` field (passed as extra_body) carrying
its sources. The search ranking must equal `llm index search --json`'s.

Usage: python scripts/check_openai_vector_store.py http://127.0.0.1:8080/v1 LLM INDEX   (needs `pip install openai`;
the server started as `llm serve --model CHAT_DIR --index INDEX`)
"""
import json
import os
import subprocess
import sys

import openai

url, llm, index = sys.argv[1:4]
store = os.path.splitext(os.path.basename(index))[0]
client = openai.OpenAI(base_url=url, api_key="unused")
assert [s.id for s in client.vector_stores.list().data] == [store], "list"
retrieved = client.vector_stores.retrieve(store)
assert retrieved.object == "vector_store" and retrieved.status == "completed" and retrieved.usage_bytes == os.path.getsize(index)

query = "A dog ran in the park all day long."
offline = json.loads(subprocess.run([llm, "index", "search", "--index", index, "--top-k", "3", "--json", query],
                                    capture_output=True, text=True, check=True).stdout)["results"]
page = client.vector_stores.search(store, query=query, max_num_results=3)
results = list(page)
assert [r.content[0].text for r in results] == [r["text"] for r in offline], "the ranking of llm index search"
assert all(abs(r.score - o["score"]) < 1e-5 for r, o in zip(results, offline)), "the scores of llm index search"
assert results[0].attributes["chunk_id"] == offline[0]["id"]
lang = [r for r in offline if "lang" in r]
if lang:
    filtered = list(client.vector_stores.search(store, query=query, filters={"type": "eq", "key": "lang", "value": lang[0]["lang"]}))
    assert filtered and all(r.attributes.get("lang") == lang[0]["lang"] for r in filtered), "a filter"
above = list(client.vector_stores.search(store, query=query, ranking_options={"score_threshold": results[0].score - 1e-6}))
assert len(above) >= 1 and all(r.score >= results[0].score - 1e-6 for r in above), "a score threshold"
try:
    client.vector_stores.search("no-such-store", query=query)
    raise AssertionError("an unknown store was answered")
except openai.NotFoundError as error:
    assert "no-such-store" in str(error)

model = client.models.list().data[0].id
chat = client.chat.completions.create(model=model, messages=[{"role": "user", "content": query}], max_tokens=4, temperature=0,
                                      extra_body={"file_search": {"vector_store_ids": [store], "max_num_results": 2}})
sources = chat.model_extra["sources"]
assert len(sources) == 2 and sources[0]["text"] == offline[0]["text"], "chat with file_search carries its sources"
print(f"openai {openai.__version__}: vector_stores.list/retrieve/search and chat with file_search work against {url}")
