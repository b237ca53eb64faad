import assert from "node:assert/strict";
import {
  parseRunCode,
  runStatus,
  toRunCodeResponse,
  unsupportedResponse,
} from "../../sandbox/service/fusion.ts";
import { DEFAULT_LIMITS } from "../../sandbox/mod.ts";
import type { Execution } from "../../src/types.ts";

const CONTEXT = {
  isolation: "bwrap",
  limits: DEFAULT_LIMITS,
  compileLimits: {},
  podName: null,
} as const;

function execution(fields: Partial<Execution>): Execution {
  return {
    status: "passed",
    compiled: true,
    casesPassed: 1,
    casesTotal: 1,
    exitCode: 0,
    wallMs: 12,
    cpuMs: 5,
    peakMemoryKb: 1000,
    stdout: "",
    stderr: "",
    ...fields,
  };
}

Deno.test("parseRunCode()", async (t) => {
  await t.step("makes one run with one stdin case, SandboxFusion's defaults", () => {
    const parsed = parseRunCode({ code: "print(1)", language: "python" });
    assert.equal(parsed.kind, "request");
    if (parsed.kind !== "request") return;
    assert.deepEqual(parsed.request, {
      language: "python",
      mode: "run",
      code: "print(1)",
      stdin: [""],
      limits: { wallMs: 10_000, cpuMs: 10_000 },
      compileLimits: { wallMs: 10_000, cpuMs: 10_000 },
    });
  });
  await t.step("maps names, timeouts, memory, files and the PHP tag", () => {
    const parsed = parseRunCode({
      code: "  echo 1;",
      language: "php",
      run_timeout: 0.5,
      compile_timeout: 2.5,
      memory_limit_MB: 256,
      stdin: "x",
      files: { "a.txt": "eA==", "skipped.txt": null },
      fetch_files: ["b.txt"],
      unknown_field: true,
    });
    assert.equal(parsed.kind, "request");
    if (parsed.kind !== "request") return;
    assert.deepEqual(parsed.request, {
      language: "php",
      mode: "run",
      code: "<?php\necho 1;",
      stdin: ["x"],
      limits: { wallMs: 500, cpuMs: 1000, memoryMb: 256 },
      compileLimits: { wallMs: 2500, cpuMs: 3000 },
      files: { "a.txt": "eA==" },
      fetchFiles: ["b.txt"],
    });
    const node = parseRunCode({ code: "1", language: "nodejs" });
    assert.equal(node.kind === "request" && node.request.language, "javascript");
  });
  await t.step("a name SandboxFusion knows but this service does not run is unsupported", () => {
    assert.deepEqual(parseRunCode({ code: "", language: "lua" }), {
      kind: "unsupported",
      language: "lua",
    });
  });
  await t.step("anything else is a validation error in FastAPI's shape", () => {
    const parsed = parseRunCode({ language: "cobol", run_timeout: "10", files: [] });
    assert.equal(parsed.kind, "invalid");
    if (parsed.kind !== "invalid") return;
    assert.deepEqual(parsed.issues.map((i) => [i.type, i.loc.join(".")]), [
      ["missing", "body.code"],
      ["float_type", "body.run_timeout"],
      ["dict_type", "body.files"],
      ["literal_error", "body.language"],
    ]);
    const zero = parseRunCode({ code: "", language: "python", run_timeout: 0 });
    assert.equal(zero.kind === "invalid" && zero.issues[0]!.type, "greater_than");
    assert.equal(parseRunCode([1]).kind, "invalid");
  });
});

Deno.test("toRunCodeResponse()", async (t) => {
  const build = {
    exitCode: 0,
    signal: null,
    timedOut: false,
    wallMs: 300,
    stdout: "",
    stderr: "w",
  };
  const cases = (exitCode: number | null, status: Execution["status"] = "passed") => [
    { status, exitCode, stdout: "out", stderr: "err", wallMs: 20 },
  ];
  await t.step("Python has no compile step", () => {
    const response = toRunCodeResponse(execution({ cases: cases(0) }), "python", CONTEXT);
    assert.equal(response.compile_result, null);
    assert.deepEqual(response.run_result, {
      status: "Finished",
      execution_time: 0.02,
      return_code: 0,
      stdout: "out",
      stderr: "err",
    });
    assert.equal(response.status, "Success");
    assert.equal(response.message, "");
  });
  await t.step("a compiled language reports its build; a failed build has no run", () => {
    const ok = toRunCodeResponse(execution({ build, cases: cases(0) }), "cpp", CONTEXT);
    assert.deepEqual(ok.compile_result, {
      status: "Finished",
      execution_time: 0.3,
      return_code: 0,
      stdout: "",
      stderr: "w",
    });
    const failed = toRunCodeResponse(
      execution({ status: "compile_error", compiled: false, build: { ...build, exitCode: 1 } }),
      "cpp",
      CONTEXT,
    );
    assert.equal(failed.run_result, null);
    assert.equal(failed.status, "Failed");
  });
  await t.step("a timeout has no return code; a signal is a negative one", () => {
    const late = toRunCodeResponse(
      execution({ status: "timeout", signal: 9, cases: cases(null, "timeout") }),
      "python",
      CONTEXT,
    );
    assert.deepEqual([late.run_result!.status, late.run_result!.return_code], [
      "TimeLimitExceeded",
      null,
    ]);
    const killed = toRunCodeResponse(
      execution({
        status: "runtime_error",
        signal: 11,
        build,
        cases: cases(null, "runtime_error"),
      }),
      "c",
      CONTEXT,
    );
    assert.equal(killed.run_result!.return_code, -11);
    assert.equal(killed.status, "Failed");
    assert.equal(killed.ppocoder!.status, "runtime_error");
  });
  await t.step("a sandbox error is SandboxError with the reason as message", () => {
    const broken = toRunCodeResponse(
      execution({ status: "sandbox_error", stderr: "sandbox error: x" }),
      "python",
      CONTEXT,
    );
    assert.deepEqual([broken.status, broken.message, broken.run_result], [
      "SandboxError",
      "sandbox error: x",
      null,
    ]);
    assert.equal(unsupportedResponse("lua", ["python"], "pod-1").executor_pod_name, "pod-1");
  });
});

Deno.test("runStatus() follows SandboxFusion's rule", () => {
  const finished = (code: number | null) => ({
    status: "Finished" as const,
    execution_time: 0,
    return_code: code,
    stdout: "",
    stderr: "",
  });
  assert.equal(runStatus(null, finished(0)), "Success");
  assert.equal(runStatus(finished(0), finished(2)), "Failed");
  assert.equal(
    runStatus(finished(0), { ...finished(null), status: "TimeLimitExceeded" }),
    "Failed",
  );
  assert.equal(runStatus({ ...finished(null), status: "Error" }, null), "SandboxError");
});
