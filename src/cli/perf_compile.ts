/**
 * `deno task perf:compile`: files per second of the compile checker (sandbox/compile) against the
 * naive loop (the plain compiler, one sandboxed process per file) on the same files in one run,
 * per language, and whether every verdict is the same (the disagreements are listed).
 *
 * Java and C#: CodeXGLUE code-to-code-trans test functions, each wrapped into a compilation unit
 * (most do not compile, as they use library types: what matters is identical verdicts and speed).
 * C and C++: a generated set of small programs in the style of XLCoST's (GeeksforGeeks), with
 * deliberate errors and warnings in some.
 *
 * The service is measured cold: a new checker with its cache off, worker start-up included (the
 * one-time build of the compile servers and PCHs is not). The service and the naive loop take
 * turns chunk by chunk, so that both see the same load when the machine is shared. Then the same
 * files again with the cache on show a cache hit's cost.
 *
 * Usage: `deno task perf:compile --help`.
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  COMPILE_LANGUAGES,
  type CompileLanguage,
  type CompileLimits,
  type CompileVerdict,
  createCompileChecker,
  plainCheck,
} from "../../sandbox/compile/mod.ts";
import {
  choice,
  type CommandSpec,
  existingPath,
  integer,
  list,
  type Parsed,
  runCommand,
} from "./_args.ts";

const JAVA_PRELUDE = "import java.util.*;\nimport java.io.*;\n\npublic class Main {\n";
const CSHARP_PRELUDE = "using System;\nusing System.Collections.Generic;\nusing System.IO;\n" +
  "using System.Linq;\nusing System.Text;\n\npublic class Program {\n";

/** One language's measurement. */
export interface LanguagePerf {
  readonly language: CompileLanguage;
  readonly files: number;
  readonly compiled: number;
  readonly serviceMs: number;
  readonly naiveMs: number;
  readonly cachedMs: number;
  readonly speedup: number;
  readonly disagreements: readonly { index: number; service: string; naive: string }[];
  readonly via: Readonly<Record<string, number>>;
}

/** CodeXGLUE test functions of `language` (java or csharp), each wrapped into a compilation unit. */
export async function codexglueFiles(
  dir: string,
  language: "java" | "csharp",
  count: number,
): Promise<string[]> {
  const file = join(dir, `test.java-cs.txt.${language === "java" ? "java" : "cs"}`);
  const text = await Deno.readTextFile(file).catch((error) => {
    throw new Error(
      `Cannot read the CodeXGLUE test split as "${file}" cannot be read: pass --data DIR (${error.message})`,
    );
  });
  const prelude = language === "java" ? JAVA_PRELUDE : CSHARP_PRELUDE;
  return text.split("\n").filter((line) => line.trim() !== "").slice(0, count)
    .map((method) => `${prelude}${method}\n}\n`);
}

