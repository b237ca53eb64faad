"""ppocoder sandbox launcher ("zygote"): one per executor worker.

Started once per worker (inside bubblewrap unless isolation is "none"), it pre-imports common
standard-library modules and then serves requests. A request holds the files of one execution
and its steps (a compile, the runs). The processes, from the most trusted to the program:

  zygote  root in the worker's bwrap (no network, read-only system). It never parses a request:
    |     it copies each request's bytes from its pipe into a memory file, forks a handler, and
    |     copies the handler's answer to its own pipe with sendfile(), so that its heap, which
    |     every later execution inherits through fork, never holds another execution's code,
    |     tests or output. The next request waits in the pipe, not in memory.
    H     the request's handler: PID 1 of a fresh PID namespace, in fresh mount and IPC
    |     namespaces with a fresh /proc, and the execution's own tmpfs at /box. Trusted: it
    |     watches every step (wall clock, total CPU time of every process, output, the OOM
    |     counter), kills what is left of a step with kill(-1), reaps everything, and writes
    |     the answer. Everything the handler knows, it saw itself; the program cannot write to
    |     it, signal it or read its memory (it is root, the program is not).
    P     one process per step: sets the rlimits, drops to the worker's unprivileged uid and
          gid (no capabilities, no_new_privs), installs the seccomp filter, then runs the
          program: Python in-process (no exec: the interpreter and its imports are already
          warm), anything else by execve().

What P tells the handler before the program starts (an exec failure, a Python SyntaxError) goes
through a pipe that P closes before the program runs (for an exec'd program, close-on-exec does
it). After that, P can only say "the tests ran to their end", with a token that the handler makes
after the fork and passes through a pipe that P reads only once the tests (the request's
`harness`, read from the request's memory file only after the program's own top-level code has
finished) have run to their end; its other messages never improve a verdict. Neither the token
nor the tests are in P's memory, files, stdin or environment while the program's own code runs.

When the handler exits the kernel kills everything left in its PID namespace, and its mounts
(the execution's /box) go with its mount namespace, so no execution sees another's files.

The Deno side (sandbox/_zygote.ts) owns policy; this file only carries steps out. Standard
library only, Python >= 3.9, Linux.
"""

import atexit
import ctypes
import fcntl
import gc
import json
import os
import platform
import resource
import select
import signal
import struct
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
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
SYS_CLOSE_RANGE = 436  # x86_64 and aarch64 alike
# The environment the zygote gives its own os.environ (that of a Python step in bwrap mode),
# so that most Python steps need not change it.
_ENVIRON = {}
BOX = "/box"
# How often the handler adds up the CPU time of every process of a step (RLIMIT_CPU holds each
# process on its own; this holds them together).
CPU_SCAN_S = 0.05

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result, what):
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def _mount(source, target, fstype, flags, data):
    enc = lambda s: s.encode() if s is not None else None  # noqa: E731
    _check(_libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)), f"mount {target}")


def _close_from(low, keep=()):
    """Closes every fd >= low except those in `keep`."""
    start = low
    for fd in sorted(k for k in keep if k >= low) + [None]:
        end = 0x7FFFFFFF if fd is None else fd - 1
        if end >= start and _libc.syscall(SYS_CLOSE_RANGE, start, end, 0) != 0:
            os.closerange(start, min(end + 1, 65536))
        if fd is not None:
            start = fd + 1


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
        self.seccomp = raw.get("seccomp", True)


# ---------------------------------------------------------------------------------------------
# seccomp: the system calls a judged program has no use for fail (EPERM, or ENOSYS where a
# runtime falls back on it), as in the trusted judges and Docker's default profile.

