import assert from "node:assert/strict";
import { meanPassAtK, passAtK } from "../../src/metrics/pass_at_k.ts";

function close(actual: number | null, expected: number, tolerance = 1e-12): void {
  assert.ok(
    actual !== null && Math.abs(actual - expected) <= tolerance,
    `${actual} != ${expected}`,
  );
}

Deno.test("passAtK()", async (t) => {
  await t.step("returns 1 when every sample passes", () => assert.equal(passAtK(10, 10, 1), 1));
  await t.step("returns 0 when no sample passes", () => assert.equal(passAtK(10, 0, 5), 0));
  await t.step("is c/n for k = 1", () => close(passAtK(5, 2, 1), 0.4));
  // 1 - C(3,2)/C(5,2) = 1 - 3/10
  await t.step("matches the binomial form for n=5, c=2, k=2", () => close(passAtK(5, 2, 2), 0.7));
  // 1 - C(7,5)/C(10,5) = 1 - 21/252
  await t.step(
    "matches the binomial form for n=10, c=3, k=5",
    () => close(passAtK(10, 3, 5), 1 - 21 / 252),
  );
  // 1 - C(195,10)/C(200,10), computed by hand as a product of (1 - 10/i) for i = 196..200
  await t.step("matches the product form for n=200, c=5, k=10", () => {
    const expected = 1 - (186 / 196) * (187 / 197) * (188 / 198) * (189 / 199) * (190 / 200);
    close(passAtK(200, 5, 10), expected);
  });
  await t.step(
    "returns 1 when fewer than k samples fail",
    () => assert.equal(passAtK(10, 8, 3), 1),
  );
  await t.step("rejects k > n", () =>
    assert.throws(() => passAtK(2, 1, 3), {
      name: "RangeError",
      message: "Cannot compute pass@k as k must be <= n: current values k=3, n=2",
    }));
  await t.step("rejects c > n", () =>
    assert.throws(() => passAtK(2, 3, 1), {
      name: "RangeError",
      message: "Cannot compute pass@k as c must be <= n: current values c=3, n=2",
    }));
  await t.step("rejects a fractional n", () =>
    assert.throws(() => passAtK(2.5, 1, 1), {
      name: "RangeError",
      message: "Cannot compute pass@k as n must be a non-negative integer: current value is 2.5",
    }));
});

Deno.test("meanPassAtK()", async (t) => {
  await t.step(
    "averages over tasks",
    () =>
      close(
        meanPassAtK([{ n: 5, passed: 2 }, { n: 5, passed: 5 }, { n: 5, passed: 0 }], 1),
        1.4 / 3,
      ),
  );
  await t.step(
    "is null when a task has fewer than k samples",
    () => assert.equal(meanPassAtK([{ n: 5, passed: 2 }, { n: 1, passed: 1 }], 2), null),
  );
  await t.step("is null with no tasks", () => assert.equal(meanPassAtK([], 1), null));
});
