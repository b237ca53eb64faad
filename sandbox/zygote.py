"""ppocoder sandbox launcher ("zygote"): one per executor worker.

Started once per worker (inside bubblewrap unless isolation is "none"), it pre-imports common
standard-library modules and then serves requests. A request holds the files of one execution and
its steps (a compile, the runs). The processes, from the most trusted to the program:

  zygote  root in the worker's bwrap (no network, read-only system). It splices each request from
    |     its pipe into a sealed memory file and parses only the request's JSON (commands, limits,
    |     offsets); the files, each step's stdin and the tests are blobs that go to their places
    |     with sendfile(), and each step's stdout and stderr come back to the Deno side the same
    |     way, so that its heap, which every later execution inherits through fork, never holds
    |     another execution's code, tests, inputs or output (the next request waits in the pipe).
    |     It is the judge's eye: it watches each step (wall clock; CPU time of all the step's
    |     processes together, every 50 ms; output size), kills it, reaps it, and reads its wait
    |     status, resource usage and the memory cgroup's OOM counter itself.
    X     per step, PID 1 of a fresh PID namespace, in fresh mount and IPC namespaces with a fresh
    |     /proc. For an exec'd program, X is a trusted init (root) that forks the program, reaps
    |     every process and reports the program's wait status through a pipe the program never
    |     holds. For Python, X is the program itself (no exec: the interpreter and its imports
    |     are already warm, which is what makes a Python step cheap).
    P     the program's process: sets the rlimits, drops to the worker's unprivileged uid and gid
          (no capabilities, no_new_privs, not dumpable), installs the seccomp filter, then runs
          the program. When X ends, the kernel kills everything left in its namespace.

What P tells the zygote before the program starts (an exec failure, a Python SyntaxError) goes
through a pipe that P closes before the program runs (for an exec'd program, close-on-exec does
it). After that, P can only say, besides the class of an uncaught exception (which never improves
a verdict), that the tests ran to their end, with a token that the zygote makes after the fork
and passes through a pipe that P reads only once the tests (the request's `harness`, read from
the sealed request file only after the program's own top-level code has finished) have returned.
Neither the token nor the tests are in P's memory, files, stdin or environment while the
program's own code runs.

The Deno side (sandbox/_zygote.ts) owns policy; this file only carries steps out. Standard
library only, Python >= 3.10, Linux.
"""

import _signal
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
MNT_DETACH = 2
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
    Checks the architecture first (a 32-bit or x32 system call would have other numbers); every
    denied call jumps to one shared return, which keeps the filter short (the kernel compiles it
    again for every step)."""
    table = _DENIED.get(machine or platform.machine())
    if table is None:
        return None
    ld, jeq, jset, jge, ret = 0x20, 0x15, 0x45, 0x35, 0x06
    x86 = table["audit_arch"] == 0xC000003E
    eperm = list(table["eperm"].values())
    enosys = list(table["enosys"].values()) + [table["clone3"]]
    # Layout: header, one jump per denied call, the clone check, then the shared returns.
    checks = (1 if x86 else 0) + len(eperm) + len(enosys)
    first_check = 4
    clone_at = first_check + checks
    allow_at = clone_at + 4
    eperm_at, enosys_at = allow_at + 1, allow_at + 2
    ins = []

    def op(code, k, jt=0, jf=0):
        ins.append(struct.pack("HBBI", code, jt, jf, k))

    def to(target):
        return target - len(ins) - 1

    op(ld, 4)  # seccomp_data.arch
    op(jeq, table["audit_arch"], 1, 0)
    op(ret, SECCOMP_RET_KILL_PROCESS)
    op(ld, 0)  # seccomp_data.nr
    if x86:
        op(jge, 0x40000000, to(eperm_at), 0)  # the x32 ABI
    for number in eperm:
        op(jeq, number, to(eperm_at), 0)
    for number in enosys:
        # clone3 passes its flags in memory, out of the filter's reach: ENOSYS makes the C
        # library fall back on clone(), whose flags are checked below (Docker does the same).
        op(jeq, number, to(enosys_at), 0)
    assert len(ins) == clone_at
    op(jeq, table["clone"], 0, to(allow_at))
    op(ld, 16)  # args[0], low 32 bits: the flags
    op(jset, CLONE_NAMESPACES, to(eperm_at), 0)
    op(ret, SECCOMP_RET_ALLOW)
    assert len(ins) == allow_at
    op(ret, SECCOMP_RET_ALLOW)
    op(ret, SECCOMP_RET_ERRNO | EPERM)
    op(ret, SECCOMP_RET_ERRNO | ENOSYS)
    return b"".join(ins)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


class _Seccomp:
    """A filter ready to install (built once in the zygote; each step installs it as is)."""

    def __init__(self, program):
        self.buffer = ctypes.create_string_buffer(program, len(program))
        self.fprog = _SockFprog(len(program) // 8, ctypes.addressof(self.buffer))
        self.pointer = ctypes.byref(self.fprog)

    def install(self):
        _check(_libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, self.pointer, 0, 0), "seccomp")


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
    """The private work dir of one execution: a fresh tmpfs, unmounted afterwards."""

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
        if self.config.isolation == "bwrap":
            _check(_libc.umount2(BOX.encode(), MNT_DETACH), "umount /box")
        else:
            import shutil

            shutil.rmtree(self.path, ignore_errors=True)


def _copy_range(source_fd, offset, target_fd, length):
    """Copies file to file in the kernel (the bytes never enter this heap); returns `length`."""
    total = length
    while length > 0:
        done = os.sendfile(target_fd, source_fd, offset, length)
        if done <= 0:
            raise OSError("short copy of a request file")
        offset += done
        length -= done
    return total


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


def _payload(config, step, limits, fds, seccomp, init=False):
    """P: becomes the program; never returns. `fds`: the step's stdin, stdout, stderr, the
    pre-program pipe (closed before the program runs: by close-on-exec, or by the Python
    launcher), and for Python the post-program pipe, and with a harness the request file and
    the token pipe. `init`: P is its namespace's PID 1 (a Python step)."""
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
        os.chdir(step["cwd"])
        _set_limits(limits)
        _drop_privileges(config)
        if seccomp is not None:
            seccomp.install()
        if step.get("python"):
            if init:
                global _POST_FD
                _POST_FD = fds["post"]
                for signum in _DEADLY:
                    _signal.signal(signum, _die_by_signal)  # not signal.signal: its enums cost
            if step["env"] != _ENVIRON:  # os.environ is costly to touch in a forked child
                os.environ.clear()
                os.environ.update(step["env"])
            _Python.run(step, step["cwd"], fds)
        argv = step["argv"]
        os.execve(argv[0], argv, step["env"])
    except BaseException as exc:
        _say(fds["pre"], f"setup payload: {exc}")
    os._exit(127)


