#!/usr/bin/env bash
# One-off check (heavy; run with `nice -n 10`): `bench mbpp --model reference` in-process, through
# two sandbox service replicas (--sandbox-url), and in 4 shards through them merged with
# `deno task merge`; prints whether the three reports agree (comparability key, run folder,
# config, metrics, per-task outcomes) and each run's judging throughput.
#   usage: scripts/service_bench_equality.sh [SPLIT (default test)] [DATA (default ../shared/datasets/mbpp)]
set -euo pipefail
cd "$(dirname "$0")/.."
split="${1:-test}"
data="${2:-../shared/datasets/mbpp}"
out="$(mktemp -d /tmp/ppocoder-bench-equality-XXXXXX)"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done; wait || true; }
trap cleanup EXIT
urls=()
for i in 0 1; do
  deno run --allow-all src/cli/sandbox.ts serve --port 0 --workers 1 --languages python \
    2>"$out/replica-$i.log" &
  pids+=("$!")
done
for i in 0 1; do
  until grep -q "^ready:" "$out/replica-$i.log"; do sleep 0.2; done
  urls+=("$(grep -o 'http://[0-9.:]*' "$out/replica-$i.log" | head -1)")
done
sandbox_url="$(IFS=,; echo "${urls[*]}")"
common=(mbpp --model reference --k 1 --split "$split" --data "$data" --fresh --json)
deno task bench "${common[@]}" --reports "$out/local" 2>/dev/null | tail -1
deno task bench "${common[@]}" --reports "$out/remote" --sandbox-url "$sandbox_url" 2>/dev/null | tail -1
for shard in 0/4 1/4 2/4 3/4; do
  deno task bench "${common[@]}" --reports "$out/shards" --shard "$shard" \
    --sandbox-url "$sandbox_url" 2>/dev/null | tail -1
done
deno task merge --json --reports "$out/merged" "$out/shards" 2>/dev/null | tail -1
deno eval '
const [out] = Deno.args;
const find = async (dir) => {
  for await (const b of Deno.readDir(dir)) for await (const r of Deno.readDir(`${dir}/${b.name}`)) {
    return JSON.parse(await Deno.readTextFile(`${dir}/${b.name}/${r.name}/report.json`));
  }
};
const view = (r) => JSON.stringify({ id: r.id, key: r.comparabilityKey, config: r.config,
  metrics: r.metrics, statusCounts: r.statusCounts, tasks: r.tasks });
const local = await find(`${out}/local`);
for (const name of ["remote", "merged"]) {
  const other = await find(`${out}/${name}`);
  console.log(`${name} equals in-process: ${view(other) === view(local)} (key ${other.comparabilityKey.slice(0, 12)}, ` +
    `${other.tasks.length} tasks, ${JSON.stringify(other.metrics)})`);
}
for (const name of ["local", "remote", "merged"]) {
  const r = await find(`${out}/${name}`);
  const t = r.throughput;
  console.log(`${name}: judging ${t.executions} executions in ${t.seconds.toFixed(2)} s = ${(t.executions / t.seconds).toFixed(1)}/s`);
}
' "$out"
rm -rf "$out"