// deno-fmt-ignore
const C_PROGRAMS: readonly string[] = [
  `#include <stdio.h>\n\nint gcd_S(int a, int b) {\n  if (b == 0) return a;\n  return gcd_S(b, a % b);\n}\n\nint main() {\n  int a = K, b = 18;\n  printf("GCD of %d and %d is %d\\n", a, b, gcd_S(a, b));\n  MUT\n  return 0;\n}\n`,
  `#include <stdio.h>\n#include <string.h>\n#include <stdbool.h>\n\nvoid sieve_S(int n) {\n  bool prime[n + 1];\n  memset(prime, true, sizeof(prime));\n  for (int p = 2; p * p <= n; p++)\n    if (prime[p])\n      for (int i = p * p; i <= n; i += p) prime[i] = false;\n  for (int p = 2; p <= n; p++)\n    if (prime[p]) printf("%d ", p);\n}\n\nint main() {\n  int n = K;\n  MUT\n  sieve_S(n);\n  return 0;\n}\n`,
  `#include <stdio.h>\n\nint search_S(int arr[], int l, int r, int x) {\n  while (l <= r) {\n    int m = l + (r - l) / 2;\n    if (arr[m] == x) return m;\n    if (arr[m] < x) l = m + 1;\n    else r = m - 1;\n  }\n  return -1;\n}\n\nint main(void) {\n  int arr[] = { 2, 3, 4, 10, 40 };\n  int n = sizeof(arr) / sizeof(arr[0]);\n  int x = K;\n  MUT\n  int result = search_S(arr, 0, n - 1, x);\n  (result == -1) ? printf("Element is not present in array") : printf("Element is present at index %d", result);\n  return 0;\n}\n`,
  `#include <stdio.h>\n\nvoid swap_S(int* xp, int* yp) {\n  int temp = *xp;\n  *xp = *yp;\n  *yp = temp;\n}\n\nvoid sort_S(int arr[], int n) {\n  for (int i = 0; i < n - 1; i++)\n    for (int j = 0; j < n - i - 1; j++)\n      if (arr[j] > arr[j + 1]) swap_S(&arr[j], &arr[j + 1]);\n}\n\nint main() {\n  int arr[] = { 64, 34, 25, 12, 22, 11, K };\n  int n = sizeof(arr) / sizeof(arr[0]);\n  sort_S(arr, n);\n  MUT\n  for (int i = 0; i < n; i++) printf("%d ", arr[i]);\n  return 0;\n}\n`,
  `#include <stdio.h>\n#include <stdlib.h>\n\nstruct Node_S {\n  int data;\n  struct Node_S* next;\n};\n\nvoid push_S(struct Node_S** head, int data) {\n  struct Node_S* node = (struct Node_S*)malloc(sizeof(struct Node_S));\n  node->data = data;\n  node->next = *head;\n  *head = node;\n}\n\nint main() {\n  struct Node_S* head = NULL;\n  for (int i = 0; i < K; i++) push_S(&head, i);\n  MUT\n  for (struct Node_S* p = head; p != NULL; p = p->next) printf("%d ", p->data);\n  return 0;\n}\n`,
  `#include <stdio.h>\n#include <math.h>\n\nstruct Point_S { double x, y; };\n\ndouble dist_S(struct Point_S a, struct Point_S b) {\n  return sqrt((a.x - b.x) * (a.x - b.x) + (a.y - b.y) * (a.y - b.y));\n}\n\nint main() {\n  struct Point_S a = { 0, 0 }, b = { 3, K };\n  MUT\n  printf("%.2f\\n", dist_S(a, b));\n  return 0;\n}\n`,
  `#include <stdio.h>\n\n#define N 3\n\nvoid multiply_S(int a[][N], int b[][N], int res[][N]) {\n  for (int i = 0; i < N; i++)\n    for (int j = 0; j < N; j++) {\n      res[i][j] = 0;\n      for (int k = 0; k < N; k++) res[i][j] += a[i][k] * b[k][j];\n    }\n}\n\nint main() {\n  int a[N][N] = { { 1, 1, 1 }, { 2, 2, 2 }, { 3, 3, K } };\n  int res[N][N];\n  MUT\n  multiply_S(a, a, res);\n  printf("%d\\n", res[2][2]);\n  return 0;\n}\n`,
  `#include <stdio.h>\n#include <string.h>\n\nvoid reverse_S(char* str) {\n  int n = strlen(str);\n  for (int i = 0; i < n / 2; i++) {\n    char t = str[i];\n    str[i] = str[n - i - 1];\n    str[n - i - 1] = t;\n  }\n}\n\nint main() {\n  char str[] = "geeksforgeeks K";\n  MUT\n  reverse_S(str);\n  printf("%s", str);\n  return 0;\n}\n`,
];