def _step_init(config, step, limits, fds, seccomp):
    """PID 1 of one step's PID namespace, in fresh mount and IPC namespaces with a fresh /proc;
    never returns. A Python step's init is the program itself (its process P); anything else
    gets X, a trusted init that forks the program, reaps every process, and reports the
    program's wait status through a pipe the program never holds."""
    python = bool(step.get("python"))
    report = fds["pre"] if python else fds["status"]
    try:
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
        if python:
            _payload(config, step, limits, fds, seccomp, init=True)
        # Children start with SIG_DFL for everything, as after a fresh exec.
        for sig in (signal.SIGPIPE, signal.SIGINT, signal.SIGXFSZ):
            signal.signal(sig, signal.SIG_DFL)
        payload = os.fork()
        if payload == 0:
            _payload(config, step, limits, fds, seccomp)
        for name in ("stdin", "stdout", "stderr", "pre"):
            os.close(fds[name])
        while True:
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                _say(report, "setup payload vanished")
                os._exit(1)
            if pid == payload:
                _say(report, f"wait {status}")
                os._exit(0)
    except BaseException as exc:
        _say(report, f"setup init: {exc}")
    os._exit(1)


# Signals whose default action ends a process; the faults (SIGSEGV, SIGBUS, SIGILL, SIGFPE) are
# left out, as a real fault kills even an init and a Python handler would only re-fault. SIGINT
# keeps Python's own handler (KeyboardInterrupt); SIGPIPE and SIGXFSZ stay ignored, as Python has
# them; SIGKILL and SIGSTOP cannot be handled.
_DEADLY = tuple(
    getattr(signal, name)
    for name in (
        "SIGHUP SIGQUIT SIGTRAP SIGABRT SIGUSR1 SIGUSR2 SIGALRM SIGTERM SIGSTKFLT SIGVTALRM "
        "SIGPROF SIGIO SIGPWR SIGSYS SIGXCPU"
    ).split()
    if hasattr(signal, name)
)


_POST_FD = None


def _die_by_signal(signum, frame):
    """A PID-namespace init ignores signals it has no handler for, where any other process
    dies: for a Python program, which is its step's init, this handler ends it instead, with the
    shell's status for a signal (128 + its number), and says it crashed (like an uncaught
    exception: a `runtime_error`). Installed with _signal.signal, so a program's own handlers
    replace it."""
    if _POST_FD is not None:
        _say(_POST_FD, "py exception")
    os._exit(128 + signum)


