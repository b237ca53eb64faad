import assert from "node:assert/strict";
import { JsonlAppender, parseJsonl, readJsonl } from "../../src/util/jsonl.ts";

Deno.test("parseJsonl()", async (t) => {
  await t.step(
    "skips blank lines",
    () => assert.deepEqual(parseJsonl('{"a":1}\n\n{"a":2}\n', "x.jsonl"), [{ a: 1 }, { a: 2 }]),
  );
  await t.step(
    "names file and line of a malformed record",
    () =>
      assert.throws(() => parseJsonl('{"a":1}\n{"a":\n{"a":3}\n', "data/x.jsonl"), {
        name: "SyntaxError",
        message:
          /^Cannot read "data\/x\.jsonl" as line 2 is not valid JSON: .*: fix or remove that line$/,
      }),
  );
  await t.step("drops a truncated last line only when asked", () => {
    assert.deepEqual(parseJsonl('{"a":1}\n{"a":', "x", { allowTruncatedTail: true }), [{ a: 1 }]);
    assert.throws(() => parseJsonl('{"a":1}\n{"a":', "x"), { name: "SyntaxError" });
  });
  await t.step(
    "keeps failing on a malformed middle line even with allowTruncatedTail",
    () =>
      assert.throws(() => parseJsonl('{"a":\n{"a":1}', "x", { allowTruncatedTail: true }), {
        name: "SyntaxError",
      }),
  );
});

Deno.test("JsonlAppender", async (t) => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/records.jsonl`;
  await t.step("appends whole lines that readJsonl reads back", async () => {
    const appender = await JsonlAppender.open(path);
    await appender.append({ i: 1 });
    await appender.append({ i: 2 });
    appender.close();
    assert.deepEqual(await readJsonl(path), [{ i: 1 }, { i: 2 }]);
  });
  await t.step("cuts a truncated tail left by a killed writer before appending", async () => {
    await Deno.writeTextFile(path, '{"i":3', { append: true });
    const appender = await JsonlAppender.open(path);
    await appender.append({ i: 4 });
    appender.close();
    assert.deepEqual(await readJsonl(path), [{ i: 1 }, { i: 2 }, { i: 4 }]);
  });
  await t.step(
    "reads a missing file as no records",
    async () => assert.deepEqual(await readJsonl(`${dir}/missing.jsonl`), []),
  );
  await Deno.remove(dir, { recursive: true });
});
