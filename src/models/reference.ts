/**
 * The `reference` backend: every sample is the task's gold code. Running a benchmark with it is
 * the harness's self-check: under default limits every gold solution should pass.
 *
 * @module
 */

import type { Generation, GenerationRequest, ModelBackend } from "./backend.ts";

/** Creates the `reference` backend. */
export function createReferenceBackend(): ModelBackend {
  return {
    identity: { backend: "reference", id: "reference", settings: {} },
    yieldsCode: true,
    generate(request: GenerationRequest): Promise<readonly Generation[]> {
      const raw = request.task.reference;
      return Promise.resolve(request.indices.map((index) => ({ index, raw, isProgram: true })));
    },
    close: () => Promise.resolve(),
  };
}