def _watch(pid, fds, limits, output_limit, started, in_pidns):
    """The zygote's watch over a step whose init is `pid`: waits until it exits, enforcing the
    wall clock, the CPU time of all the step's processes together (every CPU_SCAN_S) and the
    output limit by killing the init (which ends its whole namespace)."""
    outputs = ((fds["stdout_r"], "stdout"), (fds["stderr_r"], "stderr"))
    pidfd = os.pidfd_open(pid)
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    deadline = started + limits["wallMs"] / 1000
    cpu_limit = limits["cpuMs"] / 1000
    killed = None
    scanned = 0.0
    next_scan = started + CPU_SCAN_S
    interval = 0.002  # output is checked at growing intervals, up to 20 ms
    try:
        while True:
            now = time.monotonic()
            if killed is None and now >= deadline:
                killed = "timeout"
            if killed is None and now >= next_scan:
                next_scan = now + CPU_SCAN_S
                scanned = max(scanned, _tree_cpu_seconds(pid, in_pidns))
                if scanned > cpu_limit:
                    killed = "cpu"
            if killed is None:
                over = [name for fd, name in outputs if os.fstat(fd).st_size > output_limit]
                if over:
                    killed = f"output:{over[0]}"
            if killed is not None:
                _kill_step(pid, in_pidns)
            timeout = interval if killed else min(interval, deadline - now)
            if poller.poll(max(0, timeout) * 1000):
                break
            interval = min(interval * 2, 0.02)
    finally:
        os.close(pidfd)
    if not in_pidns:
        _kill_step(pid, in_pidns)
    _, status, usage = os.wait4(pid, 0)
    wall = time.monotonic() - started
    for fd, name in outputs:
        if killed is None and os.fstat(fd).st_size > output_limit:
            killed = f"output:{name}"
    cpu = usage.ru_utime + usage.ru_stime
    return {
        "status": status,
        "killed": killed,
        "wallMs": round(wall * 1000, 3),
        "cpuMs": round(max(cpu, scanned) * 1000, 3),
        "maxRssKb": usage.ru_maxrss,
    }


def _kill_step(pid, in_pidns):
    """Kills a step: its init (the kernel then kills the rest of its PID namespace), or without
    a namespace its process group."""
    try:
        if in_pidns:
            os.kill(pid, signal.SIGKILL)
        else:
            os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


