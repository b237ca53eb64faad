# The Python side of HumanEval+ and MBPP+ (benchmarks/_evalplus.ts): EvalPlus's ground truth and
# its check of one sample, as evalplus/eval/__init__.py (unsafe_execute), evaluate.py
# (get_groundtruth), gen/util (trusted_exec), eval/utils.py (reliability_guard, swallow_io,
# time_limit) and data/mbpp.py (mbpp_deserialize_inputs) describe them, written again for the
# sandbox. The adapter appends one call at the end of this file:
#
#   _ppocoder_groundtruth(SOLUTION, TASK)          trusted: the canonical solution on every input
#   _ppocoder_check(SOLUTION, SUITES, TASK)        untrusted: a sample on one or both test suites
#
# TASK is a dict literal: dataset, entry_point, atol, oracle (the special oracle's name or None),
# inputs_kind (how MBPP+ turns JSON back into tuples, sets and complex numbers) and, per suite
# ("base", "plus"), the inputs as the dataset's raw JSON text and, for a check, the expected outputs
# (pickled, base64) and the per-test time limits in seconds. The expected outputs live in the
# checked program's own process, as in EvalPlus (its unsafe_execute gets them as an argument), and
# never in a global that the sample's code can name.
#
# An expected output whose pickle is over DIGEST_ABOVE bytes (HumanEval/15's strings of 7 MB,
# Mbpp/255's 1.6 million tuples) travels as two digests instead of the value: of its pickle (an
# output that pickles the same is equal), and of a form in which two values are equal exactly
# when `==` holds between them (numbers by value, so 1 == 1.0 == True; sets and dicts unordered;
# lists and tuples apart). Outputs that need a tolerance or an oracle always travel whole.
#
# A check stops at the first failing test (EvalPlus's default fast_check). Every test is its own
# check: a failure raises AssertionError out of the program, so the verdict is the sandbox's
# (exit status), never a line the program prints. The line `MARK <suite> <kind> <index>` that
# precedes it on stderr only says which test failed and how, for reports.

MARK = "@@ppocoder-evalplus@@"
DIGEST_ABOVE = 16384


def _ppocoder_inputs(raw, kind):
    """The inputs of one suite: json.loads of the dataset's text, then EvalPlus's conversions."""
    import json

    inputs = json.loads(raw)
    if kind is None:
        return inputs
    return [_ppocoder_convert(inp, kind) for inp in inputs]


def _ppocoder_deep_tuple(value):
    if isinstance(value, list):
        return tuple(_ppocoder_deep_tuple(item) for item in value)
    return value


def _ppocoder_convert(inp, kind):
    """One MBPP+ input as mbpp_deserialize_inputs returns it (kinds named by what they build)."""
    if kind == "tuple_args":
        return [tuple(arg) for arg in inp]
    if kind == "tuple_items":
        return [[tuple(item) for item in arg] for arg in inp]
    if kind == "first_tuple_items":
        return [[tuple(item) for item in inp[0]]] + [inp[1]]
    if kind == "second_tuple":
        return [inp[0]] + [tuple(inp[1])]
    if kind == "sets":  # Mbpp/115: an empty list becomes {} (a dict), as in EvalPlus
        return [[set(item) if isinstance(item, list) and len(item) else {} for item in inp[0]]]
    if kind == "float_complex":  # Mbpp/124: the arguments are a tuple here
        return (float(inp[0]), complex(inp[1]))
    if kind == "first_tuple":
        return [tuple(inp[0])] + [inp[1]]
    if kind == "tuple_items_tuple":
        return [tuple(tuple(item) for item in arg) for arg in inp]
    if kind == "mixed_tuple":  # Mbpp/278
        first = [tuple(item) if isinstance(item, list) else item for item in inp[0]]
        return [tuple(first)]
    if kind == "first_tuple_rest":
        return [tuple(inp[0])] + [inp[1], inp[2]]
    if kind == "dict_tuples":
        return [{key: tuple(value) for key, value in inp[0].items()}] + inp[1:]
    if kind == "complex":
        return [complex(inp[0])]
    if kind == "deep_tuple":
        return _ppocoder_deep_tuple(inp)
    raise ValueError(f"unknown input kind {kind!r}")


