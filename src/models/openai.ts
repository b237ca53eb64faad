/**
 * The `openai:` backend: any OpenAI-compatible server (vLLM, Ollama, llama.cpp, TGI, OpenAI),
 * on `/v1/completions` or `/v1/chat/completions`, with one concurrency setting (requests in
 * flight, which the generation stage fills with as many tasks), retries with exponential backoff
 * on 429, 5xx, timeouts and network errors (Retry-After honoured, one log line per retry), a
 * refused connection reported after one retry, and clear errors on other 4xx answers.
 *
 * @module
 */

import type {
  Generation,
  GenerationRequest,
  ModelBackend,
  ModelIdentity,
  Sampling,
  TokenUsage,
} from "./backend.ts";

/** Which endpoint to call. */
export type OpenAiApi = "completions" | "chat";

/** Options of {@linkcode OpenAiBackend}. */
export interface OpenAiOptions {
  /** @default "completions" */
  readonly api?: OpenAiApi;
  /** Server address up to `/v1`. @default `$OPENAI_BASE_URL` or `https://api.openai.com/v1` */
  readonly baseUrl?: string;
  /** @default `$OPENAI_API_KEY` (no Authorization header when neither is set) */
  readonly apiKey?: string;
  /**
   * Most requests in flight at once; the generation stage keeps as many tasks in flight, so this
   * is the whole run's concurrency (vLLM and TGI serve 64-256 well). @default 8
   */
  readonly concurrency?: number;
  /** Time allowed for one request, answer body included, in ms. @default 300000 */
  readonly timeoutMs?: number;
  /** Retries after the first attempt on 429, 5xx, timeouts and network errors. @default 6 */
  readonly maxRetries?: number;
  /** First backoff delay in ms, doubled at each retry (with jitter). @default 1000 */
  readonly backoffMs?: number;
  /** Longest wait between attempts, Retry-After included, in ms. @default 60000 */
  readonly maxBackoffMs?: number;
  /** System message sent before the prompt on the chat endpoint. */
  readonly systemPrompt?: string;
  /** Where each retry is said (status, attempt, wait): one line per retry. */
  readonly log?: (message: string) => void;
}

/** A request the server refused, or one that kept failing after every retry. */
export class OpenAiError extends Error {
  /** HTTP status of the last answer, if there was one. */
  readonly status: number | undefined;
  constructor(message: string, status?: number, options?: ErrorOptions) {
    super(message, options);
    this.name = "OpenAiError";
    this.status = status;
  }
}

/** What to do about a 4xx answer, by status. */
const HINTS: Readonly<Record<number, string>> = {
  400: "check the settings this server accepts (n, seed, stop, top_k), the prompt length " +
    "against the model's context, and --backend api=chat or api=completions",
  401: "set OPENAI_API_KEY (or --backend api-key=KEY) to a key this server accepts",
  403: "the key has no access to this model: check the key and the model name",
  404: "check the model name (GET <base URL>/models lists them), the base URL (--backend " +
    "base-url=URL; it usually ends in /v1) and --backend api=chat or api=completions",
  413: "the request is too large: use a shorter prompt template or fewer shots",
  422: "check the settings this server accepts (n, seed, stop, top_k) and --backend api=chat " +
    "or api=completions",
};

interface Choice {
  readonly index?: number;
  readonly text?: string;
  readonly message?: { readonly content?: string | null };
}

interface CompletionResponse {
  readonly choices?: readonly Choice[];
  readonly usage?: { readonly prompt_tokens?: number; readonly completion_tokens?: number };
}

/** A model behind an OpenAI-compatible HTTP API. */
export class OpenAiBackend implements ModelBackend {
  readonly identity: ModelIdentity;
  readonly yieldsCode = false;
  readonly concurrency: number;
  readonly style: "completion" | "chat";
  readonly #model: string;
  readonly #url: string;
  readonly #options: OpenAiOptions;
  readonly #apiKey: string | undefined;
  readonly #slots: Semaphore;
  readonly #usage = { promptTokens: 0, completionTokens: 0, requests: 0 };

