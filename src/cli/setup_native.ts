/**
 * `deno task setup:native`: builds the native TensorFlow backend of TensorFlow.js on a machine
 * where `npm install @tensorflow/tfjs-node` cannot run its install step (which downloads
 * libtensorflow from Google's storage). The steps replace that install step with parts from the
 * package registries:
 *
 * 1. `npm install --ignore-scripts @tensorflow/tfjs-node@4.22.0 node-api-headers` into the build
 *    folder (`.ppocoder/native/`, or `--dir`, or `$PPOCODER_NATIVE_DIR`);
 * 2. its `@tensorflow/tfjs*` packages replaced by links to this project's own copies, so one
 *    TensorFlow.js engine holds every backend;
 * 3. PyPI's `tensorflow-cpu` wheel (pinned version and sha256), downloaded with pip into the user
 *    cache; `libtensorflow_cc.so.2` (it exports the whole `TF_*`/`TFE_*` C API the binding calls)
 *    and `libtensorflow_framework.so.2` unpacked into the package's `deps/lib/`, the C headers
 *    into a temporary folder;
 * 4. the package's own binding sources (`binding/*.cc`) compiled with g++ into
 *    `lib/napi-v8/tfjs_binding.node`, where the package looks for it, linked with an rpath to
 *    `deps/lib`;
 * 5. a check in a fresh process: the backend loads and a matrix product matches WASM's.
 *
 * Nothing is committed; rerunning repeats only the missing steps (`--force`: all of them).
 *
 * @module
 */

import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { sha256File } from "../util/hash.ts";
import { zipEntries } from "../util/zip.ts";
import { NATIVE_DIR_ENV, nativeDir } from "../rl/native.ts";
import { type CommandSpec, runCommand } from "./_args.ts";

/** What is built, pinned. */
export const NATIVE_PINS = {
  tfjsNode: "4.22.0",
  nodeApiHeaders: "1.9.0",
  tensorflow: "2.18.1",
  wheel: "tensorflow_cpu-2.18.1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
  wheelSha256: "810c75d7149d2da0cb2092187817b0dcabb80728ca9f9cf3a61f3f42fadd1298",
} as const;

/** The TensorFlow.js packages linked to the project's copies. */
const TFJS_PACKAGES = [
  "tfjs",
  "tfjs-core",
  "tfjs-backend-cpu",
  "tfjs-backend-webgl",
  "tfjs-converter",
  "tfjs-data",
  "tfjs-layers",
] as const;

/** The `setup:native` command line. */
export const SETUP_NATIVE = {
  name: "setup:native",
  usage: "[--dir DIR] [--force]",
  summary: `Builds @tensorflow/tfjs-node ${NATIVE_PINS.tfjsNode}'s binding with g++ against ` +
    `PyPI's tensorflow-cpu ${NATIVE_PINS.tensorflow} into DIR. Needs npm, pip (python3 -m pip) ` +
    `and g++, and about 1.5 GB of disk (the wheel is cached in ~/.cache/ppocoder/native). ` +
    `Afterwards the "tensorflow" TensorFlow.js backend loads (deno task doctor, --backend ` +
    `tensorflow). Rerunning repeats only the missing steps.`,
  options: {
    dir: {
      type: "string",
      value: "DIR",
      help: `build folder (default: $${NATIVE_DIR_ENV}, else .ppocoder/native of this checkout)`,
    },
    force: { type: "boolean", help: "repeat every step, not only the missing ones" },
  },
} as const satisfies CommandSpec;

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

function log(line: string): void {
  console.error(`setup:native: ${line}`);
}

async function run(command: string, args: string[], options: { cwd?: string } = {}) {
  log(`$ ${command} ${args.join(" ")}`);
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(command, {
      args,
      ...(options.cwd ? { cwd: options.cwd } : {}),
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Deno.errors.NotFound(
        `Cannot run "${command}" as it is not on PATH: install it (${
          INSTALL_HINTS[command] ?? command
        }) and rerun`,
      );
    }
    throw error;
  }
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  if (!output.success) {
    throw new Error(
      `Cannot build the native backend as "${command} ${
        args.join(" ")
      }" failed with exit code ${output.code}: ${
        text(output.stderr).trim().split("\n").slice(-15).join("\n")
      }`,
    );
  }
  return text(output.stdout);
}