class _PpocoderSink:
    """EvalPlus's WriteOnlyStringIO: takes writes, refuses reads."""

    def __init__(self):
        import io

        self.buffer = io.StringIO()

    def write(self, text):
        return self.buffer.write(text)

    def writelines(self, lines):
        self.buffer.writelines(lines)

    def flush(self):
        pass

    def _refuse(self, *args, **kwargs):
        raise IOError

    read = readline = readlines = _refuse

    def readable(self, *args, **kwargs):
        return False

    def writable(self):
        return True

    def isatty(self):
        return False


def _ppocoder_swallow():
    """swallow_io: stdout, stderr and stdin all go to one write-only sink while it is entered."""
    import contextlib
    import sys

    @contextlib.contextmanager
    def swallow():
        sink = _PpocoderSink()
        saved = sys.stdout, sys.stderr, sys.stdin
        sys.stdout = sys.stderr = sys.stdin = sink
        try:
            yield
        finally:
            sys.stdout, sys.stderr, sys.stdin = saved

    return swallow


class _PpocoderTimeout(Exception):
    """time_limit's TimeoutException."""


def _ppocoder_time_limit(seconds):
    import contextlib
    import signal

    @contextlib.contextmanager
    def limit():
        def handler(signum, frame):
            raise _PpocoderTimeout("Timed out!")

        signal.setitimer(signal.ITIMER_REAL, seconds)
        signal.signal(signal.SIGALRM, handler)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)

    return limit()


# Special oracles (evalplus/eval/_special_oracle.py), by the name the adapter gives.


def _ppocoder_poly(xs, x):
    import math

    return sum([coeff * math.pow(x, i) for i, coeff in enumerate(xs)])


def _ppocoder_surface_area(base_edge, height):
    import math

    slant_height = math.sqrt((base_edge / 2) ** 2 + height**2)
    base_area = base_edge**2
    lateral_area = 4 * (base_edge * slant_height) / 2
    return round(base_area + lateral_area)


def _ppocoder_digit_distance(num1, num2):
    a, b = str(num1), str(num2)
    width = max(len(a), len(b))
    a, b = a.zfill(width), b.zfill(width)
    return sum(abs(int(x) - int(y)) for x, y in zip(a, b))


def _ppocoder_is_floats(x):
    """is_floats: a float, or a non-empty list or tuple of floats (no numpy in the sandbox)."""
    if isinstance(x, float):
        return True
    if isinstance(x, (list, tuple)) and x:
        return all(isinstance(i, float) for i in x)
    return False


def _ppocoder_shape(value):
    """numpy's shape of nested lists and tuples; a ragged or non-numeric value raises."""
    import numbers

    if isinstance(value, (list, tuple)):
        shapes = [_ppocoder_shape(item) for item in value]
        if any(shape != shapes[0] for shape in shapes):
            raise ValueError("ragged sequence")
        return (len(value),) + (shapes[0] if shapes else ())
    if isinstance(value, numbers.Number):
        return ()
    raise TypeError(f"not a number: {type(value).__name__}")


def _ppocoder_flat(value):
    if isinstance(value, (list, tuple)):
        return [leaf for item in value for leaf in _ppocoder_flat(item)]
    return [value]


