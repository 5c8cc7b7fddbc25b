// The playground's code (index.html; served by Sources/Server/Playground.swift): plain DOM code, one
// function per view, written to be read.
//
// Views: Generate (streamed with fetch + ReadableStream, since EventSource cannot POST; Stop aborts the
// request and the server cancels it; time to first token and tokens/s; click a token for the top
// alternatives from logprobs), Tokens (the text coloured token by token in several encodings, id and
// bytes on hover), Attention (one block's weights per head as a grid), Embeddings (words in 2-D), and, on a server
// started with --index, Search (ranked chunks with their scores) and "answer from the index" (sources beside the answer).
// An encoder's server (a BERT: /playground/info says kind "encoder") has Fill mask (each [MASK]'s candidates
// with their probabilities) and Attention (no causal mask) instead; the other tabs are hidden.
// Keyboard: the tabs are a tablist (arrow keys), Ctrl+Enter generates, Escape stops.
"use strict";
const $ = (id) => document.getElementById(id);
let info = null;
let running = null; // the AbortController of the generation in flight
const apiKey = () => sessionStorage.getItem("llm-api-key");

function status(message) { $("status").textContent = message || ""; }

// JSON POST (or GET without a body); an API error becomes an exception with the server's message.
async function api(path, body) {
  const headers = { "Content-Type": "application/json" };
  if (apiKey()) headers.Authorization = "Bearer " + apiKey();
  const response = await fetch(path, body === undefined ? { headers } : { method: "POST", headers, body: JSON.stringify(body) });
  if (response.status === 401 && askForKey()) return api(path, body);
  const data = await response.json();
  if (!response.ok) throw new Error((data.error && data.error.message) || response.statusText);
  return data;
}

function askForKey() {
  const key = window.prompt("This server needs an API key:");
  if (!key) return false;
  sessionStorage.setItem("llm-api-key", key);
  return true;
}

// ---- Tabs ----
const tabs = Array.from(document.querySelectorAll("[role=tab]"));
function selectTab(tab) {
  for (const t of tabs) {
    const chosen = t === tab;
    t.setAttribute("aria-selected", chosen);
    t.tabIndex = chosen ? 0 : -1;
    $(t.getAttribute("aria-controls")).hidden = !chosen;
  }
  tab.focus();
  status("");
  const view = tab.id.slice(4);
  if (view === "tokens" && !$("token-rows").childElementCount) showTokens();
  if (view === "attention" && !$("attention-grid").childElementCount) showAttention();
  if (view === "embeddings" && !$("embedding-plot").childElementCount) showEmbeddings();
  if (view === "fill-mask" && !$("mask-results").childElementCount) fillMask();
}
tabs.forEach((tab) => {
  tab.addEventListener("click", () => selectTab(tab));
  tab.addEventListener("keydown", (e) => {
    const shown = tabs.filter((t) => !t.hidden), i = shown.indexOf(tab);
    const step = { ArrowRight: 1, ArrowLeft: -1 }[e.key];
    if (step) { e.preventDefault(); selectTab(shown[(i + step + shown.length) % shown.length]); }
    if (e.key === "Home") { e.preventDefault(); selectTab(shown[0]); }
    if (e.key === "End") { e.preventDefault(); selectTab(shown[shown.length - 1]); }
  });
});

// ---- Generate ----
// With "answer from the index" (a server started with --index), the message goes to chat completions with
// file_search, whatever the template, and the sources the server retrieved are listed beside the answer.
const useIndex = () => info && info.vector_store && $("use-index").checked;
const chatMode = () => info && (info.chat_template !== "plain" || useIndex());

function requestBody() {
  const number = (id) => $(id).value === "" ? undefined : Number($(id).value);
  const body = { stream: true, max_tokens: number("max-tokens"), temperature: number("temperature"),
                 top_k: number("top-k"), top_p: number("top-p"), seed: number("seed"), stream_options: { include_usage: true } };
  const stop = $("stop").value.replace(/\\n/g, "\n");
  if (stop) body.stop = stop;
  if (chatMode()) {
    body.messages = [];
    const templated = info.chat_template !== "plain";
    if (templated && $("system").value.trim()) body.messages.push({ role: "system", content: $("system").value });
    body.messages.push({ role: "user", content: templated ? $("user").value : $("prompt").value });
    if (useIndex()) body.file_search = { vector_store_ids: [info.vector_store], max_num_results: 4 };
    body.logprobs = true;
    body.top_logprobs = 5;
  } else {
    body.prompt = $("prompt").value;
    body.logprobs = 5;
  }
  return body;
}

