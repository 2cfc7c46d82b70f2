"""Response bodies streamed to disk within caps: decoding, size limits, the deadline.

The body is read raw (``decode_content=False``) and decoded here, gzip or deflate, in
pieces of at most CHUNK bytes (``zlib`` with ``max_length``), so a decompression bomb is
never expanded in memory: every piece is checked before it is written, and nothing beyond
``max_bytes`` is held or written. Three caps apply:

* ``max_bytes`` on the decoded body (fetch.too_large, or fetch.decompression_bomb when the
  body is compressed);
* ``max_wire_bytes`` on the bytes received (fetch.too_large), which also stops a stream of
  empty gzip members that would never grow the decoded size;
* an expansion ratio above ``max_expansion_ratio`` once the decoded body passes
  ``expansion_check_bytes`` (fetch.decompression_bomb), which stops a bomb long before
  ``max_bytes`` when that is large. RDF compresses 10 to 50-fold; zeros a thousandfold.

A reader given ``keep`` reads a prefix instead: it ends the body after ``keep`` decoded bytes
and keeps them, so a file of any size can be sampled. The caps above still apply (a caller
sampling huge files passes unbounded ones); as a stream of empty gzip members would never
reach ``keep``, the bytes received are then also capped at ``2 * keep + CHUNK``.

A Content-Length above the cap fails before anything is read. A body still arriving when
the fetch's deadline passes is cut off by the exchange's watchdog (http.py), which shuts
the socket down and so wakes a read blocked on a server that drips a byte a second and
never trips the read timeout; the reader reports that as fetch.timeout.
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import urllib3

from dcatwatch.errors import FetchError
from dcatwatch.http.politeness import Deadline

CHUNK = 1 << 16
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS,
          "deflate": zlib.MAX_WBITS, "identity": 0, "": 0}


@dataclass(frozen=True, slots=True)
class BodyLimits:
    """The caps on one body (see the module docstring)."""

    max_bytes: int
    max_wire_bytes: int
    max_expansion_ratio: float
    expansion_check_bytes: int


@dataclass(slots=True)
class Body:
    """A body stored in ``path`` (the caller's to delete)."""

    path: Path
    size: int  # decoded bytes
    wire_size: int  # bytes received
    sha256: str


class Decoder:
    """Content-Encoding decoding in pieces of at most CHUNK bytes."""

    def __init__(self, encoding: str, url: str) -> None:
        wbits = _WBITS.get(encoding)
        if wbits is None:
            raise FetchError("fetch.bad_encoding", f"the server sent Content-Encoding: {encoding},"
                             " which is not supported (dcatwatch asks for gzip or deflate)", url)
        self.encoding, self.url, self._wbits, self._fed = encoding, url, wbits, False
        self._zlib = zlib.decompressobj(wbits) if wbits else None

    @property
    def identity(self) -> bool:
        return self._zlib is None

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decoded pieces of ``data``."""
        if self._zlib is None:
            yield data
            return
        while data:
            if self._zlib.eof:  # another gzip member follows
                if self._wbits <= zlib.MAX_WBITS:
                    raise self._corrupt("data after the end of the deflate stream")
                self._zlib = zlib.decompressobj(self._wbits)
            piece = self._decompress(data)
            data = self._zlib.unused_data if self._zlib.eof else self._zlib.unconsumed_tail
            if piece:
                yield piece

    def flush(self) -> bytes:
        """What remains once the body has ended; FetchError if it ended early."""
        if self._zlib is None or not self._fed:
            return b""
        tail = self._zlib.flush()
        if not self._zlib.eof:
            raise self._corrupt("it ends early")
        return tail

    def _decompress(self, data: bytes) -> bytes:
        assert self._zlib is not None
        try:
            piece = self._zlib.decompress(data, CHUNK)
        except zlib.error as exc:
            if self._fed or self._wbits != zlib.MAX_WBITS:
                raise self._corrupt(str(exc)) from exc
            self._wbits = -zlib.MAX_WBITS  # raw deflate without the zlib wrapper, as IIS sends
            self._zlib = zlib.decompressobj(self._wbits)
            return self._decompress(data)
        self._fed = True
        return piece

    def _corrupt(self, detail: str) -> FetchError:
        return FetchError("fetch.bad_encoding",
                          f"the {self.encoding}-encoded body is corrupt: {detail}", self.url)


class BodyReader:
    """Streams one response body, or its first ``keep`` decoded bytes, into a temporary file
    within :class:`BodyLimits` (see the module docstring).

    Failures are FetchErrors: fetch.connection when the transfer broke (worth retrying),
    fetch.timeout, fetch.too_large, fetch.decompression_bomb, and fetch.bad_encoding for an
    unsupported or corrupt encoding.
    """

    def __init__(self, limits: BodyLimits, url: str, status: int, deadline: Deadline,
                 read_timeout: float, keep: int | None = None) -> None:
        self.limits, self.url, self.status = limits, url, status
        self.deadline, self.read_timeout = deadline, read_timeout
        self.keep = keep
        self.wire_cap = limits.max_wire_bytes if keep is None else \
            min(limits.max_wire_bytes, 2 * keep + CHUNK)
        self.size = self.wire_size = 0

    def read(self, raw: urllib3.HTTPResponse, headers: Mapping[str, str],
             directory: Path | None, expired: threading.Event) -> Body:
        """Read the body of ``raw`` (whose lower-cased ``headers`` are given) to a file;
        ``expired`` is set when the deadline's watchdog has cut the transfer off."""
        decoder = Decoder(headers.get("content-encoding", "").strip().lower(), self.url)
        limits = self.limits
        cap = limits.max_wire_bytes if not decoder.identity else \
            min(limits.max_wire_bytes, limits.max_bytes)
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > cap:
            raise self._error("fetch.too_large", f"Content-Length {length} exceeds the cap of "
                              f"{cap} bytes ([http] max_bytes)")
        digest = hashlib.sha256()
        handle = tempfile.NamedTemporaryFile(prefix="dcatwatch-", dir=directory, delete=False)
        path = Path(handle.name)
        try:
            with handle:
                for piece in self._pieces(raw, decoder, expired):
                    if self.keep is not None:
                        piece = piece[:self.keep - self.size]
                    self._check(len(piece), decoder)
                    self.size += len(piece)
                    digest.update(piece)
                    handle.write(piece)
                    if self.size == self.keep:
                        break
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return Body(path, self.size, self.wire_size, digest.hexdigest())

    def _pieces(self, raw: urllib3.HTTPResponse, decoder: Decoder,
                expired: threading.Event) -> Iterator[bytes]:
        late = FetchError("fetch.timeout", "the body was still arriving when [http] "
                          f"total_timeout = {self.deadline.seconds:g} s ran out", self.url)
        try:
            while data := raw.read1(CHUNK, decode_content=False):
                self.wire_size += len(data)
                if self.wire_size > self.wire_cap and not decoder.identity:
                    raise self._error("fetch.too_large", f"more than {self.wire_cap} bytes "
                                      f"received ({self._wire_cause()})")
                yield from decoder.feed(data)
        except urllib3.exceptions.ReadTimeoutError as exc:
            raise (late if expired.is_set() else FetchError(
                "fetch.timeout", f"the server stopped sending for {self.read_timeout:.3g} s "
                "([http] read_timeout)", self.url)) from exc
        except urllib3.exceptions.HTTPError as exc:
            if expired.is_set():
                raise late from exc
            raise FetchError("fetch.connection", f"the transfer broke off after "
                             f"{self.wire_size} bytes: {exc.__cause__ or exc}", self.url) from exc
        if expired.is_set():
            raise late
        yield decoder.flush()

    def _check(self, more: int, decoder: Decoder) -> None:
        """Refuse ``more`` decoded bytes that would break a cap, before they are written."""
        limits, size, wire = self.limits, self.size + more, self.wire_size
        if size > limits.max_bytes and decoder.identity:
            raise self._error("fetch.too_large",
                              f"the body exceeds [http] max_bytes = {limits.max_bytes} bytes")
        if size > limits.max_bytes:
            raise self._error("fetch.decompression_bomb", f"the {decoder.encoding}-encoded body "
                              f"expands beyond [http] max_bytes = {limits.max_bytes} bytes "
                              f"from {wire} bytes received")
        if not decoder.identity and size > limits.expansion_check_bytes and \
                size > limits.max_expansion_ratio * wire:
            raise self._error("fetch.decompression_bomb", f"the {decoder.encoding}-encoded body "
                              f"expands {size / wire:.0f}-fold ({wire} bytes to {size} so far),"
                              f" beyond [http] max_expansion_ratio = "
                              f"{limits.max_expansion_ratio:g}")

    def _wire_cause(self) -> str:
        if self.wire_cap == self.limits.max_wire_bytes:
            return "[http] max_wire_bytes"
        return f"for the first {self.keep} bytes"

    def _error(self, code: str, message: str) -> FetchError:
        return FetchError(code, message, self.url, status=self.status)
