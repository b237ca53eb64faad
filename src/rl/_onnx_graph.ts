/**
 * A small builder of ONNX models (https://onnx.ai/onnx/repo-docs/IR.html), written straight to
 * protobuf with the field numbers of `onnx.proto`. Only what the exporter uses is here: nodes
 * with int, float, ints and tensor-free attributes, float and int64 initializers (inline or in an
 * external data file), and typed graph inputs and outputs with symbolic dimensions.
 *
 * @module
 */

import { ProtoWriter } from "./_protobuf.ts";

/** ONNX `TensorProto.DataType` values used here. */
export const ONNX_TYPES = { float: 1, int64: 7, bool: 9 } as const;

/** An element type of a graph input or output. */
export type OnnxType = keyof typeof ONNX_TYPES;

/** A node attribute. */
export type OnnxAttribute =
  | { readonly i: number }
  | { readonly f: number }
  | { readonly ints: readonly number[] }
  | { readonly s: string };

/** Where initializer bytes go. */
export interface ExternalData {
  /** File name, relative to the model file. */
  readonly location: string;
  /** Bytes appended so far; the caller writes them after {@linkcode OnnxGraph.build}. */
  readonly chunks: Uint8Array[];
  offset: number;
}

// onnx.proto field numbers.
const MODEL = { irVersion: 1, producerName: 2, producerVersion: 3, graph: 7, opset: 8 };
const GRAPH = { node: 1, name: 2, initializer: 5, input: 11, output: 12 };
const NODE = { input: 1, output: 2, name: 3, opType: 4, attribute: 5, domain: 7 };
const ATTRIBUTE = { name: 1, f: 2, i: 3, s: 4, ints: 8, type: 20 };
const ATTRIBUTE_TYPES = { f: 1, i: 2, s: 3, ints: 7 };
const TENSOR = { dims: 1, dataType: 2, name: 8, rawData: 9, externalData: 13, dataLocation: 14 };

function attribute(name: string, value: OnnxAttribute): ProtoWriter {
  const w = new ProtoWriter().string(ATTRIBUTE.name, name);
  if ("i" in value) w.varint(ATTRIBUTE.i, value.i).varint(ATTRIBUTE.type, ATTRIBUTE_TYPES.i);
  else if ("f" in value) w.float(ATTRIBUTE.f, value.f).varint(ATTRIBUTE.type, ATTRIBUTE_TYPES.f);
  else if ("s" in value) w.string(ATTRIBUTE.s, value.s).varint(ATTRIBUTE.type, ATTRIBUTE_TYPES.s);
  else {
    // Repeated int64 attributes are not packed in onnx.proto2 semantics; write each one.
    for (const v of value.ints) w.varint(ATTRIBUTE.ints, v);
    w.varint(ATTRIBUTE.type, ATTRIBUTE_TYPES.ints);
  }
  return w;
}

function valueInfo(name: string, type: OnnxType, dims: readonly (number | string)[]) {
  const shape = new ProtoWriter();
  for (const dim of dims) {
    const d = new ProtoWriter();
    if (typeof dim === "number") d.varint(1, dim);
    else d.string(2, dim);
    shape.message(1, d);
  }
  const tensorType = new ProtoWriter().varint(1, ONNX_TYPES[type]).message(2, shape);
  const typeProto = new ProtoWriter().message(1, tensorType);
  return new ProtoWriter().string(1, name).message(2, typeProto);
}

/** Builds one ONNX graph; node outputs are named uniquely from a counter. */
export class OnnxGraph {
  #nodes: ProtoWriter[] = [];
  #initializers: ProtoWriter[] = [];
  #inputs: ProtoWriter[] = [];
  #outputs: ProtoWriter[] = [];
  #count = 0;
  #external: ExternalData | undefined;

  /** With `external`, float initializers of at least 1 KiB go to that file. */
  constructor(external?: ExternalData) {
    this.#external = external;
  }

  /** Adds a graph input. */
  input(name: string, type: OnnxType, dims: readonly (number | string)[]): string {
    this.#inputs.push(valueInfo(name, type, dims));
    return name;
  }

