"""The OpenAI Batch API as documented, for `FakeLLMServer`: files, batches, polling, results, cancel.

    POST /v1/files                multipart: purpose=batch, file=<JSONL: custom_id, method, url, body>
    POST /v1/batches              {"input_file_id", "endpoint", "completion_window": "24h"}
    GET  /v1/batches/{id}         validating -> in_progress -> finalizing -> completed (a step a poll),
                                  or failed / expired / cancelling -> cancelled; request_counts;
                                  output_file_id / error_file_id once it ends
    GET  /v1/files/{id}/content   the output or error JSONL
    POST /v1/batches/{id}/cancel  cancelling, then cancelled with what had finished

Faults (`fault`): "expire" (the window runs out after `expire_after` requests: the rest come back in
the error file as `batch_expired`), "partial" (every `fail_every`-th request fails with a 500 in the
error file), "fail" (validation fails: status failed, `errors`, no output). `paused` holds a batch
in_progress (a restart test's window) until cleared; `step` finishes that many requests per poll
(None: all at once). Answers are the fake analyst's (`analyst_reply`) in chat-completion envelopes.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from email.parser import BytesParser
from email.policy import default as default_policy
from typing import Any

ENDPOINT = "/v1/chat/completions"
TERMINAL = ("completed", "failed", "expired", "cancelled")


class FakeBatches:
    def __init__(self, answer: Any) -> None:
        self._answer = answer  # (request body) -> chat.completion envelope
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.files: dict[str, dict[str, Any]] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self._work: dict[str, list[dict[str, Any]]] = {}  # batch id -> its request lines
        self._done: dict[str, int] = {}
        self.fault: str | None = None
        self.expire_after = 0
        self.fail_every = 10
        self.paused = False
        self.step: int | None = None
        self.files_created = 0
        self.batches_created = 0
        self.cancels = 0
        self.polls = 0

    # --- routes: (status, payload or raw bytes) ---------------------------------------------------
    def upload(self, content_type: str, raw: bytes) -> tuple[int, Any]:
        message = BytesParser(policy=default_policy).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + raw
        )
        fields: dict[str, bytes] = {}
        names: dict[str, str | None] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if isinstance(name, str):
                fields[name] = part.get_payload(decode=True) or b""
                names[name] = part.get_filename()
        if fields.get("purpose", b"").decode() != "batch" or "file" not in fields:
            return 400, _error("a batch input needs purpose=batch and a file", "invalid_request_error")
        with self._lock:
            file_id = f"file-{next(self._ids)}"
            self.files[file_id] = {"purpose": "batch", "data": fields["file"], "filename": names.get("file")}
            self.files_created += 1
        return 200, {
            "id": file_id,
            "object": "file",
            "bytes": len(fields["file"]),
            "created_at": int(time.time()),
            "filename": names.get("file") or "input.jsonl",
            "purpose": "batch",
        }

    def create(self, body: dict[str, Any]) -> tuple[int, Any]:
        file = self.files.get(str(body.get("input_file_id")))
        if file is None or file["purpose"] != "batch":
            return 400, _error("input_file_id is not a batch file", "invalid_request_error")
        if body.get("endpoint") != ENDPOINT or body.get("completion_window") != "24h":
            return 400, _error("endpoint must be /v1/chat/completions and completion_window 24h", "invalid")
        lines = [json.loads(line) for line in file["data"].decode().splitlines() if line.strip()]
        with self._lock:
            batch_id = f"batch_{next(self._ids)}"
            self._work[batch_id] = lines
            self._done[batch_id] = 0
            self.batches[batch_id] = {
                "id": batch_id,
                "object": "batch",
                "endpoint": ENDPOINT,
                "errors": None,
                "input_file_id": body["input_file_id"],
                "completion_window": "24h",
                "status": "validating",
                "output_file_id": None,
                "error_file_id": None,
                "created_at": int(time.time()),
                "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
                "metadata": body.get("metadata"),
            }
            self.batches_created += 1
            return 200, dict(self.batches[batch_id])

    def get(self, batch_id: str) -> tuple[int, Any]:
        with self._lock:
            batch = self.batches.get(batch_id)
            if batch is None:
                return 404, _error(f"no batch {batch_id}", "not_found")
            self.polls += 1
            self._advance(batch)
            return 200, dict(batch)

    def cancel(self, batch_id: str) -> tuple[int, Any]:
        with self._lock:
            batch = self.batches.get(batch_id)
            if batch is None:
                return 404, _error(f"no batch {batch_id}", "not_found")
            if batch["status"] not in TERMINAL:
                batch["status"] = "cancelling"
                self.cancels += 1
            return 200, dict(batch)

    def content(self, file_id: str) -> tuple[int, Any]:
        file = self.files.get(file_id)
        if file is None:
            return 404, _error(f"no file {file_id}", "not_found")
        return 200, file["data"]

    # --- the batch's life -----------------------------------------------------------------------
    def _advance(self, batch: dict[str, Any]) -> None:
        status, batch_id = batch["status"], batch["id"]
        lines = self._work[batch_id]
        if status == "validating":
            if self.fault == "fail":
                batch["status"] = "failed"
                batch["errors"] = {
                    "object": "list",
                    "data": [{"code": "invalid_request", "message": "the input file failed validation"}],
                }
            else:
                batch["status"] = "in_progress"
        elif status == "in_progress" and not self.paused:
            limit = len(lines) if self.fault != "expire" else min(len(lines), self.expire_after)
            step = self.step or len(lines)
            self._done[batch_id] = min(limit, self._done[batch_id] + step)
            self._count(batch)
            if self._done[batch_id] >= limit:
                batch["status"] = "expired" if limit < len(lines) else "finalizing"
                if batch["status"] == "expired":
                    self._finish(batch)
        elif status == "finalizing":
            batch["status"] = "completed"
            self._finish(batch)
        elif status == "cancelling":
            batch["status"] = "cancelled"
            self._finish(batch)

    def _count(self, batch: dict[str, Any]) -> None:
        done = self._done[batch["id"]]
        failed = sum(1 for i in range(done) if self._fails(i))
        batch["request_counts"] = {
            "total": len(self._work[batch["id"]]),
            "completed": done - failed,
            "failed": failed,
        }

    def _fails(self, index: int) -> bool:
        return self.fault == "partial" and (index + 1) % self.fail_every == 0

    def _finish(self, batch: dict[str, Any]) -> None:
        batch_id = batch["id"]
        lines = self._work[batch_id]
        done = self._done[batch_id]
        output, errors = [], []
        for i, line in enumerate(lines):
            entry = {"id": f"batch_req_{batch_id}_{i}", "custom_id": line["custom_id"]}
            if i < done and not self._fails(i):
                envelope = self._answer(line["body"])
                output.append({**entry, "response": {"status_code": 200, "body": envelope}, "error": None})
            elif i < done:
                failure = _error("internal error", "server_error")
                errors.append({**entry, "response": {"status_code": 500, "body": failure}, "error": None})
            elif batch["status"] == "expired":
                gone = {
                    "code": "batch_expired",
                    "message": "This request could not be executed before the window",
                }
                errors.append({**entry, "response": None, "error": gone})
        self._count(batch)
        batch["output_file_id"] = self._store(output, f"{batch_id}_output.jsonl") if output else None
        batch["error_file_id"] = self._store(errors, f"{batch_id}_error.jsonl") if errors else None
        batch["completed_at" if batch["status"] == "completed" else f"{batch['status']}_at"] = int(
            time.time()
        )

    def _store(self, rows: list[dict[str, Any]], name: str) -> str:
        file_id = f"file-{next(self._ids)}"
        data = "".join(json.dumps(r) + "\n" for r in rows).encode()
        self.files[file_id] = {"purpose": "batch_output", "data": data, "filename": name}
        return file_id


def _error(message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind}}