const INSTALL_HINTS: Readonly<Record<string, string>> = {
  npm: "apt-get install npm, or Node.js from nodejs.org",
  "g++": "apt-get install g++",
  python3: "apt-get install python3 python3-pip",
};

/** Step 1: the npm package and the Node-API headers, without install scripts. */
async function installPackages(dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const pkg = {
    private: true,
    description: "ppocoder's native TensorFlow.js backend (deno task setup:native); not committed",
    dependencies: {
      "@tensorflow/tfjs-node": NATIVE_PINS.tfjsNode,
      "node-api-headers": NATIVE_PINS.nodeApiHeaders,
    },
  };
  await Deno.writeTextFile(join(dir, "package.json"), JSON.stringify(pkg, null, 2) + "\n");
  await run("npm", ["install", "--ignore-scripts", "--no-audit", "--no-fund", "--omit=dev"], {
    cwd: dir,
  });
}

/** Step 2: the folder's TensorFlow.js packages become links to the project's own copies. */
async function linkTfjs(dir: string): Promise<void> {
  for (const name of TFJS_PACKAGES) {
    const own = join(
      ROOT,
      "node_modules",
      ".deno",
      `@tensorflow+${name}@${NATIVE_PINS.tfjsNode}`,
      "node_modules",
      "@tensorflow",
      name,
    );
    if (!existsSync(own)) {
      throw new Deno.errors.NotFound(
        `Cannot link @tensorflow/${name} as this project's copy "${own}" is missing: run deno install (or any deno task) in ${ROOT} first`,
      );
    }
    const link = join(dir, "node_modules", "@tensorflow", name);
    await Deno.remove(link, { recursive: true }).catch(() => {});
    await Deno.symlink(own, link);
  }
  log(`linked ${TFJS_PACKAGES.map((n) => `@tensorflow/${n}`).join(", ")} to ${ROOT}node_modules`);
}

function cacheDir(): string {
  const base = Deno.env.get("XDG_CACHE_HOME") ?? join(Deno.env.get("HOME") ?? "/tmp", ".cache");
  return join(base, "ppocoder", "native");
}

/** Step 3a: the pinned wheel, from the cache or PyPI through pip, checked by sha256. */
async function wheel(): Promise<string> {
  const dir = cacheDir();
  const path = join(dir, NATIVE_PINS.wheel);
  if (!existsSync(path)) {
    await Deno.mkdir(dir, { recursive: true });
    await run("python3", [
      "-m",
      "pip",
      "download",
      `tensorflow-cpu==${NATIVE_PINS.tensorflow}`,
      "--no-deps",
      "--only-binary=:all:",
      "--python-version",
      "3.11",
      "--platform",
      "manylinux2014_x86_64",
      "-d",
      dir,
    ]);
  }
  const sha = await sha256File(path);
  if (sha !== NATIVE_PINS.wheelSha256) {
    throw new Error(
      `Cannot use "${path}" as its sha256 must be ${NATIVE_PINS.wheelSha256}: current value is ${sha}: delete it and rerun`,
    );
  }
  return path;
}

/** Step 3b: the two libraries into `deps/lib`, the headers into `include`. */
async function unpack(wheelPath: string, pkg: string, include: string): Promise<void> {
  const lib = join(pkg, "deps", "lib");
  await Deno.mkdir(lib, { recursive: true });
  const entries = zipEntries(await Deno.readFile(wheelPath), wheelPath);
  let headers = 0;
  for (const entry of entries) {
    const library = /^tensorflow\/(libtensorflow(_cc|_framework)\.so\.2)$/.exec(entry.name);
    const header = entry.name.startsWith("tensorflow/include/")
      ? entry.name.slice("tensorflow/include/".length)
      : null;
    if (library === null && header === null) continue;
    const target = library ? join(lib, library[1]!) : join(include, header!);
    await Deno.mkdir(dirname(target), { recursive: true });
    await Deno.writeFile(target, await entry.read());
    headers += header === null ? 0 : 1;
  }
  log(`unpacked libtensorflow_cc.so.2, libtensorflow_framework.so.2 and ${headers} headers`);
}

