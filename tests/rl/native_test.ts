import assert from "node:assert/strict";
import { join } from "node:path";
import { findNative, NATIVE_DIR_ENV, nativeDir } from "../../src/rl/native.ts";

Deno.test("findNative()", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "native-test-" });
  await t.step("says how to build when the folder has no package", () => {
    assert.throws(() => findNative(dir), {
      name: "NotFound",
      message:
        `Cannot load the native TensorFlow backend as "${dir}" holds no node_modules/@tensorflow/tfjs-node-gpu or node_modules/@tensorflow/tfjs-node: run deno task setup:native, or set PPOCODER_NATIVE_DIR to a folder where npm installed it`,
    });
  });
  await t.step("says the binding was never built when the install step did not run", async () => {
    const pkg = join(dir, "node_modules", "@tensorflow", "tfjs-node");
    await Deno.mkdir(pkg, { recursive: true });
    await Deno.writeTextFile(join(pkg, "package.json"), "{}");
    assert.throws(() => findNative(dir), {
      message:
        `Cannot load @tensorflow/tfjs-node from "${dir}" as its binding was never built (no lib/ folder): run deno task setup:native`,
    });
  });
  await t.step("takes a folder where npm installed the package with its binding", async () => {
    await Deno.mkdir(join(dir, "node_modules", "@tensorflow", "tfjs-node", "lib"));
    await Deno.writeTextFile(join(dir, "BUILD.json"), '{"tensorflow":"2.18.1"}');
    assert.deepEqual(findNative(dir), {
      dir,
      packageName: "@tensorflow/tfjs-node",
      build: { tensorflow: "2.18.1" },
    });
  });
  await t.step(`is ${NATIVE_DIR_ENV} when set, else .ppocoder/native`, () => {
    const saved = Deno.env.get(NATIVE_DIR_ENV);
    Deno.env.set(NATIVE_DIR_ENV, dir);
    assert.equal(nativeDir(), dir);
    Deno.env.delete(NATIVE_DIR_ENV);
    assert.match(nativeDir(), /\/\.ppocoder\/native$/);
    if (saved !== undefined) Deno.env.set(NATIVE_DIR_ENV, saved);
  });
  await Deno.remove(dir, { recursive: true });
});