  constructor(model: string, options: OpenAiOptions = {}) {
    const api = options.api ?? "completions";
    if (api !== "completions" && api !== "chat") {
      throw new RangeError(
        `Cannot use the OpenAI API "${api}" as it must be "chat" or "completions": pass ` +
          `--backend api=chat or --backend api=completions`,
      );
    }
    const baseUrl = (options.baseUrl ?? Deno.env.get("OPENAI_BASE_URL") ??
      "https://api.openai.com/v1").replace(/\/+$/, "");
    this.#model = model;
    this.style = api === "chat" ? "chat" : "completion";
    this.#url = `${baseUrl}/${api === "chat" ? "chat/completions" : "completions"}`;
    this.#options = { ...options, api };
    this.#apiKey = options.apiKey ?? Deno.env.get("OPENAI_API_KEY");
    this.concurrency = positive("concurrency", options.concurrency ?? 8);
    this.#slots = new Semaphore(this.concurrency);
    this.identity = {
      backend: "openai",
      id: model,
      settings: {
        api,
        baseUrl,
        ...(options.systemPrompt === undefined ? {} : { systemPrompt: options.systemPrompt }),
      },
    };
  }

  /**
   * Completions for one task: one request with `n` set to the missing count, then one request per
   * sample still missing where the server returned fewer choices (Ollama and llama.cpp ignore
   * `n`). Those follow-ups use seed `seed + index`, so that they differ from one another.
   */
  async generate(request: GenerationRequest): Promise<readonly Generation[]> {
    const { prompt, sampling, indices } = request;
    if (indices.length === 0) return [];
    const first = await this.#complete(prompt, sampling, indices.length, sampling.seed);
    const generations = first.slice(0, indices.length).map((g, i) => ({
      ...g,
      index: indices[i] as number,
    }));
    const rest = indices.slice(generations.length);
    const more = await Promise.all(rest.map(async (index) => {
      const [g] = await this.#complete(prompt, sampling, 1, sampling.seed + index);
      if (g === undefined) throw this.#error("returned no choice for a request with n=1");
      return { ...g, index };
    }));
    return [...generations, ...more];
  }

  /** Tokens the server reported, and requests made (retries included). */
  usage(): TokenUsage {
    return { ...this.#usage };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** One API call: the texts of its choices, in choice order, with token counts. */
  async #complete(
    prompt: string,
    sampling: Sampling,
    n: number,
    seed: number,
  ): Promise<Omit<Generation, "index">[]> {
    const answer = await this.#post(this.#body(prompt, sampling, n, seed));
    if (!Array.isArray(answer.choices)) {
      throw this.#error(
        `answered without a "choices" array: ${JSON.stringify(answer).slice(0, 300)}`,
      );
    }
    const choices = [...answer.choices].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
    const promptTokens = answer.usage?.prompt_tokens;
    const completionTokens = answer.usage?.completion_tokens;
    this.#usage.promptTokens += promptTokens ?? 0;
    this.#usage.completionTokens += completionTokens ?? 0;
    return choices.map((c) => ({
      raw: (this.#options.api === "chat" ? c.message?.content : c.text) ?? "",
      ...(promptTokens === undefined ? {} : { promptTokens }),
      // Servers report completion tokens per request, so they are per sample only when n = 1.
      ...(completionTokens === undefined || choices.length !== 1 ? {} : { completionTokens }),
    }));
  }

  #body(prompt: string, sampling: Sampling, n: number, seed: number): Record<string, unknown> {
    const messages = [
      ...(this.#options.systemPrompt === undefined
        ? []
        : [{ role: "system", content: this.#options.systemPrompt }]),
      { role: "user", content: prompt },
    ];
    return {
      model: this.#model,
      ...(this.#options.api === "chat" ? { messages } : { prompt }),
      max_tokens: sampling.maxTokens,
      temperature: sampling.temperature,
      top_p: sampling.topP,
      // top_k is not in OpenAI's API; vLLM, llama.cpp and TGI take it, so send it only when set.
      ...(sampling.topK > 0 ? { top_k: sampling.topK } : {}),
      ...(sampling.stop.length > 0 ? { stop: sampling.stop } : {}),
      n,
      seed,
    };
  }

  /**
   * POSTs `body`, retrying on 429, 5xx, timeouts and network errors, each retry said on `log`. A
   * refused connection is retried once only: nothing listens there, and waiting will not help.
   */
  async #post(body: Record<string, unknown>): Promise<CompletionResponse> {
    const maxRetries = this.#options.maxRetries ?? 6;
    let lastFailure = "";
    let refused = 0;
    for (let attempt = 0; attempt <= maxRetries; attempt++) {
      const outcome = await this.#slots.run(() => this.#attempt(body));
      if ("answer" in outcome) return outcome.answer;
      lastFailure = outcome.failure;
      if (outcome.refused && ++refused > 1) throw this.#refusedError(outcome.failure, attempt + 1);
      if (attempt === maxRetries) break;
      const delay = this.#delay(attempt, outcome.retryAfterMs);
      this.#options.log?.(
        `${this.#url}: ${outcome.failure}: retry ${attempt + 1} of ${maxRetries} in ${delay} ms`,
      );
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
    throw this.#error(
      `failed ${maxRetries + 1} times, last: ${lastFailure}: check that the server is up and ` +
        `not overloaded, or raise --backend timeout=MS and --backend retries=N`,
    );
  }

  #refusedError(failure: string, attempts: number): OpenAiError {
    return this.#error(
      `refused the connection ${attempts} times (${failure}): nothing listens at that address; ` +
        `start the server, or point --backend base-url=URL (or $OPENAI_BASE_URL) at it`,
    );
  }

