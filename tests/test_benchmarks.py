"""Every benchmark offers the ``--smoke`` size that ``.ci/run`` runs it at (issue 16); the
runs themselves happen in ``.ci/run``, not here."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = sorted((ROOT / "benchmarks").glob("bench_*.py")) + [ROOT / "benchmarks" / "national.py"]


def _options(path: Path) -> set[str]:
    """The option strings ``path`` passes to ``add_argument``."""
    return {arg.value for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "add_argument"
            for arg in node.args if isinstance(arg, ast.Constant)}


def test_every_benchmark_accepts_smoke() -> None:
    assert len(BENCHMARKS) >= 6
    missing = [path.name for path in BENCHMARKS if "--smoke" not in _options(path)]
    assert not missing, f"without --smoke: {missing}"


def test_ci_runs_every_benchmark_at_smoke_size() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "benchmarks/bench_*.py benchmarks/national.py" in ci
    assert '"$bench" --smoke' in ci
