"""Reading a reply body within a size cap, so a huge or endless reply costs bounded memory.

The client asks for `Accept-Encoding: identity` and reads raw bytes; should a server compress
anyway, gzip and deflate are inflated here with a bound on the output (httpx's own decoders
inflate a whole chunk at once, so one small compressed chunk could expand without limit).
"""

from __future__ import annotations

import zlib

EXCERPT_BYTES = 2_048  # what of an oversized reply is kept, for the stored raw reply


class BodyTooLarge(Exception):
    def __init__(self, limit: int, head: bytes) -> None:
        super().__init__(f"reply body larger than {limit:,} bytes")
        self.limit = limit
        self.head = head


class UnsupportedEncoding(Exception):
    """A Content-Encoding this reader cannot inflate within bounds (never asked for)."""


class BoundedBody:
    """Collects at most `limit` bytes of decoded body; `feed` raises `BodyTooLarge` past that."""

    def __init__(self, limit: int, content_encoding: str | None = None) -> None:
        self.limit = limit
        self.received = 0  # raw bytes off the wire (what the provider sent, and bills)
        self._size = 0
        self._parts: list[bytes] = []
        encoding = (content_encoding or "identity").strip().lower()
        if encoding in ("", "identity"):
            self._inflater = None
        elif encoding in ("gzip", "x-gzip"):
            self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._inflater = zlib.decompressobj()
        else:
            raise UnsupportedEncoding(f"unsupported Content-Encoding {encoding!r}")

    def feed(self, chunk: bytes) -> None:
        self.received += len(chunk)
        room = self.limit - self._size + 1  # one byte past the cap proves the body is too large
        if self._inflater is None:
            data = chunk[:room]
        else:
            try:
                data = self._inflater.decompress(chunk, room)
            except zlib.error as exc:
                raise UnsupportedEncoding(f"corrupt compressed body ({exc})") from None
        self._parts.append(data)
        self._size += len(data)
        if self._size > self.limit:
            raise BodyTooLarge(self.limit, self.head())

    def head(self) -> bytes:
        return b"".join(self._parts)[:EXCERPT_BYTES]

    def data(self) -> bytes:
        return b"".join(self._parts)
