/**
 * The few Protocol Buffers wire-format writes the ONNX exporter needs
 * (https://protobuf.dev/programming-guides/encoding/): varints, fixed 32-bit floats and
 * length-delimited fields. Nested messages are kept as chunk lists, so large tensors are copied
 * once, when the whole message is finished.
 *
 * @module
 */

const VARINT = 0;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

/** Builds one message. */
export class ProtoWriter {
  #chunks: Uint8Array[] = [];
  #length = 0;

  /** Bytes written so far. */
  get length(): number {
    return this.#length;
  }

  #push(bytes: Uint8Array): void {
    this.#chunks.push(bytes);
    this.#length += bytes.length;
  }

  #rawVarint(value: number | bigint): void {
    // Negative int64 values take ten bytes of two's complement, as protobuf encodes them.
    let v = BigInt.asUintN(64, BigInt(value));
    const out: number[] = [];
    while (v >= 0x80n) {
      out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    out.push(Number(v));
    this.#push(Uint8Array.from(out));
  }

  #tag(field: number, wire: number): void {
    this.#rawVarint((field << 3) | wire);
  }

  /** An int32, int64, enum or bool field. */
  varint(field: number, value: number | bigint | boolean): this {
    this.#tag(field, VARINT);
    this.#rawVarint(typeof value === "boolean" ? (value ? 1 : 0) : value);
    return this;
  }

  /** A float field. */
  float(field: number, value: number): this {
    this.#tag(field, FIXED32);
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    this.#push(bytes);
    return this;
  }

  /** A bytes field. */
  bytes(field: number, value: Uint8Array): this {
    this.#tag(field, LENGTH_DELIMITED);
    this.#rawVarint(value.length);
    this.#push(value);
    return this;
  }

  /** A string field. */
  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  /** A nested message field. */
  message(field: number, message: ProtoWriter): this {
    this.#tag(field, LENGTH_DELIMITED);
    this.#rawVarint(message.length);
    for (const chunk of message.#chunks) this.#push(chunk);
    return this;
  }

  /** A packed repeated varint field. */
  packed(field: number, values: readonly (number | bigint)[]): this {
    const inner = new ProtoWriter();
    for (const value of values) inner.#rawVarint(value);
    return this.message(field, inner);
  }

  /** The message's bytes. */
  finish(): Uint8Array {
    const out = new Uint8Array(this.#length);
    let at = 0;
    for (const chunk of this.#chunks) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }
}