// One generated piece of text with the model's alternatives for its tokens: [{token, logprob, top: [{token, logprob}]}].
function addPiece(text, choices) {
  const span = document.createElement("span");
  span.className = "tok";
  span.textContent = text;
  span.tabIndex = 0;
  span.dataset.index = $("output").querySelectorAll(".tok").length;
  const show = () => showAlternatives(span, text, choices);
  span.addEventListener("click", show);
  span.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); show(); } });
  $("output").appendChild(span);
}

// A probability as a percentage, with enough digits to tell small ones apart.
function percent(p) { return (p >= 0.001 ? (p * 100).toFixed(1) : (p * 100).toPrecision(2)) + "%"; }

function visible(text) { return JSON.stringify(text).slice(1, -1); }

function showAlternatives(span, text, choices) {
  document.querySelectorAll("#output .tok.chosen").forEach((s) => s.classList.remove("chosen"));
  span.classList.add("chosen");
  const box = $("alternatives");
  box.textContent = "";
  if (!choices.length) { box.textContent = "No probabilities for this piece."; return; }
  for (const c of choices) {
    const title = document.createElement("p");
    title.textContent = `“${visible(c.token)}” had probability ${percent(Math.exp(c.logprob))}. The most likely tokens were:`;
    const table = document.createElement("table");
    for (const alt of c.top) {
      const p = Math.exp(alt.logprob), row = table.insertRow();
      row.insertCell().textContent = `“${visible(alt.token)}”`;
      const bar = document.createElement("div");
      bar.className = "bar";
      bar.style.width = Math.max(1, p * 100) + "%";
      const cell = row.insertCell();
      cell.style.width = "60%";
      cell.appendChild(bar);
      row.insertCell().textContent = percent(p);
    }
    box.append(title, table);
  }
}

// Server-sent events from a fetch body: "data: {...}" blocks separated by blank lines.
async function* events(response) {
  const reader = response.body.getReader(), decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      for (const line of block.split("\n")) {
        if (!line.startsWith("data: ")) continue;
        const data = line.slice(6);
        if (data === "[DONE]") return;
        yield JSON.parse(data);
      }
    }
  }
}

async function generate() {
  if (running) return;
  const output = $("output");
  output.textContent = "";
  $("alternatives").textContent = "";
  $("sources").hidden = true;
  $("source-list").textContent = "";
  for (const id of ["ttft", "speed", "finish"]) $(id).textContent = "–";
  $("generated-count").textContent = "0";
  status("");
  const body = requestBody();
  const prompt = document.createElement("span");
  prompt.className = "prompt";
  prompt.textContent = chatMode() ? "" : body.prompt;
  output.appendChild(prompt);
  running = new AbortController();
  $("generate").disabled = true;
  $("stop-button").disabled = false;
  const started = performance.now();
  let first = null, count = 0;
  try {
    const headers = { "Content-Type": "application/json" };
    if (apiKey()) headers.Authorization = "Bearer " + apiKey();
    const response = await fetch(chatMode() ? "/v1/chat/completions" : "/v1/completions",
                                 { method: "POST", headers, body: JSON.stringify(body), signal: running.signal });
    if (!response.ok) {
      const error = await response.json().catch(() => ({}));
      if (response.status === 401 && askForKey()) { running = null; return generate(); }
      throw new Error((error.error && error.error.message) || response.statusText);
    }
    for await (const chunk of events(response)) {
      if (chunk.usage) $("generated-count").textContent = chunk.usage.completion_tokens;
      if (chunk.sources) showSources(chunk.sources);
      const choice = chunk.choices && chunk.choices[0];
      if (!choice) continue;
      const text = chatMode() ? (choice.delta && choice.delta.content) || "" : choice.text || "";
      const choices = chatMode()
        ? ((choice.logprobs && choice.logprobs.content) || []).map((c) => ({ token: c.token, logprob: c.logprob, top: c.top_logprobs }))
        : choice.logprobs ? choice.logprobs.tokens.map((t, i) => ({ token: t, logprob: choice.logprobs.token_logprobs[i],
            top: Object.entries(choice.logprobs.top_logprobs[i]).map(([token, logprob]) => ({ token, logprob })).sort((a, b) => b.logprob - a.logprob) }))
        : [];
      if (text || choices.length) {
        if (first === null) { first = performance.now(); $("ttft").textContent = Math.round(first - started) + " ms"; }
        count += Math.max(choices.length, 1);
        addPiece(text, choices);
        $("generated-count").textContent = count;
        const seconds = (performance.now() - first) / 1000;
        if (count > 1 && seconds > 0) $("speed").textContent = ((count - 1) / seconds).toFixed(1) + " tok/s";
      }
      if (choice.finish_reason) $("finish").textContent = choice.finish_reason;
    }
  } catch (error) {
    if (error.name === "AbortError") $("finish").textContent = "stopped";
    else status(error.message);
  } finally {
    running = null;
    $("generate").disabled = false;
    $("stop-button").disabled = true;
  }
}

