"""The recurrent-layer benchmark script runs (quick mode) and prints its table; timings are not
checked here."""
import os
import re
import subprocess
import sys

import pytest

pytest.importorskip("torch")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_bench_rnn_quick_prints_a_table():
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "bench_rnn.py"), "--quick"],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert "| case | ours ms | torch ms | ratio | target |" in lines
    rows = [line for line in lines if re.match(r"\| .+ \| [\d.]+ \| [\d.]+ \| [\d.]+× \|", line)]
    assert len(rows) == 7, proc.stdout
    assert any(row.startswith("| LSTM T16 B8 H32 fwd+bwd") for row in rows)
    assert any(row.startswith("| GRU packed") for row in rows)
