import assert from "node:assert/strict";
import { join } from "node:path";
import { createApp } from "../../src/leaderboard/app.ts";
import { createFolderStore, type RunRef } from "../../src/report/store.ts";
import type { Report } from "../../src/report/schema.ts";
import {
  copyFixtures,
  FIXTURES,
  readFixture,
  RUNS,
  withStatus,
  writeReport,
} from "./report_fixtures.ts";

const app = createApp(createFolderStore(FIXTURES));
const run = (ref: RunRef, suffix = "") => `/runs/${ref.folder}/${ref.run}${suffix}`;
const pair = (a: RunRef, b: RunRef) => `a=${a.folder}/${a.run}&b=${b.folder}/${b.run}`;

async function get(path: string, status = 200): Promise<string> {
  const response = await app.request(path);
  const text = await response.text();
  assert.equal(response.status, status, `${path}: ${text.slice(0, 400)}`);
  return text;
}

async function getJson(path: string, status = 200) {
  return JSON.parse(await get(path, status));
}

/** Table rows of the HTML, as text with tags removed. */
function rows(page: string): string[] {
  return [...page.matchAll(/<tr[^>]*>([\s\S]*?)<\/tr>/g)].map((m) =>
    m[1]!.replace(/<[^>]+>/g, " ").replace(/\s+/g, " ").trim()
  );
}

Deno.test("GET /", async (t) => {
  const page = await get("/");

  await t.step("shows a leaderboard per benchmark", () => {
    for (const name of ["apps", "mbpp", "xlcost"]) {
      assert.match(page, new RegExp(`<h2><a href="/benchmarks/${name}">`));
    }
  });

  await t.step("ranks comparable runs by the headline metric, with every metric column", () => {
    const ranked = rows(page);
    const reference = ranked.findIndex((r) => r.includes("2026-11-01T09-00-00Z-reference"));
    const tiny = ranked.findIndex((r) => r.includes("2026-11-02T14-30-00Z-tiny-gpt2 "));
    assert.ok(reference >= 0 && tiny > reference, "reference ranks above the tiny model");
    assert.match(
      ranked[reference]!,
      /^1 reference:gold .* 95\.0% 76\.4% – 99\.1% 100\.0% 100\.0% 1\.0000 1\.0000 20$/,
    );
    for (const column of ["★ pass@1", "95% interval", "compile_rate", "syntax_rate", "pass@5"]) {
      assert.ok(page.includes(`>${column}</th>`), column);
    }
  });

  await t.step("keeps runs with different keys in different groups, titled in words", () => {
    const titles = [...page.matchAll(/<h3 class="group">([^<]*)<\/h3>/g)].map((m) => m[1]);
    assert.deepEqual(titles, [
      "split test · 12 tasks · n=1",
      "split test · 20 tasks · n=1 · pass@1",
      "split test · 20 tasks · n=5 · pass@1, pass@5",
      "split test · 30 tasks · n=1",
    ]);
  });

  await t.step("shows per-language columns and the fallback headline of XLCoST", () => {
    for (const language of ["cpp", "java", "python"]) {
      assert.ok(page.includes(`>${language}<div class="small">compile_rate</div></th>`), language);
    }
    assert.match(page, /ranked by <strong>compile_rate<\/strong>/);
  });

  await t.step("draws ranked bars with intervals, and no time line across models", () => {
    assert.match(page, /<svg class="chart"[^>]*>\s*<title>pass@1 with 95% intervals<\/title>/);
    assert.doesNotMatch(page, /over time|<polyline/);
  });

  await t.step("lists the malformed report with its problems", () => {
    assert.match(page, /1 report could not be read/);
    assert.match(page, /mbpp\/2026-11-04T10-00-00Z-broken\/report\.json/);
  });

  await t.step("needs no JavaScript and forbids scripts", async () => {
    assert.doesNotMatch(page, /<script/i);
    const response = await app.request("/");
    assert.match(response.headers.get("content-security-policy") ?? "", /default-src 'none'/);
  });
});

Deno.test("GET /benchmarks/:benchmark", async (t) => {
  await t.step("shows one benchmark", async () => {
    const page = await get("/benchmarks/apps");
    assert.match(page, /<h1>apps leaderboard<\/h1>/);
    assert.doesNotMatch(page, /href="\/benchmarks\/mbpp"/);
  });
  await t.step("is 404 for an unknown benchmark", async () => {
    const page = await get("/benchmarks/nope", 404);
    assert.match(page, /Cannot find benchmark &quot;nope&quot;: no readable report names it/);
  });
});

