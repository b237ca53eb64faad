/*
 * The C and C++ compile worker: one per sandbox, answering one line per job on stdout.
 *
 *   C <id>        compiles /box/jobs/<id>/<source> as the gcc driver would: the compiler proper
 *                 (cc1 or cc1plus), then, if it exits 0, the assembler
 *   F <id> <key>  the same through the warm compiler of stub <key> (forkhook.c), which has
 *                 compiled /box/stubs/<key>/prefix.h (the source's leading includes, then
 *                 `#include "<source>"`) up to that last line: it reads the job's body.c there
 *                 (the source with those includes blanked out, so lines keep their numbers), and
 *                 a warm assembler then assembles what it wrote
 *
 * and answers `<id> <exit code> <warm|plain>`: the exit code of the last program run (128 +
 * signal when one killed it) and the path that compiled it. Diagnostics go to the job's
 * diag.txt; its assembly and object files are removed once it is answered, and a warm program's
 * files in /tmp when it is stopped. Every compiler and assembler runs under the limits
 * `ulimit -S -t CPU -H -t CPU+1 -v AS -f FSIZE` gives the plain compiler.
 *
 * The compiler starts once, as the base, stopped before any header; a stub's warm compiler is
 * forked from it the first time one of the stub's jobs comes, and kept (the least recently used
 * one is stopped when there are --servers of them). A stub whose compiler does not reach its body
 * (it cannot compile the stub's own headers), or a warm program that dies, leaves its job to the
 * plain path above, so every answer is a compiler's own verdict.
 *
 * A precompiled header is used only as the main file's first include, so a stub whose first
 * include has one in --pch starts its own compiler on its prefix.h instead.
 *
 * Usage: ccserver --cpu S --as BYTES --fsize BYTES --hook SO --servers N --source NAME [--pch DIR]
 *                 -- COMPILER ARGS... -- ASSEMBLER ARGS...
 * where the compiler's argument @SOURCE@ is the input file and /tmp/main.s its -o file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_SERVERS 64
#define MAX_ARGS 256
#define ASM_FILE "/tmp/main.s"
#define SOURCE_MARK "@SOURCE@"
/* The job's file a warm compiler reads as its stub's last include (the source, its leading
 * includes blanked out: the stub has them). */
#define BODY_FILE "body.c"
/* forkhook.c's exit code for a child that failed before compiling. */
#define HOOK_FAILED 125
/* The base compiler's stub, and the name it includes (a stub folder's prefix.h, in its forks). */
#define BASE_DIR "/tmp/ppocoder-base"
#define PREFIX_NAME "ppocoder-prefix.h"
/* Starts of a warm program that may fail before its kind is given up for this worker. */
#define MAX_FAILURES 3

struct server {
  char key[128];
  pid_t pid;
  int request;
  int answer;
  unsigned long used;
  /* Whether ccserver started it (and waits for it); the base's forks are the base's children. */
  int ours;
};

struct config {
  rlim_t cpu, as, fsize;
  const char *hook;
  const char *source;
  /* Folder of precompiled headers (<name>.gch), when the compiler is given one. */
  const char *pch;
  int servers;
  char **compiler;
  char **assembler;
};

static struct config config;
static struct server servers[MAX_SERVERS];
static int server_count;
static unsigned long clock_tick;
/* The base compiler and the warm assembler (pid 0 when not running), and their failures. */
static struct server base, assembler;
static int base_failures, assembler_failures;
/* Stubs whose compiler never reached its body: their jobs take the plain path. */
static char broken[MAX_SERVERS][128];
static int broken_count;

static void die(const char *message) {
  fprintf(stderr, "ccserver: %s\n", message);
  exit(2);
}

static void set_limit(int resource, rlim_t soft, rlim_t hard) {
  struct rlimit limit = {soft, hard};
  if (setrlimit(resource, &limit) != 0) _exit(71);
}

static void apply_limits(void) {
  set_limit(RLIMIT_CPU, config.cpu, config.cpu + 1);
  set_limit(RLIMIT_AS, config.as, config.as);
  set_limit(RLIMIT_FSIZE, config.fsize, config.fsize);
}

/* Exit status as a shell reports it: the code, or 128 + the signal that killed it. */
static int shell_status(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int wait_for(pid_t pid) {
  int status;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return 255 << 8;
  }
  return status;
}

