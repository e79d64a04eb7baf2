/**
 * A minimal ONNX model writer: one node, float32 inputs and outputs, fixed shapes. Enough to
 * give onnxruntime-node a MatMul or Softmax graph without a Python toolchain. Field numbers
 * are those of onnx.proto (ModelProto, GraphProto, NodeProto, ValueInfoProto, TypeProto,
 * TensorShapeProto, AttributeProto, OperatorSetIdProto); encoding is protobuf's wire format.
 */

/** ONNX IR version 8 goes with opset 17 and later (onnx/docs/Versioning.md). */
const IR_VERSION = 8;
const DEFAULT_OPSET = 17;
/** TensorProto.DataType: FLOAT and INT32. */
const ELEM_TYPES = { float32: 1, int32: 6 } as const;
/** AttributeProto.AttributeType.INT */
const ATTR_INT = 2;

export interface OnnxTensorSpec {
  /** '' for an optional input left out (it takes its place in the node's input list only). */
  name: string;
  shape: readonly number[];
  /** Default float32; int32 for lengths such as GroupQueryAttention's `seqlens_k`. */
  type?: keyof typeof ELEM_TYPES;
}

export interface OnnxNodeSpec {
  opType: string;
  inputs: readonly OnnxTensorSpec[];
  outputs: readonly OnnxTensorSpec[];
  /** Integer attributes, e.g. Softmax's `axis`. */
  intAttrs?: Record<string, number>;
  opset?: number;
  /** The operator's domain, e.g. `com.microsoft` for onnxruntime's contrib operators. */
  domain?: string;
}

/** Protobuf wire-format writer for the few field kinds an ONNX model needs. */
class ProtoWriter {
  readonly bytes: number[] = [];

  private varint(value: number): void {
    if (!Number.isSafeInteger(value))
      throw new RangeError(`onnx-model: ${value} is not an integer`);
    // Negative int64 values are written as ten-byte two's complement varints.
    let v = BigInt.asUintN(64, BigInt(value));
    do {
      const low = Number(v & 0x7fn);
      v >>= 7n;
      this.bytes.push(v > 0n ? low | 0x80 : low);
    } while (v > 0n);
  }

  int(field: number, value: number): this {
    this.varint((field << 3) | 0);
    this.varint(value);
    return this;
  }

  bytesField(field: number, data: readonly number[] | Uint8Array): this {
    this.varint((field << 3) | 2);
    this.varint(data.length);
    for (const b of data) this.bytes.push(b);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytesField(field, new TextEncoder().encode(value));
  }

  message(field: number, build: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    build(inner);
    return this.bytesField(field, inner.bytes);
  }
}

function valueInfo(w: ProtoWriter, spec: OnnxTensorSpec): void {
  w.string(1, spec.name).message(2, (type) =>
    type.message(1, (tensor) =>
      tensor.int(1, ELEM_TYPES[spec.type ?? 'float32']).message(2, (shape) => {
        for (const d of spec.shape) shape.message(1, (dim) => dim.int(1, d));
      }),
    ),
  );
}

/** Serialized ModelProto holding a graph with the single node described. */
export function singleNodeModel(node: OnnxNodeSpec): Uint8Array {
  const w = new ProtoWriter();
  w.int(1, IR_VERSION);
  w.string(2, '@qkv/bench');
  w.message(7, (graph) => {
    graph.message(1, (n) => {
      for (const i of node.inputs) n.string(1, i.name);
      for (const o of node.outputs) n.string(2, o.name);
      n.string(3, node.opType.toLowerCase());
      n.string(4, node.opType);
      if (node.domain) n.string(7, node.domain);
      for (const [name, value] of Object.entries(node.intAttrs ?? {})) {
        n.message(5, (a) => a.string(1, name).int(3, value).int(20, ATTR_INT));
      }
    });
    graph.string(2, `${node.opType.toLowerCase()}-graph`);
    for (const i of node.inputs) if (i.name) graph.message(11, (v) => valueInfo(v, i));
    for (const o of node.outputs) graph.message(12, (v) => valueInfo(v, o));
  });
  w.message(8, (opset) => opset.string(1, '').int(2, node.opset ?? DEFAULT_OPSET));
  // Contrib operators are versioned in their own domain (com.microsoft is at version 1).
  if (node.domain) w.message(8, (opset) => opset.string(1, node.domain!).int(2, 1));
  return Uint8Array.from(w.bytes);
}
