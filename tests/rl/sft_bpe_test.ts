import assert from "node:assert/strict";
import { join } from "node:path";
import {
  ByteLevelBpeEncoder,
  BYTES_TO_UNICODE,
  countWords,
  saveTokenizer,
  tokenizerJson,
  trainBpe,
} from "../../src/rl/sft/bpe.ts";
import { loadTokenizer } from "../../src/rl/tokenizer.ts";
import { fixturePath } from "../_shared.ts";

interface Golden {
  tokenizers: string;
  files: string[];
  vocab_size: number;
  merges: string[];
  encodings: { text: string; ids: number[] }[];
}

const GOLDEN: Golden = JSON.parse(
  await Deno.readTextFile(fixturePath("rl/sft/bpe_golden.json")),
);
const TEXTS = await Promise.all(
  GOLDEN.files.map((f) => Deno.readTextFile(fixturePath(`rl/sft/corpus/${f}`))),
);

Deno.test("trainBpe()", async (t) => {
  const model = trainBpe(countWords(TEXTS), { vocabSize: GOLDEN.vocab_size });

  await t.step("learns the merges of Hugging Face tokenizers' BpeTrainer, in order", () => {
    assert.deepEqual(model.merges.map(([a, b]) => `${a} ${b}`), GOLDEN.merges);
    assert.equal(model.vocab.length, 1 + 256 + GOLDEN.merges.length);
  });

  await t.step("keeps all 256 byte symbols after the special token", () => {
    assert.equal(model.vocab[0], "<|endoftext|>");
    assert.deepEqual(new Set(model.vocab.slice(1, 257)), new Set(BYTES_TO_UNICODE));
  });

  await t.step(
    "writes a tokenizer.json that loadTokenizer encodes as Hugging Face does",
    async () => {
      const dir = await Deno.makeTempDir();
      await saveTokenizer(dir, model, 128);
      const tokenizer = await loadTokenizer(dir);
      for (const { text, ids } of GOLDEN.encodings) {
        assert.deepEqual(tokenizer.encode(text), ids, JSON.stringify(text));
        assert.equal(tokenizer.decode(ids), text);
      }
      const config = JSON.parse(await Deno.readTextFile(join(dir, "tokenizer_config.json")));
      assert.equal(config.eos_token, "<|endoftext|>");
      await Deno.remove(dir, { recursive: true });
    },
  );

  await t.step("stops when no pair occurs minFrequency times", () => {
    const small = trainBpe(new Map([["ab", 1], ["cd", 3]]), { vocabSize: 1000 });
    assert.deepEqual(small.merges, [["c", "d"]]);
  });

  await t.step("rejects a vocabulary smaller than the bytes and special tokens", () => {
    assert.throws(() => trainBpe(new Map(), { vocabSize: 100 }), {
      name: "RangeError",
      message:
        'Cannot train a byte-level BPE as "vocabSize" must be an integer from 257 (special tokens and 256 bytes) to 32767: current value is 100',
    });
  });
});

Deno.test("ByteLevelBpeEncoder.encode() gives the library's ids without special tokens", async () => {
  const model = trainBpe(countWords(TEXTS), { vocabSize: GOLDEN.vocab_size });
  const json = tokenizerJson(model);
  const fast = ByteLevelBpeEncoder.from(json)!;
  const dir = await Deno.makeTempDir();
  await saveTokenizer(dir, model, 128);
  const library = await loadTokenizer(dir);
  const samples = [
    ...TEXTS,
    ...GOLDEN.encodings.map((e) => e.text),
    "  \t\n\n    x = y  \r\n",
    "日本語 and émigré 🚀 {}",
  ];
  for (const text of samples) {
    assert.deepEqual(fast.encode(text), library.encode(text, { addSpecialTokens: false }));
  }
  assert.equal(ByteLevelBpeEncoder.from({ ...json, normalizer: { type: "NFC" } }), undefined);
  await Deno.remove(dir, { recursive: true });
});
