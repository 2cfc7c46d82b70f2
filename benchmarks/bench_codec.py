"""Codecs for stored dataset descriptions: ratio and µs per record.

    python benchmarks/bench_codec.py [--datasets 5000] [--corpus DIR] [--smoke]

Descriptions come from mapping a ``benchmarks/generate.py`` catalogue (and, with
``--corpus``, every RDF file under DIR that parses), exactly as a harvest packs them.
Compared: zlib level 1 (the old format), lz4 frame, zstd level 3 with and without the
shipped dictionary (``dcatwatch/dcat/ntriples.zdict``). ``--train OUT`` trains a new
dictionary on the generated and corpus descriptions.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate  # noqa: E402

from dcatwatch.dcat.mapper import map_graph  # noqa: E402
from dcatwatch.dcat.parse import parse_file  # noqa: E402

SUFFIXES = {".rdf", ".ttl", ".nt", ".jsonld", ".xml", ".n3"}


def descriptions_of(path: Path, url: str) -> list[bytes]:
    parsed = map_graph(parse_file(path, url), url, full=False)
    return [e.description.encode("utf-8", "surrogateescape") for e in parsed.entries]


def generated(n: int) -> list[bytes]:
    with tempfile.TemporaryDirectory() as tmp:
        path = generate.write(n, Path(tmp) / "cat.nt", "ntriples")
        return descriptions_of(path, "https://data.example.se/cat.nt")


def corpus(root: Path) -> list[bytes]:
    found: list[bytes] = []
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() not in SUFFIXES or not path.is_file():
            continue
        try:
            found += descriptions_of(path, f"https://corpus.example.se/{path.name}")
        except Exception:  # noqa: BLE001 - a corpus file that does not parse is skipped
            continue
    return found


def measure(name: str, records: list[bytes], pack, unpack) -> str:  # type: ignore[no-untyped-def]
    packed = []
    start = time.perf_counter()
    for record in records:
        packed.append(pack(record))
    write = (time.perf_counter() - start) / len(records) * 1e6
    start = time.perf_counter()
    for blob in packed:
        unpack(blob)
    read = (time.perf_counter() - start) / len(records) * 1e6
    raw = sum(map(len, records))
    size = sum(map(len, packed))
    return (f"{name:<18} ratio {raw / size:5.2f}  mean {size / len(records):6.0f} B  "
            f"pack {write:6.1f} µs  unpack {read:6.1f} µs")


def report(label: str, records: list[bytes], dictionary: bytes | None) -> None:
    import zstandard

    print(f"{label}: {len(records)} descriptions, mean {statistics.mean(map(len, records)):.0f} B")
    print(measure("zlib-1", records, lambda b: zlib.compress(b, 1), zlib.decompress))
    try:
        import lz4.frame  # a benchmark-only comparison: not a dependency of dcatwatch
    except ImportError:
        print("lz4                not installed (pip install lz4 to compare)")
    else:
        print(measure("lz4", records, lz4.frame.compress, lz4.frame.decompress))
    plain_c, plain_d = zstandard.ZstdCompressor(level=3), zstandard.ZstdDecompressor()
    print(measure("zstd-3", records, plain_c.compress, plain_d.decompress))
    if dictionary:
        zd = zstandard.ZstdCompressionDict(dictionary)
        for level in (3, 9):
            c = zstandard.ZstdCompressor(level=level, dict_data=zd, write_content_size=True,
                                         write_checksum=False, write_dict_id=False)
            d = zstandard.ZstdDecompressor(dict_data=zd)
            print(measure(f"zstd-{level}+dict", records, c.compress, d.decompress))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", type=int, default=5000)
    parser.add_argument("--corpus", type=Path)
    parser.add_argument("--train", type=Path, help="write a dictionary trained here")
    parser.add_argument("--dict-size", type=int, default=16384)
    parser.add_argument("--smoke", action="store_true", help="a few hundred records, quickly")
    args = parser.parse_args()
    n = 300 if args.smoke else args.datasets
    records = generated(n)
    real = corpus(args.corpus) if args.corpus else []
    if args.train:
        import zstandard

        # trained on another seed than the one measured, so the figure is not flattered
        with tempfile.TemporaryDirectory() as tmp:
            path = generate.write(max(n, 2000), Path(tmp) / "t.nt", "ntriples", seed=7)
            samples = descriptions_of(path, "https://data.example.se/t.nt") + real
        samples = [s for s in samples if 64 < len(s) < 64 * 1024]
        trained = zstandard.train_dictionary(args.dict_size, samples)
        args.train.write_bytes(trained.as_bytes())
        print(f"trained {len(trained.as_bytes())} B on {len(samples)} descriptions")
    from dcatwatch.dcat import model

    dictionary = model.DICTIONARY_PATH.read_bytes() if hasattr(model, "DICTIONARY_PATH") \
        and model.DICTIONARY_PATH.exists() else (args.train.read_bytes() if args.train else None)
    report("generated", records, dictionary)
    if real:
        report("corpus", real, dictionary)


if __name__ == "__main__":
    main()