  /** One HTTP attempt: the answer, or why it failed and whether the server asked for a wait. */
  async #attempt(
    body: Record<string, unknown>,
  ): Promise<
    { answer: CompletionResponse } | { failure: string; retryAfterMs?: number; refused?: boolean }
  > {
    const timeoutMs = this.#options.timeoutMs ?? 300_000;
    this.#usage.requests++;
    // A timer cleared on every path (AbortSignal.timeout would outlive the request).
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new DOMException(`${timeoutMs} ms`, "TimeoutError")),
      timeoutMs,
    );
    try {
      const response = await fetch(this.#url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(this.#apiKey ? { authorization: `Bearer ${this.#apiKey}` } : {}),
        },
        body: JSON.stringify(body),
        signal: controller.signal,
      });
      const text = await response.text();
      if (response.ok) return { answer: parseAnswer(text, this.#error.bind(this)) };
      const status = `${response.status} ${response.statusText}`.trim();
      if (response.status === 429 || response.status === 408 || response.status >= 500) {
        const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"));
        return {
          failure: `${status}: ${serverMessage(text)}`,
          ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        };
      }
      throw this.#error(
        `answered ${status}: ${serverMessage(text)}: ${
          HINTS[response.status] ?? "see the server's log"
        }`,
        response.status,
      );
    } catch (error) {
      if (error instanceof OpenAiError) throw error;
      const name = (error as Error).name;
      if (name === "TimeoutError") return { failure: `no answer within ${timeoutMs} ms` };
      const message = fetchErrorText(error as Error);
      return { failure: `network error: ${message}`, refused: isRefused(message) };
    } finally {
      clearTimeout(timer);
    }
  }

  #delay(attempt: number, retryAfterMs: number | undefined): number {
    const max = this.#options.maxBackoffMs ?? 60_000;
    if (retryAfterMs !== undefined) return Math.min(retryAfterMs, max);
    const base = (this.#options.backoffMs ?? 1000) * 2 ** attempt;
    return Math.round(Math.min(base, max) * (0.5 + Math.random() / 2));
  }

  #error(detail: string, status?: number): OpenAiError {
    return new OpenAiError(
      `Cannot generate with "openai:${this.#model}" as "${this.#url}" ${detail}`,
      status,
    );
  }
}

function parseAnswer(
  text: string,
  error: (detail: string) => OpenAiError,
): CompletionResponse {
  try {
    return JSON.parse(text) as CompletionResponse;
  } catch {
    throw error(`answered with a body that is not JSON: ${JSON.stringify(text.slice(0, 300))}`);
  }
}

/** The server's own words: `error.message` of a JSON error body, or the body text, shortened. */
function serverMessage(text: string): string {
  let message = text.trim();
  try {
    const body = JSON.parse(text) as { error?: { message?: string } | string; message?: string };
    const error = body.error;
    message = (typeof error === "string" ? error : error?.message) ?? body.message ?? message;
  } catch {
    // Not JSON: keep the text.
  }
  return JSON.stringify(message.length > 500 ? `${message.slice(0, 500)}...` : message);
}

/** A fetch error's message with its causes: Deno says only "fetch failed", the cause says why. */
function fetchErrorText(error: Error): string {
  const parts = [error.message];
  for (let cause = error.cause; cause instanceof Error; cause = cause.cause) {
    parts.push(cause.message);
  }
  return parts.join(": ");
}

/** Whether a fetch error says the connection was refused (nothing listens at the address). */
function isRefused(message: string): boolean {
  return /connection refused|ECONNREFUSED|os error 111\b/i.test(message);
}

/** Retry-After in ms, from delay-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function positive(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(
      `Cannot use the OpenAI backend as "${name}" must be a positive integer: current value ${value}`,
    );
  }
  return value;
}

/** A counting semaphore bounding requests in flight. */
class Semaphore {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(size: number) {
    this.#free = size;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}