// deno-fmt-ignore
const CPP_PROGRAMS: readonly string[] = [
  `#include <bits/stdc++.h>\nusing namespace std;\n\nint countPairs_S(vector<int>& arr, int k) {\n  unordered_map<int, int> freq;\n  int count = 0;\n  for (int x : arr) {\n    count += freq[k - x];\n    freq[x]++;\n  }\n  return count;\n}\n\nint main() {\n  vector<int> arr = { 1, 5, 7, -1, 5, K };\n  MUT\n  cout << countPairs_S(arr, 6) << endl;\n  return 0;\n}\n`,
  `#include <bits/stdc++.h>\nusing namespace std;\n\nvoid dijkstra_S(vector<vector<pair<int, int>>>& adj, int src) {\n  int n = adj.size();\n  vector<int> dist(n, INT_MAX);\n  priority_queue<pair<int, int>, vector<pair<int, int>>, greater<pair<int, int>>> pq;\n  dist[src] = 0;\n  pq.push({ 0, src });\n  while (!pq.empty()) {\n    auto [d, u] = pq.top();\n    pq.pop();\n    if (d > dist[u]) continue;\n    for (auto& [v, w] : adj[u])\n      if (dist[u] + w < dist[v]) {\n        dist[v] = dist[u] + w;\n        pq.push({ dist[v], v });\n      }\n  }\n  for (int i = 0; i < n; i++) cout << i << " " << dist[i] << "\\n";\n}\n\nint main() {\n  vector<vector<pair<int, int>>> adj(K);\n  adj[0].push_back({ 1, 4 });\n  MUT\n  dijkstra_S(adj, 0);\n  return 0;\n}\n`,
  `#include <iostream>\n#include <string>\n#include <algorithm>\nusing namespace std;\n\nbool isPalindrome_S(string s) {\n  string r = s;\n  reverse(r.begin(), r.end());\n  return r == s;\n}\n\nint main() {\n  string s = "abcbaK";\n  MUT\n  cout << (isPalindrome_S(s) ? "Yes" : "No");\n  return 0;\n}\n`,
  `#include <bits/stdc++.h>\nusing namespace std;\n\nclass Stack_S {\n  vector<int> data;\n\n public:\n  void push(int x) { data.push_back(x); }\n  int pop() {\n    int x = data.back();\n    data.pop_back();\n    return x;\n  }\n  bool empty() const { return data.empty(); }\n};\n\nint main() {\n  Stack_S s;\n  for (int i = 0; i < K; i++) s.push(i);\n  MUT\n  while (!s.empty()) cout << s.pop() << " ";\n  return 0;\n}\n`,
  `#include <bits/stdc++.h>\nusing namespace std;\n\ntemplate <typename T>\nT maxOf_S(const vector<T>& v) {\n  T best = v[0];\n  for (const T& x : v) best = max(best, x);\n  return best;\n}\n\nint main() {\n  vector<long long> v = { 3, 9, 2, K };\n  map<string, int> m;\n  m["a"] = 1;\n  MUT\n  cout << maxOf_S(v) << " " << m.size() << endl;\n  return 0;\n}\n`,
  `#include <bits/stdc++.h>\nusing namespace std;\n\nint lis_S(vector<int>& a) {\n  vector<int> tails;\n  for (int x : a) {\n    auto it = lower_bound(tails.begin(), tails.end(), x);\n    if (it == tails.end()) tails.push_back(x);\n    else *it = x;\n  }\n  return tails.size();\n}\n\nint main() {\n  vector<int> a = { 10, 9, 2, 5, 3, 7, 101, K };\n  vector<pair<int, int>> p = { { 2, 1 }, { 1, 2 } };\n  sort(p.begin(), p.end(), [](auto& x, auto& y) { return x.second < y.second; });\n  MUT\n  cout << lis_S(a) << endl;\n  return 0;\n}\n`,
];

/** Mutations: [line to insert at MUT, whether it is expected to compile]; warnings compile. */
const C_MUTATIONS: readonly string[] = [
  "",
  "",
  "",
  "int unused_S = K;",
  'printf("%d", helper_S(K));', // implicit declaration: a warning in GCC 12's C
  "int *p_S = 3.5;",
  "undeclared_S = K;",
  'printf("missing semicolon")',
  "struct Missing_S m; m.x = K;",
];
const CPP_MUTATIONS: readonly string[] = [
  "",
  "",
  "",
  "int unused_S = K;",
  "vector<int> w_S; w_S.push_front(K);",
  "undeclared_S = K;",
  "map<int, int> m_S; sort(m_S.begin(), m_S.end());",
  "string t_S = K;",
  'cout << "missing semicolon"',
];

