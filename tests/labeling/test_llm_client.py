"""The client's building blocks: retry rules, Retry-After parsing, wire envelopes, non-retryable failures."""

from __future__ import annotations

import asyncio
import gzip
import random
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from core.labeling.llm.body import EXCERPT_BYTES, BodyTooLarge, BoundedBody, UnsupportedEncoding
from core.labeling.llm.client import LLMClient
from core.labeling.llm.retry import RetryPolicy, is_retryable, parse_retry_after
from core.llm_providers.freddy import FreddyWire
from core.llm_providers.openai_compat import OpenAIWire
from core.llm_providers.wire import LLMCallFailed, MalformedEnvelope, ReplyTooLarge, RetryAbandoned
from tests.fakes.llm_server import FakeLLMServer
from tests.support.servers import free_port

MESSAGES = [
    {"role": "system", "content": "rules"},
    {"role": "user", "content": '{"symbol":"GOOG","current_price":100.0,"indicators":{"atr_14":2.0}}'},
]


def test_retry_after_forms() -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 0.5 ") == 0.5
    assert parse_retry_after(format_datetime(now + timedelta(seconds=10), usegmt=True), now) == pytest.approx(
        10
    )
    assert parse_retry_after("-4") == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_backoff_grows_with_jitter_and_caps() -> None:
    policy = RetryPolicy(max_retries=5, base_s=0.5, cap_s=4.0, retry_after_cap_s=60.0)
    rng = random.Random(1)
    for retry, (lo, hi) in {1: (0.25, 0.5), 2: (0.5, 1.0), 3: (1.0, 2.0), 6: (2.0, 4.0)}.items():
        delays = [policy.delay(retry, None, rng) for _ in range(200)]
        assert lo <= min(delays) and max(delays) <= hi and len(set(delays)) > 100
    assert 2.0 <= policy.delay(1, 2.0, rng) <= 2.25  # the server's wait, plus a little jitter
    assert 60.0 <= policy.delay(1, 3600.0, rng) <= 60.25  # capped
    assert all(is_retryable(s) for s in (408, 429, 500, 502, 503, 504))
    assert not any(is_retryable(s) for s in (400, 401, 403, 404, 422))


def _client(wire, **kw) -> LLMClient:
    return LLMClient(
        wire,
        model="gpt-4o",
        temperature=0.7,
        timeout=kw.pop("timeout", 1.0),
        concurrency=2,
        policy=RetryPolicy(max_retries=kw.pop("max_retries", 2), base_s=0.01, cap_s=0.05),
        **kw,
    )


async def _complete(client: LLMClient):
    async with client:
        return await client.complete(MESSAGES)


def test_both_wire_formats_round_trip() -> None:
    with FakeLLMServer(api_key="k" * 12, freddy_usage=True) as server:
        freddy = asyncio.run(_complete(_client(FreddyWire(server.url, "k" * 12, "org", "asst"))))
        openai = asyncio.run(_complete(_client(OpenAIWire(server.openai_url, "k" * 12))))
    assert freddy.text == openai.text and '"recommendation": "BUY"' in freddy.text
    assert not freddy.usage.estimated and not openai.usage.estimated and freddy.usage.tokens_in > 0
    assert (freddy.attempts, freddy.http_status) == (1, 200)


def test_client_errors_are_not_retried_but_transport_errors_are() -> None:
    with FakeLLMServer(api_key=None) as server:
        with pytest.raises(LLMCallFailed) as caught:
            asyncio.run(_complete(_client(FreddyWire(f"{server.url}/nowhere", "key", "o", "a"))))
        assert caught.value.http_status == 404 and caught.value.attempts == 1
        assert server.requests == 0  # 404 before routing: not an LLM request at all

    port = free_port()  # nobody listens on it
    with pytest.raises(LLMCallFailed, match="transport error") as refused:
        asyncio.run(_complete(_client(OpenAIWire(f"http://127.0.0.1:{port}/v1", None))))
    assert refused.value.attempts == 3


