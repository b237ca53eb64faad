import assert from "node:assert/strict";
import {
  batchRows,
  buildDataset,
  type Encoding,
  fnv1a,
  isValidation,
  padBatch,
  row,
  rowCount,
} from "../../src/rl/sft/dataset.ts";
import type { CorpusItem } from "../../src/rl/sft/corpus.ts";

/** One id per character, offset by 10 so that 0 (end of text) and 1 (BOS) stay free. */
const CHARS: Encoding = {
  encode: (text) => [...text].map((c) => c.charCodeAt(0) - 87),
  prefix: [1],
  eos: 0,
};

const letters = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => String.fromCharCode(97 + (from + i) % 26)).join("");

/** Items none of which falls in a 0.0001 validation share. */
function trainOnly(items: CorpusItem[]): CorpusItem[] {
  return items.filter((item) => !isValidation(item.id, 1e-4));
}

Deno.test("buildDataset() packs documents so that every token is a target once", () => {
  const items: CorpusItem[] = [
    { id: "doc-a", text: letters(9) },
    { id: "doc-b", text: letters(14, 3) },
    { id: "doc-c", text: letters(4, 7) },
    { id: "doc-d", text: letters(6, 2) },
  ];
  const seqLen = 8;
  const { train, val, stats } = buildDataset(items, CHARS, { seqLen, valFraction: 1e-4 });
  // No id falls in a 1e-4 share, so the one with the smallest hash is held out.
  const held = items.reduce((a, b) => (fnv1a(b.id) < fnv1a(a.id) ? b : a));
  assert.equal(stats.valItems, 1);
  const targets = (rows: typeof train) =>
    [...Array(rowCount(rows)).keys()].flatMap((r) => {
      const { ids, lossStart } = row(rows, r);
      assert.ok(ids.length <= seqLen);
      return [...ids.slice(lossStart)];
    });
  const stream = items.filter((i) => i !== held).flatMap((i) => [1, ...CHARS.encode(i.text), 0]);
  assert.deepEqual(targets(train), stream.slice(1));
  assert.deepEqual(targets(val), [...CHARS.encode(held.text), 0]);
  assert.equal(stats.trainTokens, train.tokens.length);
});

Deno.test("buildDataset() makes a pair one row with the loss on the solution only", async (t) => {
  const pair: CorpusItem = { id: "p", prompt: "abc", text: "xyz" };
  const { train } = buildDataset([pair, { id: "q", text: "mm" }], CHARS, {
    seqLen: 16,
    valFraction: 1e-9,
  });
  const kept = [...Array(rowCount(train)).keys()].map((r) => row(train, r));
  const pairRow = kept.find((r) => r.ids.length === 8)!;
  await t.step("<bos> prompt solution <eos>", () => {
    assert.deepEqual([...pairRow.ids], [1, 10, 11, 12, 33, 34, 35, 0]);
    assert.equal(pairRow.lossStart, 4);
  });
  await t.step("the loss mask covers the solution and the end token", () => {
    const r = kept.indexOf(pairRow);
    const batch = padBatch(train, [r], 0);
    assert.deepEqual([...batch.loss], [0, 0, 0, 1, 1, 1, 1]);
    assert.equal(batch.lossTokens, 4);
  });
  await t.step("a long prompt loses its head, never the solution's start", () => {
    const { train: cut, stats } = buildDataset(
      [{ id: "p", prompt: letters(20), text: "xyz" }, { id: "q", text: "m" }],
      CHARS,
      { seqLen: 10, valFraction: 1e-9 },
    );
    const first = row(cut, 0);
    assert.equal(first.ids.length, 10);
    assert.deepEqual([...first.ids.slice(-4)], [33, 34, 35, 0]);
    assert.equal(first.lossStart, 6);
    assert.equal(stats.truncatedPairs, 1);
  });
});

Deno.test("batchRows()", async (t) => {
  const items = trainOnly(
    Array.from({ length: 40 }, (_, i) => ({ id: `d${i}`, text: letters(5, i) })),
  );
  const { train } = buildDataset(items, CHARS, { seqLen: 8, valFraction: 1e-4 });
  const n = rowCount(train);
  await t.step("is the same for the same step and seed", () => {
    assert.deepEqual(batchRows(train, 3, 4, 7), batchRows(train, 3, 4, 7));
    assert.notDeepEqual(batchRows(train, 3, 4, 7), batchRows(train, 3, 4, 8));
  });
  await t.step("visits every row once per epoch", () => {
    const seen: number[] = [];
    for (let step = 1; step * 2 <= n; step++) seen.push(...batchRows(train, step, 2, 0));
    assert.equal(new Set(seen).size, seen.length);
  });
});

Deno.test("padBatch() pads on the right with attention 0 and no loss", () => {
  const rows = {
    tokens: Int32Array.from([1, 10, 11, 20, 0, 1, 10, 11, 12, 13, 20, 21, 22, 0]),
    offsets: Int32Array.from([0, 5, 14]),
    lossStart: Int32Array.from([3, 5]),
  };
  const batch = padBatch(rows, [0, 1], 0);
  assert.equal(batch.width, 9);
  assert.deepEqual([...batch.ids.slice(0, 9)], [1, 10, 11, 20, 0, 0, 0, 0, 0]);
  assert.deepEqual([...batch.attention.slice(0, 9)], [1, 1, 1, 1, 1, 0, 0, 0, 0]);
  assert.deepEqual([...batch.loss.slice(0, 8)], [0, 0, 1, 1, 0, 0, 0, 0]);
  assert.deepEqual([...batch.loss.slice(8)], [0, 0, 0, 0, 1, 1, 1, 1]);
  assert.equal(batch.lossTokens, 6);
});
