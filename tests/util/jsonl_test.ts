import assert from "node:assert/strict";
import {
  countLines,
  dropTruncatedTail,
  iterateJsonl,
  JsonlAppender,
  parseJsonl,
  readJsonl,
  readLines,
} from "../../src/util/jsonl.ts";

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
    await appender.close();
    assert.deepEqual(await readJsonl(path), [{ i: 1 }, { i: 2 }]);
  });
  await t.step("cuts a truncated tail left by a killed writer before appending", async () => {
    await Deno.writeTextFile(path, '{"i":3', { append: true });
    const appender = await JsonlAppender.open(path);
    await appender.append({ i: 4 });
    await appender.close();
    assert.deepEqual(await readJsonl(path), [{ i: 1 }, { i: 2 }, { i: 4 }]);
  });
  await t.step(
    "reads a missing file as no records",
    async () => assert.deepEqual(await readJsonl(`${dir}/missing.jsonl`), []),
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("readLines()", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "ppocoder-lines-" });
  const path = `${dir}/lines.txt`;
  const collect = async (maxLineBytes?: number) => {
    const lines = [];
    for await (const line of readLines(path, maxLineBytes === undefined ? {} : { maxLineBytes })) {
      lines.push(line);
    }
    return lines;
  };
  await t.step("joins lines that span chunks, multi-byte characters included", async () => {
    const long = "é".repeat(100_000); // 200,000 bytes: several chunks of the file's stream
    await Deno.writeTextFile(path, `a\n${long}\n\nlast`);
    const lines = await collect();
    assert.deepEqual(lines.map((l) => [l.number, l.text, l.bytes, l.terminated]), [
      [1, "a", 1, true],
      [2, long, 200_000, true],
      [3, "", 0, true],
      [4, "last", 4, false],
    ]);
  });
  await t.step("gives the head and tail of a line over the limit, not its text", async () => {
    await Deno.writeTextFile(
      path,
      `ok\n${"h".repeat(5000)}${"m".repeat(90_000)}${"t".repeat(5000)}\nok\n`,
    );
    const [first, big, last] = await collect(10_000);
    assert.equal(first!.text, "ok");
    assert.equal(big!.text, undefined);
    assert.equal(big!.bytes, 100_000);
    assert.equal(big!.head, "h".repeat(4096));
    assert.equal(big!.tail, "t".repeat(4096));
    assert.equal(last!.text, "ok");
  });
  await t.step("reads a line of 64 MiB in one pass", async () => {
    const size = 64 * 1024 * 1024;
    const file = await Deno.open(path, { write: true, truncate: true, create: true });
    const block = new TextEncoder().encode("x".repeat(1024 * 1024));
    for (let i = 0; i < size / block.length; i++) await file.write(block);
    await file.write(new TextEncoder().encode("\n{}\n"));
    file.close();
    const started = performance.now();
    const lines = await collect(1024);
    // The old reader joined the pending text to each chunk: about 69 s for 80 MB.
    assert.ok(performance.now() - started < 10_000, `${performance.now() - started} ms`);
    assert.deepEqual(lines.map((l) => [l.bytes, l.text]), [[size, undefined], [2, "{}"]]);
  });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("iterateJsonl()", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "ppocoder-jsonl-" });
  const path = `${dir}/records.jsonl`;
  await t.step("yields records with their line numbers, blank lines skipped", async () => {
    await Deno.writeTextFile(path, '{"a":1}\n\n{"a":2}\n');
    const seen = [];
    for await (const record of iterateJsonl(path)) seen.push(record);
    assert.deepEqual(seen, [{ line: 1, value: { a: 1 } }, { line: 3, value: { a: 2 } }]);
  });
  await t.step("names the file and line of a line too long to be a record", async () => {
    await Deno.writeTextFile(path, `{"a":1}\n"${"x".repeat(2000)}"\n`);
    await assert.rejects(readJsonl(path, { maxLineBytes: 1000 }), {
      name: "RangeError",
      message: `Cannot read "${path}" as line 2 is 2002 bytes, more than the 1000 a record may ` +
        `have: remove that line`,
    });
  });
  await t.step("skips an unterminated last line when asked, even one that parses", async () => {
    await Deno.writeTextFile(path, '{"a":1}\n{"a":2}');
    assert.deepEqual(await readJsonl(path, { allowTruncatedTail: true }), [{ a: 1 }]);
    assert.deepEqual(await readJsonl(path), [{ a: 1 }, { a: 2 }]);
  });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("JsonlAppender under load", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "ppocoder-append-" });
  const path = `${dir}/records.jsonl`;
  await t.step("writes concurrent appends as whole lines, one after another", async () => {
    const appender = await JsonlAppender.open(path);
    const big = "y".repeat(200_000);
    await Promise.all(Array.from({ length: 50 }, (_, i) => appender.append({ i, big })));
    await appender.close();
    const records = await readJsonl<{ i: number; big: string }>(path);
    assert.deepEqual(records.map((r) => r.i).sort((a, b) => a - b), [...Array(50).keys()]);
    assert.ok(records.every((r) => r.big === big));
  });
  await t.step("cuts a truncated tail longer than its backwards read block", async () => {
    await Deno.writeTextFile(path, `{"i":0}\n{"i":1,"pad":"${"z".repeat(300_000)}`);
    await dropTruncatedTail(path);
    assert.equal(await Deno.readTextFile(path), '{"i":0}\n');
    await Deno.writeTextFile(path, `{"i":2,"pad":"${"z".repeat(300_000)}`);
    await dropTruncatedTail(path);
    assert.equal(await Deno.readTextFile(path), "");
  });
  await t.step("counts complete lines only", async () => {
    await Deno.writeTextFile(path, '{"i":0}\n{"i":1}\n{"i":');
    assert.equal(await countLines(path), 2);
    assert.equal(await countLines(`${dir}/missing.jsonl`), 0);
  });
  await Deno.remove(dir, { recursive: true });
});
