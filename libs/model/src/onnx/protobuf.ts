/**
 * Minimal protobuf writer for the ONNX messages the exporter emits (field numbers from onnx.proto,
 * https://github.com/onnx/onnx/blob/main/onnx/onnx.proto). Only varint and length-delimited fields,
 * non-negative integers; enough for ModelProto / GraphProto / NodeProto / TensorProto.
 */
export type Bytes = Uint8Array;

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

/** Concatenates byte arrays. */
export function concat(parts: Bytes[]): Bytes {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

const tag = (field: number, wire: number): number[] => varint(field * 8 + wire);
/** Varint field (wire type 0); `v` must be a non-negative safe integer. */
export const fInt = (field: number, v: number): Bytes => Uint8Array.from([...tag(field, 0), ...varint(v)]);
/** Length-delimited field (wire type 2). */
export const fBytes = (field: number, b: Bytes): Bytes =>
  concat([Uint8Array.from([...tag(field, 2), ...varint(b.length)]), b]);
/** UTF-8 string field. */
export const fStr = (field: number, s: string): Bytes => fBytes(field, new TextEncoder().encode(s));
/** Embedded message field built from its parts. */
export const fMsg = (field: number, parts: Bytes[]): Bytes => fBytes(field, concat(parts));

/** TensorProto.DataType values used here. */
export const DT_FLOAT = 1;
export const DT_INT64 = 7;

/** TensorProto with little-endian raw data (float32 or int64). */
export function tensorProto(name: string, dims: number[], data: Float32Array | BigInt64Array): Bytes {
  const type = data instanceof Float32Array ? DT_FLOAT : DT_INT64;
  return concat([
    ...dims.map((d) => fInt(1, d)),
    fInt(2, type),
    fStr(8, name),
    fBytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength)),
  ]);
}

/** AttributeProto of type INTS. */
export function attrInts(name: string, values: number[]): Bytes {
  return concat([fStr(1, name), ...values.map((v) => fInt(8, v)), fInt(20, 7)]);
}

/** AttributeProto of type INT. */
export function attrInt(name: string, v: number): Bytes {
  return concat([fStr(1, name), fInt(3, v), fInt(20, 2)]);
}

/** AttributeProto of type STRING. */
export function attrStr(name: string, v: string): Bytes {
  return concat([fStr(1, name), fStr(4, v), fInt(20, 3)]);
}

/** NodeProto. */
export function nodeProto(
  op: string,
  inputs: string[],
  outputs: string[],
  name: string,
  attrs: Bytes[] = [],
): Bytes {
  return concat([
    ...inputs.map((i) => fStr(1, i)),
    ...outputs.map((o) => fStr(2, o)),
    fStr(3, name),
    fStr(4, op),
    ...attrs.map((a) => fBytes(5, a)),
  ]);
}

/** ValueInfoProto of a float tensor; string dims are symbolic (dynamic). */
export function valueInfo(name: string, dims: Array<number | string>): Bytes {
  const shape = concat(dims.map((d) => fMsg(1, [typeof d === 'number' ? fInt(1, d) : fStr(2, d)])));
  const tensorType = concat([fInt(1, DT_FLOAT), fBytes(2, shape)]);
  return concat([fStr(1, name), fMsg(2, [fBytes(1, tensorType)])]);
}
