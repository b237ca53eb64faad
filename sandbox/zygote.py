"""ppocoder sandbox launcher ("zygote"): one per executor worker.

Started once per worker (inside bubblewrap unless isolation is "none"), it pre-imports common
standard-library modules and then serves requests, one JSON object per line on stdin, answering
one JSON object per line on stdout, in order. A request holds the files of one execution and its
steps (a compile, the runs); every step runs in a process forked from this one:

  zygote (root in the worker's bwrap: no network, read-only system, its own /box mount point)
    X  a fork that is PID 1 of a fresh PID namespace, with fresh mount and IPC namespaces and a
       fresh /proc; stdin, stdout and stderr are memory files the zygote reads back.
       - Python: X sets the rlimits, drops to the worker's unprivileged uid/gid (no
         capabilities, no_new_privs) and runs the program in-process: no exec, the interpreter
         and its imports are already warm, which is what makes a Python step cheap.
       - Anything else: X forks H, which sets the rlimits, drops privileges and execve()s the
         compiler or the program; X reaps every process and reports H's status.

When X exits the kernel kills everything left in its PID namespace, so no process of a step
outlives it. Each execution gets a fresh tmpfs at /box (its work dir; /tmp and /dev/shm point
into it), unmounted when the execution ends, so no execution sees another's files.

The Deno side (sandbox/_zygote.ts) owns policy; this file only carries steps out. Standard
library only, Python >= 3.9.
"""

import _signal
import atexit
import ctypes
import gc
import json
import os
import resource
import select
import signal
import sys
import time

# Pre-imported for the programs (they share the warm interpreter through fork). Anything a
# program imports that is not here is imported by the program itself, as usual. Left out on
# purpose: modules that register fork handlers (threading and what imports it, such as queue and
# logging; random and statistics), which would then run in every step.
PRELOAD = (
    "abc array ast base64 binascii bisect calendar cmath codecs collections collections.abc "
    "contextlib copy csv dataclasses datetime decimal difflib enum fractions functools hashlib "
    "heapq io itertools json keyword math numbers operator pprint re string struct textwrap time "
    "traceback types typing unicodedata unittest"
).split()

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
MS_NOSUID, MS_NODEV, MS_NOEXEC = 2, 4, 8
MS_REC, MS_PRIVATE = 0x4000, 1 << 18
MNT_DETACH = 2
PR_SET_NO_NEW_PRIVS = 38
PR_SET_PDEATHSIG = 1
SYS_CLOSE_RANGE = 436  # x86_64 and aarch64 alike
STATUS_FD = 3
# The environment the zygote gives its own os.environ (that of a Python step in bwrap mode),
# so that most Python steps need not change it.
_ENVIRON = {}
BOX = "/box"

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result, what):
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def _mount(source, target, fstype, flags, data):
    enc = lambda s: s.encode() if s is not None else None  # noqa: E731
    _check(_libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)), f"mount {target}")


def _close_from(low):
    if _libc.syscall(SYS_CLOSE_RANGE, low, 0x7FFFFFFF, 0) != 0:
        os.closerange(low, 65536)


class Config:
    """Worker settings, fixed for the zygote's life (argv[1], JSON)."""

    def __init__(self, raw):
        self.isolation = raw["isolation"]  # "bwrap" | "none"
        self.uid = raw.get("uid")
        self.gid = raw.get("gid")
        self.work_root = raw.get("workRoot")  # isolation "none": where boxes are made
        self.cgroup_memory = raw.get("cgroupMemory")  # dir, inside the sandbox's view
        self.cgroup_pids = raw.get("cgroupPids")
        self.caches = raw.get("caches") or {}  # name -> read-only folder inside the sandbox