function stopGenerating() { if (running) running.abort(); }

// One ranked chunk: its score as a number and a bar, where it comes from, and its text.
function hitItem(score, where, text) {
  const item = document.createElement("li"), head = document.createElement("div"), bar = document.createElement("span");
  head.className = "hit-head";
  bar.className = "bar";
  bar.style.width = Math.max(2, Math.round(Math.max(0, score) * 120)) + "px";
  const value = document.createElement("span");
  value.className = "score";
  value.textContent = score.toFixed(4);
  const from = document.createElement("span");
  from.textContent = where;
  head.append(value, bar, from);
  const body = document.createElement("div");
  body.className = "hit-text";
  body.textContent = text;
  item.append(head, body);
  return item;
}

function showSources(sources) {
  const list = $("source-list");
  list.textContent = "";
  for (const s of sources) list.appendChild(hitItem(s.score, s.id.startsWith(s.source) ? s.id : `${s.id} · ${s.source}`, s.text));
  $("sources").hidden = sources.length === 0;
}

$("generate-form").addEventListener("submit", (e) => { e.preventDefault(); generate(); });
$("stop-button").addEventListener("click", stopGenerating);
document.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && !$("view-generate").hidden) { e.preventDefault(); generate(); }
  if (e.key === "Escape") stopGenerating();
});

// ---- Tokens ----
const palette = ["#fde2b5", "#c9e7f8", "#d4f0c8", "#f6cfe0", "#e0d6f7", "#fff1a8", "#cdeee9"];
let tokenTimer = null;

function encodingChoices() {
  const box = $("encoding-choices");
  const names = [info.encoding].concat(info.encodings.filter((e) => e !== info.encoding));
  names.forEach((name, i) => {
    const label = document.createElement("label");
    const box2 = document.createElement("input");
    box2.type = "checkbox";
    box2.value = name;
    box2.checked = i === 0 || name === "cl100k_base" || name === "o200k_base";
    box2.addEventListener("change", showTokens);
    label.append(box2, document.createTextNode(i === 0 ? `${name} (the model's)` : name));
    box.appendChild(label);
  });
}

function hex(bytes) { return bytes.map((b) => b.toString(16).padStart(2, "0")).join(" "); }

async function showTokens() {
  const text = $("token-text").value;
  const chosen = Array.from(document.querySelectorAll("#encoding-choices input:checked")).map((b) => b.value);
  try {
    const results = await Promise.all(chosen.map((name) => api("/tokenize", { text, encoding: name })));
    const rows = $("token-rows");
    rows.textContent = "";
    for (const result of results) {
      const row = document.createElement("div");
      row.className = "token-row";
      row.dataset.encoding = result.encoding;
      row.dataset.count = result.count;
      const title = document.createElement("h3");
      const count = document.createElement("span");
      count.className = "count";
      count.textContent = `${result.count} tokens`;
      title.append(document.createTextNode(result.encoding), count);
      const line = document.createElement("div");
      line.className = "tokens";
      result.tokens.forEach((id, i) => {
        const span = document.createElement("span");
        const piece = new TextDecoder().decode(new Uint8Array(result.bytes[i]));
        span.textContent = piece.replace(/\n/g, "↵").replace(/ /g, "·") || "∅";
        span.style.background = palette[i % palette.length];
        span.title = `id ${id} · bytes ${hex(result.bytes[i])}`;
        line.appendChild(span);
      });
      row.append(title, line);
      rows.appendChild(row);
    }
  } catch (error) { status(error.message); }
}
$("token-text").addEventListener("input", () => { clearTimeout(tokenTimer); tokenTimer = setTimeout(showTokens, 250); });

