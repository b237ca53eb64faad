import assert from "node:assert/strict";
import {
  choice,
  type CommandSpec,
  didYouMean,
  execute,
  existingPath,
  helpText,
  integer,
  number,
  pairs,
  parseCommand,
  UsageError,
} from "../../src/cli/_args.ts";

const TOY = {
  name: "toy",
  usage: "<thing> [options]",
  summary: "Does toy things.",
  positionals: { min: 1, max: 1, label: "thing" },
  options: {
    model: { type: "string", value: "SPEC", help: "the model", section: "Model" },
    limit: { type: "string", value: "N", help: "only N" },
    fresh: { type: "boolean", help: "start over" },
    stop: { type: "string", multiple: true, value: "TEXT", help: "stop text" },
  },
  exitCodes: { 1: "the toy broke" },
} as const satisfies CommandSpec;

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

Deno.test("parseCommand()", async (t) => {
  await t.step("gives typed values and positionals", () => {
    const parsed = parseCommand(TOY, [
      "a",
      "--model",
      "m",
      "--stop",
      "x",
      "--stop",
      "y",
      "--fresh",
    ]);
    assert.notEqual(typeof parsed, "string");
    if (typeof parsed === "string") return;
    assert.deepEqual(parsed.positionals, ["a"]);
    assert.equal(parsed.values.model, "m");
    assert.deepEqual(parsed.values.stop, ["x", "y"]);
    assert.equal(parsed.values.fresh, true);
  });
  await t.step("answers --help, -h and --version before checking positionals", () => {
    assert.equal(parseCommand(TOY, ["--help"]), "help");
    assert.equal(parseCommand(TOY, ["-h", "--modle"]), "help");
    assert.equal(parseCommand(TOY, ["--version"]), "version");
  });
  const usage = (args: string[], message: string) =>
    assert.throws(() => parseCommand(TOY, args), { name: "UsageError", message });
  await t.step("names an unknown option and the one meant", () => {
    usage(["a", "--modle", "x"], "unknown option --modle (did you mean --model?)");
    usage(["a", "--lmit=3"], "unknown option --lmit (did you mean --limit?)");
    usage(["a", "--frsh"], "unknown option --frsh (did you mean --fresh?)");
    usage(["a", "--zzz"], "unknown option --zzz");
  });
  await t.step("says which option lacks its value", () => {
    usage(["a", "--model"], "option --model needs a value: --model SPEC");
    usage(
      ["a", "--model", "--limit", "3"],
      `option --model needs a value: --model SPEC (for a value that starts with "-", write ` +
        `--model=-X)`,
    );
    usage(["a", "--fresh=yes"], "option --fresh takes no value: write --fresh alone");
  });
  await t.step("counts positionals", () => {
    usage([], "missing thing: toy needs one");
    usage(["a", "b"], 'unexpected argument "b": toy takes one thing');
  });
});

Deno.test("didYouMean()", async (t) => {
  await t.step("suggests a close name, a transposition or a prefix", () => {
    assert.equal(didYouMean("mbp", ["mbpp", "apps"]), " (did you mean mbpp?)");
    assert.equal(
      didYouMean("--tempretaure", ["--temperature", "--top-p"]),
      " (did you mean --temperature?)",
    );
    assert.equal(
      didYouMean("codexglue", ["codexglue-translation"]),
      " (did you mean codexglue-translation?)",
    );
  });
  await t.step("suggests nothing for a far name", () => {
    assert.equal(didYouMean("xyz", ["mbpp", "apps"]), "");
  });
});

Deno.test("helpText() is generated from the declaration, sections and exit status included", () => {
  assert.equal(
    helpText(TOY),
    [
      "Usage: deno task toy <thing> [options]",
      "",
      "Does toy things.",
      "",
      "Model:",
      "  --model SPEC            the model",
      "",
      "Options:",
      "  --limit N               only N",
      "  --fresh                 start over",
      "  --stop TEXT             stop text (repeatable)",
      "",
      "Other:",
      "  -h, --help              show this text",
      "  --version               print the version of ppocoder",
      "",
      "Exit status:",
      "  0   success",
      "  1   the toy broke",
      "  2   the command line is wrong (unknown option, bad value, a path that does not exist)",
      "  130 interrupted (Ctrl-C)",
    ].join("\n"),
  );
});