class Cgroups:
    """The worker's memory and pids cgroups (v1), when the executor could make them."""

    def __init__(self, config):
        self.memory = config.cgroup_memory
        self.pids = config.cgroup_pids
        self._limits = {}
        self.notes = []
        for path in (self.memory, self.pids):
            if path:
                with open(os.path.join(path, "cgroup.procs"), "w") as f:
                    f.write("0")
        self._oom_kills = self.oom_kills()

    def _set(self, path, name, value):
        key = (path, name)
        if self._limits.get(key) == value:
            return
        with open(os.path.join(path, name), "w") as f:
            f.write(str(value))
        self._limits[key] = value

    def apply(self, limits):
        if self.memory:
            self._set(self.memory, "memory.limit_in_bytes", limits["memoryMb"] << 20)
        if self.pids:
            # The zygote and the step's init live in the cgroup too.
            self._set(self.pids, "pids.max", limits["processes"] + 2)

    def oom_kills(self):
        if not self.memory:
            return 0
        with open(os.path.join(self.memory, "memory.oom_control")) as f:
            for line in f:
                if line.startswith("oom_kill "):
                    return int(line.split()[1])
        return 0

    def oom_killed_since_last(self):
        count = self.oom_kills()
        killed = count > self._oom_kills
        self._oom_kills = count
        return killed


class Box:
    """The private work dir of one execution."""

    def __init__(self, config, size_mb):
        self.config = config
        if config.isolation == "bwrap":
            uid, gid = config.uid, config.gid
            opts = f"size={size_mb}m,nr_inodes=65536,mode=0755,uid={uid},gid={gid}"
            _mount("tmpfs", BOX, "tmpfs", MS_NOSUID | MS_NODEV, opts)
            self.path = BOX
        else:
            import tempfile

            self.path = tempfile.mkdtemp(prefix="box-", dir=config.work_root)
        for sub in ("tmp", "shm"):
            os.mkdir(os.path.join(self.path, sub), 0o1777)
            os.chmod(os.path.join(self.path, sub), 0o1777)

    def write(self, name, content):
        path = os.path.join(self.path, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, content.encode("utf-8", "replace"))
        finally:
            os.close(fd)

    def remove(self):
        if self.config.isolation == "bwrap":
            _check(_libc.umount2(BOX.encode(), MNT_DETACH), "umount /box")
        else:
            import shutil

            shutil.rmtree(self.path, ignore_errors=True)


def _set_limits(limits):
    # SIGXCPU at the limit, SIGKILL a second later (for a program that handles SIGXCPU).
    cpu = max(1, -(-limits["cpuMs"] // 1000))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    size = limits["fileSizeMb"] << 20
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits["openFiles"], limits["openFiles"]))
    resource.setrlimit(resource.RLIMIT_NPROC, (limits["processes"], limits["processes"]))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    data = limits.get("dataMb")
    if data:  # only where no memory cgroup holds the limit
        resource.setrlimit(resource.RLIMIT_DATA, (data << 20, data << 20))


def _drop_privileges(config):
    if config.isolation != "bwrap":
        return
    os.setgroups([])
    os.setresgid(config.gid, config.gid, config.gid)
    os.setresuid(config.uid, config.uid, config.uid)
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")


def _report(text):
    try:
        os.write(STATUS_FD, text.encode() + b"\n")
    except OSError:
        pass