def _ppocoder_allclose(a, b, rtol, atol):
    """np.allclose(a, b, rtol, atol) on numbers and nested sequences of numbers."""
    import cmath

    shape_a, shape_b = _ppocoder_shape(a), _ppocoder_shape(b)
    xs, ys = _ppocoder_flat(a), _ppocoder_flat(b)
    if shape_a != shape_b:  # broadcasting: only a scalar against anything
        if shape_a == ():
            xs = xs * len(ys)
        elif shape_b == ():
            ys = ys * len(xs)
        else:
            raise ValueError("shapes do not broadcast")
    for x, y in zip(xs, ys):
        y = complex(y) if isinstance(y, complex) else float(y)
        if cmath.isfinite(x) and cmath.isfinite(y):
            if not abs(x - y) <= atol + rtol * abs(y):
                return False
        elif not x == y:  # inf only equals the same inf; nan equals nothing
            return False
    return True


_PPOCODER_REPR_TYPES = frozenset((str, int, type(None)))


def _ppocoder_canon(value, write):
    """Writes a form of `value` that two values share exactly when they are ==: Python's repr,
    with numbers by value (True, 1 and 1.0 all as 1) and sets and dicts in sorted order."""
    import math

    if type(value) in _PPOCODER_REPR_TYPES:
        write(repr(value))
    elif isinstance(value, int):  # bool and int subclasses: by value
        write(int.__repr__(int(value)))
    elif isinstance(value, float):
        if value != value:
            raise ValueError("nan equals nothing")
        write(int.__repr__(int(value)) if math.isfinite(value) and value.is_integer() else float.__repr__(value))
    elif isinstance(value, complex):
        if value.imag == 0:
            _ppocoder_canon(value.real, write)
        else:
            write(complex.__repr__(value))
    elif isinstance(value, str):
        write(str.__repr__(str.__str__(value)))
    elif isinstance(value, bytes):
        write(bytes.__repr__(bytes(value)))
    elif isinstance(value, (list, tuple)):
        _ppocoder_canon_sequence(value, write)
    elif isinstance(value, (set, frozenset)):
        write("{" + ", ".join(sorted(_ppocoder_canon_text(item) for item in value)) + "}")
    elif isinstance(value, dict):
        entries = (_ppocoder_canon_text(k) + ": " + _ppocoder_canon_text(v) for k, v in value.items())
        write("<" + ", ".join(sorted(entries)) + ">")
    else:
        raise TypeError(f"no equality form for {type(value).__name__}")


def _ppocoder_canon_sequence(value, write):
    """A list or tuple: its repr when it holds only str, int and None, or only lists (or only
    tuples) of those, in chunks (a list of 1.6 million tuples is Mbpp/255's); else item by item."""
    import itertools

    is_list = isinstance(value, list)
    kinds = set(map(type, value))
    if kinds <= _PPOCODER_REPR_TYPES:
        write(list.__repr__(value) if is_list else tuple.__repr__(value))
        return
    flat = kinds <= {list} or kinds <= {tuple}
    write("[" if is_list else "(")
    for start in range(0, len(value), 4096):
        chunk = list(value[start : start + 4096])
        if start:
            write(", ")
        if flat and set(map(type, itertools.chain.from_iterable(chunk))) <= _PPOCODER_REPR_TYPES:
            write(list.__repr__(chunk)[1:-1])
            continue
        for i, item in enumerate(chunk):
            if i:
                write(", ")
            _ppocoder_canon(item, write)
    write("]" if is_list else ("," if len(value) == 1 else "") + ")")


def _ppocoder_canon_text(value):
    parts = []
    _ppocoder_canon(value, parts.append)
    return "".join(parts)


