import assert from "node:assert/strict";
import { loadTokenizer } from "../../src/rl/tokenizer.ts";
import { hasShared, sharedPath } from "../_shared.ts";

const LLAMA = "models/tiny-random-llama-fp16";

Deno.test({
  name: "loadTokenizer() reads the shared Llama tokenizer.json",
  ignore: !hasShared(LLAMA),
  async fn() {
    const tokenizer = await loadTokenizer(sharedPath(LLAMA));
    // The same ids tests/models/onnx_test.ts pins for this tokenizer.
    const ids = tokenizer.encode("def add(a, b):\n");
    assert.deepEqual(ids, [1, 822, 788, 29898, 29874, 29892, 289, 1125, 13]);
    assert.equal(tokenizer.decode(ids), "def add(a, b):\n");
    assert.deepEqual(tokenizer.encode("x", { addSpecialTokens: false }), [921]);
    assert.equal(tokenizer.tokenId("<s>"), 1);
  },
});

Deno.test("loadTokenizer() says what a folder lacks", async () => {
  const dir = await Deno.makeTempDir();
  await assert.rejects(() => loadTokenizer(dir), {
    message:
      `Cannot load a tokenizer from "${dir}" as it has no tokenizer.json: copy the model's tokenizer.json there`,
  });
  await Deno.remove(dir);
});
