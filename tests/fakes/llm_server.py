"""A real HTTP server on 127.0.0.1 speaking both LLM wire formats of CONTRACTS §2, with scripted faults.

    with FakeLLMServer(api_key="k", latency=0.05) as server:
        server.script("429", "500")      # the next two requests fail this way, then normal service
        server.default = "ok"            # what every unscripted request gets
        ... FREDDY_BASE_URL=server.url  /  OPENAI_BASE_URL=server.openai_url ...
        server.requests                  # how many requests arrived (all paths, all outcomes)

Behaviours: "ok" (a deterministic analyst answering from the request's context), "429" (with
`Retry-After: server.retry_after`), "500", "hang" (no answer until past any sane client timeout),
"text" (a prose reply, not JSON), "invalid" (JSON that breaks the label rules), "inject" (an
analyst that obeys instructions hidden in news headlines), "401", "huge" (a 200 whose envelope
carries `server.huge_bytes` of reply text, 50 MB by default, streamed as fast as the client
reads), "trickle" (a valid reply sent one byte every `server.trickle_s`, far slower than any
timeout allows) and "echo" (a valid 200 reply whose reasoning and an extra field quote the key and
the organisation id it was sent: verbatim, URL-encoded and \\u-escaped inside the JSON). A
request with the wrong key always gets 401, echoing the key it was given as careless real
servers do. `reject_schema` makes it a server without structured outputs (a json_schema
`response_format` gets a 400 naming it). Threaded: concurrent requests really overlap, and
`peak_in_flight` records how many did.

Counting: `requests` counts every LLM request that arrived (whatever became of it), `answered`
those whose reply was written in full, `body_bytes_sent` the reply bytes written (all of them).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote

from tests.fakes.llm_batches import FakeBatches

BEHAVIOURS = ("ok", "429", "500", "hang", "text", "invalid", "inject", "401", "huge", "trickle", "echo")
CHUNK = 64 * 1024
FREDDY_PATH = "/v1/model/response"
OPENAI_PATH = "/chat/completions"


def analyst_reply(context: dict[str, Any], *, obey_headlines: bool = False) -> dict[str, Any]:
    """A plausible, valid label computed from the context (trend-following on the 5-bar return)."""
    price = float(context["current_price"])
    indicators = context.get("indicators") or {}
    atr = indicators.get("atr_14") or price * 0.01
    atr = min(float(atr), 0.2 * price)
    momentum = indicators.get("return_5_bars_pct") or 0.0
    buy = momentum >= 0
    reply = {
        "target": round(price + 2 * atr if buy else price - 2 * atr, 4),
        "stop_loss": round(price - atr if buy else price + atr, 4),
        "confidence": round(min(0.9, 0.55 + abs(momentum) / 20), 3),
        "recommendation": "BUY" if buy else "SELL",
        "bias": "bullish" if buy else "bearish",
        "reasoning": f"5-bar momentum {momentum:+.2f}%",
        "news_sentiment": 0.0,
        "horizon_bars": int(context.get("default_horizon_bars") or 10),
    }
    if obey_headlines and any("target" in h.lower() for h in context.get("news") or []):
        # What a model that follows an injected instruction would do: an absurd target.
        reply.update(recommendation="BUY", bias="bullish", target=round(price * 10, 4), confidence=0.99)
    return reply


class _Server(ThreadingHTTPServer):
    # socketserver's default listen backlog is 5: a burst of concurrent connects beyond it has its
    # SYNs dropped and retried a second later, which a client reads as a connect timeout.
    request_queue_size = 128
    daemon_threads = True
    block_on_close = False


class FakeLLMServer:
    def __init__(
        self,
        *,
        api_key: str | None = "test-key",
        latency: float = 0.0,
        retry_after: str = "0",
        hang_s: float = 10.0,
        freddy_usage: bool = False,
        huge_bytes: int = 50 * 1024 * 1024,
        trickle_s: float = 0.05,
    ) -> None:
        self.api_key = api_key
        self.latency = latency
        self.retry_after = retry_after
        self.hang_s = hang_s
        self.freddy_usage = freddy_usage  # real Freddy replies carry no token counts
        self.huge_bytes = huge_bytes
        self.trickle_s = trickle_s
        # A server without structured outputs: a json_schema `response_format` gets a 400 naming it.
        self.reject_schema = False
        # The recall probe: a model that "remembers" answers a date's close from `memory` (ISO date ->
        # close); any date it does not know gets `guess`, as a model without memory would.
        self.memory: dict[str, float] = {}
        self.guess = 100.0
        # The OpenAI Batch API (files, batches, results) with its own faults; see llm_batches.py.
        self.batches = FakeBatches(_batch_answer)
        self.default = "ok"
        self._script: deque[str] = deque()
        self._lock = threading.Lock()
        self._release = threading.Event()
        self.requests = 0
        self.answered = 0
        self.body_bytes_sent = 0
        self.by_behaviour: Counter[str] = Counter()
        self.by_path: Counter[str] = Counter()
        self.bodies: list[dict[str, Any]] = []
        self.in_flight = 0
        self.peak_in_flight = 0
        self._httpd = _Server(("127.0.0.1", 0), self._handler_class())
        # A short poll interval: `shutdown()` waits up to one interval, once per test.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-llm", daemon=True
        )

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self) -> FakeLLMServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()  # wake hung handlers
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def openai_url(self) -> str:
        return f"{self.url}/v1"

    # --- scripting ----------------------------------------------------------------------------
    def script(self, *behaviours: str) -> None:
        """Behaviours for the next requests, in arrival order; then `default` again."""
        unknown = set(behaviours) - set(BEHAVIOURS)
        if unknown:
            raise ValueError(f"unknown behaviours {sorted(unknown)}; use {BEHAVIOURS}")
        with self._lock:
            self._script.extend(behaviours)

    def reset_counts(self) -> None:
        with self._lock:
            self.requests = 0
            self.answered = 0
            self.body_bytes_sent = 0
            self.by_behaviour.clear()
            self.by_path.clear()
            self.bodies.clear()
            self.peak_in_flight = 0

    def _next(self, path: str, body: dict[str, Any]) -> str:
        with self._lock:
            self.requests += 1
            self.by_path[path] += 1
            self.bodies.append(body)
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            behaviour = self._script.popleft() if self._script else self.default
            self.by_behaviour[behaviour] += 1
            return behaviour

    def _done(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _sent(self, n: int, complete: bool = False) -> None:
        with self._lock:
            self.body_bytes_sent += n
            self.answered += complete

    # --- the HTTP side ------------------------------------------------------------------------
    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real APIs

            def log_message(self, format: str, *args: object) -> None:  # quiet
                return

            def _batch_route(self, method: str, raw: bytes) -> bool:
                """The Batch API routes (tests/fakes/llm_batches.py); False when the path is not one."""
                path = self.path.rstrip("/")
                batches = server.batches
                if method == "POST" and path == "/v1/files":
                    route = lambda: batches.upload(self.headers.get("Content-Type") or "", raw)  # noqa: E731
                elif method == "POST" and path == "/v1/batches":
                    route = lambda: batches.create(json.loads(raw or b"{}"))  # noqa: E731
                elif method == "POST" and path.startswith("/v1/batches/") and path.endswith("/cancel"):
                    route = lambda: batches.cancel(path.split("/")[3])  # noqa: E731
                elif method == "GET" and path.startswith("/v1/batches/"):
                    route = lambda: batches.get(path.split("/")[3])  # noqa: E731
                elif method == "GET" and path.startswith("/v1/files/") and path.endswith("/content"):
                    route = lambda: batches.content(path.split("/")[3])  # noqa: E731
                else:
                    return False
                if server.api_key is not None and self._key("openai") != server.api_key:
                    self._send(401, {"error": {"message": "invalid API key", "type": "auth_error"}})
                    return True
                status, payload = route()
                if isinstance(payload, bytes):
                    self._head(status, len(payload), {"Content-Type": "application/jsonl"})
                    self.wfile.write(payload)
                else:
                    self._send(status, payload)
                return True

            def do_GET(self) -> None:
                if not self._batch_route("GET", b""):
                    self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if self._batch_route("POST", raw):
                    return
                path = self.path.rstrip("/")
                if path.endswith(OPENAI_PATH):
                    wire = "openai"
                elif path == FREDDY_PATH:
                    wire = "freddy"
                else:
                    self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
                    return
                try:
                    body = json.loads(raw)
                except json.JSONDecodeError:
                    self._send(400, {"error": {"message": "body is not JSON", "type": "invalid_request"}})
                    return
                behaviour = server._next(wire, body)
                try:
                    self._serve(wire, body, behaviour)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test); nothing to answer
                finally:
                    server._done()

            def _key(self, wire: str) -> str | None:
                if wire == "freddy":
                    return self.headers.get("X-API-Key")
                auth = self.headers.get("Authorization") or ""
                return auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None

            def _serve(self, wire: str, body: dict[str, Any], behaviour: str) -> None:
                if server.latency:
                    time.sleep(server.latency)
                given = self._key(wire)
                if behaviour == "401" or (server.api_key is not None and given != server.api_key):
                    self._send(
                        401, {"error": {"message": f"invalid API key {given!r}", "type": "auth_error"}}
                    )
                    return
                if behaviour == "429":
                    self._send(
                        429,
                        {"error": {"message": "rate limit exceeded", "type": "rate_limit"}},
                        {"Retry-After": server.retry_after},
                    )
                    return
                if behaviour == "500":
                    self._send(500, {"error": {"message": "internal error", "type": "server_error"}})
                    return
                if (
                    server.reject_schema
                    and wire == "openai"
                    and (body.get("response_format") or {}).get("type") == "json_schema"
                ):
                    message = "Invalid parameter: 'response_format' of type 'json_schema' is not supported"
                    self._send(400, {"error": {"message": message, "type": "invalid_request_error"}})
                    return
                if behaviour == "hang":
                    server._release.wait(server.hang_s)
                    self._send(503, {"error": {"message": "gave up", "type": "server_error"}})
                    return
                messages = _messages(wire, body)
                if behaviour == "huge":
                    self._send_huge(wire)
                    return
                context = json.loads(messages[-1]["content"])
                if context.get("task") == "recall_close":  # the recall probe
                    close = server.memory.get(str(context.get("date")), server.guess)
                    self._send(200, _envelope(wire, json.dumps({"close": close}), messages, False))
                    return
                if behaviour == "text":
                    text = f"I think {context.get('symbol', 'it')} will probably go up from here."
                elif behaviour == "invalid":
                    price = float(context["current_price"])  # a BUY whose target is below the price
                    text = json.dumps(
                        {
                            "target": price * 0.9,
                            "stop_loss": price * 0.8,
                            "confidence": 0.7,
                            "recommendation": "BUY",
                            "bias": "bullish",
                        }
                    )
                elif behaviour == "echo":
                    text = _echo_reply(context, [given or "", str(body.get("organizationId") or "")])
                else:
                    text = json.dumps(analyst_reply(context, obey_headlines=behaviour == "inject"))
                envelope = _envelope(wire, text, messages, server.freddy_usage)
                if behaviour == "trickle":
                    self._send_trickle(json.dumps(envelope).encode())
                    return
                self._send(200, envelope)

            def _head(self, status: int, length: int, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(length))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()

            def _send(
                self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
            ) -> None:
                data = json.dumps(payload).encode()
                self._head(status, len(data), headers)
                self.wfile.write(data)
                server._sent(len(data), complete=True)

            def _send_huge(self, wire: str) -> None:
                """An envelope whose reply text is `huge_bytes` long, written a chunk at a time."""
                head, tail = _huge_frame(wire)
                self._head(200, len(head) + server.huge_bytes + len(tail))
                self.wfile.write(head)
                filler = b"A" * CHUNK
                left = server.huge_bytes
                while left > 0:  # the client hanging up ends it (BrokenPipe, caught above)
                    piece = filler[: min(CHUNK, left)]
                    self.wfile.write(piece)
                    server._sent(len(piece))
                    left -= len(piece)
                self.wfile.write(tail)
                server._sent(len(head) + len(tail), complete=True)

            def _send_trickle(self, data: bytes) -> None:
                """A valid reply, one byte at a time, `trickle_s` apart."""
                self._head(200, len(data))
                self.wfile.flush()
                for i in range(len(data)):
                    if server._release.wait(server.trickle_s):
                        return  # the server is stopping
                    self.wfile.write(data[i : i + 1])
                    self.wfile.flush()
                    server._sent(1)
                server._sent(0, complete=True)

        return Handler


def _echo_reply(context: dict[str, Any], secrets: list[str]) -> str:
    """A valid label that leaks what it was sent, in the spellings a careless server might use."""
    reply = analyst_reply(context)
    spoken = [s for s in secrets if s]
    reply["reasoning"] = "debug: " + " ".join(f"{s} {quote(s, safe='')}" for s in spoken)
    text = json.dumps(reply)
    escaped = " ".join("".join(f"\\u{ord(c):04x}" for c in s) for s in spoken)
    return text[:-1] + f', "debug": "{escaped}"}}'


def _batch_answer(body: dict[str, Any]) -> dict[str, Any]:
    """One batch request's chat.completion, answered by the fake analyst."""
    messages = _messages("openai", body)
    text = json.dumps(analyst_reply(json.loads(messages[-1]["content"])))
    return _envelope("openai", text, messages, False)


def _messages(wire: str, body: dict[str, Any]) -> list[dict[str, str]]:
    if wire == "openai":
        return [{"role": m["role"], "content": m["content"]} for m in body["messages"]]
    return [{"role": m["role"], "content": "".join(t["text"] for t in m["texts"])} for m in body["inputs"]]


def _huge_frame(wire: str) -> tuple[bytes, bytes]:
    """The envelope around a huge reply text: what comes before the text and after it."""
    if wire == "openai":
        return b'{"choices":[{"index":0,"message":{"role":"assistant","content":"', b'"}}]}'
    return b'{"output":[{"type":"message","content":[{"type":"output_text","text":"', b'"}]}]}'


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


def _envelope(wire: str, text: str, messages: list[dict[str, str]], freddy_usage: bool) -> dict[str, Any]:
    prompt_tokens = sum(_tokens(m["content"]) for m in messages)
    if wire == "openai":
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": _tokens(text),
                "total_tokens": prompt_tokens + _tokens(text),
            },
        }
    reply: dict[str, Any] = {
        "id": "resp-fake",
        "output": [
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]}
        ],
    }
    if freddy_usage:
        reply["usage"] = {"inputTokens": prompt_tokens, "outputTokens": _tokens(text)}
    return reply