Deno.test("GET /runs/:folder/:run", async (t) => {
  const page = await get(run(RUNS.tiny));

  await t.step("shows configuration and provenance", () => {
    for (
      const text of ["mbpp-v1", "tiny-random-gpt2-fp32", "Python 3.11.2", "bwrap", "2b39012f3c1d"]
    ) {
      assert.ok(page.includes(text), text);
    }
  });

  await t.step("shows metrics with confidence intervals", () => {
    const pass = rows(page).find((r) => r.startsWith("★ pass@1"));
    assert.equal(pass, "★ pass@1 40.0% 21.9% – 61.3% wilson over 20 tasks");
    assert.match(rows(page).find((r) => r.startsWith("codebleu"))!, /bootstrap over 20 tasks$/);
    assert.match(rows(page).find((r) => r.startsWith("bleu"))!, /no per-task values$/);
  });

  await t.step("draws the statuses and compile rate per language", () => {
    assert.match(page, /<title>Statuses of 20 samples<\/title>/);
    assert.match(page, /<title>Compile rate per language<\/title>/);
  });

  await t.step("offers the comparable runs to compare with, and not the others", () => {
    assert.match(page, /<option value="mbpp\/2026-11-01T09-00-00Z-reference">/);
    assert.doesNotMatch(page, /<option value="mbpp\/2026-11-03T08-15-00Z-tiny-gpt2-n5">/);
  });

  await t.step("lists every task", () => {
    assert.match(page, /20 tasks match · page 1 of 1/);
  });
});