// ---- Attention ----
let attention = null, head = 0;

async function showAttention() {
  try {
    attention = await api("/playground/attention", { text: $("attention-text").value, layer: Number($("layer").value) });
    head = Math.min(head, attention.heads - 1);
    const heads = $("heads");
    heads.textContent = "";
    for (let h = 0; h < attention.heads; h++) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = `head ${h}`;
      button.setAttribute("aria-pressed", h === head);
      button.addEventListener("click", () => { head = h; drawAttention(); });
      heads.appendChild(button);
    }
    drawAttention();
  } catch (error) { status(error.message); }
}

function drawAttention() {
  document.querySelectorAll("#heads button").forEach((b, h) => b.setAttribute("aria-pressed", h === head));
  const grid = $("attention-grid"), tokens = attention.tokens, t = tokens.length, weights = attention.weights[head];
  grid.textContent = "";
  grid.style.gridTemplateColumns = `auto repeat(${t}, 22px)`;
  grid.dataset.size = t;
  grid.setAttribute("aria-label", `Attention weights of block ${attention.layer}, head ${head}: ${t} by ${t} tokens`);
  const label = (text, cls) => { const d = document.createElement("div"); d.className = "label " + cls; d.textContent = visible(text); d.title = text; return d; };
  grid.appendChild(document.createElement("div"));
  tokens.forEach((tok) => grid.appendChild(label(tok, "col")));
  for (let i = 0; i < t; i++) {
    grid.appendChild(label(tokens[i], "row-label"));
    for (let j = 0; j < t; j++) {
      const cell = document.createElement("div"), masked = attention.causal && j > i;
      cell.className = "cell" + (masked ? " masked" : "");
      if (!masked) {
        const w = weights[i][j];
        cell.style.background = `rgba(36, 87, 197, ${Math.min(1, 0.04 + w)})`;
        cell.title = `“${visible(tokens[i])}” → “${visible(tokens[j])}”: ${w.toFixed(3)}`;
      }
      grid.appendChild(cell);
    }
  }
}
$("attention-button").addEventListener("click", showAttention);
$("layer").addEventListener("change", showAttention);
$("attention-text").addEventListener("keydown", (e) => { if (e.key === "Enter") showAttention(); });

// ---- Embeddings ----
async function showEmbeddings() {
  const words = $("words").value.split(/[\s,]+/).filter(Boolean);
  try {
    const { points } = await api("/playground/embeddings", { words });
    const svg = $("embedding-plot"), ns = "http://www.w3.org/2000/svg", w = 900, h = 520, m = 50;
    svg.textContent = "";
    const xs = points.map((p) => p.x), ys = points.map((p) => p.y);
    const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    const px = (x) => m + (x - x0) / Math.max(x1 - x0, 1e-12) * (w - 2 * m);
    const py = (y) => h - m - (y - y0) / Math.max(y1 - y0, 1e-12) * (h - 2 * m);
    const axis = document.createElementNS(ns, "rect");
    Object.entries({ x: m / 2, y: m / 2, width: w - m, height: h - m, fill: "none", stroke: "#d9dde1" }).forEach(([k, v]) => axis.setAttribute(k, v));
    svg.appendChild(axis);
    for (const p of points) {
      const dot = document.createElementNS(ns, "circle");
      Object.entries({ cx: px(p.x), cy: py(p.y), r: 5, fill: "#2457c5", class: "point" }).forEach(([k, v]) => dot.setAttribute(k, v));
      const title = document.createElementNS(ns, "title");
      title.textContent = `${p.word}: (${p.x.toFixed(3)}, ${p.y.toFixed(3)}), ${p.tokens} token${p.tokens === 1 ? "" : "s"}`;
      dot.appendChild(title);
      const text = document.createElementNS(ns, "text");
      Object.entries({ x: px(p.x) + 8, y: py(p.y) + 4 }).forEach(([k, v]) => text.setAttribute(k, v));
      text.textContent = p.word;
      svg.append(dot, text);
    }
  } catch (error) { status(error.message); }
}
$("embeddings-button").addEventListener("click", showEmbeddings);
$("words").addEventListener("keydown", (e) => { if (e.key === "Enter") showEmbeddings(); });

