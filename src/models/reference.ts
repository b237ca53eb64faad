/**
 * The `reference` backend: every sample is the task's gold code. Running a benchmark with it is
 * the harness's self-check: under default limits every gold solution should pass.
 *
 * @module
 */

import type { Generation, GenerationRequest, ModelBackend } from "./backend.ts";
import type { Task } from "../types.ts";

/** Creates the `reference` backend. */
export function createReferenceBackend(): ModelBackend {
  return {
    identity: { backend: "reference", id: "reference", settings: {} },
    yieldsCode: true,
    samplingSource: "gold code",
    samplesPerTask(tasks: readonly Task[]): number {
      if (tasks.length > 0 && tasks.every((task) => task.reference.trim() === "")) {
        const split = String(tasks[0]!.meta.split ?? "");
        throw new RangeError(
          `Cannot run --model reference as none of the ${tasks.length} tasks${
            split === "" ? "" : ` of split "${split}"`
          } has gold code: a self-check needs gold solutions; use a split that has them, or evaluate a model`,
        );
      }
      return 1;
    },
    generate(request: GenerationRequest): Promise<readonly Generation[]> {
      const raw = request.task.reference;
      return Promise.resolve(request.indices.map((index) => ({ index, raw, isProgram: true })));
    },
    close: () => Promise.resolve(),
  };
}