/** A deterministic generator of small C or C++ programs, some with errors or warnings. */
export function generatedPrograms(language: "c" | "cpp", count: number): string[] {
  const programs = language === "c" ? C_PROGRAMS : CPP_PROGRAMS;
  const mutations = language === "c" ? C_MUTATIONS : CPP_MUTATIONS;
  return Array.from({ length: count }, (_, i) => {
    const template = programs[i % programs.length]!;
    const mutation = mutations[Math.floor(i / programs.length) % mutations.length]!;
    const suffix = `v${i}`;
    const constant = String(7 + ((i * 37) % 91));
    return template.replace("MUT", mutation).replaceAll("_S", `_${suffix}`).replaceAll(
      "K",
      constant,
    );
  });
}

async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const runners = Array.from({ length: Math.max(1, limit) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!, index);
    }
  });
  await Promise.all(runners);
  return results;
}

function firstLine(verdict: CompileVerdict): string {
  const line = verdict.diagnostics.split("\n").find((l) => /error/.test(l)) ??
    verdict.diagnostics.split("\n")[0];
  return `${verdict.status}${line ? `: ${line.slice(0, 160)}` : ""}`;
}

/** Options of {@linkcode measure}. */
export interface MeasureOptions {
  readonly workers: number;
  readonly naiveWorkers: number;
  readonly limits: Partial<CompileLimits>;
  /** Chunks in which the service and the naive loop take turns. */
  readonly chunks: number;
}

/**
 * Measures one language: the service (cold: worker start-up included) and the naive loop, taking
 * turns chunk by chunk on `files`; then the cost of a cache hit.
 */
export async function measure(
  language: CompileLanguage,
  files: readonly string[],
  options: MeasureOptions,
): Promise<LanguagePerf> {
  const { workers, limits } = options;
  const checker = await createCompileChecker({
    languages: [language],
    workers,
    limits,
    cache: false,
  });
  const service: CompileVerdict[] = [];
  const naive: CompileVerdict[] = [];
  let serviceMs = 0;
  let naiveMs = 0;
  try {
    await checker.prepare(language); // a one-time build (servers, PCH) is not part of the figure
    // Interleaved chunks, so that both see the same load on a shared machine.
    const size = Math.ceil(files.length / Math.max(1, options.chunks));
    for (let start = 0; start < files.length; start += size) {
      const chunk = files.slice(start, start + size);
      let started = performance.now();
      service.push(...await checker.checkMany(language, chunk));
      serviceMs += performance.now() - started;
      started = performance.now();
      naive.push(
        ...await mapLimit(
          chunk,
          options.naiveWorkers,
          (code) => plainCheck(language, code, { limits }),
        ),
      );
      naiveMs += performance.now() - started;
    }
  } finally {
    await checker.close();
  }
  const cachedMs = await measureCached(language, files, options);
  const disagreements = service.flatMap((verdict, index) =>
    verdict.compiled === naive[index]!.compiled
      ? []
      : [{ index, service: firstLine(verdict), naive: firstLine(naive[index]!) }]
  );
  const via: Record<string, number> = {};
  for (const verdict of service) via[verdict.via] = (via[verdict.via] ?? 0) + 1;
  return {
    language,
    files: files.length,
    compiled: naive.filter((v) => v.compiled).length,
    serviceMs,
    naiveMs,
    cachedMs,
    speedup: naiveMs / serviceMs,
    disagreements,
    via,
  };
}

/** Milliseconds to check `files` again once they are all in the cache. */
async function measureCached(
  language: CompileLanguage,
  files: readonly string[],
  options: MeasureOptions,
): Promise<number> {
  const { workers, limits } = options;
  const checker = await createCompileChecker({ languages: [language], workers, limits });
  try {
    await checker.checkMany(language, files);
    const started = performance.now();
    await checker.checkMany(language, files);
    return performance.now() - started;
  } finally {
    await checker.close();
  }
}

function rate(files: number, ms: number): string {
  return (files / (ms / 1000)).toFixed(1);
}