def _ppocoder_digest(value):
    """sha256 of the equality form of `value` (TypeError or ValueError where there is none)."""
    import hashlib

    digest = hashlib.sha256()
    parts = []

    def write(text):
        parts.append(text)
        if len(parts) >= 4096:
            digest.update("".join(parts).encode("utf-8", "surrogatepass"))
            parts.clear()

    _ppocoder_canon(value, write)
    digest.update("".join(parts).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def _ppocoder_pickle_digest(value):
    """sha256 of `value`'s pickle (protocol 4), pickled straight into the hash."""
    import hashlib
    import pickle

    digest = hashlib.sha256()

    class Writer:
        def write(self, data):
            digest.update(data)

    pickle.Pickler(Writer(), protocol=4).dump(value)
    return digest.hexdigest()


def _ppocoder_equal(out, exp, digests):
    """`out == exp`; for an output that travels as digests, the same by them: an identical pickle
    first (fast, and enough), else the equality form (slower, and exact)."""
    if digests is None:
        return out == exp
    pickled, canonical = digests
    try:
        if _ppocoder_pickle_digest(out) == pickled:
            return True
    except Exception:
        pass
    try:
        return _ppocoder_digest(out) == canonical
    except (TypeError, ValueError):
        return False


def _ppocoder_compare(task, out, exp, inp, atol, digest=None):
    """EvalPlus's comparison of one output; returns the atol for the next test (it can rise)."""
    oracle = task["oracle"]
    exact = _ppocoder_equal(out, exp, digest)
    if oracle == "always":  # Mbpp/164
        exact = exact or True
    elif oracle == "zero_or_equal":  # Mbpp/295
        exact = exact or out == 0
    elif oracle == "surface_area":  # Mbpp/581
        exact = exact or abs(out - _ppocoder_surface_area(*inp)) <= atol
    elif oracle == "digit_distance":  # Mbpp/558
        exact = exact or out == _ppocoder_digit_distance(*inp)
    elif oracle == "set_equal":
        exact = set(out) == set(exp)
    elif oracle == "not_none":
        exact = out == exp if isinstance(out, bool) else exp == (out is not None)
    elif oracle == "poly_root":  # HumanEval/32: the output is a root within atol
        assert abs(_ppocoder_poly(*inp, out)) <= atol
        return atol
    if atol == 0 and _ppocoder_is_floats(exp):
        atol = 1e-6  # EvalPlus keeps this atol for the rest of the suite
    if not exact and atol != 0:
        assert digest is None  # a digested output is never a float one: only == can pass it
        assert type(out) == type(exp)
        if isinstance(exp, (list, tuple)):
            assert len(out) == len(exp)
        assert _ppocoder_allclose(out, exp, rtol=1e-07, atol=atol)
    else:
        assert exact
    return atol


def _ppocoder_guard():
    """reliability_guard, less its rlimits (the sandbox sets its own limits)."""
    import builtins
    import faulthandler
    import os
    import shutil
    import subprocess
    import sys

    faulthandler.disable()
    builtins.exit = None
    builtins.quit = None
    os.environ["OMP_NUM_THREADS"] = "1"
    for name in (
        "kill system putenv remove removedirs rmdir fchdir setuid fork forkpty killpg rename "
        "renames truncate replace unlink fchmod fchown chmod chown chroot lchflags lchmod "
        "lchown getcwd chdir"
    ).split():
        setattr(os, name, None)
    builtins.open = None
    shutil.rmtree = None
    shutil.move = None
    shutil.chown = None
    subprocess.Popen = None
    builtins.help = None
    for name in ("ipdb", "joblib", "resource", "psutil", "tkinter"):
        sys.modules[name] = None


class _PpocoderTooLarge(Exception):
    pass


def _ppocoder_pickles_within(value, limit):
    """Whether `value`'s pickle has at most `limit` bytes (stops pickling past it)."""
    import pickle

    class Counter:
        size = 0

        def write(self, data):
            self.size += len(data)
            if self.size > limit:
                raise _PpocoderTooLarge

    try:
        pickle.Pickler(Counter(), protocol=4).dump(value)
    except _PpocoderTooLarge:
        return False
    return True


def _ppocoder_digest_if_large(task, out):
    """The digests an expected output travels as, or None for the value itself."""
    if task["oracle"] is not None or task["atol"] != 0 or _ppocoder_is_floats(out):
        return None
    if _ppocoder_pickles_within(out, DIGEST_ABOVE):
        return None
    try:
        return [_ppocoder_pickle_digest(out), _ppocoder_digest(out)]
    except (TypeError, ValueError):
        return None


def _ppocoder_groundtruth(solution, task):
    """trusted_exec: the canonical solution on deep copies of every input, each timed."""
    import base64
    import copy
    import os
    import pickle
    import time

    swallow = _ppocoder_swallow()
    result = {}
    with swallow():
        scope = {}
        exec(compile(solution, "<string>", "exec"), scope)
        fn = scope[task["entry_point"]]
        for suite in ("base", "plus"):
            outputs, digests, times = [], {}, []
            for i, inp in enumerate(_ppocoder_inputs(task[suite]["inputs"], task["inputs_kind"])):
                inp = copy.deepcopy(inp)
                start = time.perf_counter()
                out = fn(*inp)
                times.append(time.perf_counter() - start)
                if task["oracle"] == "not_none":
                    out = out is not None
                digest = _ppocoder_digest_if_large(task, out)
                if digest is not None:
                    digests[str(i)] = digest
                    out = None
                outputs.append(out)
            result[suite] = {
                "expected": base64.b64encode(pickle.dumps(outputs, protocol=4)).decode(),
                "digests": digests,
                "times": times,
            }
    import json

    data = json.dumps(result).encode()
    view = memoryview(data)
    while view:
        view = view[os.write(1, view) :]


def _ppocoder_check(solution, suites, task):
    """unsafe_execute for each of `suites` in turn, each with fresh globals."""
    import base64
    import linecache  # noqa: F401 (imported before the guard: tracebacks read through it)
    import pickle
    import sys
    import tokenize  # noqa: F401
    import traceback  # noqa: F401

    streams = sys.stdout, sys.stderr
    try:
        code = compile(solution, "<string>", "exec")
    except BaseException as error:  # SyntaxError, ValueError (NUL bytes), RecursionError, ...
        _ppocoder_fail(streams, suites[0], "syntax", -1, error)
    tests = [
        (
            suite,
            _ppocoder_inputs(task[suite]["inputs"], task["inputs_kind"]),
            pickle.loads(base64.b64decode(task[suite]["expected"])),
            {int(i): digest for i, digest in task[suite]["digests"].items()},
            task[suite]["limits"],
        )
        for suite in suites
    ]
    swallow = _ppocoder_swallow()
    _ppocoder_guard()
    for suite, inputs, expected, digests, limits in tests:
        failure = _ppocoder_suite(code, task, inputs, expected, digests, limits, swallow)
        if failure is not None:
            _ppocoder_fail(streams, suite, *failure)


def _ppocoder_suite(code, task, inputs, expected, digests, limits, swallow):
    """One suite: (kind, index, error) of the first failing test, or None when all pass."""
    scope = {}
    try:
        with swallow():
            exec(code, scope)
            fn = scope[task["entry_point"]]
    except BaseException as error:
        return "load", -1, error
    atol = task["atol"]
    for i, inp in enumerate(inputs):
        try:
            with _ppocoder_time_limit(limits[i]):
                with swallow():
                    out = fn(*inp)
        except _PpocoderTimeout as error:
            return "timeout", i, error
        except BaseException as error:
            return "exception", i, error
        try:
            atol = _ppocoder_compare(task, out, expected[i], inp, atol, digests.get(i))
        except BaseException as error:
            return "wrong", i, error
    return None


def _ppocoder_fail(streams, suite, kind, index, error):
    """Ends the program on a failed test: the mark on stderr, then an AssertionError."""
    import sys

    sys.stdout, sys.stderr = streams
    detail = f"{type(error).__name__}: {error}"[:500]
    sys.stderr.write(f"{MARK} {suite} {kind} {index}\n")
    sys.stderr.flush()
    raise AssertionError(f"EvalPlus {suite} test {index} failed ({kind}): {detail}")