SECCOMP_RET_KILL_PROCESS = 0x80000000
SECCOMP_RET_ERRNO = 0x00050000
SECCOMP_RET_ALLOW = 0x7FFF0000
EPERM, ENOSYS = 1, 38
# Namespace flags of clone(2): a program may start processes and threads, not namespaces.
CLONE_NAMESPACES = 0x00000080 | 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x20000000
CLONE_NAMESPACES |= 0x40000000 | 0x10000000  # CLONE_NEWNET, CLONE_NEWUSER
# Denied system calls (name -> number) per architecture: the kernel keyring, tracing and reading
# other processes, mounts and namespaces, BPF, perf, userfaultfd, io_uring (it runs system calls
# outside seccomp's view), modules, kexec, reboot, swap, accounting, clocks, handles.
_DENIED = {
    "x86_64": {
        "audit_arch": 0xC000003E,
        "clone": 56,
        "clone3": 435,
        "enosys": {"io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427},
        "eperm": {
            "add_key": 248, "request_key": 249, "keyctl": 250, "ptrace": 101,
            "process_vm_readv": 310, "process_vm_writev": 311, "kcmp": 312, "pidfd_getfd": 438,
            "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161, "unshare": 272,
            "setns": 308, "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431,
            "fsmount": 432, "fspick": 433, "mount_setattr": 442, "bpf": 321,
            "perf_event_open": 298, "userfaultfd": 323, "kexec_load": 246,
            "kexec_file_load": 320, "init_module": 175, "finit_module": 313,
            "delete_module": 176, "reboot": 169, "swapon": 167, "swapoff": 168, "acct": 163,
            "syslog": 103, "vhangup": 153, "quotactl": 179, "lookup_dcookie": 212,
            "open_by_handle_at": 304, "name_to_handle_at": 303, "fanotify_init": 300,
            "settimeofday": 164, "clock_settime": 227, "adjtimex": 159, "clock_adjtime": 305,
            "iopl": 172, "ioperm": 173, "uselib": 134, "personality": 135,
        },
    },
    "aarch64": {
        "audit_arch": 0xC00000B7,
        "clone": 220,
        "clone3": 435,
        "enosys": {"io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427},
        "eperm": {
            "add_key": 217, "request_key": 218, "keyctl": 219, "ptrace": 117,
            "process_vm_readv": 270, "process_vm_writev": 271, "kcmp": 272, "pidfd_getfd": 438,
            "mount": 40, "umount2": 39, "pivot_root": 41, "chroot": 51, "unshare": 97,
            "setns": 268, "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431,
            "fsmount": 432, "fspick": 433, "mount_setattr": 442, "bpf": 280,
            "perf_event_open": 241, "userfaultfd": 282, "kexec_load": 104,
            "kexec_file_load": 294, "init_module": 105, "finit_module": 273,
            "delete_module": 106, "reboot": 142, "swapon": 224, "swapoff": 225, "acct": 89,
            "syslog": 116, "vhangup": 58, "quotactl": 60, "open_by_handle_at": 265,
            "name_to_handle_at": 264, "fanotify_init": 262, "settimeofday": 170,
            "clock_settime": 112, "adjtimex": 171, "clock_adjtime": 266, "personality": 92,
        },
    },
}


def seccomp_program(machine=None):
    """The classic-BPF filter for this architecture, as bytes, or None where it has no table.
    Checks the architecture first (a 32-bit or x32 system call would have other numbers)."""
    table = _DENIED.get(machine or platform.machine())
    if table is None:
        return None
    ld, jeq, jset, jge, ret = 0x20, 0x15, 0x45, 0x35, 0x06
    ins = []

    def op(code, k, jt=0, jf=0):
        ins.append(struct.pack("HBBI", code, jt, jf, k))

    op(ld, 4)  # seccomp_data.arch
    op(jeq, table["audit_arch"], 1, 0)
    op(ret, SECCOMP_RET_KILL_PROCESS)
    op(ld, 0)  # seccomp_data.nr
    if table["audit_arch"] == 0xC000003E:
        op(jge, 0x40000000, 0, 1)  # the x32 ABI
        op(ret, SECCOMP_RET_ERRNO | EPERM)
    for number in table["eperm"].values():
        op(jeq, number, 0, 1)
        op(ret, SECCOMP_RET_ERRNO | EPERM)
    for number in list(table["enosys"].values()) + [table["clone3"]]:
        # clone3 passes its flags in memory, out of the filter's reach: ENOSYS makes the C
        # library fall back on clone(), whose flags are checked below (Docker does the same).
        op(jeq, number, 0, 1)
        op(ret, SECCOMP_RET_ERRNO | ENOSYS)
    op(jeq, table["clone"], 0, 3)
    op(ld, 16)  # args[0], low 32 bits: the flags
    op(jset, CLONE_NAMESPACES, 0, 1)
    op(ret, SECCOMP_RET_ERRNO | EPERM)
    op(ret, SECCOMP_RET_ALLOW)
    return b"".join(ins)


def _install_seccomp(program):
    count = len(program) // 8
    buffer = ctypes.create_string_buffer(program, len(program))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = SockFprog(count, ctypes.addressof(buffer))
    _check(
        _libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0), "seccomp"
    )


# ---------------------------------------------------------------------------------------------
# Cgroups and limits


class Cgroups:
    """The worker's memory and pids cgroups (v1), when the executor could make them."""

    def __init__(self, config):
        self.memory = config.cgroup_memory
        self.pids = config.cgroup_pids
        for path in (self.memory, self.pids):
            if path:
                with open(os.path.join(path, "cgroup.procs"), "w") as f:
                    f.write("0")

    @staticmethod
    def _set(path, name, value):
        with open(os.path.join(path, name), "w") as f:
            f.write(str(value))

    def apply(self, limits):
        if self.memory:
            self._set(self.memory, "memory.limit_in_bytes", limits["memoryMb"] << 20)
        if self.pids:
            # The zygote and the handler live in the cgroup too.
            self._set(self.pids, "pids.max", limits["processes"] + 2)

    def oom_kills(self):
        if not self.memory:
            return 0
        with open(os.path.join(self.memory, "memory.oom_control")) as f:
            for line in f:
                if line.startswith("oom_kill "):
                    return int(line.split()[1])
        return 0


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


class Box:
    """The private work dir of one execution (in the handler's own mount namespace)."""

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

    def copy_in(self, name, source_fd, offset, length):
        """Writes `length` bytes at `offset` of the request's memory file to `name`."""
        path = os.path.join(self.path, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            _copy_range(source_fd, offset, fd, length)
        finally:
            os.close(fd)

    def remove(self):
        if self.config.isolation != "bwrap":  # bwrap: the mount goes with the handler
            import shutil

            shutil.rmtree(self.path, ignore_errors=True)


def _copy_range(source_fd, offset, target_fd, length):
    """Copies file to file in the kernel (the bytes never enter this heap)."""
    while length > 0:
        done = os.sendfile(target_fd, source_fd, offset, length)
        if done <= 0:
            raise OSError("short copy of a request file")
        offset += done
        length -= done


# ---------------------------------------------------------------------------------------------
# The program's process (P)


class _Python:
    """Runs a Python program inside the step's payload process."""

    @staticmethod
    def _print_exception(exc):
        tb = exc.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
            tb = tb.tb_next
        exc.__traceback__ = tb  # the program's frames only, as a normal run shows
        try:
            sys.excepthook(type(exc), exc, tb)
        except BaseException:  # a program's own excepthook may fail
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
    def _exec(cls, code, namespace, channel):
        """Runs `code`; returns (ran_to_end, exit status)."""
        try:
            exec(code, namespace)
            return True, 0
        except SystemExit as exc:
            return False, cls._exit_code(exc)
        except BaseException as exc:
            cls._print_exception(exc)
            kind = "exception"
            if isinstance(exc, AssertionError):
                kind = "assertion"
            elif isinstance(exc, MemoryError):
                kind = "memory"
            _say(channel, f"py {kind}")
            return False, 1

    @classmethod
    def run(cls, step, box, fds):
        """Compiles the program (a SyntaxError is said before anything of it runs), then runs
        it as __main__, then the harness, if any (see {@link _run_harness}); the end-of-tests
        token goes out only when the harness ran to its end."""
        import types

        path = os.path.join(box, step["python"])
        with open(path, "rb") as f:
            source = f.read()
        try:
            code = compile(source, path, "exec", dont_inherit=True)
        except BaseException as exc:  # SyntaxError, ValueError (NUL), RecursionError, ...
            cls._print_exception(exc)
            _say(fds["pre"], "py syntax")
            cls._finish(1)
        if step.get("compileOnly"):
            cls._finish(0)
        harness = step.get("harness")
        os.close(fds["pre"])
        # Everything the harness needs, taken before the program can change it.
        tests = _Harness(harness, step.get("entryPoint"), fds) if harness is not None else None
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
        del frame, source
        ran, status = cls._exec(code, main.__dict__, fds["post"])
        del code
        if ran and tests is not None:
            status = tests.run(main.__dict__)
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


class _Harness:
    """The tests of a `test`-mode step, run after the program in a namespace of their own: a
    copy of the program's (so they see what it defined) with the builtins as they were when the
    launcher started, without the program's names that shadow a builtin (its entry point
    excepted: MBPP's `sum`), and with the pre-imported modules that the tests name put back as
    they were (in `sys.modules` and under their own names). So a program that replaces `abs`,
    `builtins.compile`, `exec` or `math.isclose`, binds `math` to a fake, sets a trace function
    that skips lines, or renames `SystemExit`, fails its tests instead. Everything this class
    uses after the program ran was taken before the program started."""

    def __init__(self, harness, entry_point, fds):
        self.where = (fds["request"], harness["length"], harness["offset"])  # os.pread order
        self.post, self.token, self.keep = fds["post"], fds["token"], entry_point
        self.pristine = _PRISTINE
        self.calls = (compile, exec, dict, os.pread, os.read, os.write, sys.settrace)
        self.calls += (sys.setprofile, isinstance, AssertionError, MemoryError, _Python, sys)

    def run(self, namespace):
        """Runs the tests; returns the exit status. The token is written only when they ran to
        their end."""
        _compile, _exec, _dict, _pread, _read, _write, _settrace = self.calls[:7]
        _setprofile, _isinstance, _assertion, _memory, python, _sys = self.calls[7:]
        builtins, modules, module_names = self.pristine
        _settrace(None)
        _setprofile(None)
        try:
            text = _pread(*self.where)
            scope = _dict(namespace)
            for name in [n for n in scope if n in builtins and n != self.keep]:
                if not name.startswith("__"):
                    del scope[name]
            for name in set(module_names(text.decode("utf-8", "replace"))):
                module, saved = modules[name]
                module.__dict__.clear()
                module.__dict__.update(saved)
                _sys.modules[name] = module
                if name in scope:
                    scope[name] = module
            scope["__builtins__"] = builtins
            tests = _compile(text, "<tests>", "exec", dont_inherit=True)
            del text
            _exec(tests, scope)
        except:  # noqa: E722 (a bare except looks no name up: the program may have renamed any)
            exc = _sys.exc_info()[1]
            python._print_exception(exc)
            if not _isinstance(exc, (_assertion, _memory)) and hasattr(exc, "code"):
                return python._exit_code(exc) or 1  # SystemExit: the tests did not finish
            kind = "assertion" if _isinstance(exc, _assertion) else (
                "memory" if _isinstance(exc, _memory) else "exception"
            )
            _write(self.post, b"py " + kind.encode() + b"\n")
            return 1
        # The handler wrote the token to this pipe after P started; it is read only now.
        _write(self.post, b"end " + _read(self.token, 64) + b"\n")
        return 0


def _pristine_state():
    """The builtins and the pre-imported modules as the launcher has them, taken once at
    start-up (every step shares them through fork at no cost), and a function that finds the
    names of those modules in a text."""
    import builtins
    import re

    modules = {}
    for name in {n.split(".")[0] for n in PRELOAD}:
        module = sys.modules.get(name)
        if module is not None:
            modules[name] = (module, dict(module.__dict__))
    pattern = re.compile(r"\b(" + "|".join(sorted(modules, key=len, reverse=True)) + r")\b")
    return dict(builtins.__dict__), modules, pattern.findall


_PRISTINE = None


def _say(fd, text):
    try:
        os.write(fd, text.encode() + b"\n")
    except OSError:
        pass


def _payload(config, step, limits, fds, seccomp):
    """P: becomes the program; never returns. `fds`: the step's stdin, stdout, stderr, the
    pre-program pipe (close-on-exec), the post-program pipe and the request file (Python)."""
    try:
        os.dup2(fds["stdin"], 0)
        os.dup2(fds["stdout"], 1)
        os.dup2(fds["stderr"], 2)
        keep = [fds["pre"]]
        if step.get("python"):
            keep.append(fds["post"])
        if step.get("harness"):
            keep += [fds["request"], fds["token"]]
        _close_from(3, keep)
        if config.isolation == "bwrap":
            # The OOM killer takes the program before the handler and the zygote.
            fd = os.open("/proc/self/oom_score_adj", os.O_WRONLY)
            os.write(fd, b"1000")
            os.close(fd)
        else:
            os.setsid()
        os.chdir(step["cwd"])
        _set_limits(limits)
        _drop_privileges(config)
        if seccomp is not None:
            _install_seccomp(seccomp)
        if step.get("python"):
            if step["env"] != _ENVIRON:  # os.environ is costly to touch in a forked child
                os.environ.clear()
                os.environ.update(step["env"])
            _Python.run(step, step["cwd"], fds)
        # An exec'd program starts with the default action for every signal.
        for sig in (signal.SIGPIPE, signal.SIGINT, signal.SIGXFSZ):
            signal.signal(sig, signal.SIG_DFL)
        argv = step["argv"]
        os.execve(argv[0], argv, step["env"])
    except BaseException as exc:
        _say(fds["pre"], f"setup payload: {exc}")
    os._exit(127)


# ---------------------------------------------------------------------------------------------
# The handler (H)


class Handler:
    """Carries out one request as PID 1 of its own PID namespace; never returns."""

    def __init__(self, zygote, request_fd, json_length, answer_fd):
        self.config = zygote.config
        self.cgroups = zygote.cgroups
        self.seccomp = zygote.seccomp
        self.request_fd = request_fd
        self.json_length = json_length
        self.answer_fd = answer_fd
        self.in_pidns = zygote.pidns is not None

    def run(self):
        try:
            if self.config.isolation == "bwrap":
                _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWIPC), "unshare")
                _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
            request = json.loads(os.pread(self.request_fd, self.json_length, 0))
            answer = {"id": request["id"], **self.handle(request)}
        except BaseException as exc:
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        _write_line(self.answer_fd, answer)
        os._exit(0)

    def handle(self, request):
        box = Box(self.config, request.get("boxMb", 256))
        try:
            base = self.json_length  # blob offsets count from the end of the JSON
            for entry in request.get("files", []):
                box.copy_in(entry["name"], self.request_fd, base + entry["offset"], entry["length"])
            for step in request["steps"]:
                if step.get("harness"):
                    step["harness"] = dict(step["harness"], offset=base + step["harness"]["offset"])
            results, used = [], 0
            budget = request.get("outputBudget", 1 << 62)
            for step in request["steps"]:
                result = self.run_step(box, step, budget - used)
                used += result.pop("outputBytes")
                results.append(result)
                if step.get("stopUnlessOk") and not _ok(result):
                    break
                if result.get("pyError") == "syntax" and request.get("stopOnSyntaxError"):
                    break
                if result.get("outputExceeded"):
                    break
            answer = {"steps": results}
            if request.get("fetch"):
                answer["files"] = _fetch(box.path, request["fetch"])
            return answer
        finally:
            box.remove()

    def run_step(self, box, step, budget):
        limits = step["limits"]
        tmp = os.path.join(box.path, "tmp")
        fill = lambda text: text.replace("{box}", box.path).replace("{tmp}", tmp)  # noqa: E731
        env = {key: fill(value) for key, value in step.get("env", {}).items()}
        env.update(HOME=box.path, TMPDIR=tmp)
        step = dict(step, cwd=box.path, env=env)
        if step.get("argv"):
            step["argv"] = [fill(arg) for arg in step["argv"]]
        if step.get("cache"):
            _mount_cache(self.config, step["cache"], box.path)
        self.cgroups.apply(limits)
        oom_before = self.cgroups.oom_kills()
        output_limit = max(0, min(limits["outputBytes"], budget))
        fds = {"stdin": _stdin_fd(step.get("stdin"))}
        out_r, fds["stdout"] = _output_file("stdout")
        err_r, fds["stderr"] = _output_file("stderr")
        pre_r, fds["pre"] = os.pipe2(os.O_CLOEXEC)
        python = bool(step.get("python"))
        post_r, fds["post"] = os.pipe2(os.O_CLOEXEC) if python else (None, None)
        harness = python and bool(step.get("harness"))
        fds["token"], token_w = os.pipe2(os.O_CLOEXEC) if harness else (None, None)
        fds["request"] = self.request_fd
        os.set_blocking(pre_r, False)
        if post_r is not None:
            os.set_blocking(post_r, False)
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:
            _payload(self.config, step, limits, fds, self.seccomp)
        for name in ("stdin", "stdout", "stderr", "pre", "post", "token"):
            if fds[name] is not None:
                os.close(fds[name])
        token = None
        if token_w is not None:
            # Made after the fork, so that P's memory never held it before the harness reads it.
            token = os.urandom(16).hex()
            try:
                os.write(token_w, token.encode())
            except BrokenPipeError:  # P is gone already (or closed it): no token for anyone
                pass
            os.close(token_w)
        try:
            watch = self._watch(pid, (out_r, err_r), limits, output_limit, started, children_before)
        finally:
            for fd in (out_r, err_r):
                os.close(fd)
        pre = _read_all(pre_r, 65536).decode("utf-8", "replace")
        post = _read_all(post_r, 65536).decode("utf-8", "replace") if post_r is not None else ""
        for fd in (pre_r, post_r):
            if fd is not None:
                os.close(fd)
        result = _describe(pre, post, watch, step, token)
        result.update(oomKilled=self.cgroups.oom_kills() > oom_before)
        return result

    def _watch(self, pid, fds, limits, output_limit, started, children_before):
        """Waits until P exits, enforcing the wall clock, the CPU time of all the step's
        processes together and the output limit; then ends what is left of the step, reaps it
        and reads stdout and stderr back (at most `output_limit` of each)."""
        names = dict(zip(fds, ("stdout", "stderr")))
        pidfd = os.pidfd_open(pid)
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        deadline = started + limits["wallMs"] / 1000
        cpu_limit = limits["cpuMs"] / 1000
        killed = None
        status = usage = None
        next_scan = started + CPU_SCAN_S
        interval = 0.002  # output is checked at growing intervals, up to 20 ms

        def end(reason):
            nonlocal killed, status, usage
            killed = reason
            status, usage = self._kill_rest(pid)

        try:
            while status is None and killed is None:
                now = time.monotonic()
                if now >= deadline:
                    end("timeout")
                    break
                if poller.poll(max(0, min(interval, deadline - now)) * 1000):
                    status, usage = _reap(pid, block=True)
                    break
                interval = min(interval * 2, 0.02)
                status, usage = _reap(pid, block=False)
                if status is not None:
                    break
                for fd in fds:
                    if os.fstat(fd).st_size > output_limit:
                        end(f"output:{names[fd]}")
                        break
                if killed is None and now >= next_scan:
                    next_scan = now + CPU_SCAN_S
                    if _cpu_seconds(children_before, self.in_pidns, pid) > cpu_limit:
                        end("cpu")
        finally:
            os.close(pidfd)
        if killed is None:
            self._kill_rest(pid)
        wall = time.monotonic() - started
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = _cpu_delta(children_before, children)
        for fd in fds:
            if killed is None and os.fstat(fd).st_size > output_limit:
                killed = f"output:{names[fd]}"
        stdout = os.pread(fds[0], output_limit, 0)
        stderr = os.pread(fds[1], output_limit, 0)
        return {
            "status": status,
            "killed": killed,
            "stdout": stdout,
            "stderr": stderr,
            "outputBytes": len(stdout) + len(stderr),
            "wallMs": round(wall * 1000, 3),
            "cpuMs": round(cpu * 1000, 3),
            "maxRssKb": usage.ru_maxrss if usage is not None else 0,
        }

    def _kill_rest(self, pid):
        """Kills every process of the step and reaps them all (as PID 1, kill(-1) reaches every
        process of the namespace but this one); returns P's wait status and usage if it was
        reaped here."""
        if self.in_pidns:
            try:
                os.kill(-1, signal.SIGKILL)
            except OSError:
                pass
        else:
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
        found = (None, None)
        while True:
            try:
                reaped, status, usage = os.wait4(-1, 0)
            except ChildProcessError:
                return found
            except InterruptedError:
                continue
            if reaped == pid:
                found = (status, usage)


