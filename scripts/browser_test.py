#!/usr/bin/env python3
"""End-to-end test of the playground page of `llm serve`, in headless Chromium driven through WebDriver.

    scripts/browser_test.py --llm .build/release/llm --model MODEL [--screenshots docs/playground]

Starts `llm serve` on MODEL and chromedriver, then, as a user would: loads the page, types a prompt,
waits for streamed text, presses Stop and checks on /metrics that the server cancelled the request and
freed its slot; switches encodings in the Tokens view and checks every count against `llm tokenize`;
opens Attention and checks the grid is T x T for the T tokens of the text, and that switching heads
redraws it; plots Embeddings. With --encoder (a BERT directory), serves it too and checks the page's encoder
views: Fill mask (each [MASK]'s candidates as `llm fill-mask` gives them) and a bidirectional Attention grid. Any JavaScript error or failed resource in the browser's log fails the
test. With --screenshots, saves each view at 1280x800 as PNG.

The WebDriver client is the few HTTP calls below (Python's standard library only), so CI needs
Debian's chromium and chromium-driver and nothing from PyPI. Exit status 0 when every check passes.
"""
import argparse
import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, timeout=60):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read().decode()
    except urllib.error.HTTPError as error:
        text = error.read().decode()
        raise RuntimeError(f"{method} {url}: HTTP {error.code}: {text[:500]}") from None
    return json.loads(text) if text.startswith(("{", "[")) else text


def wait_for(what, check, timeout=30, interval=0.1):
    deadline = time.time() + timeout
    while True:
        try:
            value = check()
            if value:
                return value
        except (urllib.error.URLError, ConnectionError, RuntimeError):
            pass
        if time.time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


class Browser:
    """A WebDriver session: the handful of W3C WebDriver commands this test needs."""

    ELEMENT = "element-6066-11e4-a52e-4f735466cecf"

    def __init__(self, driver_url, chromium):
        self.url = driver_url
        capabilities = {"browserName": "chrome", "goog:loggingPrefs": {"browser": "ALL"},
                        "goog:chromeOptions": {"binary": chromium, "args": [
                            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                            "--window-size=1280,800", "--hide-scrollbars", "--force-device-scale-factor=1"]}}
        session = http("POST", f"{driver_url}/session", {"capabilities": {"alwaysMatch": capabilities}})
        self.session = f"{driver_url}/session/{session['value']['sessionId']}"

    def command(self, method, path, body=None):
        return http(method, self.session + path, body)["value"]

    def get(self, url):
        self.command("POST", "/url", {"url": url})

    def run(self, script, *args):
        return self.command("POST", "/execute/sync", {"script": script, "args": list(args)})

    def find(self, css):
        found = self.command("POST", "/element", {"using": "css selector", "value": css})
        if self.ELEMENT not in found:
            raise AssertionError(f"no element {css}: {found}")
        return found[self.ELEMENT]

    def click(self, css):
        self.command("POST", f"/element/{self.find(css)}/click", {})

    def type(self, css, text):
        element = self.find(css)
        self.command("POST", f"/element/{element}/clear", {})
        self.command("POST", f"/element/{element}/value", {"text": text})

    def text(self, css):
        return self.run("const e = document.querySelector(arguments[0]); return e ? e.textContent : null;", css)

    def count(self, css):
        return self.run("return document.querySelectorAll(arguments[0]).length;", css)

    def screenshot(self, path):
        with open(path, "wb") as f:
            f.write(base64.b64decode(self.command("GET", "/screenshot")))

    def log(self):
        return http("POST", self.session + "/se/log", {"type": "browser"})["value"]

    def quit(self):
        try:
            http("DELETE", self.session)
        except Exception:
            pass


def metric(text, sample):
    """The value of one Prometheus sample (name with its labels, as /metrics writes it), or 0 when absent."""
    for line in text.splitlines():
        name, _, value = line.rpartition(" ")
        if name == sample:
            return float(value)
    return 0.0


