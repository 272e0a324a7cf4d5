"""Never crash: every public function under arbitrary and hostile arguments.

One hypothesis property per public function (tests/_fuzz.py) feeds zero,
negative and huge sizes, wrong types, empty, NaN/Inf, wrongly typed,
byte-swapped, strided, read-only and adversarial ``as_strided`` arrays and
bad ``workers=``, ``out=``, mode and padding arguments.  Each call must
either return what an independent oracle returns (scipy.signal, the conv2d
and pooling references, the size formula) or raise ValueError, TypeError,
OverflowError or MemoryError; see tests/_fuzz.py for the details.

Each property runs in a child interpreter, so that a segfault or an abort
fails its test instead of ending the session; the child inherits the
environment (AddressSanitizer's LD_PRELOAD and options included) and the
hypothesis profile loaded by conftest.py (derandomized under CI).  Run with
``-s`` or ``-rP`` to see how many examples each property ran.
"""

import os
import sys
from pathlib import Path

import pytest

import pyconvx
from _fuzz import (MAX_EXAMPLES, ChildFailure, check_child, property_stats,
                   start_property)

# Generous: a child runs for seconds, alone; ASan builds are slower.
TIMEOUT = 300


@pytest.fixture(scope="module")
def children(request):
    """One child per selected property, all started at once: each spends
    seconds importing scipy and hypothesis, and the machine has cores."""
    here = Path(__file__).resolve()
    names = [item.callspec.params["name"] for item in request.session.items
             if Path(item.path).resolve() == here
             and item.originalname == "test_never_crash"]
    started = {name: start_property(name, TIMEOUT) for name in names}
    yield started
    for child in started.values():
        child.kill()


@pytest.mark.parametrize("name", list(MAX_EXAMPLES))
def test_never_crash(children, name):
    child = children.get(name) or start_property(name, TIMEOUT)
    stats = property_stats(child)
    print(f"{name}: {stats['examples']} examples "
          f"(derandomize={stats['derandomize']}), {stats['seconds']} s "
          f"({stats['cpu_seconds']} s CPU); {stats['returned']} returned "
          f"({stats['must_succeed']} had to, by the oracle; "
          f"{stats['shape_only']} checked for shape only), raised "
          f"{stats['raised']}")
    # Hypothesis stops early only when it has exhausted the search space.
    assert stats["examples"] >= MAX_EXAMPLES[name] // 2, stats
    # The properties must exercise the computing paths, not only rejections.
    assert stats["returned"] >= stats["examples"] // 10, stats


# -- the harness itself -----------------------------------------------------

def test_harness_reports_a_segfault(monkeypatch):
    # This crash is on purpose: keep the sanitizer's report of it on stderr,
    # out of the log files CI scans for real reports.
    for name in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        if name in os.environ:
            kept = [o for o in os.environ[name].split(":")
                    if not o.startswith("log_path=")]
            monkeypatch.setenv(name, ":".join(kept))
    with pytest.raises(ChildFailure, match=r"child (was killed by signal "
                       r"SIGSEGV|exited with status \d+)"):
        check_child("import ctypes; ctypes.string_at(0)", timeout=60)


def test_harness_reports_a_failure_with_its_output():
    with pytest.raises(ChildFailure, match=r"(?s)exited with status 1.*"
                       r"AssertionError: planted"):
        check_child("print('before'); assert False, 'planted'", timeout=60)


def test_harness_reports_a_hang():
    with pytest.raises(ChildFailure,
                       match=r"(?s)^child timed out after 2 s.*started"):
        check_child("import time; print('started', flush=True); "
                    "time.sleep(60)", timeout=2)


def test_harness_passes_environment_and_path(monkeypatch):
    # ASan's LD_PRELOAD and options travel this way; tests/ must be
    # importable and the same pyconvx build found.
    monkeypatch.setenv("PYCONVX_NEVER_CRASH_PROBE", "inherited")
    out = check_child(
        "import os, _fuzz, pyconvx; "
        "print(os.environ['PYCONVX_NEVER_CRASH_PROBE'], pyconvx.__file__, "
        "sys.flags.safe_path, sys.executable, sep='|')", timeout=120)
    probe, path, safe_path, executable = out.strip().split("|")
    assert probe == "inherited"
    assert path == pyconvx.__file__
    assert safe_path == "True"              # -P: no source-tree shadowing
    assert executable == sys.executable
