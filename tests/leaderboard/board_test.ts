/**
 * The leaderboard page over a board worth reading (`writeModelZoo`): groups titled in words, the
 * largest first, models told apart (chat or completions), intervals in the table, ties sharing a
 * rank, and charts that compare models rather than join them by date.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createApp } from "../../src/leaderboard/app.ts";
import { competitionRanks } from "../../src/leaderboard/_data.ts";
import { groupWords, modelWords } from "../../src/leaderboard/_group_titles.ts";
import { createFolderStore } from "../../src/report/store.ts";
import { copyFixtures, writeModelZoo } from "./report_fixtures.ts";

/** Table rows of the HTML, as text with tags removed. */
function rows(page: string): string[] {
  return [...page.matchAll(/<tr[^>]*>([\s\S]*?)<\/tr>/g)].map((m) =>
    m[1]!.replace(/<[^>]+>/g, " ").replace(/\s+/g, " ").trim()
  );
}

interface ApiRun {
  readonly rank: number | null;
  readonly ref: string;
  readonly headlineInterval: { low: number; high: number } | null;
}

Deno.test("the board of one benchmark", async (t) => {
  const dir = await copyFixtures();
  await writeModelZoo(dir);
  const app = createApp(createFolderStore(dir));
  try {
    const page = await (await app.request("/benchmarks/mbpp")).text();
    const api = await (await app.request("/api/benchmarks/mbpp")).json();

    await t.step("titles groups by what defines them, the largest group first", () => {
      const titles = [...page.matchAll(/<h3 class="group">([^<]*)<\/h3>/g)].map((m) => m[1]);
      assert.deepEqual(titles, [
        "split test · 20 tasks · n=1 · pass@1 · limits 10 s wall",
        "split test · 20 tasks · n=1 · pass@1 · limits 4 s wall",
        "split test · 20 tasks · n=5 · pass@1, pass@5 · limits 10 s wall",
      ]);
      assert.deepEqual(api.board.groups.map((g: { runs: unknown[] }) => g.runs.length), [6, 1, 1]);
      assert.match(page, /Also fixed: 0-shot · prompt mbpp-v1 · dataset d8d11f1e/);
    });

    await t.step("tells a chat run from a completions run of the same model", () => {
      const table = rows(page);
      assert.ok(
        table.some((r) => /^2 openai:qwen2\.5-coder-7b \(chat\) /.test(r)),
        table.join("\n"),
      );
      assert.ok(table.some((r) => /^3 openai:qwen2\.5-coder-7b \(completions\) /.test(r)));
    });

    await t.step("gives tied runs one rank, and the next rank after them", () => {
      const ranked = api.board.groups[0].runs.map((r: ApiRun) => [r.rank, r.ref]);
      assert.deepEqual(ranked, [
        [1, "mbpp/2026-11-01T09-00-00Z-reference"],
        [2, "mbpp/2026-11-08T09-00-00Z-qwen-chat"],
        [3, "mbpp/2026-11-09T09-00-00Z-deepseek"],
        [3, "mbpp/2026-11-07T09-00-00Z-qwen-completions"],
        [5, "mbpp/2026-11-10T09-00-00Z-codellama"],
        [5, "mbpp/2026-11-02T14-30-00Z-tiny-gpt2"],
      ]);
    });

    await t.step("shows the headline's 95% interval in the table and the API", () => {
      assert.ok(rows(page).some((r) => / 70\.0% 48\.1% – 85\.5% /.test(r)));
      const chat = api.board.groups[0].runs[1] as ApiRun;
      assert.ok(Math.abs(chat.headlineInterval!.low - 0.481) < 1e-3);
      assert.ok(Math.abs(chat.headlineInterval!.high - 0.855) < 1e-3);
    });

    await t.step("draws ranked bars with interval whiskers, not a time line", () => {
      assert.match(page, /<title>pass@1 with 95% intervals<\/title>/);
      assert.match(
        page,
        /<title>openai:qwen2\.5-coder-7b \(chat\): 70\.0% \(48\.1% – 85\.5%\)<\/title>/,
      );
      assert.doesNotMatch(page, /<polyline|over time/);
    });

    await t.step("draws bars per language where a group has several languages", async () => {
      const xlcost = await (await app.request("/benchmarks/xlcost")).text();
      assert.match(xlcost, /<title>compile_rate by language, top 4 runs<\/title>/);
      assert.match(
        xlcost,
        /<title>3\. openai:deepseek-coder-6\.7b \(completions\), java: 30\.0%<\/title>/,
      );
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("competitionRanks()", () => {
  assert.deepEqual(competitionRanks([0.9, 0.7, 0.7, 0.5, null]), [1, 2, 2, 4, null]);
  assert.deepEqual(competitionRanks([]), []);
});

Deno.test("groupWords()", async (t) => {
  const base = {
    benchmark: "mbpp",
    split: "test",
    filter: {},
    tasks: "500 tasks, sha256 0123456789abcdef",
    promptTemplate: "mbpp-v1",
    shots: 0,
    n: 1,
    k: [1],
    limits: { wallMs: 10000, memoryMb: 1024, outputBytes: 1048576 },
    datasetSha256: { "mbpp.jsonl": "d8d11f1e4d8c6f0a" },
  };
  await t.step("says a lone group's split, tasks and n, the rest as fixed", () => {
    assert.deepEqual(groupWords([base]), [{
      title: "split test · 500 tasks · n=1",
      shared: "0-shot · pass@1 · prompt mbpp-v1 · limits 10 s wall, 1024 MB memory, 1 MiB " +
        "output · dataset d8d11f1e",
    }]);
  });
  await t.step("titles groups by the fields that tell them apart", () => {
    const words = groupWords([
      base,
      { ...base, shots: 3, filter: { difficulty: "introductory" } },
      { ...base, tasks: "500 tasks, sha256 fedcba9876543210" },
    ]);
    assert.deepEqual(words.map((w) => w.title), [
      "split test · 500 tasks (task set 01234567) · 0-shot · n=1",
      "split test · difficulty=introductory · 500 tasks (task set 01234567) · 3-shot · n=1",
      "split test · 500 tasks (task set fedcba98) · 0-shot · n=1",
    ]);
  });
});

Deno.test("modelWords()", () => {
  assert.deepEqual(
    modelWords({
      backend: "openai",
      id: "qwen",
      settings: { api: "chat", baseUrl: "http://h/v1" },
    }),
    { name: "openai:qwen (chat)", details: "baseUrl http://h/v1" },
  );
  assert.deepEqual(
    modelWords({ backend: "samples", id: "s.jsonl", settings: { sha256: "a".repeat(64) } }),
    { name: "samples:s.jsonl", details: "sha256 aaaaaaaaaaaa" },
  );
});
