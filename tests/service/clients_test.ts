/**
 * Schema conformance of `/run_code` against the real clients: SandboxFusion's own SDK
 * (`sandbox-fusion` from PyPI: `run_code`, then `summary_run_code_result`) and verl's reward
 * client (`check_correctness` from PyPI's `verl` wheel), both installed at test time by
 * `scripts/service_clients.sh`. Every case goes through both; each must read the answer the way
 * it reads SandboxFusion's.
 */

import assert from "node:assert/strict";
import { serveSandbox } from "../../sandbox/service/serve.ts";
import { runClients, serviceClients } from "./_service.ts";

const clients = await serviceClients();
const reason = "reason" in clients ? clients.reason : undefined;
if (reason) console.log(`clients_test.ts is ignored: ${reason}`);

interface CommandResult {
  status: string;
  execution_time: number | null;
  return_code: number | null;
  stdout: string | null;
  stderr: string | null;
}

interface Outcome {
  id: string;
  sandbox_fusion: {
    client_rejected?: string;
    error?: string;
    summary?: string;
    response?: {
      status: string;
      compile_result: CommandResult | null;
      run_result: CommandResult | null;
      files: Record<string, string>;
    };
  };
  verl: {
    result: boolean | number;
    status: string;
    exit_code: number | null;
    api_request_error: string | null;
    api_response: Record<string, unknown> & { ppocoder?: { status: string } } | null;
  };
}

/** A C++ program whose constant evaluation takes seconds of g++'s time. */
const SLOW_TO_COMPILE = `constexpr long f() {
  long s = 0;
  for (long i = 0; i < 200000; i++) for (long j = 0; j < 200; j++) s += i ^ j;
  return s;
}
constexpr long x = f();
int main() { return x == 0; }
`;

const CASES = [
  {
    id: "success",
    language: "python",
    code: "print(int(input()) + 1)",
    stdin: "41",
    expected_output: "42",
  },
  {
    id: "wrong answer",
    language: "python",
    code: "print(int(input()) - 1)",
    stdin: "41",
    expected_output: "42",
  },
  { id: "runtime error", language: "python", code: "raise ValueError('boom')" },
  { id: "C++ compile error", language: "cpp", code: "int main() { return undefined_name; }" },
  { id: "compile timeout", language: "cpp", code: SLOW_TO_COMPILE, compile_timeout: 1, timeout: 1 },
  { id: "run timeout", language: "python", code: "while True: pass", run_timeout: 1, timeout: 1 },
  { id: "signal kill", language: "cpp", code: "int main() { *(volatile int *)0 = 1; }" },
  { id: "unknown language", language: "cobol", code: "DISPLAY 'HI'." },
  { id: "language not served", language: "lua", code: "print(1)" },
  {
    id: "memory limit",
    language: "python",
    code: "x = bytearray(512 * 1024 * 1024)\nprint(len(x))",
    memory_limit_mb: 256,
  },
  {
    id: "files and fetch_files",
    language: "python",
    code: "open('out.txt', 'w').write(open('data/in.txt').read().upper())",
    files: { "data/in.txt": btoa("hello") },
    fetch_files: ["out.txt", "absent.txt"],
  },
  { id: "c extension", language: "c", code: '#include <stdio.h>\nint main(void) { puts("c"); }' },
];

