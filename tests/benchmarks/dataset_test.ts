import assert from "node:assert/strict";
import { join } from "node:path";
import { DatasetError, resolveDatasetFile } from "../../benchmarks/_dataset.ts";
import { sha256 } from "../../src/util/hash.ts";
import type { DatasetSpec } from "../../benchmarks/benchmark.ts";

const CONTENT = '{"task_id": 1}\n';
const FILE = {
  name: "toy.jsonl",
  sha256: sha256(CONTENT),
  url: "https://example.invalid/toy.jsonl",
};
const SPEC: DatasetSpec = { name: "toy", version: "1", files: [FILE] };

function offline(): Promise<Response> {
  return Promise.reject(new TypeError("error sending request: dns error"));
}

async function withDirs(
  fn: (dirs: { data: string; root: string; cache: string }) => Promise<void>,
) {
  const base = await Deno.makeTempDir();
  const dirs = { data: join(base, "data"), root: join(base, "root"), cache: join(base, "cache") };
  for (const dir of Object.values(dirs)) await Deno.mkdir(dir, { recursive: true });
  try {
    await fn(dirs);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
}

Deno.test("resolveDatasetFile()", async (t) => {
  await t.step(
    "takes --data first, as a file or a folder",
    () =>
      withDirs(async ({ data, root, cache }) => {
        await Deno.writeTextFile(join(data, "toy.jsonl"), CONTENT);
        await Deno.mkdir(join(root, "toy"));
        await Deno.writeTextFile(join(root, "toy", "toy.jsonl"), CONTENT);
        const env = (name: string) => name === "PPOCODER_DATA" ? root : undefined;
        const byFolder = await resolveDatasetFile(SPEC, FILE, {
          data,
          env,
          cacheDir: cache,
          fetch: offline,
        });
        assert.deepEqual(byFolder, {
          path: join(data, "toy.jsonl"),
          origin: "--data",
          sha256: FILE.sha256,
        });
        const byFile = await resolveDatasetFile(SPEC, FILE, {
          data: join(data, "toy.jsonl"),
          env,
          cacheDir: cache,
          fetch: offline,
        });
        assert.equal(byFile.origin, "--data");
      }),
  );
  await t.step(
    "then PPOCODER_DATA/<dataset>/<file>, then the cache",
    () =>
      withDirs(async ({ root, cache }) => {
        await Deno.mkdir(join(cache, "toy"));
        await Deno.writeTextFile(join(cache, "toy", "toy.jsonl"), CONTENT);
        const noEnv = () => undefined;
        const cached = await resolveDatasetFile(SPEC, FILE, {
          env: noEnv,
          cacheDir: cache,
          fetch: offline,
        });
        assert.equal(cached.origin, "cache");
        await Deno.mkdir(join(root, "toy"));
        await Deno.writeTextFile(join(root, "toy", "toy.jsonl"), CONTENT);
        const env = (name: string) => name === "PPOCODER_DATA" ? root : undefined;
        const fromRoot = await resolveDatasetFile(SPEC, FILE, {
          env,
          cacheDir: cache,
          fetch: offline,
        });
        assert.equal(fromRoot.origin, "PPOCODER_DATA");
      }),
  );
  await t.step(
    "downloads into the cache, verified, when nothing is local",
    () =>
      withDirs(async ({ cache }) => {
        const fetched: string[] = [];
        const fetchToy = (url: string | URL | Request) => {
          fetched.push(String(url));
          return Promise.resolve(new Response(CONTENT));
        };
        const options = { env: () => undefined, cacheDir: cache, fetch: fetchToy as typeof fetch };
        const first = await resolveDatasetFile(SPEC, FILE, options);
        assert.deepEqual(first, {
          path: join(cache, "toy", "toy.jsonl"),
          origin: "download",
          sha256: FILE.sha256,
        });
        assert.equal((await resolveDatasetFile(SPEC, FILE, options)).origin, "cache");
        assert.deepEqual(fetched, [FILE.url]);
      }),
  );
  await t.step(
    "refuses a download whose sha256 differs and leaves no file",
    () =>
      withDirs(async ({ cache }) => {
        const tampered = () => Promise.resolve(new Response("tampered\n"));
        await assert.rejects(
          () =>
            resolveDatasetFile(SPEC, FILE, {
              env: () => undefined,
              cacheDir: cache,
              fetch: tampered,
            }),
          {
            name: "DatasetError",
            message: new RegExp(
              `^Cannot use the download from ${FILE.url} as its sha256 must be the pinned `,
            ),
          },
        );
        assert.throws(() => Deno.statSync(join(cache, "toy", "toy.jsonl")), Deno.errors.NotFound);
      }),
  );
  await t.step(
    "says where to put which file when offline and nothing is found",
    () =>
      withDirs(async ({ cache }) => {
        const error = await resolveDatasetFile(SPEC, FILE, {
          env: () => undefined,
          cacheDir: cache,
          fetch: offline,
        })
          .catch((e) => e);
        assert.ok(error instanceof DatasetError);
        assert.equal(
          error.message,
          `Cannot find dataset file "toy.jsonl" of toy as it is in none of: $PPOCODER_DATA/toy/toy.jsonl (PPOCODER_DATA is not set), ` +
            `${
              join(cache, "toy", "toy.jsonl")
            }; and the download from https://example.invalid/toy.jsonl failed: ` +
            `error sending request: dns error: put the file (sha256 ${FILE.sha256}) in one of those places, ` +
            `for example PPOCODER_DATA=/path/to/datasets with it at toy/toy.jsonl`,
        );
      }),
  );
  await t.step(
    "refuses a local file with another sha256 unless allowUnverified",
    () =>
      withDirs(async ({ data, cache }) => {
        await Deno.writeTextFile(join(data, "toy.jsonl"), "edited\n");
        const options = { data, env: () => undefined, cacheDir: cache, fetch: offline };
        await assert.rejects(() => resolveDatasetFile(SPEC, FILE, options), {
          name: "DatasetError",
          message: new RegExp(
            `pass --allow-unverified to use it anyway \\(the report records its sha256\\)$`,
          ),
        });
        const accepted = await resolveDatasetFile(SPEC, FILE, {
          ...options,
          allowUnverified: true,
        });
        assert.equal(accepted.sha256, sha256("edited\n"));
      }),
  );
});