// ---- Fill mask (encoders) ----
async function fillMask() {
  try {
    const answer = await api("/playground/fill-mask", { text: $("mask-text").value, top_k: Number($("mask-top-k").value) });
    // The text as the model read it, each [MASK] shown with its most likely token.
    const sentence = $("mask-sentence"), results = $("mask-results");
    sentence.textContent = "";
    results.textContent = "";
    let n = 0;
    answer.tokens.forEach((token, i) => {
      const span = document.createElement("span");
      if (token === info.mask_token) {
        const best = answer.masks[n++][0];
        span.className = "filled";
        span.textContent = best.token_str;
        span.title = `[MASK] ${n}: “${best.token_str}”, ${percent(best.score)}`;
      } else {
        span.textContent = token;
        span.style.background = palette[i % palette.length];
      }
      sentence.appendChild(span);
    });
    answer.masks.forEach((candidates, m) => {
      const table = document.createElement("table");
      table.createCaption().textContent = answer.masks.length > 1 ? `[MASK] ${m + 1}` : "[MASK]";
      for (const c of candidates) {
        const row = table.insertRow();
        row.insertCell().textContent = `“${visible(c.token_str)}”`;
        const bar = document.createElement("div");
        bar.className = "bar";
        bar.style.width = Math.max(1, c.score * 100) + "%";
        const cell = row.insertCell();
        cell.style.width = "55%";
        cell.appendChild(bar);
        row.insertCell().textContent = percent(c.score);
      }
      results.appendChild(table);
    });
    status("");
  } catch (error) { status(error.message); }
}
$("fill-mask-form").addEventListener("submit", (e) => { e.preventDefault(); fillMask(); });

// An encoder fills masks and shows its attention; it does not generate, and its tokenizer is its own.
function showEncoderViews() {
  for (const view of ["generate", "tokens", "embeddings"]) $("tab-" + view).hidden = true;
  $("tab-fill-mask").hidden = false;
  document.querySelector("label[for=layer]").textContent = "Layer";
  $("attention-key").textContent = "Row: a token (the query); column: a token it attends to. Darker is more weight. " +
    "No cell is masked: an encoder's tokens see the whole text, the tokens after them too.";
  $("attention-text").value = "[CLS] and every other token read the whole text, in both directions.";
  selectTab($("tab-fill-mask"));
}

// ---- Search (a server started with --index) ----
async function search() {
  const results = $("search-results");
  status("");
  try {
    const page = await api(`/v1/vector_stores/${encodeURIComponent(info.vector_store)}/search`,
                           { query: $("search-query").value, max_num_results: Number($("search-count").value) || 5 });
    results.textContent = "";
    for (const hit of page.data) {
      const a = hit.attributes || {};
      results.appendChild(hitItem(hit.score, `${a.chunk_id || hit.file_id} · ${hit.filename}`, hit.content.map((c) => c.text).join("")));
    }
    if (page.data.length === 0) status("No chunk matched.");
  } catch (error) { status(error.message); }
}
$("search-form").addEventListener("submit", (e) => { e.preventDefault(); search(); });

// ---- Start ----
(async () => {
  try {
    info = await api("/playground/info");
    if (info.kind === "encoder") {
      $("model-info").textContent = `${info.model} · a BERT encoder: ${info.layers} layers × ${info.heads} heads, ${info.embedding_size} wide · ` +
        `${info.context_length} positions · vocabulary ${info.vocab_size}`;
      for (let l = 0; l < info.layers; l++) $("layer").add(new Option(`layer ${l}`, l));
      showEncoderViews();
      document.body.dataset.ready = "true";
      return;
    }
    $("model-info").textContent = `${info.model} · ${info.layers} blocks × ${info.heads} heads, ${info.embedding_size} wide · ` +
      `context ${info.context_length} · ${info.weights} weights · chat template ${info.chat_template}`;
    $("plain-input").hidden = chatMode();
    $("chat-input").hidden = !chatMode();
    if (info.vector_store) {
      $("tab-search").hidden = false;
      $("index-choice").hidden = false;
      $("search-key").textContent = `Vector store ${info.vector_store}: ${info.vector_store_chunks} chunks. ` + $("search-key").textContent;
    }
    for (let l = 0; l < info.layers; l++) $("layer").add(new Option(`block ${l}`, l));
    encodingChoices();
    document.body.dataset.ready = "true";
  } catch (error) { status("Could not reach the server: " + error.message); }
})();