Deno.test("value helpers", async (t) => {
  const rejects = (fn: () => unknown, message: string) =>
    assert.throws(fn, { name: "UsageError", message });
  await t.step("integer()", () => {
    assert.equal(integer("n", undefined), undefined);
    assert.equal(integer("n", "12"), 12);
    rejects(
      () => integer("n", "1.5"),
      `option --n must be a whole number (0 or more): current value is "1.5"`,
    );
    rejects(
      () => integer("n", "0", 1),
      `option --n must be a whole number of at least 1: current value is "0"`,
    );
    rejects(
      () => integer("n", ""),
      `option --n must be a whole number (0 or more): current value is ""`,
    );
  });
  await t.step("number()", () => {
    assert.equal(number("top-p", "0.9", { min: 0, max: 1 }), 0.9);
    rejects(
      () => number("top-p", "2", { min: 0, max: 1 }),
      `option --top-p must be a number from 0 to 1: current value is "2"`,
    );
    rejects(() => number("t", "warm"), `option --t must be a number: current value is "warm"`);
    rejects(
      () => number("temperature", "-1", { min: 0 }),
      `option --temperature must be a number of at least 0: current value is "-1"`,
    );
  });
  await t.step("choice()", () => {
    assert.equal(choice("sandbox", "none", ["bwrap", "none"]), "none");
    rejects(
      () => choice("sandbox", "bwarp", ["bwrap", "none"]),
      `option --sandbox must be one of bwrap, none: current value is "bwarp" (did you mean bwrap?)`,
    );
  });
  await t.step("pairs()", () => {
    assert.deepEqual(pairs("backend", ["api=chat", "stop=a=b"]), { api: "chat", stop: "a=b" });
    rejects(
      () => pairs("backend", ["chat"]),
      `option --backend must be KEY=VALUE: current value is "chat"`,
    );
  });
  await t.step("existingPath()", async () => {
    const dir = await Deno.makeTempDir();
    try {
      assert.equal(await existingPath("reports", dir, { kind: "folder" }), dir);
      await assert.rejects(existingPath("reports", `${dir}/nope`, { hint: "run bench first" }), {
        name: "UsageError",
        message: `option --reports names "${dir}/nope", which does not exist: run bench first`,
      });
      await Deno.writeTextFile(`${dir}/f`, "");
      await assert.rejects(existingPath("reports", `${dir}/f`, { kind: "folder" }), {
        name: "UsageError",
        message: `option --reports must name a folder: "${dir}/f" is not one`,
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("execute()", async (t) => {
  await t.step("prints help on stdout and returns 0", async () => {
    const { io, out, err } = capture();
    assert.equal(await execute(TOY, () => Promise.resolve(9), ["--help"], io), 0);
    assert.match(out[0]!, /^Usage: deno task toy/);
    assert.deepEqual(err, []);
  });
  await t.step("prints the version", async () => {
    const { io, out } = capture();
    assert.equal(await execute(TOY, () => Promise.resolve(9), ["--version"], io), 0);
    assert.match(out[0]!, /^ppocoder \d+\.\d+\.\d+ \(commit [0-9a-f]{12}|unknown/);
  });
  await t.step("prints a usage error on stderr with the usage line, and returns 2", async () => {
    const { io, out, err } = capture();
    assert.equal(await execute(TOY, () => Promise.resolve(0), ["a", "--modle", "x"], io), 2);
    assert.deepEqual(out, []);
    assert.equal(
      err.join("\n"),
      "error: unknown option --modle (did you mean --model?)\n" +
        "Usage: deno task toy <thing> [options]\n(deno task toy --help lists every option)",
    );
  });
  await t.step("prints a failure as one line, no stack, and returns 1", async () => {
    const { io, err } = capture();
    const fail = () => Promise.reject(new RangeError("Cannot do it: fix it"));
    assert.equal(await execute(TOY, fail, ["a"], io), 1);
    assert.deepEqual(err, ["error: Cannot do it: fix it"]);
  });
  await t.step("returns a usage error thrown by the command as 2", async () => {
    const { io } = capture();
    const fail = () => Promise.reject(new UsageError("option --limit must be positive"));
    assert.equal(await execute(TOY, fail, ["a"], io), 2);
  });
  await t.step("returns the command's own status", async () => {
    assert.equal(await execute(TOY, () => Promise.resolve(3), ["a"], capture().io), 3);
  });
});