/* Runs argv (in the job's folder, with its limits and descriptors) and returns its raw status. */
static int run(char **argv) {
  pid_t pid = fork();
  if (pid < 0) return 255 << 8;
  if (pid == 0) {
    execvp(argv[0], argv);
    fprintf(stderr, "ccserver: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  return wait_for(pid);
}

/* Says, as bash does for its jobs, that a program was killed for its CPU time. */
static void report_signal(const char *program, int status) {
  if (!WIFSIGNALED(status)) return;
  int signal = WTERMSIG(status);
  if (signal == SIGXCPU || signal == SIGKILL) {
    fprintf(stderr, "%s: CPU time limit exceeded (signal %d)\n", program, signal);
  } else {
    fprintf(stderr, "%s: terminated by signal %d\n", program, signal);
  }
}

static char **compiler_argv(const char *input, const char *asm_file) {
  static char *argv[MAX_ARGS];
  int i = 0;
  for (; config.compiler[i] != NULL && i < MAX_ARGS - 1; i++) {
    const char *word = config.compiler[i];
    if (strcmp(word, SOURCE_MARK) == 0) word = input;
    else if (strcmp(word, ASM_FILE) == 0) word = asm_file;
    argv[i] = (char *)word;
  }
  argv[i] = NULL;
  return argv;
}

/*
 * In a child about to run a job's programs: its folder, its limits, no input, and its
 * diagnostics file (truncated, or appended to) as output.
 */
static void redirect(const char *job, int mode) {
  char diag[PATH_MAX];
  snprintf(diag, sizeof diag, "%.4000s/diag.txt", job);
  int out = open(diag, O_WRONLY | O_CREAT | mode, 0600);
  int null = open("/dev/null", O_RDONLY);
  if (chdir(job) != 0 || out < 0 || null < 0) _exit(74);
  dup2(null, 0);
  dup2(out, 1);
  dup2(out, 2);
  close(out);
  close(null);
  apply_limits();
}

/* The plain path of one job, in a child: compiler, then assembler; returns the exit code. */
static int compile_plain(const char *job) {
  pid_t pid = fork();
  if (pid < 0) return 255;
  if (pid == 0) {
    redirect(job, O_TRUNC);
    char **compiler = compiler_argv(config.source, ASM_FILE);
    int status = run(compiler);
    report_signal(compiler[0], status);
    if (shell_status(status) != 0) _exit(shell_status(status));
    status = run(config.assembler);
    report_signal(config.assembler[0], status);
    _exit(shell_status(status));
  }
  return shell_status(wait_for(pid));
}

static ssize_t read_line(int fd, char *line, size_t size) {
  size_t used = 0;
  while (used + 1 < size) {
    ssize_t n = read(fd, line + used, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    if (line[used] == '\n') break;
    used++;
  }
  line[used] = '\0';
  return (ssize_t)used;
}

/* Removes the files a warm program of `key` leaves in /tmp: its log and its own output. */
static void remove_server_files(const char *key) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "/tmp/server-%.200s.log", key);
  unlink(path);
  snprintf(path, sizeof path, "/tmp/stub-%.200s.s", key);
  unlink(path);
}

/* Stops a warm program; a stub compiler's slot is taken by the last one. */
static void stop_server(struct server *server) {
  close(server->request);
  close(server->answer);
  kill(server->pid, SIGKILL);
  if (server->ours) wait_for(server->pid);
  server->pid = 0;
  if (server >= servers && server < servers + server_count) {
    remove_server_files(server->key);
    *server = servers[--server_count];
  }
}

static int is_broken(const char *key) {
  for (int i = 0; i < broken_count; i++) {
    if (strcmp(broken[i], key) == 0) return 1;
  }
  return 0;
}

static void mark_broken(const char *key) {
  if (broken_count < MAX_SERVERS) snprintf(broken[broken_count++], sizeof broken[0], "%s", key);
}

/* Waits for a warm program's "ready"; stops it and returns -1 when it does not come. */
static int await_ready(struct server *server) {
  char line[64];
  if (read_line(server->answer, line, sizeof line) >= 0 && strcmp(line, "ready") == 0) return 0;
  stop_server(server);
  return -1;
}

/*
 * Starts `argv` in `dir` with forkhook.c preloaded and `env` ("NAME=value" strings) added, its
 * requests on a pipe (or a datagram socket, for the base) at its fd 3 and its answers on a pipe at
 * its fd 4, and waits for it to stop at its input; returns 0 once it is ready.
 */
static int start_hooked(struct server *server, const char *dir, char **argv, char **env, int socket) {
  int request[2], answer[2];
  int made = socket ? socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, request)
                    : pipe2(request, O_CLOEXEC);
  if (made != 0) return -1;
  if (pipe2(answer, O_CLOEXEC) != 0) {
    close(request[0]);
    close(request[1]);
    return -1;
  }
  char log[PATH_MAX];
  snprintf(log, sizeof log, "/tmp/server-%.200s.log", server->key);
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_RDONLY);
    int out = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (chdir(dir) != 0 || null < 0 || out < 0) _exit(74);
    dup2(null, 0);
    dup2(out, 1);
    dup2(out, 2);
    // Copies above 4 first: dup2() onto the same number would keep close-on-exec.
    int in = fcntl(request[0], F_DUPFD, 10), back = fcntl(answer[1], F_DUPFD, 10);
    if (in < 0 || back < 0 || dup2(in, 3) < 0 || dup2(back, 4) < 0) _exit(74);
    close(in);
    close(back);
    for (char **pair = env; *pair != NULL; pair++) putenv(*pair);
    setenv("LD_PRELOAD", config.hook, 1);
    execvp(argv[0], argv);
    _exit(127);
  }
  close(request[0]);
  close(answer[1]);
  server->pid = pid;
  server->request = request[1];
  server->answer = answer[0];
  server->ours = 1;
  if (pid < 0) {
    close(request[1]);
    close(answer[0]);
    server->pid = 0;
    return -1;
  }
  return await_ready(server);
}

