/*
 * A fork server inside a program of the gcc driver (cc1 or cc1plus, or as), loaded with LD_PRELOAD
 * by ccserver.c: the program starts once, and each job is compiled (or assembled) by a fork of it
 * stopped where it is about to read its input, after everything a fresh process does first.
 *
 * The compiler (PPOCODER_HOOK=compiler) starts on a stub that includes PPOCODER_PREFIX. By then it
 * has loaded and relocated itself, handled its options and set up the target and the builtins;
 * this hook also initializes its back end (see warm_backend). Its `open()` of the prefix is where
 * it stops first, as the base: each request on fd 3 (a datagram socket) names a stub folder and
 * brings two descriptors, and the base forks a warm compiler for that stub, which reads the stub
 * folder's prefix.h (the leading includes of the stub's sources, then `#include` of PPOCODER_BODY)
 * on those descriptors as its fd 3 and 4. Its `open()` of the body is where it stops next: for each
 * job folder read from fd 3 it forks, and the child reads the job's PPOCODER_BODY_FILE as the body.
 * So the headers a stub names are compiled once per stub, and the compiler's start-up once per
 * worker. (A compiler may also start on a prefix itself, PPOCODER_START=body: C++'s precompiled
 * headers load only as the main file's first include.) The assembler (PPOCODER_HOOK=assembler) stops at its `fopen()` of its input, with its
 * output open; each child opens the input as is, in the job's folder.
 *
 * A job's parent waits for the child and writes its exit status to fd 4 (128 + signal if one
 * killed it). The child runs under the plain compiler's limits (CPU seconds, address space, file
 * size, set here as `ulimit` sets them), writes its messages to the job's `diag.txt` (the
 * assembler appends) and its output to a file of its own, PPOCODER_CHILD_OUTPUT (the program's
 * own output file, PPOCODER_OUTPUT, was opened before the stop and is shared with the parent: the
 * child starts from a copy of what it holds).
 *
 * Environment: PPOCODER_HOOK, PPOCODER_START, PPOCODER_PREFIX (the name the base stub includes), PPOCODER_BODY
 * (for the compiler, the name a prefix includes last; for the assembler, its input),
 * PPOCODER_BODY_FILE (the compiler's body in a job folder), PPOCODER_OUTPUT,
 * PPOCODER_CHILD_OUTPUT, PPOCODER_CPU_SECONDS, PPOCODER_AS_BYTES, PPOCODER_FSIZE_BYTES.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define REQUEST_FD 3
#define ANSWER_FD 4
/* The exit code of a child that failed before compiling: ccserver then compiles the job itself. */
#define HOOK_FAILED 125

typedef int (*open_fn)(const char *, int, ...);
typedef FILE *(*fopen_fn)(const char *, const char *);

/* Set while serving (in a server, and in its children): the hooks then do nothing. */
static int serving;
/*
 * For the compiler: whether this process is a stub's warm compiler, which waits for the body (1)
 * or the base, which waits for the prefix (0); -1 until read from PPOCODER_START ("body" for a
 * compiler started on a prefix itself).
 */
static int stub_stage = -1;

static const char *env_or_die(const char *name) {
  const char *value = getenv(name);
  if (value == NULL) {
    dprintf(2, "forkhook: %s is not set\n", name);
    _exit(HOOK_FAILED);
  }
  return value;
}

static unsigned long long env_number(const char *name) {
  return strtoull(env_or_die(name), NULL, 10);
}

static int is_mode(const char *mode) {
  const char *hook = getenv("PPOCODER_HOOK");
  return hook != NULL && strcmp(hook, mode) == 0;
}

/* Whether the last component of `path` is the value of `variable`. */
static int names(const char *path, const char *variable) {
  const char *name = getenv(variable);
  if (name == NULL) return 0;
  const char *slash = strrchr(path, '/');
  return strcmp(slash == NULL ? path : slash + 1, name) == 0;
}

/* Whether the assembler's `path` is its input (PPOCODER_BODY). */
static int is_input(const char *path) {
  const char *input = getenv("PPOCODER_BODY");
  return input != NULL && is_mode("assembler") && strcmp(path, input) == 0;
}

/* The descriptor of the program's output (PPOCODER_OUTPUT), opened before it stopped. */
static int output_descriptor(void) {
  const char *target = env_or_die("PPOCODER_OUTPUT");
  char link[64], resolved[PATH_MAX];
  for (int fd = 0; fd < 1024; fd++) {
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, resolved, sizeof resolved - 1);
    if (n < 0) continue;
    resolved[n] = '\0';
    if (strcmp(resolved, target) == 0) return fd;
  }
  dprintf(2, "forkhook: the program has no descriptor open on %s\n", target);
  _exit(HOOK_FAILED);
}

static void set_limit(int resource, rlim_t soft, rlim_t hard) {
  struct rlimit limit = {soft, hard};
  if (setrlimit(resource, &limit) != 0) _exit(HOOK_FAILED);
}

