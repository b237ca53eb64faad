import assert from "node:assert/strict";
import { Hono } from "hono";
import { join } from "node:path";
import { OnnxBackend } from "../../src/models/onnx.ts";
import { resolveModelFolder } from "../../src/models/_hub.ts";
import { argmax } from "../../src/models/sampling.ts";
import type { GenerationRequest, Sampling } from "../../src/models/backend.ts";
import type { Task } from "../../src/types.ts";
import { hasShared, sharedPath } from "../_shared.ts";

/** A tiny model, prompts whose ids fit its vocabulary, and the greedy ids pinned for them. */
interface TinyModel {
  readonly folder: string;
  readonly dtype: string;
  readonly kvCache: string;
  readonly prompts: readonly string[];
  readonly promptIds: readonly (readonly number[])[];
  /** Greedy ids, 10 new tokens per prompt, from onnxruntime-node 1.30.0 on CPU. */
  readonly greedy: readonly (readonly number[])[];
}

const MODELS: readonly TinyModel[] = [
  {
    folder: "models/tiny-random-llama-fp16",
    dtype: "float16",
    kvCache: "key_value",
    prompts: ["def add(a, b):\n", "print(", "import os\nimport sys\n", "x = 1"],
    promptIds: [
      [1, 822, 788, 29898, 29874, 29892, 289, 1125, 13],
      [1, 1596, 29898],
      [1, 1053, 2897, 13, 5215, 10876, 13],
      [1, 921, 353, 29871, 29896],
    ],
    greedy: [
      [19053, 25470, 2323, 21742, 13486, 13934, 26715, 23287, 16710, 27488],
      [31734, 4496, 7254, 3944, 15066, 2145, 20833, 29684, 26775, 1966],
      [5845, 25254, 31637, 21315, 8444, 30270, 31220, 19929, 16686, 7912],
      [21711, 24282, 841, 23124, 30954, 4355, 14017, 25190, 6074, 6566],
    ],
  },
  {
    folder: "models/tiny-random-gpt2-fp32",
    dtype: "float32",
    kvCache: "stacked",
    // GPT-2's tokenizer knows 50257 tokens, this model 1000: these prompts stay below 1000.
    prompts: ["a(b, c)\n", "a, b\n", "if a:\n", "a = b"],
    promptIds: [[64, 7, 65, 11, 269, 8, 198], [64, 11, 275, 198], [361, 257, 25, 198], [
      64,
      796,
      275,
    ]],
    greedy: [
      [858, 858, 858, 858, 858, 858, 858, 858, 123, 123],
      [858, 858, 858, 858, 858, 858, 858, 858, 858, 858],
      [948, 948, 832, 832, 832, 832, 832, 832, 832, 832],
      [464, 464, 669, 669, 669, 669, 669, 669, 669, 669],
    ],
  },
];

const GREEDY: Sampling = {
  n: 1,
  temperature: 0,
  topP: 1,
  topK: 0,
  maxTokens: 10,
  stop: [],
  seed: 0,
};

function request(prompt: string, indices: number[], sampling: Partial<Sampling> = {}) {
  const task = { id: "toy/1", language: "python" } as Task;
  return {
    task,
    prompt,
    indices,
    sampling: { ...GREEDY, n: indices.length, ...sampling },
  } satisfies GenerationRequest;
}

async function greedyIds(
  backend: OnnxBackend,
  prompts: readonly (readonly number[])[],
  cache: boolean,
): Promise<number[][]> {
  return await backend.decoder.generate(prompts, {
    maxTokens: prompts.map(() => 10),
    choose: (_row, logits) => argmax(logits),
    done: () => false,
    padTokenId: backend.config.padTokenId,
    cache,
  });
}

for (const model of MODELS) {
  const name = model.folder.split("/")[1];
  Deno.test({
    name: `OnnxBackend on ${name}`,
    ignore: !hasShared(model.folder),
    async fn(t) {
      const backend = await OnnxBackend.open(sharedPath(model.folder), { batchSize: 4 });
      try {
        await t.step("reads the export layout and dtype", () => {
          assert.equal(backend.identity.backend, "onnx");
          assert.equal(backend.identity.settings.dtype, model.dtype);
          assert.equal(backend.identity.settings.kvCache, model.kvCache);
          assert.deepEqual(model.prompts.map((p) => backend.encode(p)), model.promptIds);
        });

        await t.step("pins the greedy ids of each prompt decoded alone", async () => {
          for (const [i, ids] of model.promptIds.entries()) {
            assert.deepEqual(await greedyIds(backend, [ids], true), [model.greedy[i]]);
          }
        });

        await t.step(
          "decodes a left-padded batch of 4 as it decodes each prompt alone",
          async () => {
            assert.deepEqual(await greedyIds(backend, model.promptIds, true), model.greedy);
          },
        );

        await t.step(
          "gives the same ids with the KV cache as with full recomputation",
          async () => {
            assert.deepEqual(await greedyIds(backend, model.promptIds, false), model.greedy);
          },
        );

        await t.step("reproduces sampled text for a seed, independently of batching", async () => {
          const sampled = { temperature: 0.9, topP: 0.95, topK: 50, seed: 11 };
          const prompt = model.prompts[0]!;
          const four = await backend.generate(request(prompt, [0, 1, 2, 3], sampled));
          const again = await backend.generate(request(prompt, [0, 1, 2, 3], sampled));
          const alone = await backend.generate(request(prompt, [2], sampled));
          const other = await backend.generate(
            request(prompt, [0, 1, 2, 3], { ...sampled, seed: 12 }),
          );
          assert.deepEqual(again, four);
          assert.deepEqual(alone, [four[2]]);
          assert.notDeepEqual(other.map((g) => g.raw), four.map((g) => g.raw));
          assert.equal(new Set(four.map((g) => g.raw)).size > 1, true);
        });

        await t.step("decodes greedy once for every index and counts usage", async () => {
          const before = backend.usage();
          const generations = await backend.generate(request(model.prompts[0]!, [0, 1, 2]));
          assert.equal(generations.length, 3);
          assert.equal(new Set(generations.map((g) => g.raw)).size, 1);
          assert.equal(generations[0]!.completionTokens, 10);
          const after = backend.usage();
          assert.equal(after.requests - before.requests, 1);
          assert.equal(after.completionTokens - before.completionTokens, 10);
        });

        await t.step("cuts the text before a stop sequence", async () => {
          const [full] = await backend.generate(request(model.prompts[1]!, [0]));
          const stop = full!.raw.slice(3, 6);
          const [cut] = await backend.generate(request(model.prompts[1]!, [0], { stop: [stop] }));
          assert.equal(cut!.raw, full!.raw.slice(0, full!.raw.indexOf(stop)));
        });

        await t.step("batches the rows of concurrent requests", async () => {
          const before = backend.usage().requests;
          const batched = await Promise.all(
            model.prompts.map((p) => backend.generate(request(p, [0]))),
          );
          assert.equal(backend.usage().requests - before, 1);
          for (const [i, prompt] of model.prompts.entries()) {
            assert.deepEqual(await backend.generate(request(prompt, [0])), batched[i]);
          }
        });
      } finally {
        await backend.close();
      }
    },
  });
}

