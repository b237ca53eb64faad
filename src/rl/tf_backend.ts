/**
 * Chooses the TensorFlow.js backend. In order: `tensorflow` from `@tensorflow/tfjs-node-gpu`,
 * then from `@tensorflow/tfjs-node` (native libtensorflow; neither installs on machines that
 * cannot download libtensorflow, so both are imported dynamically: from the import map when it
 * names them, else from the native build of `deno task setup:native` or the folder
 * `PPOCODER_NATIVE_DIR` names, see `native.ts`), then `wasm` (`@tensorflow/tfjs-backend-wasm`),
 * then plain JavaScript `cpu`. A backend can be forced; the choice, where it was loaded from, and
 * why the others were passed over are returned, to be printed and recorded.
 *
 * To use the native backends from the import map, add
 * `"@tensorflow/tfjs-node": "npm:@tensorflow/tfjs-node@4.22.0"` (or `-node-gpu`) to `deno.json`'s
 * imports on a machine where its install script can fetch libtensorflow
 * (`deno install --allow-scripts=npm:@tensorflow/tfjs-node`).
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs";
import { registerKernelRepairs } from "./_kernels.ts";
import { loadNative } from "./native.ts";

/** The backends tried, best first. `tensorflow-gpu` and `tensorflow` both register as `tensorflow`. */
export const BACKENDS = ["tensorflow-gpu", "tensorflow", "wasm", "cpu"] as const;

/** A backend this module can select. */
export type BackendName = (typeof BACKENDS)[number];

/** What was chosen, and why the better ones were not. */
export interface BackendChoice {
  /** The backend in use. */
  readonly name: BackendName;
  /** TensorFlow.js's own name for it (`tensorflow`, `wasm`, `cpu`). */
  readonly tfName: string;
  /** Whether it was forced. */
  readonly forced: boolean;
  /** Where a native backend was loaded from. */
  readonly detail?: string;
  /** Each better backend passed over, with the reason. */
  readonly skipped: readonly { readonly name: BackendName; readonly reason: string }[];
}

/** Options for {@linkcode selectBackend}. */
export interface SelectBackendOptions {
  /** Use this backend or fail. @default the best one that loads */
  readonly force?: BackendName;
  /** Print the choice to stderr. @default true */
  readonly print?: boolean;
}

const NATIVE_PACKAGES: Readonly<Record<"tensorflow-gpu" | "tensorflow", string>> = {
  "tensorflow-gpu": "@tensorflow/tfjs-node-gpu",
  tensorflow: "@tensorflow/tfjs-node",
};

function message(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0]!;
}

async function load(name: BackendName): Promise<{ tfName: string; detail?: string }> {
  if (name === "cpu") {
    registerKernelRepairs("cpu");
    return { tfName: "cpu" };
  }
  if (name === "wasm") {
    await import("@tensorflow/tfjs-backend-wasm");
    registerKernelRepairs("wasm");
    return { tfName: "wasm" };
  }
  // A variable specifier keeps the type checker and the module graph away from a package that
  // is normally absent; the import throws at once when the import map does not name it.
  const specifier: string = NATIVE_PACKAGES[name];
  try {
    await import(specifier);
    return { tfName: "tensorflow", detail: `${specifier} from the import map` };
  } catch (error) {
    try {
      return { tfName: "tensorflow", detail: loadNative(undefined, specifier) };
    } catch (native) {
      throw new Error(`${message(error)}; ${message(native)}`);
    }
  }
}

async function activate(name: BackendName): Promise<{ tfName: string; detail?: string }> {
  const loaded = await load(name);
  if (!(await tf.setBackend(loaded.tfName))) {
    throw new Error(`TensorFlow.js could not initialise backend "${loaded.tfName}"`);
  }
  await tf.ready();
  return loaded;
}

/** Selects and initialises a backend; prints `tfjs backend: NAME` unless told not to. */
export async function selectBackend(options: SelectBackendOptions = {}): Promise<BackendChoice> {
  const skipped: { name: BackendName; reason: string }[] = [];
  const candidates = options.force ? [options.force] : BACKENDS;
  for (const name of candidates) {
    try {
      const { tfName, detail } = await activate(name);
      const choice = {
        name,
        tfName,
        forced: options.force !== undefined,
        skipped,
        ...(detail === undefined ? {} : { detail }),
      };
      if (options.print ?? true) console.error(describeBackend(choice));
      return choice;
    } catch (error) {
      if (options.force) {
        throw new Error(
          `Cannot use TensorFlow.js backend "${name}" as it did not load: ${message(error)}`,
        );
      }
      skipped.push({ name, reason: message(error) });
    }
  }
  throw new Error(
    `Cannot run TensorFlow.js as no backend loaded: ${
      skipped.map((s) => `${s.name}: ${s.reason}`).join("; ")
    }`,
  );
}

/** One line naming the backend and the ones passed over. */
export function describeBackend(choice: BackendChoice): string {
  const passed = choice.skipped.map((s) => `${s.name}: ${s.reason}`).join("; ");
  return `tfjs backend: ${choice.name}${choice.detail ? ` (${choice.detail})` : ""}${
    choice.forced ? " (forced)" : ""
  }${passed ? ` (not available: ${passed})` : ""}`;
}

/** Parses a `--backend` value. */
export function parseBackendName(value: string): BackendName {
  if ((BACKENDS as readonly string[]).includes(value)) return value as BackendName;
  throw new RangeError(
    `Cannot select TensorFlow.js backend as it must be one of ${
      BACKENDS.join(", ")
    }: current value is "${value}"`,
  );
}
