/**
 * Runs benchmark programs in the real sandbox from the adapter tests, or says why it cannot
 * (no bubblewrap, a missing toolchain) so the test ends early with the reason printed.
 *
 * @module
 */

import { createExecutor } from "../../sandbox/mod.ts";
import type { Benchmark } from "../../benchmarks/benchmark.ts";
import type { Executor } from "../../sandbox/types.ts";
import type { Execution, Language, Task } from "../../src/types.ts";

/**
 * Calls `fn` with an executor for `languages`; when none can be created here, prints the reason
 * and returns without calling it.
 */
export async function withExecutor(
  languages: readonly Language[],
  fn: (executor: Executor) => Promise<void>,
): Promise<void> {
  let executor: Executor;
  try {
    executor = await createExecutor({ languages });
  } catch (error) {
    console.log(`skipping sandbox check: ${(error as Error).message}`);
    return;
  }
  try {
    await fn(executor);
  } finally {
    await executor.close();
  }
}

/** Runs `code` for `task` as the pipeline does: request, execute, judge. */
export async function judgeCode(
  benchmark: Benchmark,
  executor: Executor,
  task: Task,
  code: string,
): Promise<Execution> {
  return benchmark.judge(task, await executor.execute(benchmark.request(task, code)));
}
