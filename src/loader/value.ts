/**
 * Test-data values beyond plain tensors: SequenceProto and OptionalProto (onnx/onnx-data.proto), used
 * by the ONNX backend suite for sequence/optional inputs and outputs, and a decoder that picks the
 * message by the declared type of the graph input/output.
 */
import type { DType, TensorData } from '../dtype.js';
import { DecodeError, UnsupportedError } from '../errors.js';
import { bfloat16BitsToFloat32 } from './float16.js';
import type { ValueType } from './model.js';
import { ProtoReader, WIRE_VARINT } from './protobuf.js';
import { readSparseTensor, readTensor, type LoadOptions } from './tensor.js';

/** A runtime value: a tensor, a sequence of values, or an optional value (null = empty). */
export type ValueData =
  | { kind: 'tensor'; value: TensorData }
  | { kind: 'sequence'; elems: ValueData[] }
  | { kind: 'optional'; value: ValueData | null };

// SequenceProto / OptionalProto field numbers (the same for both; sequences repeat them).
const F_NAME = 1;
const F_ELEM_TYPE = 2;
const F_TENSOR = 3;
const F_SPARSE = 4;
const F_SEQUENCE = 5;
const F_MAP = 6;
const F_OPTIONAL = 7;

function readContainer(r: ProtoReader, path: string, options: LoadOptions): { name: string; values: ValueData[] } {
  let name = '';
  const values: ValueData[] = [];
  while (r.next(path)) {
    switch (r.field) {
      case F_NAME:
        name = r.string(`${path}.name`);
        break;
      case F_ELEM_TYPE:
        r.expect(WIRE_VARINT, `${path}.elem_type`);
        r.int32(`${path}.elem_type`);
        break;
      case F_TENSOR: {
        const { name: _n, ...t } = readTensor(r.message(`${path}.tensor`), `${path}.tensor`, options);
        values.push({ kind: 'tensor', value: t });
        break;
      }
      case F_SPARSE: {
        const { name: _n, ...t } = readSparseTensor(r.message(`${path}.sparse_tensor`), `${path}.sparse_tensor`, options);
        values.push({ kind: 'tensor', value: t });
        break;
      }
      case F_SEQUENCE:
        values.push({ kind: 'sequence', elems: readContainer(r.message(`${path}.sequence`), `${path}.sequence`, options).values });
        break;
      case F_OPTIONAL: {
        const inner = readContainer(r.message(`${path}.optional`), `${path}.optional`, options).values;
        values.push({ kind: 'optional', value: inner[0] ?? null });
        break;
      }
      case F_MAP:
        throw new UnsupportedError(`${path}: map values are not supported`);
      default:
        r.skip(path);
    }
  }
  return { name, values };
}

/** Decodes a SequenceProto. */
export function decodeSequence(bytes: Uint8Array, options: LoadOptions = {}): { name: string; elems: ValueData[] } {
  const { name, values } = readContainer(new ProtoReader(bytes), 'SequenceProto', options);
  return { name, elems: values };
}

/** Decodes an OptionalProto (value null when empty). */
export function decodeOptional(bytes: Uint8Array, options: LoadOptions = {}): { name: string; value: ValueData | null } {
  const { name, values } = readContainer(new ProtoReader(bytes), 'OptionalProto', options);
  if (values.length > 1) throw new DecodeError('optional holds more than one value', 0, 'OptionalProto');
  return { name, value: values[0] ?? null };
}

/**
 * The ONNX backend suite stores bfloat16 test data as uint16 bit patterns; given the declared dtype,
 * reinterprets such a tensor as bfloat16 (widened to float32). Other tensors are returned unchanged.
 */
export function tensorAsDeclared(t: TensorData, declared: DType): TensorData {
  if (declared !== 'bfloat16' || t.dtype !== 'uint16') return t;
  const bits = t.data as Uint16Array;
  const data = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) data[i] = bfloat16BitsToFloat32(bits[i]!);
  return { dtype: 'bfloat16', shape: t.shape, data };
}

/** Decodes a test-data .pb file by the declared type of the value it holds. */
export function decodeValue(bytes: Uint8Array, type: ValueType, options: LoadOptions = {}): { name: string; value: ValueData } {
  switch (type.kind) {
    case 'sequence': {
      const { name, elems } = decodeSequence(bytes, options);
      return { name, value: { kind: 'sequence', elems } };
    }
    case 'optional': {
      const { name, value } = decodeOptional(bytes, options);
      return { name, value: { kind: 'optional', value } };
    }
    default: {
      const { name, ...t } = readTensor(new ProtoReader(bytes), 'TensorProto', options);
      const value = type.kind === 'tensor' ? tensorAsDeclared(t, type.dtype) : t;
      return { name, value: { kind: 'tensor', value } };
    }
  }
}