Deno.test({
  name: "/run_code answers as SandboxFusion to its own client and to verl's",
  ignore: reason !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const replica = serveSandbox({
      port: 0,
      log: () => {},
      executor: { languages: ["python", "cpp", "c"], workers: 2 },
    });
    let outcomes: Map<string, Outcome>;
    try {
      await replica.ready;
      const url = `http://127.0.0.1:${replica.port}`;
      const list = await runClients<Outcome[]>(
        clients as Exclude<typeof clients, { reason: string }>,
        ["cases", url],
        JSON.stringify(CASES),
      );
      outcomes = new Map(list.map((o) => [o.id, o]));
    } finally {
      await replica.stop();
    }
    const check = (id: string, fn: (o: Outcome) => void) => t.step(id, () => fn(outcomes.get(id)!));

    await check("success", ({ sandbox_fusion: sf, verl }) => {
      assert.equal(sf.summary, "Success");
      assert.equal(sf.response!.compile_result, null);
      assert.deepEqual(pick(sf.response!.run_result!), ["Finished", 0, "42\n", ""]);
      assert.deepEqual([verl.result, verl.status], [true, "success"]);
      assert.deepEqual(Object.keys(verl.api_response!).toSorted(), [
        "compile_result",
        "executor_pod_name",
        "files",
        "message",
        "ppocoder",
        "run_result",
        "status",
      ]);
    });
    await check("wrong answer", ({ sandbox_fusion: sf, verl }) => {
      assert.equal(sf.summary, "Success");
      assert.equal(sf.response!.run_result!.stdout, "40\n");
      assert.deepEqual([verl.result, verl.status], [false, "wrong_answer"]);
    });
    await check("runtime error", ({ sandbox_fusion: sf, verl }) => {
      assert.equal(sf.summary, "RunFailed");
      assert.equal(sf.response!.status, "Failed");
      assert.deepEqual(pick(sf.response!.run_result!).slice(0, 2), ["Finished", 1]);
      assert.match(sf.response!.run_result!.stderr!, /ValueError: boom/);
      assert.deepEqual([verl.result, verl.status, verl.exit_code], [-2, "runtime_error", 1]);
    });
    await check("C++ compile error", ({ sandbox_fusion: sf, verl }) => {
      assert.equal(sf.summary, "CompileFailed");
      assert.equal(sf.response!.run_result, null);
      assert.equal(sf.response!.compile_result!.status, "Finished");
      assert.notEqual(sf.response!.compile_result!.return_code, 0);
      assert.match(sf.response!.compile_result!.stderr!, /undefined_name/);
      assert.deepEqual([verl.result, verl.status], [-4, "compile_error"]);
    });
    await check("compile timeout", ({ sandbox_fusion: sf, verl }) => {
      assert.equal(sf.summary, "CompileTimeout");
      assert.equal(sf.response!.run_result, null);
      assert.deepEqual(pick(sf.response!.compile_result!).slice(0, 2), ["TimeLimitExceeded", null]);
      assert.deepEqual([verl.result, verl.status], [-4, "compile_timeout"]);
    });
    await check("run timeout", ({ sandbox_fusion: sf, verl }) => {
      assert.equal(sf.summary, "RunTimeout");
      assert.deepEqual(pick(sf.response!.run_result!).slice(0, 2), ["TimeLimitExceeded", null]);
      assert.equal(typeof sf.response!.run_result!.stdout, "string");
      assert.deepEqual([verl.result, verl.status, verl.exit_code], [-3, "timeout", null]);
    });
    await check("signal kill", ({ sandbox_fusion: sf, verl }) => {
      assert.equal(sf.summary, "RunFailed");
      assert.equal(sf.response!.compile_result!.return_code, 0);
      assert.deepEqual(pick(sf.response!.run_result!).slice(0, 2), ["Finished", -11]);
      assert.deepEqual([verl.result, verl.status, verl.exit_code], [-2, "runtime_error", -11]);
    });
    await check("unknown language", ({ sandbox_fusion: sf, verl }) => {
      assert.match(sf.client_rejected ?? "", /validation error/);
      assert.match(sf.error ?? "", /responded with code 422: .*literal_error/);
      assert.deepEqual([verl.result, verl.status], [-1, "api_error"]);
      assert.match(verl.api_request_error!, /Unsupported language: cobol/);
    });
    await check("language not served", ({ sandbox_fusion: sf, verl }) => {
      assert.match(sf.error ?? "", /Sandbox responded with error: Cannot run "lua" code/);
      assert.deepEqual([verl.result, verl.status], [-1, "sandbox_error"]);
    });
    await check("memory limit", ({ sandbox_fusion: sf, verl }) => {
      // SandboxFusion's own client sends no memory limit: the executor's 1024 MiB holds.
      assert.equal(sf.summary, "Success");
      assert.deepEqual([verl.result, verl.status], [-2, "runtime_error"]);
      assert.equal(verl.api_response!.ppocoder!.status, "memory_limit");
    });
    await check("files and fetch_files", ({ sandbox_fusion: sf }) => {
      assert.equal(sf.summary, "Success");
      assert.deepEqual(sf.response!.files, { "out.txt": btoa("HELLO") });
    });
    await check("c extension", ({ sandbox_fusion: sf, verl }) => {
      assert.match(sf.client_rejected ?? "", /validation error/);
      assert.equal(sf.response!.compile_result!.return_code, 0);
      assert.equal(sf.response!.run_result!.stdout, "c\n");
      assert.match(verl.api_request_error!, /Unsupported language: c/);
    });
  },
});

function pick(result: CommandResult): unknown[] {
  return [result.status, result.return_code, result.stdout, result.stderr];
}