function printRow(p: LanguagePerf): void {
  console.log(
    [
      p.language.padEnd(7),
      String(p.files).padStart(5),
      String(p.compiled).padStart(8),
      rate(p.files, p.naiveMs).padStart(9),
      rate(p.files, p.serviceMs).padStart(10),
      `${p.speedup.toFixed(1)}x`.padStart(8),
      rate(p.files, p.cachedMs).padStart(10),
      String(p.disagreements.length).padStart(13),
      Object.entries(p.via).map(([k, v]) => `${k}=${v}`).join(" "),
    ].join(" "),
  );
}

/** The `perf:compile` command line. */
export const PERF_COMPILE = {
  name: "perf:compile",
  summary:
    "Files per second of the compile checker (sandbox/compile) against the naive loop (the " +
    "plain compiler, one sandboxed process per file) on the same files, per language, and " +
    "whether every verdict is the same.",
  options: {
    languages: {
      type: "string",
      value: "LIST",
      help: `languages to measure (default ${COMPILE_LANGUAGES.join(",")})`,
    },
    count: { type: "string", value: "N", help: "files per language (default 200)" },
    "cpp-count": {
      type: "string",
      value: "N",
      help: "files for C++, whose naive loop is slow (default 60)",
    },
    workers: {
      type: "string",
      value: "N",
      help: "compile-checker workers per language (default: CPU cores)",
    },
    "naive-workers": {
      type: "string",
      value: "N",
      help: "concurrent plain compilers of the naive loop (default: same as --workers)",
    },
    timeout: {
      type: "string",
      value: "MS",
      help: "wall-clock limit of one compile, service and naive alike (default 60000: generous, " +
        "so that a loaded machine does not turn slow files into timeouts)",
    },
    chunks: {
      type: "string",
      value: "N",
      help: "chunks in which service and naive loop take turns (default 4)",
    },
    data: {
      type: "string",
      value: "DIR",
      help: "CodeXGLUE code-to-code-trans folder (default " +
        "../shared/datasets/codexglue-code-to-code-trans)",
    },
    json: { type: "boolean", help: "print the results as JSON too" },
  },
  exitCodes: { 1: "the service and the naive loop disagreed on some verdict (listed)" },
} as const satisfies CommandSpec;

async function main({ values }: Parsed<typeof PERF_COMPILE>): Promise<number> {
  const languages = (list(values.languages) ?? [...COMPILE_LANGUAGES])
    .map((l) => choice("languages", l, COMPILE_LANGUAGES)!);
  const workers = integer("workers", values.workers, 1) ?? navigator.hardwareConcurrency;
  const naiveWorkers = integer("naive-workers", values["naive-workers"], 1) ?? workers;
  const count = integer("count", values.count, 1) ?? 200;
  const cppCount = integer("cpp-count", values["cpp-count"], 1) ?? 60;
  const timeout = integer("timeout", values.timeout, 1) ?? 60_000;
  const chunks = integer("chunks", values.chunks, 1) ?? 4;
  const data = await existingPath("data", values.data, { kind: "folder" }) ??
    fileURLToPath(
      new URL("../../../shared/datasets/codexglue-code-to-code-trans", import.meta.url),
    );
  console.log(
    `compile checker vs naive loop: ${workers} worker(s), naive loop ${naiveWorkers} at a time, ` +
      `${navigator.hardwareConcurrency} CPU core(s); files/s, higher is better`,
  );
  console.log(
    "language files compiled  naive/s  service/s  speedup   cached/s  disagreements  decided by",
  );
  const results: LanguagePerf[] = [];
  for (const language of languages) {
    const files = language === "java" || language === "csharp"
      ? await codexglueFiles(data, language, count)
      : generatedPrograms(language, language === "cpp" ? cppCount : count);
    const limits = { wallMs: timeout };
    const result = await measure(language, files, { workers, naiveWorkers, limits, chunks });
    results.push(result);
    printRow(result);
    for (const d of result.disagreements) {
      console.log(
        `  disagreement: ${language} file #${d.index}: service ${d.service} | naive ${d.naive}`,
      );
    }
  }
  const total = results.reduce((n, r) => n + r.disagreements.length, 0);
  console.log(`disagreements: ${total}`);
  if (values.json) console.log(JSON.stringify(results, null, 2));
  return total === 0 ? 0 : 1;
}

if (import.meta.main) await runCommand(PERF_COMPILE, main);
