import assert from "node:assert/strict";
import { argmax, chooseToken, seededRandom } from "../../src/models/sampling.ts";
import { float16BitsToNumber, float32ToFloat16Bits } from "../../src/models/_onnx_decoder.ts";

const LOGITS = [0.5, 2.0, -1.0, 1.5, 2.0, 0.0];

function frequencies(choice: Parameters<typeof chooseToken>[1], draws: number): number[] {
  const random = seededRandom(42);
  const counts = LOGITS.map(() => 0);
  for (let i = 0; i < draws; i++) counts[chooseToken(LOGITS, choice, random)]!++;
  return counts.map((c) => c / draws);
}

Deno.test("seededRandom()", async (t) => {
  await t.step("repeats a stream for the same seed and stream", () => {
    const [a, b] = [seededRandom(7, 3), seededRandom(7, 3)];
    assert.deepEqual([a(), a(), a()], [b(), b(), b()]);
  });
  await t.step("gives other streams for other seeds or stream numbers", () => {
    const first = (seed: number, stream: number) => seededRandom(seed, stream)();
    assert.equal(new Set([first(7, 0), first(7, 1), first(8, 0), first(8, 1)]).size, 4);
  });
  await t.step("draws in [0, 1)", () => {
    const random = seededRandom(1);
    for (let i = 0; i < 10_000; i++) {
      const u = random();
      assert.ok(u >= 0 && u < 1);
    }
  });
});

Deno.test("chooseToken()", async (t) => {
  await t.step("is argmax at temperature 0, the first index on ties", () => {
    assert.equal(argmax(LOGITS), 1);
    assert.equal(chooseToken(LOGITS, { temperature: 0, topP: 1, topK: 0 }, seededRandom(1)), 1);
  });
  await t.step("keeps tokens tied at the top-k cut", () => {
    assert.deepEqual(
      frequencies({ temperature: 1, topP: 1, topK: 1 }, 2000).map((f) => f > 0),
      [false, true, false, false, true, false],
    );
  });
  await t.step("samples the softmax without cuts", () => {
    const exps = LOGITS.map(Math.exp);
    const total = exps.reduce((a, b) => a + b, 0);
    const observed = frequencies({ temperature: 1, topP: 1, topK: 0 }, 20_000);
    for (const [i, f] of observed.entries()) {
      assert.ok(Math.abs(f - exps[i]! / total) < 0.015, `token ${i}: ${f} vs ${exps[i]! / total}`);
    }
  });
  await t.step("keeps the smallest top set whose mass reaches top-p", () => {
    // Softmax mass: tokens 1 and 4 hold 0.33 each, token 3 0.20: p = 0.8 needs all three.
    assert.deepEqual(
      frequencies({ temperature: 1, topP: 0.8, topK: 0 }, 5000).map((f) => f > 0),
      [false, true, false, true, true, false],
    );
    assert.deepEqual(
      frequencies({ temperature: 1, topP: 0.5, topK: 0 }, 5000).map((f) => f > 0),
      [false, true, false, false, true, false],
    );
  });
  await t.step("applies top-k before top-p, on the renormalized rest", () => {
    // Top-2 leaves tokens 1 and 4 at 0.5 each: p = 0.5 keeps both (they tie).
    assert.deepEqual(
      frequencies({ temperature: 0.7, topP: 0.5, topK: 2 }, 2000).map((f) => f > 0),
      [false, true, false, false, true, false],
    );
  });
});

Deno.test("float16 conversions", async (t) => {
  const cases: [number, number][] = [
    [0, 0x0000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [65504, 0x7bff],
    [2 ** -24, 0x0001],
    [2 ** -14, 0x0400],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
  ];
  await t.step("maps values and bits both ways", () => {
    for (const [value, bits] of cases) {
      assert.equal(float32ToFloat16Bits(value), bits, `bits of ${value}`);
      assert.equal(float16BitsToNumber(bits), value, `value of 0x${bits.toString(16)}`);
    }
  });
  await t.step("rounds to the nearest fp16 value", () => {
    assert.equal(float32ToFloat16Bits(0.1), 0x2e66);
    assert.equal(float16BitsToNumber(0x2e66), 0.0999755859375);
    assert.equal(float32ToFloat16Bits(1e6), 0x7c00); // overflow goes to infinity
  });
  await t.step("keeps NaN", () => {
    assert.ok(Number.isNaN(float16BitsToNumber(float32ToFloat16Bits(NaN))));
  });
});
