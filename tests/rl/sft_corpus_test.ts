import assert from "node:assert/strict";
import { getBenchmark } from "../../benchmarks/mod.ts";
import { selectTasks } from "../../src/run.ts";
import {
  applyHeldOut,
  type Corpus,
  heldOutFromTasks,
  parseCorpusSpec,
  readCorpus,
  squash,
  stdlibPath,
} from "../../src/rl/sft/corpus.ts";
import { findToolchain } from "../../sandbox/mod.ts";
import { fixturePath, hasShared, sharedPath } from "../_shared.ts";

const CORPUS = fixturePath("rl/sft/corpus");

Deno.test("parseCorpusSpec()", async (t) => {
  await t.step("reads the kind, the target and the options", () => {
    assert.deepEqual(parseCorpusSpec("files:src/?ext=.java,.py&max-bytes=5000"), {
      spec: "files:src/?ext=.java,.py&max-bytes=5000",
      kind: "files",
      target: "src/",
      extensions: [".java", ".py"],
      maxBytes: 5000,
    });
    assert.deepEqual(parseCorpusSpec("bench:mbpp:train?loss=all"), {
      spec: "bench:mbpp:train?loss=all",
      kind: "bench",
      target: "mbpp:train",
      loss: "all",
    });
  });
  await t.step("rejects an unknown kind, option or value", () => {
    assert.throws(() => parseCorpusSpec("dir:src"), {
      name: "RangeError",
      message:
        'Cannot read corpus "dir:src" as it must start with one of files:, jsonl:, lines:, bench:, stdlib:: e.g. files:src/ or bench:mbpp:train',
    });
    assert.throws(() => parseCorpusSpec("files:src?depth=2"), {
      message:
        'Cannot read corpus "files:src?depth=2" as option "depth" is unknown: use ext, field, max-bytes, loss',
    });
    assert.throws(() => parseCorpusSpec("bench:mbpp?loss=prompt"), {
      message:
        'Cannot read corpus "bench:mbpp?loss=prompt" as "loss" must be completion or all: current value is "prompt"',
    });
  });
});