/* "NAME=value" strings for a warm program's environment: the limits and `pairs`. */
static char **hook_env(const char *const *pairs) {
  static char storage[16][PATH_MAX];
  static char *env[17];
  int n = 0;
  snprintf(storage[n++], PATH_MAX, "PPOCODER_CPU_SECONDS=%llu", (unsigned long long)config.cpu);
  snprintf(storage[n++], PATH_MAX, "PPOCODER_AS_BYTES=%llu", (unsigned long long)config.as);
  snprintf(storage[n++], PATH_MAX, "PPOCODER_FSIZE_BYTES=%llu", (unsigned long long)config.fsize);
  for (; *pairs != NULL && n < 16; pairs += 2) {
    snprintf(storage[n++], PATH_MAX, "%s=%s", pairs[0], pairs[1]);
  }
  for (int i = 0; i < n; i++) env[i] = storage[i];
  env[n] = NULL;
  return env;
}

/* Starts the base compiler, stopped at its stub's include of the prefix; -1 when it cannot. */
static int start_base(void) {
  if (mkdir(BASE_DIR, 0700) != 0 && errno != EEXIST) return -1;
  FILE *stub = fopen(BASE_DIR "/stub.c", "w");
  if (stub == NULL) return -1;
  fprintf(stub, "#include \"%s\"\n", PREFIX_NAME);
  if (fclose(stub) != 0) return -1;
  const char *pairs[] = {
    "PPOCODER_HOOK", "compiler", "PPOCODER_PREFIX", PREFIX_NAME, "PPOCODER_BODY", config.source,
    "PPOCODER_BODY_FILE", BODY_FILE, "PPOCODER_OUTPUT", "/tmp/base.s", "PPOCODER_CHILD_OUTPUT",
    ASM_FILE, NULL,
  };
  snprintf(base.key, sizeof base.key, "base");
  return start_hooked(&base, BASE_DIR, compiler_argv("stub.c", "/tmp/base.s"), hook_env(pairs), 1);
}

/* Asks the base for a warm compiler of stub `key` on new pipes; returns 0 once it is ready. */
static int fork_from_base(struct server *server) {
  int request[2], answer[2];
  if (pipe2(request, O_CLOEXEC) != 0) return -1;
  if (pipe2(answer, O_CLOEXEC) != 0) {
    close(request[0]);
    close(request[1]);
    return -1;
  }
  char folder[PATH_MAX];
  int length = snprintf(folder, sizeof folder, "/box/stubs/%s", server->key);
  int fds[2] = {request[0], answer[1]};
  char control[CMSG_SPACE(sizeof fds)];
  memset(control, 0, sizeof control);
  struct iovec data = {folder, (size_t)length};
  struct msghdr message = {.msg_iov = &data, .msg_iovlen = 1};
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  struct cmsghdr *header = CMSG_FIRSTHDR(&message);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(sizeof fds);
  memcpy(CMSG_DATA(header), fds, sizeof fds);
  ssize_t sent = sendmsg(base.request, &message, MSG_NOSIGNAL);
  close(request[0]);
  close(answer[1]);
  char line[64];
  int pid = 0;
  if (sent < 0 || read_line(base.answer, line, sizeof line) < 0) {
    stop_server(&base);
    base_failures++;
  } else {
    sscanf(line, "spawned %d", &pid);
  }
  if (pid <= 0) {
    close(request[1]);
    close(answer[0]);
    return -1;
  }
  server->pid = pid;
  server->request = request[1];
  server->answer = answer[0];
  server->ours = 0;
  return await_ready(server);
}

