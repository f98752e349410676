# vmtap.py — what the Python test scripts share: cases reported as TAP, and
# running a command that must end with a given exit status.
#
#   sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
#   from vmtap import case, run_cases, run_checked
#
# SPDX-License-Identifier: GPL-3.0-or-later
import subprocess
import sys
import traceback

_cases = []


def case(name):
    """Decorator: a test case, run in the order of definition by run_cases()."""
    def wrap(fn):
        _cases.append((name, fn))
        return fn
    return wrap


def run_checked(cmd, check=None, what=None, **kwargs):
    """Runs cmd with its output captured as text (kwargs go to subprocess.run).
    With check, a different exit status fails the case, naming what (default:
    the command line) and showing both outputs."""
    p = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if check is not None and p.returncode != check:
        raise AssertionError(f"{what or ' '.join(cmd)}: exit {p.returncode}, expected {check}\n"
                             f"stdout: {p.stdout}\nstderr: {p.stderr}")
    return p


def run_cases(full_traceback=False, stop_after=0):
    """Runs the cases and prints TAP; returns the exit status for sys.exit().
    A failure is reported with its message (its traceback when it has no
    message, or always with full_traceback).  When one of the first
    stop_after cases fails, the later ones are not run (the steps build on
    each other)."""
    print(f"1..{len(_cases)}")
    failed = 0
    stop = False
    for i, (name, fn) in enumerate(_cases, 1):
        if stop:
            print(f"not ok {i} - {name} # SKIP an earlier step failed")
            continue
        try:
            fn()
            print(f"ok {i} - {name}")
        except Exception as e:  # noqa: BLE001 - report every failure as TAP
            failed += 1
            print(f"not ok {i} - {name}")
            text = traceback.format_exc() if full_traceback else (str(e) or traceback.format_exc())
            for line in text.splitlines():
                print(f"# {line}")
            if i <= stop_after:
                stop = True
        sys.stdout.flush()
    return 1 if failed else 0


_checks = []


def check(name, ok, detail=""):
    """Records one check, reported by report_checks(); detail explains a failure."""
    _checks.append((name, bool(ok), detail))


def report_checks():
    """Prints the checks recorded so far as TAP; returns the exit status."""
    print(f"1..{len(_checks)}")
    failed = 0
    for n, (name, ok, detail) in enumerate(_checks, 1):
        if ok:
            print(f"ok {n} - {name}")
        else:
            failed += 1
            print(f"not ok {n} - {name}" + (f" # {detail}" if detail else ""))
    return 1 if failed else 0
