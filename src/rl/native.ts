/**
 * The native TensorFlow backend where `npm install @tensorflow/tfjs-node` cannot run its install
 * step (it downloads libtensorflow): `deno task setup:native` builds the package's own binding
 * from its npm tarball's sources against PyPI's `tensorflow-cpu` libraries into a folder
 * (`.ppocoder/native/` unless `PPOCODER_NATIVE_DIR` names another), and {@linkcode loadNative}
 * loads it into this process's TensorFlow.js. Any folder whose `node_modules` holds a working
 * `@tensorflow/tfjs-node` (or `-gpu`) is taken the same way, so a normal `npm install` on a
 * machine with internet is used as it is: `PPOCODER_NATIVE_DIR=/path/to/that/project`.
 *
 * The folder's `@tensorflow/tfjs*` packages are links to this project's own copies (the setup
 * makes them), so one TensorFlow.js engine holds every backend; a second copy would work (the
 * engine is global) but registers every kernel twice.
 *
 * @module
 */

import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import util from "node:util";

/** Environment variable naming the folder of a native build. */
export const NATIVE_DIR_ENV = "PPOCODER_NATIVE_DIR";

/** The packages looked for in the folder's `node_modules`, GPU first. */
export const NATIVE_PACKAGES = ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"] as const;

/** The folder a native build is in: `$PPOCODER_NATIVE_DIR`, else `.ppocoder/native/` of the checkout. */
export function nativeDir(): string {
  return Deno.env.get(NATIVE_DIR_ENV) ??
    fileURLToPath(new URL("../../.ppocoder/native", import.meta.url));
}

/** What a folder holds: the package found and its binding, or why none. */
export interface NativeBuild {
  readonly dir: string;
  readonly packageName: (typeof NATIVE_PACKAGES)[number];
  /** `BUILD.json` that the setup wrote (absent for a plain npm install). */
  readonly build?: Readonly<Record<string, unknown>>;
}

/** Finds the package and its compiled binding in `dir`; throws saying what is missing. */
export function findNative(
  dir = nativeDir(),
  packages: readonly string[] = NATIVE_PACKAGES,
): NativeBuild {
  for (const name of packages as readonly (typeof NATIVE_PACKAGES)[number][]) {
    const root = join(dir, "node_modules", name);
    if (!existsSync(join(root, "package.json"))) continue;
    if (!existsSync(join(root, "lib"))) {
      throw new Deno.errors.NotFound(
        `Cannot load ${name} from "${dir}" as its binding was never built (no lib/ folder): run deno task setup:native`,
      );
    }
    const buildPath = join(dir, "BUILD.json");
    const build = existsSync(buildPath) ? JSON.parse(Deno.readTextFileSync(buildPath)) : undefined;
    return { dir, packageName: name, ...(build ? { build } : {}) };
  }
  throw new Deno.errors.NotFound(
    `Cannot load the native TensorFlow backend as "${dir}" holds no node_modules/${
      packages.join(" or node_modules/")
    }: run deno task setup:native, or set ${NATIVE_DIR_ENV} to a folder where npm installed it`,
  );
}

/**
 * Provides the two `node:util` functions that tfjs-node calls and Deno's `node:util` no longer
 * has (Node removed them in v23).
 */
function provideUtil(): void {
  const u = util as unknown as Record<string, unknown>;
  u.isNullOrUndefined ??= (value: unknown) => value === null || value === undefined;
  u.isArray ??= Array.isArray;
}

/**
 * Loads the native build into TensorFlow.js (it registers the `tensorflow` backend); returns a
 * description for reports: the package, the folder and, for a setup build, its libtensorflow.
 */
export function loadNative(dir = nativeDir(), packageName?: string): string {
  const found = findNative(dir, packageName === undefined ? NATIVE_PACKAGES : [packageName]);
  provideUtil();
  // libtensorflow prints oneDNN and CPU-feature notices at load unless told otherwise.
  if (Deno.env.get("TF_CPP_MIN_LOG_LEVEL") === undefined) Deno.env.set("TF_CPP_MIN_LOG_LEVEL", "2");
  const require = createRequire(join(dir, "package.json"));
  require(found.packageName);
  const built = found.build?.tensorflow
    ? ` built against tensorflow-cpu ${found.build.tensorflow}`
    : "";
  return `${found.packageName} from ${dir}${built}`;
}
