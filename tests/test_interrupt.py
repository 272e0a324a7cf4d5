"""Ctrl-C: a long call raises KeyboardInterrupt soon after SIGINT and leaves
no thread computing.

Each case runs in a child process that sends itself SIGINT 0.5 s into a
call sized to take well over ten seconds here, so the call cannot finish
first; the kernels check for signals between waves of work items.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

# Each builds the inputs (cheaply) and returns a call of many seconds.
CASES = {
    "correlate2d": """
        a = np.ones((3000, 3000)); k = np.ones((101, 101))
        call = lambda: pyconvx.correlate2d(a, k, "same", workers=2)
    """,
    "convolve2d": """
        a = np.ones((3000, 3000), np.complex128); k = np.ones((61, 61), np.complex128)
        call = lambda: pyconvx.convolve2d(a, k, "same", "symm", workers=2)
    """,
    "conv2d": """
        x = np.ones((4, 64, 200, 200)); w = np.ones((64, 64, 15, 15))
        call = lambda: pyconvx.conv2d(x, w, workers=2)
    """,
    "conv2d_out": """
        x = np.ones((4, 64, 200, 200), np.float32); w = np.ones((64, 64, 15, 15), np.float32)
        o = np.zeros((4, 64, 186, 186), np.float32)
        call = lambda: pyconvx.conv2d(x, w, workers=2, out=o)
    """,
    "max_pool2d": """
        x = np.ones((1, 1, 3000, 3000), np.float32)
        call = lambda: pyconvx.max_pool2d(x, 100, stride=1, return_indices=True, workers=2)
    """,
    "avg_pool2d": """
        x = np.ones((1, 1, 8000, 8000), np.float32)
        call = lambda: pyconvx.avg_pool2d(x, 2000, stride=1, workers=2)
    """,
}

CHILD = """
import json, os, signal, threading, time
import numpy as np
import pyconvx
# Python leaves SIGINT ignored if it started ignored (a background job of a
# non-interactive shell, nohup): restore the handler Ctrl-C normally gets.
signal.signal(signal.SIGINT, signal.default_int_handler)
{setup}
call_started = time.perf_counter()
sent = []

def interrupt():
    sent.append(time.perf_counter())
    os.kill(os.getpid(), signal.SIGINT)

threading.Timer(0.5, interrupt).start()
try:
    call()
    outcome = "finished"
except KeyboardInterrupt:
    outcome = "interrupted"
raised = time.perf_counter()
# CPU time burnt by the whole process while it sleeps: ~0 unless a kernel
# thread is still computing.
cpu0 = time.process_time()
time.sleep(0.5)
cpu = time.process_time() - cpu0
print(json.dumps({{"outcome": outcome, "latency": raised - sent[0],
                  "cpu_after": cpu, "threads": threading.active_count()}}))
"""


@pytest.mark.parametrize("case", list(CASES))
def test_ctrl_c_interrupts_a_long_call(case):
    code = CHILD.format(setup=textwrap.dedent(CASES[case]))
    proc = subprocess.run([sys.executable, "-P", "-c", code],
                          capture_output=True, text=True, timeout=120,
                          env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.splitlines()[-1])
    assert report["outcome"] == "interrupted", report
    # The bound is 1 s; sanitizer builds run the same waves slower.
    assert report["latency"] < 1.0, report
    assert report["cpu_after"] < 0.2, report
    assert report["threads"] == 1, report
