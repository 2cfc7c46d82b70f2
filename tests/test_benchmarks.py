"""Every benchmark offers the ``--smoke`` size that ``.ci/run`` runs it at (issue 16)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = sorted((ROOT / "benchmarks").glob("bench_*.py")) + [ROOT / "benchmarks" / "national.py"]


def test_every_benchmark_accepts_smoke() -> None:
    # --help parses each script's arguments without running it; all at once, in parallel
    runs = {path.name: subprocess.Popen([sys.executable, str(path), "--help"], text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for path in BENCHMARKS}
    for name, run in runs.items():
        out, err = run.communicate(timeout=60)
        assert run.returncode == 0, f"{name}: {err[-1000:]}"
        assert "--smoke" in out, f"{name} has no --smoke"


def test_ci_runs_every_benchmark_at_smoke_size() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "benchmarks/bench_*.py benchmarks/national.py" in ci
    assert '"$bench" --smoke' in ci