def test_envelopes_are_checked() -> None:
    wire = FreddyWire("http://x", "k", "o", "a")
    with pytest.raises(MalformedEnvelope):
        wire.parse({"output": []})
    with pytest.raises(MalformedEnvelope):
        OpenAIWire("http://x", None).parse({"choices": [{"message": {"content": None}}]})
    text, usage = wire.parse({"output": [{"content": [{"text": "{"}, {"text": "}"}]}]})
    assert text == "{}" and usage is None
    assert OpenAIWire("http://x", None).headers() == {"Accept": "application/json"}  # local servers: no key


@pytest.mark.serial
def test_a_trickled_reply_ends_at_the_attempt_deadline_and_bills_what_arrived() -> None:
    with FakeLLMServer(api_key=None, trickle_s=0.01) as server:
        server.default = "trickle"
        client = _client(OpenAIWire(server.openai_url, None), timeout=0.5, max_retries=0)
        started = time.perf_counter()
        with pytest.raises(LLMCallFailed, match="deadline") as caught:
            asyncio.run(_complete(client))
        elapsed = time.perf_counter() - started
    assert 0.5 <= elapsed < 1.0  # each byte came well within the per-read timeout; the total did not
    failed = caught.value
    assert failed.attempts == 1 and 0 < failed.reply_bytes <= 0.5 / 0.01 + 5
    assert failed.usage is not None and failed.usage.tokens_in > 0 and failed.usage.estimated


@pytest.mark.serial
def test_the_runs_deadline_cuts_an_attempt_and_forbids_retries() -> None:
    with FakeLLMServer(api_key=None, trickle_s=0.01) as server:
        server.default = "trickle"
        client = _client(OpenAIWire(server.openai_url, None), timeout=5.0, max_retries=3)
        client.deadline = time.monotonic() + 0.4
        started = time.perf_counter()
        with pytest.raises(LLMCallFailed, match="deadline") as caught:
            asyncio.run(_complete(client))
        assert time.perf_counter() - started < 0.9 and server.requests == 1
    assert caught.value.attempts == 1


def test_an_oversized_reply_stops_at_the_cap_with_an_excerpt() -> None:
    with FakeLLMServer(api_key="k" * 12) as server:
        server.default = "huge"
        client = _client(FreddyWire(server.url, "k" * 12, "o", "a"), max_reply_bytes=4096)
        with pytest.raises(ReplyTooLarge, match="larger than 4,096 bytes") as caught:
            asyncio.run(_complete(client))
        assert server.requests == 1 and server.answered == 0  # not retried, never read to the end
    big = caught.value
    assert big.excerpt.startswith('{"output"') and len(big.excerpt) == EXCERPT_BYTES
    assert 4096 < big.reply_bytes <= 4096 + 65_536 and big.usage.tokens_out >= 1024


def test_a_stopped_run_sends_no_retry() -> None:
    async def stopped(attempt: int) -> bool:
        return False

    async def complete(client: LLMClient):
        async with client:
            return await client.complete(MESSAGES, stopped)

    with FakeLLMServer(api_key=None) as server:
        server.default = "500"
        with pytest.raises(RetryAbandoned, match="run stopped"):
            asyncio.run(complete(_client(OpenAIWire(server.openai_url, None), max_retries=3)))
        assert server.requests == 1


def test_a_compressed_body_is_inflated_within_the_cap() -> None:
    bomb = gzip.compress(b"\0" * (50 * 1024 * 1024))  # 50 MB of zeros in ~50 KB
    reader = BoundedBody(65_536, "gzip")
    tracemalloc.start()
    try:
        with pytest.raises(BodyTooLarge):
            for start in range(0, len(bomb), 16_384):
                reader.feed(bomb[start : start + 16_384])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * 1024 * 1024
    small = BoundedBody(1024, "gzip")
    small.feed(gzip.compress(b'{"a": 1}'))
    assert small.data() == b'{"a": 1}'
    with pytest.raises(UnsupportedEncoding):
        BoundedBody(1024, "br")