def encoder_views(browser, args, check, shots):
    """The page on a BERT's server: only Fill mask and Attention, each [MASK]'s candidates as `llm fill-mask` gives
    them, and an attention grid with nothing masked."""
    print("encoder: fill mask", flush=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    err = tempfile.NamedTemporaryFile("w+", suffix=".err")
    server = subprocess.Popen([args.llm, "serve", "--model", args.encoder, "--port", str(port)], stdout=subprocess.DEVNULL, stderr=err)
    try:
        wait_for("llm serve (BERT) to answer /health", lambda: http("GET", base + "/health", timeout=2), timeout=60)
        browser.get(base + "/")
        wait_for("the encoder page to load", lambda: browser.run("return document.body.dataset.ready === 'true';"))
        info = http("GET", base + "/playground/info")
        shown = browser.run("return Array.from(document.querySelectorAll('[role=tab]')).filter(t => !t.hidden).map(t => t.id);")
        check(info["kind"] == "encoder" and shown == ["tab-attention", "tab-fill-mask"],
              f"a BERT's page offers only Attention and Fill mask ({', '.join(shown)}), Fill mask open")
        text = "call [MASK] now to claim your [MASK] prize"
        browser.type("#mask-text", text)
        browser.type("#mask-top-k", "4")
        browser.click("#fill-mask-button")
        wait_for("a table per [MASK]", lambda: browser.count("#mask-results table") == 2 and browser.count("#mask-results tr") == 8, timeout=20)
        expected = json.loads(subprocess.check_output([args.llm, "fill-mask", "--model", args.encoder, "--top-k", "4", "--json", text]))
        page = browser.run("return Array.from(document.querySelectorAll('#mask-results table')).map(t => "
                           "Array.from(t.rows).map(r => [r.cells[0].textContent, r.cells[2].textContent]));")
        want = [[[f"“{json.dumps(c['token_str'], ensure_ascii=False)[1:-1]}”", None] for c in mask] for mask in expected]
        check([[row[0] for row in m] for m in page] == [[row[0] for row in m] for m in want],
              "each [MASK]'s candidates are those of llm fill-mask, in its order")
        filled = browser.run("return Array.from(document.querySelectorAll('#mask-sentence .filled')).map(s => s.textContent);")
        check(filled == [m[0]["token_str"] for m in expected], f"the text shows each [MASK] filled with its best candidate ({filled})")
        if shots:
            browser.screenshot(os.path.join(shots, "fill-mask.png"))
        browser.type("#mask-text", "no mask here")
        browser.click("#fill-mask-button")
        wait_for("the page to say what is wrong", lambda: "[MASK]" in (browser.text("#status") or ""), timeout=10)
        # The browser logs the 400 this asked for; taken out of the log here, so the final check sees any other error.
        unexpected = [e["message"] for e in browser.log() if e.get("level") == "SEVERE" and "/playground/fill-mask" not in e["message"]]
        check(not unexpected, f"a text without [MASK] gets the server's one line: {browser.text('#status')!r}" + "".join(unexpected))

        print("encoder: attention", flush=True)
        browser.click("#tab-attention")
        sentence = "every token reads the whole text"
        browser.type("#attention-text", sentence)
        browser.click("#attention-button")
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
            f.write(sentence)
        t = len(json.loads(subprocess.check_output([args.llm, "tokenize", "--model", args.encoder, "--json", f.name])))
        os.unlink(f.name)
        wait_for("the encoder's attention grid", lambda: browser.count("#attention-grid .cell") == t * t, timeout=20)
        check(browser.count("#attention-grid .masked") == 0 and browser.text("#attention-grid .label.col") == "[CLS]",
              f"the grid is {t} x {t} for [CLS] … [SEP], and no cell is masked (bidirectional attention)")
        if shots:
            browser.screenshot(os.path.join(shots, "bert-attention.png"))
    except AssertionError:
        err.seek(0)
        print(err.read()[-2000:], file=sys.stderr)
        raise
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def search_views(browser, args, check, shots):
    """The page on a chat model's server with --index: the Search view ranks chunks as `llm index search` does, and
    "answer from the index" lists the sources beside the streamed answer."""
    print("retrieval: search and sources", flush=True)
    work = tempfile.mkdtemp()
    paragraphs = ["The painter gave up his art and married a rich widow.", "Gisburn lived at the Riviera in a villa.",
                  "The portrait hung above the mantel in the studio.", "Mrs. Gisburn showed the sketches to her visitors."]
    with open(os.path.join(work, "notes.md"), "w") as f:
        f.write("\n\n".join(paragraphs) + "\n")
    index = os.path.join(work, "notes.index")
    subprocess.check_call([args.llm, "index", "build", "--embedder", args.embedder, "--output", index, os.path.join(work, "notes.md")],
                          stderr=subprocess.DEVNULL)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    err = tempfile.NamedTemporaryFile("w+", suffix=".err")
    server = subprocess.Popen([args.llm, "serve", "--model", args.model, "--index", index, "--port", str(port)], stdout=subprocess.DEVNULL, stderr=err)
    try:
        wait_for("llm serve --index to answer /health", lambda: http("GET", base + "/health", timeout=2), timeout=120)
        browser.get(base + "/")
        wait_for("the page to load", lambda: browser.run("return document.body.dataset.ready === 'true';"))
        check(not browser.run("return document.getElementById('tab-search').hidden;"), "a server with --index shows the Search view")
        browser.click("#tab-search")
        query = paragraphs[2]
        browser.type("#search-query", query)
        browser.type("#search-count", "3")
        browser.click("#search-button")
        wait_for("three ranked chunks", lambda: browser.count("#search-results li") == 3, timeout=20)
        page = browser.run("return Array.from(document.querySelectorAll('#search-results li')).map(li => "
                           "[li.querySelector('.score').textContent, li.querySelector('.hit-text').textContent]);")
        expected = json.loads(subprocess.check_output([args.llm, "index", "search", "--index", index, "--top-k", "3", "--json", query]))
        check([t for _, t in page] == [r["text"] for r in expected["results"]] and page[0][1] == query and page[0][0] in ("1.0000", "0.9999"),
              f"the Search view ranks as llm index search does, the query's own chunk first at cosine 1 ({page[0][0]})")
        if shots:
            browser.screenshot(os.path.join(shots, "search.png"))
        browser.click("#tab-generate")
        browser.run("document.getElementById('use-index').checked = true;")
        box = "#user" if browser.run("return !document.getElementById('chat-input').hidden;") else "#prompt"
        browser.type(box, paragraphs[0])
        browser.type("#max-tokens", "6")
        browser.click("#generate")
        wait_for("the sources beside the answer", lambda: browser.count("#source-list li") == 4, timeout=30)
        wait_for("the answer to finish", lambda: browser.text("#finish") not in ("–", ""), timeout=60)
        first = browser.run("return document.querySelector('#source-list .hit-text').textContent;")
        check(first == paragraphs[0], "answering from the index lists the retrieved sources, the message's own paragraph first")
        if shots:
            browser.screenshot(os.path.join(shots, "answer-with-sources.png"))
    except AssertionError:
        err.seek(0)
        print(err.read()[-2000:], file=sys.stderr)
        raise
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(work, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llm", default=".build/release/llm")
    parser.add_argument("--model", required=True)
    parser.add_argument("--encoder", help="a BERT directory with its masked-LM head: also test the page's encoder views")
    parser.add_argument("--embedder", help="a BERT directory: also index a few paragraphs with it and test the Search view and sources")
    parser.add_argument("--screenshots", help="directory for a PNG of each view at 1280x800")
    parser.add_argument("--chromium", default=shutil.which("chromium") or shutil.which("chromium-browser") or "chromium")
    parser.add_argument("--chromedriver", default=shutil.which("chromedriver") or "chromedriver")
    args = parser.parse_args()

    checks = []

    def tokenize(encoding, text):
        """The ids `llm tokenize` gives `text` (from a file: the text has no trailing newline)."""
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
            f.write(text)
        try:
            return json.loads(subprocess.check_output([args.llm, "tokenize", "-e", encoding, "--allowed-special", "all", "--json", f.name]))
        finally:
            os.unlink(f.name)

    def check(condition, message):
        checks.append(message)
        if not condition:
            raise AssertionError(message)
        print(f"  ok  {message}", flush=True)

    port, driver_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    logs = tempfile.mkdtemp(prefix="llm-browser-test-")
    server = subprocess.Popen([args.llm, "serve", "--model", args.model, "--port", str(port), "--max-batch", "2"],
                              stdout=open(os.path.join(logs, "serve.out"), "w"), stderr=open(os.path.join(logs, "serve.err"), "w"))
    driver = subprocess.Popen([args.chromedriver, f"--port={driver_port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    browser = None
    try:
        wait_for("llm serve to answer /health", lambda: http("GET", base + "/health", timeout=2), timeout=120)
        wait_for("chromedriver", lambda: http("GET", f"http://127.0.0.1:{driver_port}/status", timeout=2)["value"]["ready"])
        browser = Browser(f"http://127.0.0.1:{driver_port}", args.chromium)
        # The viewport (not the window, which has the browser's own bars) at 1280x800.
        rect = browser.command("POST", "/window/rect", {"width": 1280, "height": 800})
        inner = browser.run("return [window.innerWidth, window.innerHeight];")
        browser.command("POST", "/window/rect", {"width": 1280 + rect["width"] - inner[0], "height": 800 + rect["height"] - inner[1]})
        check(browser.run("return [window.innerWidth, window.innerHeight];") == [1280, 800], "the viewport is 1280 x 800")
        shots = args.screenshots
        if shots:
            os.makedirs(shots, exist_ok=True)

        print("page", flush=True)
        browser.get(base + "/")
        wait_for("the page to load the model's description", lambda: browser.run("return document.body.dataset.ready === 'true';"))
        info = http("GET", base + "/playground/info")
        check(info["model"] in browser.text("#model-info"), "the header names the model")

        print("generate", flush=True)
        browser.type("#prompt", "Every effort moves you")
        browser.type("#max-tokens", str(max(1, info["context_length"] - 16)))
        browser.type("#temperature", "1")
        browser.type("#seed", "7")
        browser.click("#generate")
        wait_for("streamed tokens", lambda: browser.count("#output .tok") >= 3, timeout=60, interval=0.02)
        browser.click("#stop-button")
        wait_for("the page to say it stopped", lambda: browser.text("#finish") == "stopped", timeout=10)
        streamed = browser.count("#output .tok")
        check(streamed >= 3, f"text streamed into the page ({streamed} pieces) before Stop")

        def freed():
            text = http("GET", base + "/metrics")
            return metric(text, "llm_active_sequences") == 0 and metric(text, 'llm_requests_finished_total{finish_reason="cancelled"}') >= 1

        wait_for("the server to cancel the request and free its slot (/metrics)", freed, timeout=10)
        check(True, "Stop cancelled the request on the server: llm_active_sequences 0, one cancelled request")
        browser.click("#output .tok")
        wait_for("the alternatives of a clicked token", lambda: browser.count("#alternatives tr") >= 1, timeout=5)
        check(browser.count("#alternatives tr") >= 1, "clicking a token shows the model's top alternatives")
        # A short complete generation for the picture: the statistics filled in.
        browser.type("#max-tokens", "40")
        browser.click("#generate")
        wait_for("a finished generation", lambda: browser.text("#finish") in ("length", "stop"), timeout=60)
        check(browser.text("#ttft").endswith("ms"), f"time to first token shown ({browser.text('#ttft')}), speed {browser.text('#speed')}")
        browser.click("#output .tok:nth-of-type(5)")
        if shots:
            browser.screenshot(os.path.join(shots, "generate.png"))

        print("tokens", flush=True)
        browser.click("#tab-tokens")
        text = "Hello, world! Tokenizers split text: \"unbelievable\", 12345, naïve café — €100.\nA second line."
        browser.type("#token-text", text)
        encodings = [info["encoding"]] + [e for e in info["encodings"] if e != info["encoding"]]
        browser.run("document.querySelectorAll('#encoding-choices input').forEach(b => { if (!b.checked) b.click(); });")
        wait_for("a row per encoding with the new text",
                 lambda: browser.count(".token-row") == len(encodings) and browser.run(
                     "return Array.from(document.querySelectorAll('.token-row .tokens')).every(r => r.textContent.includes('line'));"),
                 timeout=20)
        shown = browser.run("return Array.from(document.querySelectorAll('.token-row')).map(r => [r.dataset.encoding, Number(r.dataset.count), r.querySelectorAll('.tokens span').length]);")
        for name, count, spans in shown:
            ids = tokenize(name, text)
            check(count == len(ids) == spans, f"{name}: the page shows {count} tokens ({spans} coloured), llm tokenize counts {len(ids)}")
        check(sorted(n for n, _, _ in shown) == sorted(encodings), f"every encoding shown side by side: {', '.join(encodings)}")
        title = browser.run("return document.querySelector('.token-row .tokens span').title;")
        check(re.match(r"id \d+ · bytes [0-9a-f ]+$", title) is not None, f"a token's hover text gives its id and bytes ({title!r})")
        if shots:
            browser.screenshot(os.path.join(shots, "tokens.png"))

        print("attention", flush=True)
        browser.click("#tab-attention")
        sentence = "Every effort moves you forward, and the effort is yours."
        browser.type("#attention-text", sentence)
        layer = info["layers"] - 1
        browser.run("const s = document.getElementById('layer'); s.value = arguments[0]; s.dispatchEvent(new Event('change'));", str(layer))
        t = len(tokenize(info["encoding"], sentence))
        wait_for("the attention grid of the last block",
                 lambda: browser.run("return document.getElementById('attention-grid').getAttribute('aria-label') || '';").startswith(f"Attention weights of block {layer}")
                 and browser.count("#attention-grid .cell") == t * t, timeout=20)
        size = int(browser.run("return document.getElementById('attention-grid').dataset.size;"))
        check(size == t and browser.count("#attention-grid .cell") == t * t and browser.count("#attention-grid .masked") == t * (t - 1) // 2,
              f"the grid is {size} x {size} for the {t} tokens of the text, the causal triangle masked")
        check(browser.count("#heads button") == info["heads"], f"one button per head ({info['heads']})")
        if info["heads"] > 1:
            before = browser.run("return Array.from(document.querySelectorAll('#attention-grid .cell')).map(c => c.style.background).join();")
            browser.click("#heads button:nth-child(2)")
            after = browser.run("return Array.from(document.querySelectorAll('#attention-grid .cell')).map(c => c.style.background).join();")
            check(before != after and browser.run("return document.querySelector('#heads button:nth-child(2)').getAttribute('aria-pressed');") == "true",
                  "switching the head redraws the grid without reloading")
        if shots:
            browser.screenshot(os.path.join(shots, "attention.png"))

        print("embeddings", flush=True)
        browser.click("#tab-embeddings")
        words = "king queen man woman boy girl cat dog Paris London Monday Friday"
        browser.type("#words", words)
        browser.click("#embeddings-button")
        wait_for("a point per word", lambda: browser.count("#embedding-plot circle") == len(words.split()), timeout=20)
        check(True, f"the embeddings view plots the {len(words.split())} words")
        if shots:
            browser.screenshot(os.path.join(shots, "embeddings.png"))

        if args.encoder:
            encoder_views(browser, args, check, shots)
        if args.embedder:
            search_views(browser, args, check, shots)
        if args.encoder or args.embedder:
            browser.get(base + "/")
            wait_for("the page to load again", lambda: browser.run("return document.body.dataset.ready === 'true';"))

        print("keyboard and narrow window", flush=True)
        browser.click("#tab-embeddings")
        browser.run("document.getElementById('tab-embeddings').focus();")
        active = browser.command("GET", "/element/active")[Browser.ELEMENT]
        browser.command("POST", f"/element/{active}/value", {"text": "\ue012"})  # ArrowLeft
        check(browser.run("return document.activeElement.id;") == "tab-attention", "the tabs move with the arrow keys")
        browser.command("POST", "/window/rect", {"width": 480, "height": 800})
        overflow = browser.run("return document.documentElement.scrollWidth <= window.innerWidth + 1;")
        check(overflow, "a narrow window (480 px) needs no sideways scrolling")

        problems = [e for e in browser.log() if e.get("level") == "SEVERE" or "Uncaught" in e.get("message", "")]
        check(not problems, "no JavaScript error or failed resource in the browser's log" +
              ("" if not problems else ": " + "; ".join(p["message"] for p in problems)))
        print(f"browser test: {len(checks)} checks passed")
        return 0
    except AssertionError as error:
        print(f"FAILED: {error}", file=sys.stderr)
        if browser:
            try:
                print(f"  page status line: {browser.text('#status')!r}", file=sys.stderr)
                for entry in browser.log():
                    print(f"  browser log: {entry.get('level')} {entry.get('message')}", file=sys.stderr)
            except Exception:
                pass
        print(open(os.path.join(logs, "serve.err")).read()[-2000:], file=sys.stderr)
        return 1
    finally:
        if browser:
            browser.quit()
        driver.terminate()
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(logs, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