/* The child's limits: those `ulimit -S -t N -H -t N+1 -v AS -f FSIZE` gives the plain compiler. */
static void apply_limits(void) {
  rlim_t cpu = env_number("PPOCODER_CPU_SECONDS");
  set_limit(RLIMIT_CPU, cpu, cpu + 1);
  rlim_t as = env_number("PPOCODER_AS_BYTES");
  set_limit(RLIMIT_AS, as, as);
  rlim_t fsize = env_number("PPOCODER_FSIZE_BYTES");
  set_limit(RLIMIT_FSIZE, fsize, fsize);
}

/* Gives the child its own output file, starting with what the program wrote before it stopped. */
static void redirect_output(int output_fd) {
  int out = open(env_or_die("PPOCODER_CHILD_OUTPUT"), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (out < 0) _exit(HOOK_FAILED);
  char buffer[65536];
  off_t offset = 0;
  ssize_t n;
  while ((n = pread(output_fd, buffer, sizeof buffer, offset)) > 0) {
    if (write(out, buffer, (size_t)n) != n) _exit(HOOK_FAILED);
    offset += n;
  }
  if (dup2(out, output_fd) < 0) _exit(HOOK_FAILED);
  close(out);
}

/* Standard input from /dev/null, output and errors to the job's diagnostics file. */
static void redirect_standard(const char *job) {
  char path[PATH_MAX];
  if (snprintf(path, sizeof path, "%s/diag.txt", job) >= (int)sizeof path) _exit(HOOK_FAILED);
  int mode = is_mode("assembler") ? O_APPEND : O_TRUNC;
  int diag = open(path, O_WRONLY | O_CREAT | mode, 0600);
  int null = open("/dev/null", O_RDONLY);
  if (diag < 0 || null < 0) _exit(HOOK_FAILED);
  dup2(null, 0);
  dup2(diag, 1);
  dup2(diag, 2);
  close(diag);
  close(null);
}

/*
 * Initializes the compiler's back end now rather than in every child: cc1 does it once, before it
 * expands its first function (`initialize_rtl`, exported for plugins), from the target and the
 * options alone, never from the program.
 */
static void warm_backend(void) {
  void (*initialize_rtl)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "_Z14initialize_rtlv");
  if (initialize_rtl != NULL) initialize_rtl();
}

/*
 * Makes fork() copy the page tables of the program's file mappings (its code, its libraries')
 * instead of leaving every child to fault in the code it runs again (thousands of faults per
 * child): the kernel copies them only for a mapping with private pages, so each read-only private
 * mapping gets one, by rewriting a byte it already holds.
 */
static void share_page_tables(void) {
  FILE *maps = fopen("/proc/self/maps", "r");
  if (maps == NULL) return;
  char line[PATH_MAX + 128];
  while (fgets(line, sizeof line, maps) != NULL) {
    unsigned long start, end;
    char perms[5];
    int path_at = 0;
    if (sscanf(line, "%lx-%lx %4s %*s %*s %*s %n", &start, &end, perms, &path_at) < 3) continue;
    char *path = line + path_at;
    path[strcspn(path, "\n")] = '\0';
    if (path[0] != '/' || perms[3] != 'p' || perms[1] == 'w') continue;
    int prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[2] == 'x' ? PROT_EXEC : 0);
    if (mprotect((void *)start, end - start, prot | PROT_WRITE) != 0) continue;
    volatile unsigned char *byte = (volatile unsigned char *)start;
    *byte = *byte;
    mprotect((void *)start, end - start, prot);
  }
  fclose(maps);
}

