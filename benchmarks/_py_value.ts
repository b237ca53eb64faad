/**
 * Python values outside Python: what a call-based harness returns, compared with the expected
 * value the way Python's `==` compares them, so that the comparison (and the expected value)
 * stays out of the sandbox, where the program under test could read or forge it.
 *
 * The harness encodes a value as JSON with a few tags ({@linkcode PY_ENCODE}): `None`, `bool`,
 * `str`, `list` and numbers that fit a double as they are; an `int` beyond 2^53 as
 * `{"$i": "<digits>"}`; a non-finite float as `{"$f": "nan" | "inf" | "-inf"}`; a tuple as
 * `{"$t": [...]}`; a dict as `{"$d": [[key, value], ...]}`; a set or frozenset as `{"$s": [...]}`;
 * anything else as `{"$o": "<repr>"}`, which equals nothing (a class whose `__eq__` always
 * returns True passes the official APPS checker, and not this one).
 *
 * @module
 */

/** A decoded Python value. */
export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | PyValue[]
  | { readonly tuple: readonly PyValue[] }
  | { readonly dict: readonly (readonly [PyValue, PyValue])[] }
  | { readonly set: readonly PyValue[] }
  | { readonly opaque: string };

/**
 * The Python function, run inside the sandbox, that encodes a value as {@linkcode decodePyValue}
 * reads it (`_py_encode(value) -> str`).
 */
export const PY_ENCODE = `
def _py_encode(value):
    import json as _json, math as _math

    # The base types' own methods, so that a subclass cannot choose how it is seen.
    def enc(x, depth):
        if depth > 200:
            raise ValueError("too deep")
        if x is None or type(x) is bool:
            return x
        if isinstance(x, str):
            return str.__str__(x)
        if isinstance(x, int):
            x = int.__int__(x)
            return x if -(1 << 53) <= x <= (1 << 53) else {"$i": str(x)}
        if isinstance(x, float):
            x = float.__float__(x)
            return x if _math.isfinite(x) else {"$f": repr(x)}
        if isinstance(x, list):
            return [enc(v, depth + 1) for v in list.__iter__(x)]
        if isinstance(x, tuple):
            return {"$t": [enc(v, depth + 1) for v in tuple.__iter__(x)]}
        if isinstance(x, dict):
            return {"$d": [[enc(k, depth + 1), enc(v, depth + 1)] for k, v in dict.items(x)]}
        if isinstance(x, frozenset):
            return {"$s": [enc(v, depth + 1) for v in frozenset.__iter__(x)]}
        if isinstance(x, set):
            return {"$s": [enc(v, depth + 1) for v in set.__iter__(x)]}
        raise TypeError(type(x).__name__)

    try:
        return _json.dumps(enc(value, 0), separators=(",", ":"), allow_nan=False)
    except Exception:
        try:
            text = repr(value)[:200]
        except Exception:
            text = "<unprintable>"
        return _json.dumps({"$o": text})
`;

/** Decodes the harness's JSON text; throws a SyntaxError on text that is not its encoding. */
export function decodePyValue(text: string): PyValue {
  return fromTagged(parseJsonExact(text));
}

/**
 * Parses JSON as Python's `json.loads` does where it matters for `==`: an integer literal too
 * large for a double stays exact (a bigint).
 */
export function parseJsonExact(text: string): unknown {
  return JSON.parse(text, (_key, value, context?: { source?: string }) => {
    const source = context?.source;
    if (typeof value === "number" && source !== undefined && /^-?\d+$/.test(source)) {
      if (!Number.isSafeInteger(value)) return BigInt(source);
    }
    return value;
  });
}

/** A value parsed from plain JSON (an expected value of the dataset), as Python would hold it. */
export function fromJson(value: unknown): PyValue {
  if (value === null || typeof value === "boolean" || typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "bigint") return value;
  if (Array.isArray(value)) return value.map(fromJson);
  if (typeof value === "object") {
    return { dict: Object.entries(value).map(([k, v]) => [k, fromJson(v)] as const) };
  }
  throw new TypeError(`Cannot read a Python value from JSON of type ${typeof value}`);
}

