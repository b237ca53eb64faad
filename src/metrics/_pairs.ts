/**
 * Checks shared by the corpus metrics.
 *
 * @module
 */

/** Throw unless there is at least one pair and as many references as hypotheses. */
export function checkPairs(
  metric: string,
  references: readonly unknown[],
  hypotheses: readonly unknown[],
): void {
  if (references.length !== hypotheses.length) {
    throw new RangeError(
      `Cannot compute ${metric} as references and hypotheses differ in number: current values are ${references.length} and ${hypotheses.length}`,
    );
  }
  if (hypotheses.length === 0) {
    throw new RangeError(`Cannot compute ${metric} as there are no pairs: current count is 0`);
  }
}

/** One reference, or several, as a list. */
export function referenceList(references: string | readonly string[]): readonly string[] {
  return typeof references === "string" ? [references] : references;
}