/* Reads one request line (a job folder) from fd 3; returns 0 at end of input. */
static int read_request(char *line, size_t size) {
  size_t used = 0;
  while (used + 1 < size) {
    ssize_t n = read(REQUEST_FD, line + used, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 0;
    if (line[used] == '\n') break;
    used++;
  }
  line[used] = '\0';
  return 1;
}

static void answer(const char *job, int status) {
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (WIFSIGNALED(status) && (WTERMSIG(status) == SIGXCPU || WTERMSIG(status) == SIGKILL)) {
    /* How the driver reports it, so that the verdict is a timeout as for the plain compiler. */
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%.4000s/diag.txt", job);
    int diag = open(path, O_WRONLY | O_APPEND);
    if (diag >= 0) {
      dprintf(diag, "compiler terminated: CPU time limit exceeded (signal %d)\n", WTERMSIG(status));
      close(diag);
    }
  }
  dprintf(ANSWER_FD, "%d\n", code);
}

/*
 * Registered last in a child, so run first when the program exits: flushes the standard streams
 * and ends the process, skipping the rest of the program's exit handlers and library teardown
 * (the program's own output is closed by then; its exit code is kept).
 */
static void exit_now(int status, void *unused) {
  (void)unused;
  fflush(NULL);
  _exit(status);
}

/* Reaps the warm compilers that ended (the base does not wait for them). */
static void reap(void) {
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

/*
 * Reads one base request: a stub folder, with the descriptors of its warm compiler's requests and
 * answers. Returns 0 at end of input.
 */
static int read_spawn(char *folder, size_t size, int fds[2]) {
  char control[CMSG_SPACE(2 * sizeof(int))];
  struct iovec data = {folder, size - 1};
  struct msghdr message = {.msg_iov = &data, .msg_iovlen = 1};
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  ssize_t n;
  while ((n = recvmsg(REQUEST_FD, &message, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {
  }
  if (n <= 0) return 0;
  folder[n] = '\0';
  folder[strcspn(folder, "\n")] = '\0';
  struct cmsghdr *header = CMSG_FIRSTHDR(&message);
  fds[0] = fds[1] = -1;
  if (header != NULL && header->cmsg_type == SCM_RIGHTS &&
      header->cmsg_len == CMSG_LEN(2 * sizeof(int))) {
    memcpy(fds, CMSG_DATA(header), 2 * sizeof(int));
  }
  return 1;
}

/*
 * The base: forks a warm compiler per request until fd 3 ends. Returns only in such a child, with
 * the descriptor of its stub folder's prefix.h, opened with `flags`.
 */
static int serve_base(open_fn real_open, int flags) {
  serving = 1;
  warm_backend();
  share_page_tables();
  signal(SIGPIPE, SIG_IGN);
  dprintf(ANSWER_FD, "ready\n");
  char folder[PATH_MAX];
  int fds[2];
  while (read_spawn(folder, sizeof folder, fds)) {
    reap();
    pid_t pid = fds[0] < 0 ? -1 : fork();
    if (pid == 0) {
      if (dup2(fds[0], REQUEST_FD) < 0 || dup2(fds[1], ANSWER_FD) < 0) _exit(HOOK_FAILED);
      close(fds[0]);
      close(fds[1]);
      signal(SIGPIPE, SIG_DFL);
      serving = 0;
      stub_stage = 1;
      char prefix[PATH_MAX];
      snprintf(prefix, sizeof prefix, "%.4000s/prefix.h", folder);
      return real_open(prefix, flags);
    }
    if (fds[0] >= 0) close(fds[0]);
    if (fds[1] >= 0) close(fds[1]);
    dprintf(ANSWER_FD, pid < 0 ? "spawn-failed\n" : "spawned %d\n", (int)pid);
  }
  _exit(0);
}

/*
 * Serves jobs until fd 3 ends. Returns only in a child, in its job's folder, set up to read its
 * input.
 */
static void serve_jobs(void) {
  serving = 1;
  if (is_mode("assembler")) {
    warm_backend();
    share_page_tables();
  }
  int output_fd = output_descriptor();
  signal(SIGPIPE, SIG_IGN);
  dprintf(ANSWER_FD, "ready\n");
  char job[PATH_MAX];
  while (read_request(job, sizeof job)) {
    pid_t pid = fork();
    if (pid < 0) {
      dprintf(ANSWER_FD, "fork-failed\n");
      continue;
    }
    if (pid == 0) {
      signal(SIGPIPE, SIG_DFL);
      close(REQUEST_FD);
      close(ANSWER_FD);
      if (chdir(job) != 0) _exit(HOOK_FAILED);
      redirect_standard(job);
      redirect_output(output_fd);
      apply_limits();
      on_exit(exit_now, NULL);
      return;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {
      if (errno != EINTR) _exit(HOOK_FAILED);
    }
    answer(job, status);
  }
  _exit(0);
}

int open(const char *path, int flags, ...) {
  static open_fn real_open;
  if (real_open == NULL) real_open = (open_fn)dlsym(RTLD_NEXT, "open");
  mode_t mode = 0;
  if (flags & (O_CREAT | O_TMPFILE)) {
    va_list args;
    va_start(args, flags);
    mode = va_arg(args, mode_t);
    va_end(args);
  }
  if (!serving && is_mode("compiler")) {
    if (stub_stage < 0) {
      const char *start = getenv("PPOCODER_START");
      stub_stage = start != NULL && strcmp(start, "body") == 0;
    }
    if (!stub_stage && names(path, "PPOCODER_PREFIX")) return serve_base(real_open, flags);
    if (stub_stage && names(path, "PPOCODER_BODY")) {
      serve_jobs();
      return real_open(env_or_die("PPOCODER_BODY_FILE"), flags);
    }
  }
  return real_open(path, flags, mode);
}

FILE *fopen(const char *path, const char *mode) {
  static fopen_fn real_fopen;
  if (real_fopen == NULL) real_fopen = (fopen_fn)dlsym(RTLD_NEXT, "fopen");
  if (!serving && is_input(path)) serve_jobs();
  return real_fopen(path, mode);
}
