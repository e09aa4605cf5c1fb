"""bench/bench_transformer.py runs in quick mode and prints its table (timings are not checked:
CI machines are too noisy for timed tests)."""
import os
import re
import subprocess
import sys

import pytest

pytest.importorskip("torch")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_bench_transformer_quick_prints_a_table():
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "bench_transformer.py"),
                           "--quick"], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert "| case | ours ms | torch ms | ratio | target |" in lines
    rows = [line for line in lines if re.match(r"\| .+ \| [\d.]+ \| [\d.]+ \| [\d.]+× \|", line)]
    assert len(rows) == 4, proc.stdout
    assert any(row.startswith("| encoder block fwd+bwd (seq 64") and "≤ 1.5×" in row
               for row in rows), proc.stdout