FETCH_BYTES = 16 << 20


def _fetch(box, paths):
    """Files the caller asked back, base64, at most FETCH_BYTES in all; paths that leave the
    work dir, are missing or are not regular files are left out."""
    import base64

    found, total = {}, 0
    root = os.path.realpath(box)
    for name in paths:
        path = os.path.realpath(os.path.join(box, name))
        if not path.startswith(root + os.sep) or not os.path.isfile(path):
            continue
        size = os.path.getsize(path)
        if total + size > FETCH_BYTES:
            continue
        with open(path, "rb") as f:
            found[name] = base64.b64encode(f.read(size)).decode("ascii")
        total += size
    return found


def _reap(pid, block):
    """Reaps finished processes (orphans of the step come to PID 1); returns P's wait status and
    resource usage once P is among them, else (None, None)."""
    flags = 0 if block else os.WNOHANG
    while True:
        try:
            found, status, usage = os.wait4(-1, flags)
        except ChildProcessError:
            return None, None
        if found == pid:
            return status, usage
        if found == 0:
            return None, None
        flags = os.WNOHANG if not block else flags


def _cpu_seconds(before, in_pidns, pid):
    """CPU time of the step so far: what its reaped processes used, plus every live one (without
    a PID namespace, P alone: /proc shows the host's processes)."""
    total = _cpu_delta(before, resource.getrusage(resource.RUSAGE_CHILDREN))
    ticks = os.sysconf("SC_CLK_TCK")
    for name in os.listdir("/proc") if in_pidns else [str(pid)]:
        if not name.isdigit() or name == "1":
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
        except (OSError, IndexError, ValueError):
            pass
    return total


