"""bench/bench_gpt.py runs (quick mode) and prints both tables; timings are not checked here."""
import os
import re
import subprocess
import sys

import pytest

pytest.importorskip("torch")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_bench_gpt_quick_prints_ms_and_tokens_per_second():
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "bench_gpt.py"), "--quick",
                           "--threads", "1"], capture_output=True, text=True, timeout=600,
                          cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    ms_rows = [line for line in lines if re.match(r"\| gpt .+ \| [\d.]+ \| [\d.]+ \| [\d.]+× \|",
                                                  line)]
    assert [row.split(" (")[0] for row in ms_rows] == ["| gpt train step", "| gpt generate 16 "
                                                       "tokens"], proc.stdout
    rate_rows = [line for line in lines if re.match(r"\| gpt .+ \| [\d,]+ \| [\d,]+ \|$", line)]
    assert len(rate_rows) == 2, proc.stdout
