"""Score details and findings (metadata, SHACL) stored packed: JSON, zstd with a trained
dictionary.

A dataset's score details (``dataset_score.details``) were stored as JSON text of about 5 KB,
four times the dataset's packed description. They are packed like descriptions
(:func:`~dcatwatch.dcat.model.pack_description`): a leading format byte, then a zstd frame
made with ``details.zdict`` (trained on score details by ``scripts/train_details_dict.py``).
Rows from before the tag are the JSON text itself (first byte ``{``) and read as they are.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Dialect, LargeBinary, TypeDecorator

DICTIONARY_PATH = Path(__file__).with_name("details.zdict")
DETAILS_DICT = 0x02  # leading byte: zstd frame packed with the details dictionary
PLAIN_JSON = ord("{")  # the first byte of a row stored before packing
_codec = threading.local()  # zstd contexts are not thread-safe: one pair per thread


@lru_cache(maxsize=1)
def _dictionary() -> Any:
    import zstandard

    return zstandard.ZstdCompressionDict(DICTIONARY_PATH.read_bytes(),
                                         dict_type=zstandard.DICT_TYPE_FULLDICT)


def _contexts() -> tuple[Any, Any]:
    pair = getattr(_codec, "pair", None)
    if pair is None:
        import zstandard

        dictionary = _dictionary()
        pair = _codec.pair = (
            zstandard.ZstdCompressor(level=3, dict_data=dictionary, write_checksum=False,
                                     write_content_size=True, write_dict_id=False),
            zstandard.ZstdDecompressor(dict_data=dictionary))
    return pair


def pack_json(text: str) -> bytes:
    """JSON text as the store keeps it: the tag :data:`DETAILS_DICT`, then zstd."""
    return bytes((DETAILS_DICT,)) + _contexts()[0].compress(text.encode("utf-8"))


def unpack_json(packed: bytes | str) -> str:
    """The JSON text of a packed value; a row stored before packing reads as it is."""
    if isinstance(packed, str):  # SQLite keeps an unconverted TEXT value as text
        return packed
    tag = packed[0] if packed else PLAIN_JSON
    if tag == DETAILS_DICT:
        return _contexts()[1].decompress(packed[1:]).decode("utf-8")
    if tag == PLAIN_JSON:
        return bytes(packed).decode("utf-8")
    raise ValueError(f"unknown packed JSON format {tag:#04x}")


class PackedJson(TypeDecorator[str]):
    """JSON text stored packed (:func:`pack_json`); SQLAlchemy reads and writes ``str``."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else pack_json(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else unpack_json(value if isinstance(value, str)
                                                      else bytes(value))