def _cpu_delta(before, after):
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _mount_cache(config, name, box):
    """A shared build cache, read-only, under a writable layer private to this execution."""
    target = os.path.join(box, "tmp", f".{name}cache")
    if os.path.exists(target):
        return
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


def _ok(result):
    return result.get("exitCode") == 0 and not result.get("timedOut") and not result.get(
        "outputExceeded"
    ) and not result.get("setupError")


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
    """stdout or stderr of a step: a memory file, read back by the handler, and the step's end
    of it, opened for appending. A file rather than a pipe: a writer never blocks or queues (Node
    queues pipe writes in memory when the pipe is full), so the size says all that was written.
    """
    fd = os.memfd_create(name, os.MFD_CLOEXEC)
    append = os.open(f"/proc/self/fd/{fd}", os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
    return fd, append


def _describe(pre, post, watch, step, token):
    """What the handler saw of a step. Only `pre` (written before the program started) and the
    handler's own observations can make a status; of `post` (written while or after the
    program ran) only the exception class and the end-of-tests token are read, and the token
    counts only when it is the one the handler gave P (after the fork, through a pipe that P reads
    once the harness has run to its end)."""
    killed = watch["killed"]
    status = watch["status"]
    result = {
        "exitCode": None,
        "signal": None,
        "timedOut": killed == "timeout",
        "cpuExceeded": killed == "cpu",
        "outputExceeded": killed.split(":", 1)[1] if killed and killed.startswith("output:") else None,
        "pyError": None,
        "setupError": None,
        "ended": None,
        "stdout": watch["stdout"].decode("utf-8", "replace"),
        "stderr": watch["stderr"].decode("utf-8", "replace"),
        "outputBytes": watch["outputBytes"],
        "wallMs": watch["wallMs"],
        "cpuMs": watch["cpuMs"],
        "maxRssKb": watch["maxRssKb"],
    }
    for line in pre.splitlines():
        if line == "py syntax":
            result["pyError"] = "syntax"
        elif line.startswith("setup "):
            result["setupError"] = line[6:]
    if step.get("harness") is not None and result["pyError"] != "syntax":
        result["ended"] = token is not None and f"end {token}" in post.splitlines()
    if result["pyError"] is None:
        for line in post.splitlines():
            if line in ("py assertion", "py exception", "py memory"):
                result["pyError"] = line[3:]
    if status is None:
        if result["setupError"] is None and killed is None:
            result["setupError"] = "the step's process vanished"
        return result
    if os.WIFSIGNALED(status):
        result["signal"] = os.WTERMSIG(status)
    elif os.WIFEXITED(status):
        result["exitCode"] = os.WEXITSTATUS(status)
    return result


# ---------------------------------------------------------------------------------------------
# The zygote


class Zygote:
    def __init__(self, config):
        self.config = config
        self.pidns = None
        if config.isolation == "bwrap":
            _mount(None, "/", None, MS_REC | MS_PRIVATE, None)
            self.pidns = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
        self.cgroups = Cgroups(config)
        self.seccomp = seccomp_program() if config.seccomp and config.isolation == "bwrap" else None

    def _fork_into_namespace(self):
        if self.pidns is not None:
            # A PID namespace can be unshared for children only once per setting: go back to
            # our own, then ask for a fresh one, so that the next fork is its PID 1.
            _check(_libc.setns(self.pidns, CLONE_NEWPID), "setns")
            _check(_libc.unshare(CLONE_NEWPID), "unshare pid")
        return os.fork()

    def serve(self, proto_in, proto_out):
        buffer = bytearray(1 << 20)
        while True:
            header = _read_header(proto_in)
            if header is None:
                return
            request_id, json_length, blob_length = header
            request_fd = _copy_request(proto_in, json_length + blob_length, buffer)
            answer_fd = os.memfd_create("answer", os.MFD_CLOEXEC)
            pid = self._fork_into_namespace()
            if pid == 0:
                try:
                    os.close(proto_in)
                    os.close(proto_out)
                    Handler(self, request_fd, json_length, answer_fd).run()
                finally:
                    os._exit(70)
            os.close(request_fd)
            _, status = os.waitpid(pid, 0)
            size = os.fstat(answer_fd).st_size
            if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 and size > 0:
                _copy_to(answer_fd, proto_out, size)
            else:
                how = f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status) else (
                    f"exit status {os.WEXITSTATUS(status)}"
                )
                _write_line(proto_out, {"id": request_id, "error": f"handler died ({how})"})
            os.close(answer_fd)


