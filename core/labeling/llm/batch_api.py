"""The OpenAI Batch API over HTTP: upload the requests, create the batch, poll it, read the results.

`POST {base}/files` (purpose `batch`, a JSONL of `{custom_id, method, url, body}`), `POST {base}/batches`
(`input_file_id`, `endpoint`, `completion_window` 24h), `GET {base}/batches/{id}`, `GET
{base}/files/{id}/content` and `POST {base}/batches/{id}/cancel`. Synchronous on purpose: a batch
is a handful of slow calls minutes apart, not many concurrent ones. Transient failures (transport
errors, 408/429/5xx) are retried a few times; a refused key raises `LLMAuthError`; every message
is redacted of the configured secrets.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from core.errors import LLMAuthError, ProviderUnavailable
from core.labeling.llm.client import error_message
from core.labeling.llm.retry import AUTH_STATUSES, is_retryable
from core.llm_providers.wire import redact

ENDPOINT = "/v1/chat/completions"
COMPLETION_WINDOW = "24h"
TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})
ATTEMPTS = 4


class BatchAPI:
    def __init__(
        self, base_url: str, headers: dict[str, str], *, timeout: float, secrets: tuple[str, ...]
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._secrets = secrets
        self._http = httpx.Client(timeout=httpx.Timeout(max(timeout, 30.0)), headers=headers)

    def __repr__(self) -> str:  # never the key
        return f"BatchAPI(base_url={self.base_url!r})"

    def close(self) -> None:
        self._http.close()

    def upload(self, jsonl: bytes) -> str:
        """The input file's id."""
        reply = self._call(
            "POST", "/files", data={"purpose": "batch"}, files={"file": ("requests.jsonl", jsonl)}
        )
        return str(reply["id"])

    def create(self, input_file_id: str, metadata: dict[str, str] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "input_file_id": input_file_id,
            "endpoint": ENDPOINT,
            "completion_window": COMPLETION_WINDOW,
        }
        if metadata:
            body["metadata"] = metadata
        return self._call("POST", "/batches", json=body)

    def get(self, batch_id: str) -> dict[str, Any]:
        return self._call("GET", f"/batches/{batch_id}")

    def cancel(self, batch_id: str) -> dict[str, Any]:
        return self._call("POST", f"/batches/{batch_id}/cancel")

    def content(self, file_id: str) -> list[dict[str, Any]]:
        """An output or error file's lines."""
        raw = self._request("GET", f"/files/{file_id}/content").content
        return [json.loads(line) for line in raw.decode("utf-8").splitlines() if line.strip()]

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        reply = self._request(method, path, **kwargs)
        try:
            payload = reply.json()
        except ValueError:
            raise ProviderUnavailable(f"batch API {method} {path}: the reply is not JSON") from None
        if not isinstance(payload, dict):
            raise ProviderUnavailable(f"batch API {method} {path}: the reply is not a JSON object")
        return payload

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        problem = "no reply"
        for attempt in range(1, ATTEMPTS + 1):
            try:
                reply = self._http.request(method, f"{self.base_url}{path}", **kwargs)
            except httpx.TransportError as exc:
                problem = f"transport error: {type(exc).__name__}"
            else:
                if reply.status_code < 300:
                    return reply
                explained = error_message(reply.status_code, reply.content[:16_384])
                problem = redact(f"HTTP {reply.status_code}: {explained}", self._secrets)
                if reply.status_code in AUTH_STATUSES:
                    raise LLMAuthError(
                        f"the batch API refused the credentials ({problem}); check the API key"
                    )
                if not is_retryable(reply.status_code):
                    break
            if attempt < ATTEMPTS:
                time.sleep(min(8.0, 0.5 * 2 ** (attempt - 1)))
        raise ProviderUnavailable(f"batch API {method} {path} failed: {problem}")
