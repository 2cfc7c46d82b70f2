"""zstd with a dictionary shipped in the package, as the store packs descriptions and score
details: the dictionary read once, one compressor and decompressor per thread (zstd contexts
are not thread-safe)."""

from __future__ import annotations

import threading
from functools import cached_property
from pathlib import Path
from typing import Any


class DictionaryCodec:
    """Compress and decompress with the zstd dictionary at ``path`` (level 3, no checksum,
    content size written, no dictionary id: the caller's tag byte says which dictionary)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._lock = threading.Lock()

    @cached_property
    def dictionary(self) -> Any:
        import zstandard

        return zstandard.ZstdCompressionDict(self.path.read_bytes(),
                                             dict_type=zstandard.DICT_TYPE_FULLDICT)

    def _pair(self) -> tuple[Any, Any]:
        pair = getattr(self._local, "pair", None)
        if pair is None:
            import zstandard

            with self._lock:
                dictionary = self.dictionary
            pair = self._local.pair = (
                zstandard.ZstdCompressor(level=3, dict_data=dictionary, write_checksum=False,
                                         write_content_size=True, write_dict_id=False),
                zstandard.ZstdDecompressor(dict_data=dictionary))
        return pair

    def compress(self, data: bytes) -> bytes:
        return self._pair()[0].compress(data)  # type: ignore[no-any-return]

    def decompress(self, data: bytes) -> bytes:
        return self._pair()[1].decompress(data)  # type: ignore[no-any-return]