function fromTagged(value: unknown): PyValue {
  if (value === null || typeof value === "boolean" || typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "bigint") return value;
  if (Array.isArray(value)) return value.map(fromTagged);
  if (typeof value !== "object") throw new SyntaxError(`Unexpected encoded value: ${value}`);
  const tagged = value as Record<string, unknown>;
  if (typeof tagged.$i === "string") return BigInt(tagged.$i);
  if (typeof tagged.$f === "string") {
    return tagged.$f === "nan" ? NaN : tagged.$f === "-inf" ? -Infinity : Infinity;
  }
  if (Array.isArray(tagged.$t)) return { tuple: tagged.$t.map(fromTagged) };
  if (Array.isArray(tagged.$s)) return { set: tagged.$s.map(fromTagged) };
  if (typeof tagged.$o === "string") return { opaque: tagged.$o };
  if (Array.isArray(tagged.$d)) {
    return {
      dict: tagged.$d.map((pair) => {
        if (!Array.isArray(pair) || pair.length !== 2) throw new SyntaxError("Bad dict entry");
        return [fromTagged(pair[0]), fromTagged(pair[1])] as const;
      }),
    };
  }
  throw new SyntaxError(`Unexpected encoded value: ${JSON.stringify(value).slice(0, 80)}`);
}

/** Python's `a == b` for these values (numbers across bool, int and float; no custom `__eq__`). */
export function pyEquals(a: PyValue, b: PyValue): boolean {
  if (isNumeric(a) || isNumeric(b)) return isNumeric(a) && isNumeric(b) && numbersEqual(a, b);
  if (a === null || b === null) return a === b;
  if (typeof a === "string" || typeof b === "string") return a === b;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && sequencesEqual(a, b);
  }
  if ("opaque" in a || "opaque" in b) return false;
  if ("tuple" in a || "tuple" in b) {
    return "tuple" in a && "tuple" in b && sequencesEqual(a.tuple, b.tuple);
  }
  if ("set" in a || "set" in b) {
    return "set" in a && "set" in b && a.set.length === b.set.length &&
      a.set.every((x) => b.set.some((y) => pyEquals(x, y)));
  }
  return dictsEqual(a.dict, b.dict);
}

type Numeric = boolean | number | bigint;

function isNumeric(value: PyValue): value is Numeric {
  return typeof value === "boolean" || typeof value === "number" || typeof value === "bigint";
}

function numbersEqual(a: Numeric, b: Numeric): boolean {
  const x = typeof a === "boolean" ? Number(a) : a;
  const y = typeof b === "boolean" ? Number(b) : b;
  if (typeof x === "number" && typeof y === "number") return x === y;
  if (typeof x === "bigint" && typeof y === "bigint") return x === y;
  const [big, num] = typeof x === "bigint" ? [x, y as number] : [y as bigint, x as number];
  return Number.isInteger(num) && BigInt(num) === big;
}

function sequencesEqual(a: readonly PyValue[], b: readonly PyValue[]): boolean {
  return a.length === b.length && a.every((x, i) => pyEquals(x, b[i]!));
}

/** Dicts with equal keys (by `==`, as equal keys hash alike) holding equal values. */
function dictsEqual(
  a: readonly (readonly [PyValue, PyValue])[],
  b: readonly (readonly [PyValue, PyValue])[],
): boolean {
  if (a.length !== b.length) return false;
  return a.every(([key, value]) => {
    const match = b.find(([other]) => pyEquals(key, other));
    return match !== undefined && pyEquals(value, match[1]);
  });
}

/** Python's `int(text)` for a string; undefined where it would raise. */
export function pyInt(text: string): bigint | undefined {
  const trimmed = text.trim();
  if (!/^[+-]?\d+(_\d+)*$/.test(trimmed)) return undefined;
  return BigInt(trimmed.replaceAll("_", ""));
}

/** `int(key)` of every key, as the APPS checker converts JSON's string keys; undefined if any fails. */
export function intKeys(value: PyValue): PyValue | undefined {
  if (value === null || typeof value !== "object" || !("dict" in value)) return undefined;
  const entries: (readonly [PyValue, PyValue])[] = [];
  for (const [key, entry] of value.dict) {
    const converted = typeof key === "string"
      ? pyInt(key)
      : isNumeric(key) && Number.isInteger(Number(key))
      ? BigInt(Number(key))
      : undefined;
    if (converted === undefined) return undefined;
    entries.push([toNumber(converted), entry]);
  }
  return { dict: entries };
}

function toNumber(value: bigint): number | bigint {
  return value >= -(2n ** 53n) && value <= 2n ** 53n ? Number(value) : value;
}