/* Whether the first include of stub `key`'s prefix has a precompiled header. */
static int first_include_precompiled(const char *key) {
  if (config.pch == NULL) return 0;
  char path[PATH_MAX], line[512], header[256];
  snprintf(path, sizeof path, "/box/stubs/%s/prefix.h", key);
  FILE *prefix = fopen(path, "r");
  if (prefix == NULL) return 0;
  int found = fgets(line, sizeof line, prefix) != NULL &&
              sscanf(line, "#include <%255[^>]>", header) == 1;
  fclose(prefix);
  if (!found) return 0;
  snprintf(path, sizeof path, "%s/%s.gch", config.pch, header);
  return access(path, R_OK) == 0;
}

/* Starts a compiler on stub `key`'s prefix.h itself; returns 0 once it is ready. */
static int start_direct(struct server *server) {
  char dir[PATH_MAX], output[PATH_MAX];
  snprintf(dir, sizeof dir, "/box/stubs/%s", server->key);
  snprintf(output, sizeof output, "/tmp/stub-%s.s", server->key);
  const char *pairs[] = {
    "PPOCODER_HOOK", "compiler", "PPOCODER_START", "body", "PPOCODER_BODY", config.source,
    "PPOCODER_BODY_FILE", BODY_FILE, "PPOCODER_OUTPUT", output, "PPOCODER_CHILD_OUTPUT", ASM_FILE,
    NULL,
  };
  return start_hooked(server, dir, compiler_argv("prefix.h", output), hook_env(pairs), 0);
}

/*
 * Starts the warm compiler of stub `key`; NULL when it does not reach the stub's body. A base
 * found dead on the way is started again once.
 */
static struct server *start_compiler(const char *key) {
  int direct = first_include_precompiled(key);
  if (server_count == config.servers) {
    int oldest = 0;
    for (int i = 1; i < server_count; i++) {
      if (servers[i].used < servers[oldest].used) oldest = i;
    }
    stop_server(&servers[oldest]);
  }
  struct server *server = &servers[server_count];
  snprintf(server->key, sizeof server->key, "%s", key);
  for (int attempt = 0; attempt < 2; attempt++) {
    if (!direct && base.pid == 0 && base_failures < MAX_FAILURES && start_base() != 0) {
      base_failures++;
    }
    if (!direct && base.pid == 0) return NULL;
    if ((direct ? start_direct(server) : fork_from_base(server)) == 0) {
      server_count++;
      return server;
    }
    if (direct || base.pid != 0) break; // the stub's own fault, not the base's
  }
  mark_broken(key);
  return NULL;
}

static struct server *find_compiler(const char *key) {
  for (int i = 0; i < server_count; i++) {
    if (strcmp(servers[i].key, key) == 0) return &servers[i];
  }
  return is_broken(key) ? NULL : start_compiler(key);
}

/* One job through a warm program: its exit code, or -1 when it could not give one. */
static int ask(struct server *server, const char *job) {
  char line[64];
  if (dprintf(server->request, "%s\n", job) < 0 || read_line(server->answer, line, sizeof line) < 0) {
    stop_server(server);
    return -1;
  }
  char *end;
  long code = strtol(line, &end, 10);
  return end == line || *end != '\0' || code == HOOK_FAILED ? -1 : (int)code;
}

/* The assembler's -o file. */
static const char *object_file(void) {
  for (char **word = config.assembler; *word != NULL; word++) {
    if (strcmp(*word, "-o") == 0 && word[1] != NULL) return word[1];
  }
  die("the assembler is given no -o file");
  return NULL;
}

