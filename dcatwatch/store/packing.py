"""Score details and findings (metadata, SHACL) stored packed: JSON, zstd with a trained
dictionary.

A dataset's score details (``dataset_score.details``) were stored as JSON text of about 5 KB,
four times the dataset's packed description. They are packed like descriptions
(:func:`~dcatwatch.dcat.model.pack_description`): a leading format byte, then a zstd frame
made with ``details.zdict`` (trained on score details by ``scripts/train_details_dict.py``).
Rows from before the tag are the JSON text itself (first byte ``{``) and read as they are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Dialect, LargeBinary, TypeDecorator

from dcatwatch.zdict import DictionaryCodec

DICTIONARY_PATH = Path(__file__).with_name("details.zdict")
_CODEC = DictionaryCodec(DICTIONARY_PATH)
DETAILS_DICT = 0x02  # leading byte: zstd frame packed with the details dictionary
PLAIN_JSON = ord("{")  # the first byte of a row stored before packing




def pack_json(text: str) -> bytes:
    """JSON text as the store keeps it: the tag :data:`DETAILS_DICT`, then zstd."""
    return bytes((DETAILS_DICT,)) + _CODEC.compress(text.encode("utf-8"))


def unpack_json(packed: bytes | str) -> str:
    """The JSON text of a packed value; a row stored before packing reads as it is."""
    if isinstance(packed, str):  # SQLite keeps an unconverted TEXT value as text
        return packed
    tag = packed[0] if packed else PLAIN_JSON
    if tag == DETAILS_DICT:
        return _CODEC.decompress(packed[1:]).decode("utf-8")
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
