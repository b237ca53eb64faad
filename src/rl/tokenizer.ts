/**
 * Tokenizer from a checkpoint's `tokenizer.json` (and `tokenizer_config.json`), through
 * `@huggingface/tokenizers`, the pure JavaScript port of Hugging Face's tokenizers.
 *
 * @module
 */

import { Tokenizer } from "@huggingface/tokenizers";
import { existsSync } from "node:fs";
import { join } from "node:path";

/** Encodes text to ids and back. */
export interface TextTokenizer {
  /** Ids of `text`, with the special tokens the tokenizer adds (BOS) unless told not to. */
  encode(text: string, options?: { addSpecialTokens?: boolean }): number[];
  /** Text of `ids`, without special tokens unless told otherwise. */
  decode(ids: readonly number[], options?: { skipSpecialTokens?: boolean }): string;
  /** Id of a token string, if the vocabulary has it. */
  tokenId(token: string): number | undefined;
}

/** Reads `tokenizer.json` and, when present, `tokenizer_config.json` from a folder. */
export async function loadTokenizer(dir: string): Promise<TextTokenizer> {
  const path = join(dir, "tokenizer.json");
  if (!existsSync(path)) {
    throw new Deno.errors.NotFound(
      `Cannot load a tokenizer from "${dir}" as it has no tokenizer.json: copy the model's tokenizer.json there`,
    );
  }
  const configPath = join(dir, "tokenizer_config.json");
  const config = existsSync(configPath) ? JSON.parse(await Deno.readTextFile(configPath)) : {};
  const tokenizer = new Tokenizer(JSON.parse(await Deno.readTextFile(path)), config);
  return {
    encode: (text, options = {}) =>
      tokenizer.encode(text, { add_special_tokens: options.addSpecialTokens ?? true }).ids,
    decode: (ids, options = {}) =>
      tokenizer.decode([...ids], { skip_special_tokens: options.skipSpecialTokens ?? true }),
    tokenId: (token) => tokenizer.token_to_id(token),
  };
}