def _tree_cpu_seconds(pid, in_pidns):
    """CPU time of a step so far: its init's (with the children it has reaped) and every other
    live process of the step (descendants of the init, found by parent links in /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    stats = {}
    for name in os.listdir("/proc") if in_pidns else [str(pid)]:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            stats[int(name)] = (int(fields[1]), fields)
        except (OSError, IndexError, ValueError):
            pass
    step = {pid}
    grew = True
    while grew:
        grew = False
        for child, (parent, _) in stats.items():
            if parent in step and child not in step:
                step.add(child)
                grew = True
    total = 0
    for member in step:
        if member in stats:
            fields = stats[member][1]
            total += int(fields[11]) + int(fields[12])
            if member == pid:
                total += int(fields[13]) + int(fields[14])  # what the init reaped
    return total / ticks


class Answer:
    """One request's answer: a header line `<id> <json bytes> <blob bytes>`, the JSON, then the
    blobs it counts (each step's stdout and stderr, then the fetched files), copied from memory
    files with sendfile() so that no program's output passes through the zygote's heap."""

    def __init__(self, request_id):
        self.request_id = request_id
        self.json = {"id": request_id}
        self.blobs = []  # (fd, length)

    def add_blob(self, fd, length):
        self.blobs.append((fd, length))

    def send(self, target):
        body = json.dumps(self.json, ensure_ascii=False).encode("utf-8", "replace")
        total = sum(length for _, length in self.blobs)
        head = f"{self.request_id} {len(body)} {total}\n".encode()
        _write_all(target, head + body)
        for fd, length in self.blobs:
            _copy_to(fd, target, length)

    def close(self):
        for fd, _ in self.blobs:
            try:
                os.close(fd)
            except OSError:
                pass
        self.blobs = []


FETCH_BYTES = 16 << 20


def _fetch(box, paths, answer):
    """Files the caller asked back, at most FETCH_BYTES in all, as blobs (copied into memory
    files in the kernel); paths that leave the work dir, are missing or are not regular files
    are left out."""
    found, total = [], 0
    root = os.path.realpath(box)
    for name in paths:
        path = os.path.realpath(os.path.join(box, name))
        if not path.startswith(root + os.sep) or not os.path.isfile(path):
            continue
        size = os.path.getsize(path)
        if total + size > FETCH_BYTES:
            continue
        copy = os.memfd_create("fetched", os.MFD_CLOEXEC)
        source = os.open(path, os.O_RDONLY)
        try:
            size = _copy_range(source, 0, copy, size) if size else 0
        finally:
            os.close(source)
        answer.add_blob(copy, size)
        found.append({"name": name, "length": size})
        total += size
    return found


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


def _stdin_fd(request_fd, blob):
    """The step's stdin: a memory file filled from the request's blob in the kernel."""
    if not blob or not blob["length"]:
        return os.open("/dev/null", os.O_RDONLY)
    fd = os.memfd_create("stdin", 0)
    _copy_range(request_fd, blob["offset"], fd, blob["length"])
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
    """stdout or stderr of a step: a memory file, read back by the zygote, and the step's end
    of it, opened for appending. A file rather than a pipe: a writer never blocks or queues (Node
    queues pipe writes in memory when the pipe is full), so the size says all that was written.
    """
    fd = os.memfd_create(name, os.MFD_CLOEXEC)
    append = os.open(f"/proc/self/fd/{fd}", os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
    return fd, append


def _describe(pre, post, status_text, watch):
    """What the zygote saw of a step. A status comes only from the zygote's own observations,
    the trusted init's report (`status_text`, for exec'd programs) and what P said before the
    program started (`pre`); of `post` (written while or after a Python program ran) only the
    exception class and the end-of-tests lines are read, and the caller counts an end line only
    when it holds the token the zygote gave P after the fork."""
    killed = watch["killed"]
    result = {
        "exitCode": None,
        "signal": None,
        "timedOut": killed == "timeout",
        "cpuExceeded": killed == "cpu",
        "outputExceeded": killed.split(":", 1)[1] if killed and killed.startswith("output:") else None,
        "pyError": None,
        "setupError": None,
        "wallMs": watch["wallMs"],
        "cpuMs": watch["cpuMs"],
        "maxRssKb": watch["maxRssKb"],
    }
    status = watch["status"]
    for line in pre.splitlines():
        if line == "py syntax":
            result["pyError"] = "syntax"
        elif line.startswith("setup "):
            result["setupError"] = line[6:]
    if status_text is not None:  # an exec'd program under a trusted init
        payload = None
        for line in status_text.splitlines():
            if line.startswith("wait "):
                payload = int(line[5:])
            elif line.startswith("setup "):
                result["setupError"] = line[6:]
        if payload is None and killed is None and result["setupError"] is None:
            code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
            result["setupError"] = f"step init ended without a report (status {code})"
        status = payload if payload is not None else status
    if result["pyError"] is None:
        for line in post.splitlines():
            if line in ("py assertion", "py exception", "py memory"):
                result["pyError"] = line[3:]
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
        program = seccomp_program() if config.seccomp and config.isolation == "bwrap" else None
        self.seccomp = _Seccomp(program) if program is not None else None

    def _fork_into_namespace(self):
        if self.pidns is not None:
            # A PID namespace can be unshared for children only once per setting: go back to
            # our own, then ask for a fresh one, so that the next fork is its PID 1.
            _check(_libc.setns(self.pidns, CLONE_NEWPID), "setns")
            _check(_libc.unshare(CLONE_NEWPID), "unshare pid")
        return os.fork()

    def serve(self, proto_in, proto_out):
        while True:
            header = _read_header(proto_in)
            if header is None:
                return
            request_id, json_length, blob_length = header
            request_fd = _copy_request(proto_in, json_length + blob_length)
            answer = Answer(request_id)
            try:
                self.handle(request_fd, json_length, answer)
            except Exception as exc:  # one bad request must not take the worker down
                answer.close()
                answer = Answer(request_id)
                answer.json["error"] = f"{type(exc).__name__}: {exc}"
            finally:
                os.close(request_fd)
            try:
                answer.send(proto_out)
            finally:
                answer.close()

    def handle(self, request_fd, json_length, answer):
        """Carries out one request. Its JSON holds only what the zygote needs (commands, limits,
        offsets); the files, stdin and tests are blobs that go from the request's memory file to
        their places in the kernel, and outputs come back the same way."""
        request = json.loads(os.pread(request_fd, json_length, 0))
        base = json_length  # blob offsets count from the end of the JSON
        box = Box(self.config, request.get("boxMb", 256))
        try:
            for entry in request.get("files", []):
                box.copy_in(entry["name"], request_fd, base + entry["offset"], entry["length"])
            results, used = [], 0
            budget = request.get("outputBudget", 1 << 62)
            for step in request["steps"]:
                for key in ("harness", "stdin"):
                    if step.get(key):
                        step[key] = dict(step[key], offset=base + step[key]["offset"])
                result = self.run_step(box, step, request_fd, budget - used, answer)
                used += result["stdoutBytes"] + result["stderrBytes"]
                results.append(result)
                if step.get("stopUnlessOk") and not _ok(result):
                    break
                if result.get("pyError") == "syntax" and request.get("stopOnSyntaxError"):
                    break
                if result.get("outputExceeded"):
                    break
            answer.json["steps"] = results
            if request.get("fetch"):
                answer.json["files"] = _fetch(box.path, request["fetch"], answer)
        finally:
            box.remove()

    def run_step(self, box, step, request_fd, budget, answer):
        limits = step["limits"]
        tmp = os.path.join(box.path, "tmp")
        fill = lambda text: text.replace("{box}", box.path).replace("{tmp}", tmp)  # noqa: E731
        env = {key: fill(value) for key, value in step.get("env", {}).items()}
        env.update(HOME=box.path, TMPDIR=tmp)
        step = dict(step, cwd=box.path, env=env)
        if step.get("argv"):
            step["argv"] = [fill(arg) for arg in step["argv"]]
        self.cgroups.apply(limits)
        oom_before = self.cgroups.oom_kills()
        output_limit = max(0, min(limits["outputBytes"], budget))
        python = bool(step.get("python"))
        harness = python and bool(step.get("harness"))
        fds = {"stdin": _stdin_fd(request_fd, step.get("stdin")), "request": request_fd}
        fds["stdout_r"], fds["stdout"] = _output_file("stdout")
        fds["stderr_r"], fds["stderr"] = _output_file("stderr")
        fds["pre_r"], fds["pre"] = os.pipe2(os.O_CLOEXEC)
        fds["post_r"], fds["post"] = os.pipe2(os.O_CLOEXEC) if python else (None, None)
        fds["token"], token_w = os.pipe2(os.O_CLOEXEC) if harness else (None, None)
        fds["status_r"], fds["status"] = os.pipe2(os.O_CLOEXEC) if not python else (None, None)
        for name in ("pre_r", "post_r", "status_r"):
            if fds[name] is not None:
                os.set_blocking(fds[name], False)
        started = time.monotonic()
        pid = self._fork_into_namespace()
        if pid == 0:
            _step_init(self.config, step, limits, fds, self.seccomp)
        for name in ("stdin", "stdout", "stderr", "pre", "post", "token", "status"):
            if fds[name] is not None:
                os.close(fds[name])
        token = None
        if token_w is not None:
            # Made after the fork: P's memory never held it before P reads it.
            token = os.urandom(16).hex()
            try:
                os.write(token_w, token.encode())
            except BrokenPipeError:  # P is gone already, or closed it: no token for anyone
                pass
            os.close(token_w)
        watch = _watch(pid, fds, limits, output_limit, started, self.pidns is not None)
        pre = _read_all(fds["pre_r"], 65536).decode("utf-8", "replace")
        post = _read_all(fds["post_r"], 65536) if python else b""
        status = None if python else _read_all(fds["status_r"], 65536).decode("utf-8", "replace")
        for name in ("pre_r", "post_r", "status_r"):
            if fds[name] is not None:
                os.close(fds[name])
        result = _describe(pre, post.decode("utf-8", "replace"), status, watch)
        ends = [line[4:] for line in post.decode("ascii", "replace").splitlines()
                if line.startswith("end ")]
        result["ended"] = (token is not None and token in ends) if harness else None
        if result["ended"] is not None and result["pyError"] == "syntax":
            result["ended"] = None
        result["oomKilled"] = self.cgroups.oom_kills() > oom_before
        for name in ("stdout", "stderr"):
            fd = fds[f"{name}_r"]
            length = min(os.fstat(fd).st_size, output_limit)
            answer.add_blob(fd, length)
            result[f"{name}Bytes"] = length
        return result


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


def _copy_request(fd, length):
    """Moves exactly `length` bytes from the pipe into a new memory file in the kernel
    (splice), then seals it: nobody, the program included, can change the tests it holds."""
    target = os.memfd_create("request", os.MFD_ALLOW_SEALING)
    while length > 0:
        moved = os.splice(fd, target, length)
        if moved == 0:
            raise EOFError("the request ended early")
        length -= moved
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


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


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
    ready = Answer(0)
    ready.json = {
        "ready": True,
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "pid": os.getpid(),
        "seccomp": zygote.seccomp is not None,
    }
    ready.send(proto_out)
    zygote.serve(proto_in, proto_out)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
