"""Shared fixtures: a real loopback HTTP server, the shared corpus, a fresh config."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import LoopbackServer

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
CORPUS = ROOT.parent / "shared" / "corpus"


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    """A fresh loopback HTTP server for one test."""
    with LoopbackServer() as srv:
        yield srv


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The shared corpus of real catalogues; skips the test when it is absent."""
    if not CORPUS.is_dir():
        pytest.skip(f"shared corpus not found at {CORPUS}")
    return CORPUS