/** Step 4: the binding, compiled from the package's own sources. */
async function compile(dir: string, pkg: string, include: string): Promise<string> {
  const out = join(pkg, "lib", "napi-v8", "tfjs_binding.node");
  await Deno.mkdir(dirname(out), { recursive: true });
  const started = performance.now();
  await run("g++", [
    "-std=c++17",
    "-O2",
    "-shared",
    "-fPIC",
    "-DNAPI_VERSION=8",
    "-w",
    `-I${join(dir, "node_modules", "node-api-headers", "include")}`,
    `-I${include}`,
    join(pkg, "binding", "tfjs_backend.cc"),
    join(pkg, "binding", "tfjs_binding.cc"),
    "-o",
    out,
    `-L${join(pkg, "deps", "lib")}`,
    "-l:libtensorflow_cc.so.2",
    "-l:libtensorflow_framework.so.2",
    "-Wl,-rpath,$ORIGIN/../../deps/lib",
  ]);
  log(`compiled ${out} in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  return (await run("g++", ["--version"])).split("\n")[0]!;
}

/** Step 5: load it in a fresh process and compare a product with WASM's. */
async function check(dir: string): Promise<string> {
  const script = `
    import * as tf from "@tensorflow/tfjs";
    import { selectBackend } from "./src/rl/tf_backend.ts";
    const a = tf.tensor2d(Array.from({ length: 64 * 64 }, (_, i) => Math.sin(i)), [64, 64]);
    await selectBackend({ force: "wasm", print: false });
    const wasm = tf.matMul(a, a).dataSync();
    const native = await selectBackend({ force: "tensorflow", print: false });
    const got = tf.matMul(a, a).dataSync();
    let diff = 0;
    for (let i = 0; i < got.length; i++) diff = Math.max(diff, Math.abs(got[i] - wasm[i]));
    console.log(JSON.stringify({ detail: native.detail, diff }));
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", script],
    cwd: ROOT,
    env: { [NATIVE_DIR_ENV]: dir },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1) ?? "";
  if (!out.success || !text.startsWith("{")) {
    throw new Error(
      `Cannot use the native backend built in "${dir}" as it does not load: ${
        new TextDecoder().decode(out.stderr).trim().split("\n").slice(-10).join("\n")
      }`,
    );
  }
  const result = JSON.parse(text) as { detail: string; diff: number };
  if (!(result.diff < 1e-3)) {
    throw new Error(
      `Cannot use the native backend built in "${dir}" as a 64x64 product differs from WASM's by ${result.diff}`,
    );
  }
  return `${result.detail}; 64x64 product within ${result.diff.toExponential(1)} of WASM`;
}

/** Runs every step that is missing (all with `force`); returns the build record. */
export async function setupNative(dir: string, force = false) {
  const started = performance.now();
  const pkg = join(dir, "node_modules", "@tensorflow", "tfjs-node");
  if (force || !existsSync(join(pkg, "package.json"))) await installPackages(dir);
  await linkTfjs(dir);
  const binding = join(pkg, "lib", "napi-v8", "tfjs_binding.node");
  const libs = join(pkg, "deps", "lib", "libtensorflow_cc.so.2");
  let compiler = "";
  if (force || !existsSync(binding) || !existsSync(libs)) {
    const include = await Deno.makeTempDir({ prefix: "tf-include-" });
    try {
      await unpack(await wheel(), pkg, include);
      compiler = await compile(dir, pkg, include);
    } finally {
      await Deno.remove(include, { recursive: true });
    }
  }
  const verified = await check(dir);
  const previous = existsSync(join(dir, "BUILD.json"))
    ? JSON.parse(await Deno.readTextFile(join(dir, "BUILD.json")))
    : {};
  const build = {
    ...previous,
    tfjsNode: NATIVE_PINS.tfjsNode,
    tensorflow: NATIVE_PINS.tensorflow,
    wheel: NATIVE_PINS.wheel,
    wheelSha256: NATIVE_PINS.wheelSha256,
    ...(compiler ? { compiler, builtAt: new Date().toISOString() } : {}),
    verified,
  };
  await Deno.writeTextFile(join(dir, "BUILD.json"), JSON.stringify(build, null, 2) + "\n");
  log(`${verified} (${((performance.now() - started) / 1000).toFixed(0)} s in all)`);
  return build;
}

if (import.meta.main) {
  await runCommand(SETUP_NATIVE, async ({ values }) => {
    const dir = resolve(values.dir ?? nativeDir());
    await setupNative(dir, values.force ?? false);
    console.log(`native backend ready in ${dir}`);
    return 0;
  });
}