class _Python:
    """Runs a Python program inside an already-forked payload process."""

    @staticmethod
    def _print_exception(exc):
        tb = exc.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
            tb = tb.tb_next
        exc.__traceback__ = tb  # the program's frames only, as a normal run shows
        try:
            sys.excepthook(type(exc), exc, tb)
        except BaseException:  # a program's own excepthook may fail; keep the status
            pass

    @staticmethod
    def _exit_code(exc):
        code = exc.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code & 0xFF
        try:
            print(code, file=sys.stderr)
        except BaseException:
            pass
        return 1

    @classmethod
    def run(cls, path, source, compile_only):
        """Runs `source` (the bytes of the file at `path`, already in memory) as __main__.
        sys.stdin, sys.stdout and sys.stderr are the zygote's own, never used by it (the
        protocol has its own fds) and so still empty; fds 0, 1 and 2 are now the step's."""
        import types

        try:
            code = compile(source, path, "exec", dont_inherit=True)
        except BaseException as exc:  # SyntaxError, ValueError (NUL), RecursionError, ...
            cls._print_exception(exc)
            _report("py syntax")
            cls._finish(1)
        if compile_only:
            cls._finish(0)
        main = types.ModuleType("__main__")
        main.__file__ = path
        main.__builtins__ = __builtins__
        sys.modules["__main__"] = main
        sys.argv = [path]
        sys.path[0] = os.path.dirname(path)
        depth = 0
        frame = sys._getframe()
        while frame is not None:
            depth, frame = depth + 1, frame.f_back
        sys.setrecursionlimit(sys.getrecursionlimit() + depth)
        status = 0
        try:
            exec(code, main.__dict__)
        except SystemExit as exc:
            status = cls._exit_code(exc)
        except BaseException as exc:
            cls._print_exception(exc)
            kind = "exception"
            if isinstance(exc, AssertionError):
                kind = "assertion"
            elif isinstance(exc, MemoryError):
                kind = "memory"
            _report(f"py {kind}")
            status = 1
        cls._finish(status)

    @staticmethod
    def _finish(status):
        threading = sys.modules.get("threading")
        if threading is not None:
            try:
                threading._shutdown()
            except BaseException:
                pass
        try:
            atexit._run_exitfuncs()
        except BaseException:
            pass
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:
                if stream is sys.stdout and status == 0:
                    status = 1
        os._exit(status)


def _mount_cache(config, name, box):
    """A shared build cache, read-only, under a writable layer private to this execution."""
    target = os.path.join(box, "tmp", f".{name}cache")
    lower = config.caches.get(name)
    if config.isolation != "bwrap":  # no mount namespace: the shared cache itself, writable
        if lower:
            os.symlink(lower, target)
        return
    upper = os.path.join(box, ".cache", name, "upper")
    work = os.path.join(box, ".cache", name, "work")
    for path in (target, upper, work):
        os.makedirs(path, exist_ok=True)
    os.chown(target, config.uid, config.gid)
    os.chown(upper, config.uid, config.gid)
    if lower and os.path.isdir(lower):
        # The lower folders belong to root: their twins in the upper layer, owned by the
        # payload's user, make them writable in the merged view (the lower stays untouched).
        with os.scandir(lower) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    twin = os.path.join(upper, entry.name)
                    os.mkdir(twin, 0o755)
                    os.chown(twin, config.uid, config.gid)
        options = f"lowerdir={lower},upperdir={upper},workdir={work}"
        _mount("overlay", target, "overlay", MS_NOSUID | MS_NODEV, options)


# Signals whose default action ends a process; the faults (SIGSEGV, SIGBUS, SIGILL, SIGFPE) are
# left out, as a real fault kills even an init and a Python handler would only re-fault. SIGINT
# keeps Python's own handler (KeyboardInterrupt); SIGPIPE and SIGXFSZ stay ignored, as Python has
# them; SIGKILL and SIGSTOP cannot be handled.
_DEADLY = tuple(
    getattr(signal, name)
    for name in (
        "SIGHUP SIGQUIT SIGTRAP SIGABRT SIGUSR1 SIGUSR2 SIGALRM SIGTERM SIGSTKFLT SIGVTALRM "
        "SIGPROF SIGIO SIGPWR SIGSYS"
    ).split()
    if hasattr(signal, name)
)


def _die_by_signal(signum, frame):
    """A PID-namespace init ignores signals it has no handler for, where any other process
    dies: for the Python program, which is that init, this handler dies instead (and says by
    which signal). Installed with _signal.signal, so a program's own handlers replace it."""
    if signum == signal.SIGXCPU:
        _report("py cpu")
    _report(f"killed {signum}")
    os._exit(128 + signum)