/* The assembler on the job's /tmp/main.s, warm when it can be. */
static int assemble(const char *job) {
  if (assembler.pid == 0 && assembler_failures < MAX_FAILURES) {
    static char *argv[MAX_ARGS];
    const char *object = object_file();
    int i = 0;
    for (; config.assembler[i] != NULL && i < MAX_ARGS - 1; i++) {
      argv[i] = strcmp(config.assembler[i], object) == 0 ? "/tmp/warm-assembler.o"
                                                         : config.assembler[i];
    }
    argv[i] = NULL;
    const char *pairs[] = {
      "PPOCODER_HOOK", "assembler", "PPOCODER_BODY", ASM_FILE, "PPOCODER_OUTPUT",
      "/tmp/warm-assembler.o", "PPOCODER_CHILD_OUTPUT", object, NULL,
    };
    snprintf(assembler.key, sizeof assembler.key, "assembler");
    if (start_hooked(&assembler, "/tmp", argv, hook_env(pairs), 0) != 0) assembler_failures++;
  }
  if (assembler.pid != 0) {
    int code = ask(&assembler, job);
    if (code >= 0) return code;
    assembler_failures++;
  }
  pid_t pid = fork();
  if (pid < 0) return 255;
  if (pid == 0) {
    redirect(job, O_APPEND);
    int status = run(config.assembler);
    report_signal(config.assembler[0], status);
    _exit(shell_status(status));
  }
  return shell_status(wait_for(pid));
}

/* One job through the warm compiler of its stub, then the assembler; -1 when no verdict. */
static int compile_warm(const char *job, const char *key) {
  struct server *server = find_compiler(key);
  if (server == NULL) return -1;
  server->used = ++clock_tick;
  int code = ask(server, job);
  return code == 0 ? assemble(job) : code;
}

static int valid_key(const char *key) {
  size_t n = strlen(key);
  if (n == 0 || n >= sizeof servers[0].key) return 0;
  return strspn(key, "0123456789abcdef") == n;
}

static void parse_arguments(int argc, char **argv) {
  int i = 1;
  config.servers = 8;
  for (; i < argc && strcmp(argv[i], "--") != 0; i += 2) {
    if (i + 1 >= argc) die("an option lacks its value");
    const char *name = argv[i], *value = argv[i + 1];
    if (strcmp(name, "--cpu") == 0) config.cpu = strtoull(value, NULL, 10);
    else if (strcmp(name, "--as") == 0) config.as = strtoull(value, NULL, 10);
    else if (strcmp(name, "--fsize") == 0) config.fsize = strtoull(value, NULL, 10);
    else if (strcmp(name, "--hook") == 0) config.hook = value;
    else if (strcmp(name, "--servers") == 0) config.servers = atoi(value);
    else if (strcmp(name, "--source") == 0) config.source = value;
    else if (strcmp(name, "--pch") == 0) config.pch = value;
    else die("unknown option");
  }
  if (config.servers < 1 || config.servers > MAX_SERVERS) die("--servers must be 1 to 64");
  if (config.hook == NULL || config.source == NULL || config.cpu == 0) die("missing options");
  if (i >= argc) die("no compiler command");
  config.compiler = &argv[i + 1];
  int j = i + 1;
  while (j < argc && strcmp(argv[j], "--") != 0) j++;
  if (j >= argc - 1) die("no assembler command");
  argv[j] = NULL;
  config.assembler = &argv[j + 1];
}

int main(int argc, char **argv) {
  parse_arguments(argc, argv);
  const char *object = object_file();
  signal(SIGPIPE, SIG_IGN);
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("ready\n");
  char line[512];
  while (fgets(line, sizeof line, stdin) != NULL) {
    char op[4], id[128], key[128] = "";
    int fields = sscanf(line, "%3s %127s %127s", op, id, key);
    if (fields < 2 || strspn(id, "0123456789") != strlen(id)) continue;
    char job[PATH_MAX];
    snprintf(job, sizeof job, "/box/jobs/%s", id);
    int code = -1;
    if (strcmp(op, "F") == 0 && fields == 3 && valid_key(key)) code = compile_warm(job, key);
    const char *path = code < 0 ? "plain" : "warm";
    if (code < 0) code = compile_plain(job);
    /* A job's outputs end with it: they would pile up in the sandbox's memory otherwise. */
    unlink(ASM_FILE);
    unlink(object);
    printf("%s %d %s\n", id, code, path);
  }
  while (server_count > 0) stop_server(&servers[0]);
  if (base.pid != 0) stop_server(&base);
  if (assembler.pid != 0) stop_server(&assembler);
  return 0;
}