Deno.test({
  name: "OnnxBackend.generate() rejects token ids beyond the model's vocabulary",
  ignore: !hasShared("models/tiny-random-gpt2-fp32"),
  async fn() {
    const folder = sharedPath("models/tiny-random-gpt2-fp32");
    const backend = await OnnxBackend.open(folder);
    try {
      await assert.rejects(backend.generate(request("def f", [0])), {
        name: "RangeError",
        message: `Cannot run ONNX model "${folder}" as the tokenizer gave token id 4299 but the ` +
          `model's vocabulary has 1000 entries: the folder's tokenizer.json does not belong to this model`,
      });
      await assert.rejects(backend.generate(request("a, b\n".repeat(130), [0])), {
        name: "RangeError",
        message:
          "Cannot generate as the prompt must be shorter than the model's context: current " +
          "length 520 tokens, context 512 tokens: use a shorter prompt template or fewer shots",
      });
    } finally {
      await backend.close();
    }
  },
});

Deno.test("resolveModelFolder()", async (t) => {
  const cacheDir = await Deno.makeTempDir({ prefix: "ppocoder_models_" });
  try {
    await t.step("says plainly that it cannot download when the hub is unreachable", async () => {
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const endpoint = `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
      listener.close(); // nothing listens: as offline as a hub gets
      await assert.rejects(
        resolveModelFolder("someone/tiny-model", { endpoint, cacheDir }),
        (e: Error) => {
          assert.match(
            e.message,
            new RegExp(
              `^Cannot download model "someone/tiny-model" as "${endpoint}/api/models/someone/tiny-model/` +
                `revision/main" cannot be reached \\(offline\\?\\): .+: copy a folder with the ONNX ` +
                `decoder and tokenizer.json to this machine and pass --model onnx:<folder>$`,
            ),
          );
          return true;
        },
      );
    });

    await t.step("rejects a spec that is neither a folder nor a hub id", async () => {
      await assert.rejects(resolveModelFolder("no/such/folder", { cacheDir }), {
        name: "RangeError",
        message:
          'Cannot load ONNX model "no/such/folder" as it is neither a folder nor a Hugging ' +
          "Face model id (owner/name): pass a folder holding an ONNX decoder and tokenizer.json",
      });
    });

    await t.step({
      name: "downloads a hub model once into the cache, then loads it offline",
      ignore: !hasShared("models/tiny-random-llama-fp16"),
      async fn() {
        const source = sharedPath("models/tiny-random-llama-fp16");
        const files = [...Deno.readDirSync(source)].map((e) => e.name).sort();
        const seen: string[] = [];
        const app = new Hono();
        app.get("/api/models/:owner/:name/revision/:rev", (c) => {
          seen.push(c.req.path);
          return c.json({ siblings: [...files, "README.md"].map((rfilename) => ({ rfilename })) });
        });
        app.get("/:owner/:name/resolve/:rev/:file", async (c) => {
          seen.push(c.req.path);
          return c.body(await Deno.readFile(join(source, c.req.param("file"))));
        });
        const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
        const endpoint = `http://127.0.0.1:${server.addr.port}`;
        try {
          const backend = await OnnxBackend.open("hf-internal/tiny-llama", { endpoint, cacheDir });
          const [generation] = await backend.generate(request("def add(a, b):\n", [0]));
          await backend.close();
          const local = await OnnxBackend.open(source);
          const expected = await local.generate(request("def add(a, b):\n", [0]));
          await local.close();
          assert.deepEqual([generation], expected);
          assert.deepEqual(
            seen.slice(1).sort(),
            files.map((f) => `/hf-internal/tiny-llama/resolve/main/${f}`),
          );
          const count = seen.length;
          const again = await OnnxBackend.open("hf-internal/tiny-llama", { endpoint, cacheDir });
          await again.close();
          assert.equal(seen.length, count, "a cached model must not be downloaded again");
        } finally {
          await server.shutdown();
        }
      },
    });
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});