def _payload(config, step, limits):
    """The process that becomes the program: never returns."""
    try:
        _set_limits(limits)
        _drop_privileges(config)
        if step.get("python"):
            for signum in (*_DEADLY, signal.SIGXCPU):
                _signal.signal(signum, _die_by_signal)  # not signal.signal: its enums cost

            if step["env"] != _ENVIRON:  # os.environ is costly to touch in a forked child
                os.environ.clear()
                os.environ.update(step["env"])
            _Python.run(step["python"], step["source"], step.get("compileOnly", False))
        os.set_inheritable(STATUS_FD, False)
        argv = step["argv"]
        os.execve(argv[0], argv, step["env"])
    except BaseException as exc:
        _report(f"setup payload: {exc}")
    os._exit(127)


def _step_init(config, step, fds, limits):
    """X: PID 1 of the step's namespaces; never returns."""
    try:
        stdin_fd, out_w, err_w, status_w = fds
        if config.isolation == "bwrap":
            _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWIPC), "unshare")
            _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
            # The OOM killer takes the step's processes before the zygote (raising needs no
            # privilege, lowering the zygote's own would).
            fd = os.open("/proc/self/oom_score_adj", os.O_WRONLY)
            os.write(fd, b"1000")
            os.close(fd)
        else:
            os.setsid()
        if step.get("cache"):
            _mount_cache(config, step["cache"], step["cwd"])
        os.dup2(stdin_fd, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        os.dup2(status_w, STATUS_FD)
        _close_from(STATUS_FD + 1)
        os.chdir(step["cwd"])
        if step.get("python"):
            # The Python program is the init itself: one fork per step instead of two.
            _payload(config, step, limits)
        # Children inherit SIG_DFL for everything, as after a fresh exec.
        for sig in (signal.SIGPIPE, signal.SIGINT, signal.SIGXFSZ):
            signal.signal(sig, signal.SIG_DFL)
        payload = os.fork()
        if payload == 0:
            _payload(config, step, limits)
        while True:
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                _report("setup payload vanished")
                os._exit(1)
            if pid == payload:
                _report(f"wait {status}")
                os._exit(0)
    except BaseException as exc:
        _report(f"setup init: {exc}")
    os._exit(1)


class Zygote:
    def __init__(self, config):
        self.config = config
        self.cgroups = None
        self.pidns = None
        if config.isolation == "bwrap":
            _mount(None, "/", None, MS_REC | MS_PRIVATE, None)
            self.pidns = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
        self.cgroups = Cgroups(config)

    def _fork_into_namespace(self):
        if self.pidns is not None:
            # A PID namespace can be unshared for children only once per setting: go back to
            # our own, then ask for a fresh one, so that the next fork is its PID 1.
            _check(_libc.setns(self.pidns, CLONE_NEWPID), "setns")
            _check(_libc.unshare(CLONE_NEWPID), "unshare pid")
        return os.fork()

    def run_step(self, box, step, files):
        limits = step["limits"]
        tmp = os.path.join(box.path, "tmp")
        fill = lambda text: text.replace("{box}", box.path).replace("{tmp}", tmp)  # noqa: E731
        env = {key: fill(value) for key, value in step.get("env", {}).items()}
        env.update(HOME=box.path, TMPDIR=tmp)
        step = dict(step, cwd=box.path, env=env)
        if step.get("argv"):
            step["argv"] = [fill(arg) for arg in step["argv"]]
        if step.get("python"):
            name = step["python"]
            step["python"] = os.path.join(box.path, name)
            if name in files:
                step["source"] = files[name].encode("utf-8", "replace")
            else:
                with open(step["python"], "rb") as f:
                    step["source"] = f.read()
        self.cgroups.apply(limits)
        stdin_fd = _stdin_fd(step.get("stdin"))
        out_r, out_w = _output_file("stdout")
        err_r, err_w = _output_file("stderr")
        status_r, status_w = os.pipe()
        os.set_blocking(status_r, False)  # what the init wrote is there once it is gone
        started = time.monotonic()
        pid = self._fork_into_namespace()
        if pid == 0:
            _step_init(self.config, step, (stdin_fd, out_w, err_w, status_w), limits)
        for fd in (stdin_fd, out_w, err_w, status_w):
            os.close(fd)
        on_exit = None if self.pidns is not None else lambda: _kill_group(pid)
        try:
            watch = _watch(pid, (out_r, err_r), limits, started, on_exit)
        finally:
            for fd in (out_r, err_r):
                os.close(fd)
        _, wait_status, usage = os.wait4(pid, 0)
        wall = time.monotonic() - started
        status_text = _read_all(status_r, 65536).decode("utf-8", "replace")
        os.close(status_r)
        result = _describe(status_text, wait_status, watch, bool(step.get("python")))
        result.update(
            wallMs=round(wall * 1000, 3),
            cpuMs=round((usage.ru_utime + usage.ru_stime) * 1000, 3),
            maxRssKb=usage.ru_maxrss,
            oomKilled=self.cgroups.oom_killed_since_last(),
        )
        return result

    def handle(self, request):
        box = Box(self.config, request.get("boxMb", 256))
        try:
            files = request.get("files", {})
            for name, content in files.items():
                box.write(name, content)
            results = []
            for step in request["steps"]:
                result = self.run_step(box, step, files)
                results.append(result)
                if step.get("stopUnlessOk") and not _ok(result):
                    break
            return {"id": request["id"], "steps": results}
        finally:
            box.remove()


def _ok(result):
    return result.get("exitCode") == 0 and not result.get("timedOut") and not result.get(
        "outputExceeded"
    ) and not result.get("setupError")


def _kill_group(pgid):
    """Without a PID namespace: what is left of the step's process group goes."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass


def _stdin_fd(data):
    if not data:
        return os.open("/dev/null", os.O_RDONLY)
    fd = os.memfd_create("stdin", 0)
    view = memoryview(data.encode("utf-8", "replace"))
    while view:
        view = view[os.write(fd, view):]
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _read_all(fd, limit):
    chunks, size = [], 0
    while size < limit:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            break
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)[:limit]


def _output_file(name):
    """stdout or stderr of a step: a memory file, read back by the zygote, and the step's end of
    it, opened for appending. A file rather than a pipe: a writer never blocks or queues (Node
    queues pipe writes in memory when the pipe is full), so the size says all that was written.
    """
    fd = os.memfd_create(name, os.MFD_CLOEXEC)
    append = os.open(f"/proc/self/fd/{fd}", os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
    return fd, append


def _watch(pid, fds, limits, started, on_exit=None):
    """Waits until the step's init exits; enforces wall time and the output limit, then reads
    stdout and stderr back (at most `outputBytes` of each)."""
    limit = limits["outputBytes"]
    names = dict(zip(fds, ("stdout", "stderr")))
    pidfd = os.pidfd_open(pid)
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    deadline = started + limits["wallMs"] / 1000
    killed = None
    interval = 0.002  # output is checked at growing intervals, up to 20 ms
    try:
        while True:
            now = time.monotonic()
            if killed is None and now >= deadline:
                killed = "timeout"
                os.kill(pid, signal.SIGKILL)
            timeout = interval if killed else min(interval, deadline - now)
            if poller.poll(max(0, timeout) * 1000):
                break
            interval = min(interval * 2, 0.02)
            if killed is None:
                for fd in fds:
                    if os.fstat(fd).st_size > limit:
                        killed = f"output:{names[fd]}"
                        os.kill(pid, signal.SIGKILL)
                        break
    finally:
        os.close(pidfd)
    if on_exit is not None:
        on_exit()
    for fd in fds:
        if killed is None and os.fstat(fd).st_size > limit:
            killed = f"output:{names[fd]}"
    return {
        "stdout": os.pread(fds[0], limit, 0),
        "stderr": os.pread(fds[1], limit, 0),
        "killed": killed,
    }


def _describe(status_text, init_status, watch, init_is_payload):
    """Merges what the init reported with what the zygote saw."""
    result = {
        "exitCode": None,
        "signal": None,
        "timedOut": watch["killed"] == "timeout",
        "outputExceeded": None,
        "pyError": None,
        "setupError": None,
        "stdout": watch["stdout"].decode("utf-8", "replace"),
        "stderr": watch["stderr"].decode("utf-8", "replace"),
    }
    if watch["killed"] and watch["killed"].startswith("output:"):
        result["outputExceeded"] = watch["killed"].split(":", 1)[1]
    payload_status = None
    killed_by = None
    for line in status_text.splitlines():
        if line.startswith("wait "):
            payload_status = int(line[5:])
        elif line.startswith("killed "):
            killed_by = int(line[7:])
        elif line.startswith("py "):
            result["pyError"] = line[3:].strip()
        elif line.startswith("setup "):
            result["setupError"] = line[6:]
    if payload_status is None:
        # The init ran the program itself, or died: killed by us (timeout, output), by the OOM
        # killer, or by a failure of its own.
        payload_status = init_status
        failed = not init_is_payload and not result["setupError"] and watch["killed"] is None
        if failed and os.WIFEXITED(init_status):
            result["setupError"] = f"step init exited with {os.WEXITSTATUS(init_status)}"
    if killed_by is not None and init_is_payload and watch["killed"] is None:
        result["signal"] = killed_by
    elif os.WIFSIGNALED(payload_status):
        result["signal"] = os.WTERMSIG(payload_status)
    elif os.WIFEXITED(payload_status):
        result["exitCode"] = os.WEXITSTATUS(payload_status)
    return result


def _preload():
    """Warms the interpreter; run with -S, so site-packages are added here without .pth hooks."""
    import importlib
    import site

    for path in site.getsitepackages():
        if os.path.isdir(path) and path not in sys.path:
            sys.path.append(path)
    site.setquit()  # exit() and quit(), as a normal start has them
    site.setcopyright()
    site.sethelper()
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    gc.collect()
    gc.freeze()


def _write_line(fd, obj):
    data = memoryview((json.dumps(obj, ensure_ascii=False) + "\n").encode("utf-8", "replace"))
    while data:
        data = data[os.write(fd, data):]


def _lines(fd):
    """JSON lines from `fd`; a long line (a 20 MB program) is joined once, not grown."""
    parts = []
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return
        while True:
            newline = chunk.find(b"\n")
            if newline < 0:
                parts.append(chunk)
                break
            parts.append(chunk[:newline])
            line, parts, chunk = b"".join(parts), [], chunk[newline + 1 :]
            if line.strip():
                yield line


def _set_environ(config):
    """Leaves PATH and LANG; PYTHONHASHSEED has done its work at start-up."""
    keep = {key: os.environ[key] for key in ("PATH", "LANG") if key in os.environ}
    if config.isolation == "bwrap":
        keep.update(HOME=BOX, TMPDIR=os.path.join(BOX, "tmp"))
    os.environ.clear()
    os.environ.update(keep)
    _ENVIRON.update(keep)


def main():
    config = Config(json.loads(sys.argv[1]))
    # The protocol uses raw fds 0 and 1; nothing else of the zygote may write to them.
    proto_in = os.dup(0)
    proto_out = os.dup(1)
    os.set_inheritable(proto_in, False)
    os.set_inheritable(proto_out, False)
    devnull = os.open("/dev/null", os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)
    zygote = Zygote(config)
    _set_environ(config)
    _preload()
    _write_line(
        proto_out,
        {
            "ready": True,
            "python": sys.version.split()[0],
            "executable": sys.executable,
            "pid": os.getpid(),
        },
    )
    for line in _lines(proto_in):
        request_id = None
        try:
            request = json.loads(line)
            request_id = request.get("id")
            response = zygote.handle(request)
        except BaseException as exc:  # one bad request must not take the worker down
            if os.getpid() != zygote_pid:  # a forked child that raised: never return
                os._exit(127)
            response = {"id": request_id, "error": f"{type(exc).__name__}: {exc}"}
        _write_line(proto_out, response)


if __name__ == "__main__":
    zygote_pid = os.getpid()
    try:
        main()
    except KeyboardInterrupt:
        pass