def _read_header(fd):
    """The header line of a request, `<id> <json bytes> <blob bytes>`, read a byte at a time so
    that nothing after it is read into this process."""
    data = bytearray()
    while True:
        byte = os.read(fd, 1)
        if not byte:
            return None
        if byte == b"\n":
            break
        data += byte
        if len(data) > 64:
            raise ValueError("request header too long")
    request_id, json_length, blob_length = (int(x) for x in data.split())
    return request_id, json_length, blob_length


def _copy_request(fd, length, buffer):
    """Moves exactly `length` bytes from the pipe into a new memory file through `buffer`,
    which is wiped afterwards. The file is then sealed: nobody, the program included, can change
    the tests it holds."""
    target = os.memfd_create("request", os.MFD_ALLOW_SEALING)
    view = memoryview(buffer)
    try:
        while length > 0:
            got = os.readv(fd, [view[: min(length, len(buffer))]])
            if got == 0:
                raise EOFError("the request ended early")
            rest = view[:got]
            while rest:
                rest = rest[os.write(target, rest):]
            length -= got
    finally:
        view[:] = bytes(len(buffer))
        view.release()
    seals = fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE
    fcntl.fcntl(target, fcntl.F_ADD_SEALS, seals)
    return target


def _copy_to(source_fd, target_fd, size):
    offset = 0
    while offset < size:
        done = os.sendfile(target_fd, source_fd, offset, size - offset)
        if done <= 0:
            raise OSError("short answer copy")
        offset += done


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
    global _PRISTINE
    _PRISTINE = _pristine_state()
    gc.collect()
    gc.freeze()


def _write_line(fd, obj):
    data = memoryview((json.dumps(obj, ensure_ascii=False) + "\n").encode("utf-8", "replace"))
    while data:
        data = data[os.write(fd, data):]


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
            "seccomp": zygote.seccomp is not None,
        },
    )
    zygote.serve(proto_in, proto_out)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
