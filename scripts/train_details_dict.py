"""Train ``dcatwatch/store/details.zdict``: the zstd dictionary score details are packed with.

    python scripts/train_details_dict.py [--datasets 3000] [--size 8192]

A dataset's score details (``dataset_score.details``: identifiers, classification evidence,
MQA indicators) are JSON of about 5 KB whose keys and most values repeat from dataset to
dataset; a dictionary trained on them packs each to a few hundred bytes. The samples are
the details of a generated catalogue (``benchmarks/generate.py``), scored as a scoring run
scores them. Run again when the shape of the details changes (old rows still read: the
dictionary is only a better start for the compressor, but a new one needs a new tag byte in
:mod:`dcatwatch.store.packing`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import zstandard

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.generate import ntriples  # noqa: E402
from dcatwatch.dcat.classify import classify_dataset  # noqa: E402
from dcatwatch.dcat.mapper import Mapper  # noqa: E402
from dcatwatch.dcat.parse import graph_from_ntriples  # noqa: E402
from dcatwatch.scoring.mqa import score_dataset  # noqa: E402

OUT = ROOT / "dcatwatch" / "store" / "details.zdict"


def samples(n: int) -> list[bytes]:
    """Score details of ``n`` generated datasets, as a scoring run writes them."""
    parsed = Mapper(graph_from_ntriples(ntriples(n, seed=7)), url="").map()
    found = []
    for dataset in parsed.datasets:
        details = {"identifiers": dataset.identifiers,
                   "classification": classify_dataset(dataset).to_dict(),
                   "mqa": score_dataset(dataset).to_dict()}
        found.append(json.dumps(details, ensure_ascii=False, separators=(",", ":")).encode())
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", type=int, default=3000)
    parser.add_argument("--size", type=int, default=8192)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    trained = zstandard.train_dictionary(args.size, samples(args.datasets))
    args.out.write_bytes(trained.as_bytes())
    print(f"{args.out}: {len(trained.as_bytes())} bytes")


if __name__ == "__main__":
    main()
