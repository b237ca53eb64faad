import assert from "node:assert/strict";
import {
  fp16ToFp32,
  fp32ToBf16,
  fp32ToFp16,
  loadCheckpointTensors,
  parseSafetensors,
  saveCheckpointTensors,
  serializeSafetensors,
  type TensorMap,
} from "../../src/rl/safetensors.ts";
import { fixtureDir, fixtureTensors, HAS_SHARED_LLAMA } from "./_helpers.ts";

const VALUES = Float32Array.of(0, -0, 1, -2.5, 0.1, 65504, 1e-7, -3.14159, 1e5);

Deno.test("fp32ToFp16() and fp16ToFp32()", async (t) => {
  await t.step("round trip exactly representable values", () => {
    for (const x of [0, 1, -2.5, 65504, 2 ** -24, 0.5, 1024]) {
      assert.equal(fp16ToFp32(fp32ToFp16(x)), x);
    }
  });
  await t.step("round to nearest within half a unit of the last place", () => {
    for (const x of [0.1, -3.14159, 1e-3, 123.456]) {
      const y = fp16ToFp32(fp32ToFp16(x));
      assert.ok(Math.abs(y - x) <= Math.abs(x) * 2 ** -11, `${x} -> ${y}`);
    }
  });
  await t.step("saturate to infinity and keep NaN", () => {
    assert.equal(fp16ToFp32(fp32ToFp16(1e5)), Infinity);
    assert.ok(Number.isNaN(fp16ToFp32(fp32ToFp16(NaN))));
  });
  await t.step("match known bit patterns", () => {
    assert.equal(fp32ToFp16(1), 0x3c00);
    assert.equal(fp32ToFp16(-2), 0xc000);
    assert.equal(fp32ToBf16(1), 0x3f80);
    assert.equal(fp32ToBf16(-2), 0xc000);
  });
});

Deno.test("serializeSafetensors() and parseSafetensors()", async (t) => {
  const tensors: TensorMap = new Map([
    ["a.weight", { shape: [3, 3], data: VALUES }],
    ["b", { shape: [1], data: Float32Array.of(7) }],
  ]);
  await t.step("F32 round trips exactly, with an 8-byte-aligned header", () => {
    const bytes = serializeSafetensors(tensors, { metadata: { note: "x" } });
    assert.equal(Number(new DataView(bytes.buffer).getBigUint64(0, true)) % 8, 0);
    const back = parseSafetensors(bytes);
    assert.deepEqual([...back.keys()], ["a.weight", "b"]);
    assert.deepEqual(back.get("a.weight")!.shape, [3, 3]);
    assert.deepEqual([...back.get("a.weight")!.data], [...VALUES]);
  });
  await t.step("F16 and BF16 round trip within their precision", () => {
    for (const [dtype, eps] of [["F16", 2 ** -11], ["BF16", 2 ** -8]] as const) {
      const back = parseSafetensors(serializeSafetensors(tensors, { dtype })).get("a.weight")!;
      VALUES.forEach((x, i) => {
        if (Math.abs(x) > 6e4 && dtype === "F16") return; // past fp16's range
        assert.ok(Math.abs(back.data[i]! - x) <= Math.abs(x) * eps + 1e-7, `${dtype} ${x}`);
      });
    }
  });
  await t.step("rejects an unsupported dtype", () => {
    const header = new TextEncoder().encode(
      JSON.stringify({ x: { dtype: "I64", shape: [1], data_offsets: [0, 8] } }),
    );
    const bytes = new Uint8Array(8 + header.length + 8);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true);
    bytes.set(header, 8);
    assert.throws(() => parseSafetensors(bytes), {
      name: "TypeError",
      message:
        'Cannot read tensor "x" as its dtype must be F32, F16 or BF16: current value is "I64"',
    });
  });
  await t.step("rejects a truncated file", () => {
    const bytes = new Uint8Array(16);
    new DataView(bytes.buffer).setBigUint64(0, 100n, true);
    assert.throws(() => parseSafetensors(bytes, "x.safetensors"), {
      name: "SyntaxError",
      message:
        'Cannot read "x.safetensors" as its header length must fit in the file: current value is 100 for 16 bytes',
    });
  });
});

Deno.test("loadCheckpointTensors()", async (t) => {
  await t.step("reads the shards transformers wrote, through their index", async () => {
    const tensors = await loadCheckpointTensors(fixtureDir("tiny-gpt2"));
    assert.deepEqual(tensors.get("transformer.wte.weight")!.shape, [1000, 32]);
    assert.equal(tensors.size, 2 + 2 * 12 + 2);
  });
  await t.step("reads a bf16 file transformers wrote", async () => {
    const qwen = await loadCheckpointTensors(fixtureDir("tiny-qwen2"));
    assert.deepEqual(qwen.get("model.layers.0.self_attn.k_proj.bias")!.shape, [16]);
  });
  await t.step({
    name: "reads an fp16 file it wrote itself, exactly",
    ignore: !HAS_SHARED_LLAMA,
    fn: async () => {
      const llama = await fixtureTensors("tiny-llama");
      const dir = await Deno.makeTempDir();
      await saveCheckpointTensors(dir, llama, { dtype: "F16" });
      const back = await loadCheckpointTensors(dir);
      assert.deepEqual(back.get("lm_head.weight")!.shape, [32000, 16]);
      for (const [name, tensor] of llama) assert.deepEqual(back.get(name)!.data, tensor.data, name);
      await Deno.remove(dir, { recursive: true });
    },
  });
  await t.step("says what a folder lacks", async () => {
    const dir = await Deno.makeTempDir();
    await assert.rejects(() => loadCheckpointTensors(dir), {
      message:
        `Cannot load weights from "${dir}" as it holds neither model.safetensors nor model.safetensors.index.json: save the checkpoint with safetensors`,
    });
    await Deno.remove(dir);
  });
});