Deno.test("readCorpus()", async (t) => {
  await t.step("files: a folder's source files in sorted order, one document each", async () => {
    const corpus = await readCorpus(parseCorpusSpec(`files:${CORPUS}`));
    assert.deepEqual(corpus.items.map((i) => i.id), [
      "Stack.java",
      "Strings.java",
      "intervals.py",
      "queue.go",
    ]);
    assert.equal(corpus.items[0]!.text, await Deno.readTextFile(`${CORPUS}/Stack.java`));
  });
  await t.step("files: ext and max-bytes", async () => {
    const corpus = await readCorpus(parseCorpusSpec(`files:${CORPUS}?ext=.java&max-bytes=10`));
    assert.deepEqual(corpus.items.map((i) => i.id), ["Stack.java"]);
  });
  await t.step("files: a zip archive's entries (stored and deflated)", async () => {
    const zip = fixturePath("rl/sft/corpus.zip");
    const corpus = await readCorpus(parseCorpusSpec(`files:${zip}?ext=.java,.go`));
    assert.deepEqual(corpus.items.map((i) => i.id), [
      "corpus.zip!go/queue.go",
      "corpus.zip!java.base/fixtures/Stack.java",
      "corpus.zip!java.base/fixtures/Strings.java",
    ]);
    assert.equal(corpus.items[0]!.text, await Deno.readTextFile(`${CORPUS}/queue.go`));
    assert.equal(corpus.items[2]!.text, await Deno.readTextFile(`${CORPUS}/Strings.java`));
  });
  await t.step("jsonl: one document per record, with its repository", async () => {
    const corpus = await readCorpus(parseCorpusSpec(`jsonl:${CORPUS}/snippets.jsonl`));
    assert.equal(corpus.items.length, 4);
    assert.deepEqual(corpus.items[2], {
      id: "snippets.jsonl:3",
      text: "public static long square(long x) {\n    return x * x;\n}",
      repo: "fixtures/two",
    });
    await assert.rejects(
      () => readCorpus(parseCorpusSpec(`jsonl:${CORPUS}/snippets.jsonl?field=text`)),
      {
        message:
          `Cannot read corpus "jsonl:${CORPUS}/snippets.jsonl?field=text" as line 1 has no string field "text": pass ?field=NAME`,
      },
    );
  });
  await t.step("lines: one document per non-empty line", async () => {
    const corpus = await readCorpus(parseCorpusSpec(`lines:${CORPUS}/intervals.py`));
    assert.equal(corpus.items[0]!.id, "intervals.py:1");
    assert.equal(corpus.items[0]!.text, '"""Interval helpers written for the ppocoder tests."""');
  });
  await t.step("bench: prompt -> gold solution pairs through the benchmark's adapter", async () => {
    const corpus = await readCorpus(parseCorpusSpec("bench:mbpp:all"), {
      benchmark: getBenchmark,
      data: fixturePath("mbpp/mbpp_small.jsonl"),
      allowUnverified: true,
    });
    const item = corpus.items.find((i) => i.id === "mbpp/2")!;
    assert.match(item.prompt!, /^You are an expert Python programmer, and here is your task: /);
    assert.match(item.text, /^def common_elements\(/);
    assert.equal(item.lossOnPrompt, false);
  });
});

const PYTHON = await findToolchain("python");
Deno.test({
  name: "readCorpus() reads CPython's standard library through the toolchain",
  ignore: PYTHON === null,
  async fn() {
    const path = await stdlibPath("python");
    const corpus = await readCorpus(parseCorpusSpec("stdlib:python?max-bytes=200000"));
    assert.equal(corpus.source, path);
    assert.ok(corpus.items.length > 2);
    assert.ok(corpus.items.every((i) => i.id.endsWith(".py") && !i.id.includes("site-packages")));
    assert.ok(corpus.items.some((i) => i.text.includes("def ")));
  },
});

Deno.test("applyHeldOut() drops held-out tasks by id, text and repository", () => {
  const corpus: Corpus = {
    spec: parseCorpusSpec("jsonl:x.jsonl"),
    source: "x.jsonl",
    items: [
      { id: "t/1", text: "a", prompt: "p" },
      { id: "x:2", text: "int  f() {\n return 1; }" },
      { id: "x:3", text: "int g() { return 2; }", repo: "r/one" },
      { id: "x:4", text: "int h() { return 3; }", repo: "r/two" },
    ],
  };
  const heldOut = {
    description: "test",
    taskIds: ["t/1"],
    texts: [squash("int f() { return 1; }")],
    repos: ["r/one"],
    dropRepos: true,
  };
  const { corpus: kept, count } = applyHeldOut(corpus, heldOut);
  assert.deepEqual(kept.items.map((i) => i.id), ["x:4"]);
  assert.deepEqual(count, { corpus: "jsonl:x.jsonl", byId: 1, byText: 1, byRepo: 1, kept: 1 });
  const noRepos = applyHeldOut(corpus, { ...heldOut, dropRepos: false });
  assert.deepEqual(noRepos.corpus.items.map((i) => i.id), ["x:3", "x:4"]);
});

const CSN = "datasets/codesearchnet/java_train_15.jsonl.gz";
Deno.test({
  name: "applyHeldOut() keeps CodeSearchNet's first 300 evaluation tasks out of the shard",
  ignore: !hasShared(CSN),
  async fn() {
    const loaded = await getBenchmark("codesearchnet").load({ data: sharedPath(CSN) });
    const tasks = (await selectTasks(loaded, { limit: 300 })).tasks;
    const heldOut = heldOutFromTasks("first 300", tasks, false);
    const corpus = await readCorpus(parseCorpusSpec(`jsonl:${sharedPath(CSN)}`));
    const { corpus: kept, count } = applyHeldOut(corpus, heldOut);
    assert.ok(count.byText >= 300, `dropped ${count.byText}`);
    const texts = new Set(heldOut.texts);
    assert.ok(kept.items.every((i) => !texts.has(squash(i.text))));
    const strict = applyHeldOut(corpus, { ...heldOut, dropRepos: true });
    const repos = new Set(heldOut.repos);
    assert.ok(strict.count.byRepo > 0);
    assert.ok(strict.corpus.items.every((i) => !repos.has(i.repo!)));
  },
});