  /** Declares a graph output (a node must produce `name`). */
  output(name: string, type: OnnxType, dims: readonly (number | string)[]): void {
    this.#outputs.push(valueInfo(name, type, dims));
  }

  /** Adds a float initializer. */
  floats(name: string, dims: readonly number[], data: Float32Array): string {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    return this.#tensor(name, dims, ONNX_TYPES.float, bytes.slice());
  }

  /** Adds an int64 initializer. */
  int64s(name: string, dims: readonly number[], data: readonly number[]): string {
    return this.#tensor(
      name,
      dims,
      ONNX_TYPES.int64,
      new Uint8Array(BigInt64Array.from(data, (v) => BigInt(v)).buffer),
    );
  }

  /** A float scalar constant. */
  scalar(value: number): string {
    return this.floats(`const_${this.#count++}`, [], Float32Array.of(value));
  }

  /** An int64 vector constant. */
  ints(values: readonly number[]): string {
    return this.int64s(`const_${this.#count++}`, [values.length], values);
  }

  #tensor(name: string, dims: readonly number[], dataType: number, bytes: Uint8Array): string {
    const w = new ProtoWriter();
    for (const d of dims) w.varint(TENSOR.dims, d);
    w.varint(TENSOR.dataType, dataType).string(TENSOR.name, name);
    const external = this.#external;
    if (external && dataType === ONNX_TYPES.float && bytes.length >= 1024) {
      const entry = (key: string, value: string) =>
        new ProtoWriter().string(1, key).string(2, value);
      w.message(TENSOR.externalData, entry("location", external.location))
        .message(TENSOR.externalData, entry("offset", String(external.offset)))
        .message(TENSOR.externalData, entry("length", String(bytes.length)))
        .varint(TENSOR.dataLocation, 1);
      external.chunks.push(bytes);
      external.offset += bytes.length;
    } else {
      w.bytes(TENSOR.rawData, bytes);
    }
    this.#initializers.push(w);
    return name;
  }

  /** Adds a node and returns its outputs' names (`count` of them, or the given names). */
  node(
    opType: string,
    inputs: readonly string[],
    attributes: Readonly<Record<string, OnnxAttribute>> = {},
    outputs: number | readonly string[] = 1,
  ): string[] {
    const id = this.#count++;
    const names = typeof outputs === "number"
      ? Array.from({ length: outputs }, (_, i) => `${opType.toLowerCase()}_${id}_${i}`)
      : [...outputs];
    const w = new ProtoWriter();
    for (const input of inputs) w.string(NODE.input, input);
    for (const output of names) w.string(NODE.output, output);
    w.string(NODE.name, `${opType}_${id}`).string(NODE.opType, opType);
    for (const [key, value] of Object.entries(attributes)) {
      w.message(NODE.attribute, attribute(key, value));
    }
    this.#nodes.push(w);
    return names;
  }

  /** Shorthand for a node with one output. */
  op(opType: string, inputs: readonly string[], attributes?: Record<string, OnnxAttribute>) {
    return this.node(opType, inputs, attributes)[0]!;
  }

  /** Serializes the model (IR version 8, default domain at `opset`). */
  build(name: string, opset: number): Uint8Array {
    const graph = new ProtoWriter();
    for (const node of this.#nodes) graph.message(GRAPH.node, node);
    graph.string(GRAPH.name, name);
    for (const init of this.#initializers) graph.message(GRAPH.initializer, init);
    for (const input of this.#inputs) graph.message(GRAPH.input, input);
    for (const output of this.#outputs) graph.message(GRAPH.output, output);
    const opsetId = new ProtoWriter().string(1, "").varint(2, opset);
    return new ProtoWriter()
      .varint(MODEL.irVersion, 8)
      .string(MODEL.producerName, "ppocoder")
      .string(MODEL.producerVersion, "0.1.0")
      .message(MODEL.graph, graph)
      .message(MODEL.opset, opsetId)
      .finish();
  }
}