Deno.test("GET /runs/:folder/:run filters", async (t) => {
  await t.step("by status", async () => {
    const page = await get(run(RUNS.tiny, "?status=compile_error"));
    assert.match(page, /5 tasks match/);
    assert.match(page, /<option value="compile_error" selected>/);
  });
  await t.step("by language", async () => {
    const page = await get(run(RUNS.xlcost, "?language=java"));
    assert.match(page, /10 tasks match/);
    assert.doesNotMatch(page, /xlcost\/cpp\//);
  });
  await t.step("by difficulty, combined with status", async () => {
    const page = await get(run(RUNS.apps, "?difficulty=interview&status=failed"));
    assert.match(page, /1 task match/);
    assert.match(page, /apps\/4006/);
  });
  await t.step("pages through the tasks", async () => {
    const paged = createApp(createFolderStore(FIXTURES), { tasksPerPage: 8 });
    const page = await (await paged.request(run(RUNS.xlcost, "?language=java&page=2"))).text();
    assert.match(page, /10 tasks match · page 2 of 2/);
    assert.match(
      page,
      /href="\/runs\/xlcost\/2026-11-06T18-45-00Z-samples\?language=java&amp;page=1#tasks">← previous/,
    );
  });
  await t.step("refuses an unknown status with 400", async () => {
    const page = await get(run(RUNS.tiny, "?status=exploded"), 400);
    assert.match(page, /Cannot filter by status &quot;exploded&quot;: it must be one of passed, /);
  });
});

Deno.test("GET /runs/:folder/:run/task", async (t) => {
  await t.step("shows sample, sanitized code, status and output", async () => {
    const page = await get(run(RUNS.tiny, "/task?id=mbpp%2F15"));
    assert.match(page, /<h1>mbpp\/15<\/h1>/);
    assert.match(page, /<h4>Raw sample · 34 completion tokens<\/h4>/);
    assert.match(page, /<h4>Sanitized code<\/h4>/);
    assert.match(page, /ZeroDivisionError: division by zero/);
    assert.match(page, /chip s-runtime_error/);
  });

  await t.step("escapes hostile model output and program output", async () => {
    const page = await get(run(RUNS.tiny, "/task?id=mbpp%2F12"));
    assert.doesNotMatch(page, /<script/i);
    assert.doesNotMatch(page, /<img/i);
    assert.doesNotMatch(page, /<b>bold/);
    assert.ok(page.includes("&lt;/pre&gt;&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;"));
    assert.ok(page.includes("&lt;img src=x onerror=alert(1)&gt;"));
  });

  await t.step("says which records are unreadable", async () => {
    const page = await get(run(RUNS.tiny, "/task?id=mbpp%2F13"));
    assert.match(page, /Cannot read executions\.jsonl line 21: it is not a valid record/);
  });

  await t.step("works without records beside the report", async () => {
    const page = await get(run(RUNS.apps, "/task?id=apps%2F4000"));
    assert.match(page, /No generation record for this sample/);
    assert.match(page, /The run has no executions\.jsonl/);
  });

  await t.step("is 404 for an unknown task and 400 without an id", async () => {
    await get(run(RUNS.tiny, "/task?id=mbpp%2F999"), 404);
    await get(run(RUNS.tiny, "/task"), 400);
  });
});

Deno.test("GET /compare", async (t) => {
  await t.step("shows flipped tasks and paired significance", async () => {
    const page = await get(`/compare?${pair(RUNS.reference, RUNS.tiny)}`);
    assert.match(page, /Worse in B on pass@1 \(12\)/);
    assert.match(page, /Better in B on pass@1 \(1\)/);
    const pass = rows(page).find((r) => r.startsWith("pass@1"))!;
    assert.equal(
      pass,
      "pass@1 95.0% 40.0% −55.0 pt −80.0 pt … −25.0 pt 1 12 20 exact McNemar 0.003",
    );
  });

  await t.step("lists flips of the metric asked", async () => {
    const page = await get(`/compare?${pair(RUNS.reference, RUNS.tiny)}&metric=compile_rate`);
    assert.match(page, /Worse in B on compile_rate \(5\)/);
  });

  await t.step("refuses runs that are not comparable, naming the fields", async () => {
    const page = await get(`/compare?${pair(RUNS.reference, RUNS.n5)}`, 409);
    assert.match(page, /These runs cannot be compared/);
    assert.match(page, /comparability keys differ in n, k/);
    assert.ok(rows(page).includes("n 1 5"));
  });

  await t.step("is 400 without both runs or with a bad reference", async () => {
    await get(`/compare?a=mbpp/x`, 400);
    await get(`/compare?a=mbpp&b=mbpp/x`, 400);
  });

  await t.step("is 404 for an unknown run", async () => {
    await get(`/compare?a=mbpp/x&b=${RUNS.tiny.folder}/${RUNS.tiny.run}`, 404);
  });
});

Deno.test("errors", async (t) => {
  await t.step("an unknown run is 404", async () => {
    assert.match(await get("/runs/mbpp/nope", 404), /Cannot find run &quot;mbpp\/nope&quot;/);
  });
  await t.step("a malformed report is a 422 page listing its problems", async () => {
    const page = await get(run(RUNS.broken), 422);
    assert.match(page, /does not match the report schema/);
    assert.match(page, /tasks\[0\]\.statuses\[0\]/);
  });
  await t.step("path traversal is refused", async () => {
    for (const path of ["/runs/..%2F..%2Fetc/passwd", "/runs/mbpp/..", "/runs/.git/config"]) {
      const response = await app.request(path);
      assert.ok([400, 404].includes(response.status), `${path}: ${response.status}`);
      assert.doesNotMatch(await response.text(), /root:/);
    }
  });
  await t.step("an unknown page is 404", async () => {
    assert.match(await get("/nope", 404), /Cannot find page &quot;\/nope&quot;/);
  });
});

Deno.test("GET /api/...", async (t) => {
  await t.step("/api/boards ranks runs by key group", async () => {
    const body = await getJson("/api/boards");
    const mbpp = body.boards.find((b: { benchmark: string }) => b.benchmark === "mbpp");
    const group = mbpp.groups.find((g: { runs: unknown[] }) => g.runs.length === 2);
    assert.deepEqual(group.runs.map((r: { ref: string; rank: number }) => [r.rank, r.ref]), [
      [1, "mbpp/2026-11-01T09-00-00Z-reference"],
      [2, "mbpp/2026-11-02T14-30-00Z-tiny-gpt2"],
    ]);
    assert.equal(group.headline, "pass@1");
    assert.equal(body.problems.length, 1);
  });
  await t.step("/api/benchmarks/:benchmark", async () => {
    assert.equal((await getJson("/api/benchmarks/apps")).board.groups[0].runs.length, 1);
    assert.equal((await getJson("/api/benchmarks/nope", 404)).error.status, 404);
  });
  await t.step("/api/runs/:folder/:run gives the report and intervals", async () => {
    const body = await getJson(`/api${run(RUNS.tiny)}`);
    assert.equal(body.report.id, RUNS.tiny.run);
    assert.equal(body.report.tasks, undefined);
    assert.equal(body.intervals["pass@1"].method, "wilson");
  });
  await t.step("/api/runs/:folder/:run/tasks filters", async () => {
    const body = await getJson(`/api${run(RUNS.apps, "/tasks?difficulty=competition")}`);
    assert.deepEqual(body.items.map((t: { taskId: string }) => t.taskId), [
      "apps/4009",
      "apps/4010",
      "apps/4011",
    ]);
  });
  await t.step("/api/runs/:folder/:run/task returns the raw records", async () => {
    const body = await getJson(`/api${run(RUNS.tiny, "/task?id=mbpp%2F12")}`);
    assert.match(body.generations[0].raw, /<script>alert/);
  });
  await t.step("/api/compare", async () => {
    const body = await getJson(`/api/compare?${pair(RUNS.reference, RUNS.tiny)}`);
    const pass = body.metrics.find((m: { metric: string }) => m.metric === "pass@1");
    assert.equal(pass.regressed.length, 12);
    const refused = await getJson(`/api/compare?${pair(RUNS.reference, RUNS.n5)}`, 409);
    assert.deepEqual(refused.differences.map((d: { field: string }) => d.field), ["n", "k"]);
  });
  await t.step("errors are JSON", async () => {
    const body = await getJson(`/api${run(RUNS.broken)}`, 422);
    assert.match(body.error.message, /does not match the report schema/);
    assert.equal(body.error.problems.length, 3);
  });
});

Deno.test("createApp() on hostile reports", async (t) => {
  const dir = await copyFixtures();
  const store = createFolderStore(dir);
  const hostile = createApp(store);
  try {
    await t.step("escapes HTML in every field a report carries", async () => {
      const tiny = await readFixture(RUNS.tiny);
      const evil = "<script>alert(1)</script>";
      const report: Report = {
        ...tiny,
        id: evil,
        config: {
          ...tiny.config,
          model: { backend: evil, id: `"><img src=x onerror=alert(2)>`, settings: { x: evil } },
        },
        metricsByLanguage: { [evil]: { compile_rate: 0.5 } },
        tasks: tiny.tasks.map((task, i) =>
          i === 0 ? { ...task, taskId: evil, meta: { difficulty: evil } } : task
        ),
      };
      const ref = { folder: "mbpp", run: "evil" };
      await writeReport(dir, ref, report);
      for (
        const path of [
          "/",
          run(ref),
          run(ref, `/task?id=${encodeURIComponent(evil)}`),
          `/compare?${pair(RUNS.tiny, ref)}`,
        ]
      ) {
        const response = await hostile.request(path);
        assert.equal(response.status, 200, path);
        const page = await response.text();
        assert.doesNotMatch(page, /<script|<img/i, path);
      }
    });

    await t.step("serves a huge report one page of tasks at a time", async () => {
      const tiny = await readFixture(RUNS.tiny);
      const tasks = Array.from(
        { length: 20_000 },
        (_, i) => ({ ...tiny.tasks[i % 20]!, taskId: `mbpp/${i}` }),
      );
      const ref = { folder: "mbpp", run: "huge" };
      await writeReport(dir, ref, { ...tiny, id: "huge", tasks });
      const response = await hostile.request(run(ref));
      const page = await response.text();
      assert.equal(response.status, 200);
      assert.match(page, /20000 tasks match · page 1 of 200/);
      assert.ok(page.length < 400_000, `page is ${page.length} characters`);
    });

    await t.step("refuses a report of another schema version with a clear 422", async () => {
      const ref = { folder: "mbpp", run: "future" };
      await writeReport(dir, ref, { ...(await readFixture(RUNS.tiny)), schema: 2 as 1 });
      const response = await hostile.request(run(ref));
      assert.equal(response.status, 422);
      assert.match(
        await response.text(),
        /its schema version is unknown: current value is 2, this reader knows version 1/,
      );
    });

    await t.step("refuses a report that is not JSON", async () => {
      const ref = { folder: "mbpp", run: "garbage" };
      await writeReport(dir, ref, "{ not json");
      const page = await (await hostile.request("/")).text();
      assert.match(
        page,
        /mbpp\/garbage\/report\.json<\/code>: Cannot read report &quot;mbpp\/garbage\/report\.json&quot; as it is not valid JSON/,
      );
    });

    await t.step("ranks a planted regression below the baseline", async () => {
      const reference = await readFixture(RUNS.reference);
      const worse = withStatus(reference, ["mbpp/11", "mbpp/12"], "compile_error", "worse");
      await writeReport(dir, { folder: "mbpp", run: "worse" }, worse);
      const body = await (await hostile.request("/api/benchmarks/mbpp")).json();
      const group = body.board.groups.find((g: { key: string }) =>
        g.key === reference.comparabilityKey
      );
      const refs = group.runs.map((r: { ref: string }) => r.ref);
      assert.ok(refs.indexOf(`mbpp/${RUNS.reference.run}`) < refs.indexOf("mbpp/worse"));
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("createApp() over an empty folder", async () => {
  const empty = createApp(createFolderStore(join(FIXTURES, "no-such-folder")));
  const page = await (await empty.request("/")).text();
  assert.match(page, /No reports found/);
});
