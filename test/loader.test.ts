import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DType, TensorData } from '../src/dtype.js';
import { DecodeError, LimitError, TinferError, UnsupportedError } from '../src/errors.js';
import {
  ProtoReader,
  ProtoWriter,
  decodeModel,
  decodeOptional,
  decodeSequence,
  decodeTensor,
  decodeValue,
  tensorAsDeclared,
  encodeModel,
  encodeTensor,
  type Attribute,
  type FunctionDef,
  type Graph,
  type Model,
} from '../src/loader/index.js';
import { ModelBuilder, F, Fs } from './onnx-builder.js';
import { MODEL_ZOO, NODE_SUITE, sharedAvailable } from './shared.js';

const bytes = (...b: number[]): Uint8Array => new Uint8Array(b);

/** Builds raw protobuf bytes with the writer: the tests below craft messages field by field. */
function proto(write: (w: ProtoWriter) => void): Uint8Array {
  const w = new ProtoWriter();
  write(w);
  return w.finish();
}

function expectDecodeError(f: () => unknown, ...fragments: string[]): DecodeError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(DecodeError);
    for (const s of fragments) expect((e as Error).message).toContain(s);
    return e as DecodeError;
  }
  throw new Error('expected a DecodeError');
}

describe('protobuf wire reader', () => {
  it('reads single- and multi-byte varints', () => {
    const r = new ProtoReader(bytes(0x01, 0xac, 0x02, 0xff, 0xff, 0xff, 0xff, 0x0f));
    expect(r.int64('a')).toBe(1);
    expect(r.int64('b')).toBe(300);
    expect(r.uint64('c')).toBe(0xffffffff);
  });

  it('reads negative int64 as 10-byte two complement', () => {
    const r = new ProtoReader(bytes(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01));
    expect(r.int64('x')).toBe(-1);
    const r2 = new ProtoReader(bytes(0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01));
    expect(r2.int32('x')).toBe(-2);
  });

  it('reads int64 extremes exactly as bigint', () => {
    for (const v of [2n ** 63n - 1n, -(2n ** 63n), 2n ** 53n + 1n, -5n, 0n]) {
      const w = new ProtoWriter();
      w.bigVarint(v);
      expect(new ProtoReader(w.finish()).int64BigInt('x')).toBe(v);
    }
    const w = new ProtoWriter();
    w.bigVarint(2n ** 64n - 1n);
    expect(new ProtoReader(w.finish()).uint64BigInt('x')).toBe(2n ** 64n - 1n);
  });

  it('reads int64 values exactly below 2^53 as numbers', () => {
    for (const v of [2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 32, -(2 ** 32) - 7, 123456789012]) {
      const w = new ProtoWriter();
      w.int64(v);
      expect(new ProtoReader(w.finish()).int64('x')).toBe(v);
    }
  });

  it('rejects a varint longer than 10 bytes', () => {
    const r = new ProtoReader(new Uint8Array(11).fill(0x80));
    expectDecodeError(() => r.int64('Foo.bar'), 'varint longer than 10 bytes', 'Foo.bar');
  });

  it('rejects a truncated varint with its offset', () => {
    const r = new ProtoReader(bytes(0x08, 0x80, 0x80));
    r.next('M');
    const e = expectDecodeError(() => r.int64('M.f'), 'truncated varint', 'M.f');
    expect(e.offset).toBe(3);
  });

  it('reads fixed32 floats and fixed64 doubles little-endian', () => {
    const r = new ProtoReader(bytes(0x00, 0x00, 0x80, 0x3f, 0, 0, 0, 0, 0, 0, 0xf0, 0xbf));
    expect(r.float32('f')).toBe(1);
    expect(r.float64('d')).toBe(-1);
    expectDecodeError(() => r.float32('f'), 'needs 4 bytes but only 0 remain');
  });

  it('checks a length against the bytes that remain', () => {
    // field 1, length-delimited, length 5, but only 2 bytes follow
    const r = new ProtoReader(bytes(0x0a, 0x05, 0x61, 0x62));
    r.next('M');
    const e = expectDecodeError(() => r.string('M.name'), 'length 5 exceeds the 2 bytes that remain', 'M.name');
    expect(e.offset).toBe(1);
    expect(e.field).toBe('M.name');
  });

  it('rejects group wire types, invalid wire types and field number 0', () => {
    expectDecodeError(() => new ProtoReader(bytes(0x0b)).next('M'), 'group wire type (3)');
    expectDecodeError(() => new ProtoReader(bytes(0x0c)).next('M'), 'group wire type (4)');
    expectDecodeError(() => new ProtoReader(bytes(0x0e)).next('M'), 'invalid wire type 6');
    expectDecodeError(() => new ProtoReader(bytes(0x0f)).next('M'), 'invalid wire type 7');
    expectDecodeError(() => new ProtoReader(bytes(0x00)).next('M'), 'invalid field number 0');
  });

  it('skips unknown fields of every wire type', () => {
    const b = proto((w) => {
      w.varintField(100, 12345);
      w.tag(101, 1);
      for (let i = 0; i < 8; i++) w.uvarint(0);
      w.floatField(102, 1.5);
      w.stringField(103, 'ignored');
      w.varintField(1, 7);
    });
    const r = new ProtoReader(b);
    let value = 0;
    while (r.next('M')) {
      if (r.field === 1) value = r.int64('M.x');
      else r.skip('M');
    }
    expect(value).toBe(7);
  });

  it('reads a repeated field whether packed or not', () => {
    const packed = proto((w) => w.packedVarints(1, [1, -2, 300]));
    const unpacked = proto((w) => [1, -2, 300].forEach((v) => w.varintField(1, v)));
    for (const b of [packed, unpacked]) {
      const out: number[] = [];
      const r = new ProtoReader(b);
      while (r.next('M')) r.repeated(0, 'M.v', (x) => out.push(x.int64('M.v')));
      expect(out).toEqual([1, -2, 300]);
    }
  });

  it('rejects a field with the wrong wire type', () => {
    // ModelProto.ir_version (1) as a length-delimited field
    const b = proto((w) => w.stringField(1, 'x'));
    expectDecodeError(() => decodeModel(b), 'expected varint', 'ModelProto.ir_version');
  });
});

/** One example tensor per dtype, with values the dtype represents exactly. */
function exampleTensors(): TensorData[] {
  const f32 = (dtype: DType, v: number[]): TensorData => ({ dtype, shape: [v.length], data: Float32Array.from(v) });
  return [
    { dtype: 'float32', shape: [2, 3], data: Float32Array.from([1.5, -2, 0, 3.25, -0, 1e30]) },
    { dtype: 'float64', shape: [3], data: Float64Array.from([Math.PI, -1e300, 5e-324]) },
    f32('float16', [1, -2, 0.5, 65504, 2 ** -24, Infinity]),
    f32('bfloat16', [1, -2, 3.140625, 1e38 - (1e38 % 2 ** 119)]),
    f32('float8e4m3fn', [1, -448, 0.001953125, 0.5]),
    f32('float8e4m3fnuz', [1, -240, 2 ** -10]),
    f32('float8e5m2', [1, -57344, 2 ** -16, -Infinity]),
    f32('float8e5m2fnuz', [1, -57344, 2 ** -17]),
    { dtype: 'int4', shape: [5], data: Int8Array.from([-8, 7, 0, -1, 3]) },
    { dtype: 'uint4', shape: [3], data: Uint8Array.from([15, 0, 9]) },
    { dtype: 'int8', shape: [3], data: Int8Array.from([-128, 127, 0]) },
    { dtype: 'uint8', shape: [3], data: Uint8Array.from([255, 0, 1]) },
    { dtype: 'int16', shape: [2], data: Int16Array.from([-32768, 32767]) },
    { dtype: 'uint16', shape: [2], data: Uint16Array.from([65535, 1]) },
    { dtype: 'int32', shape: [3], data: Int32Array.from([-(2 ** 31), 2 ** 31 - 1, 0]) },
    { dtype: 'uint32', shape: [2], data: Uint32Array.from([2 ** 32 - 1, 7]) },
    { dtype: 'int64', shape: [3], data: BigInt64Array.from([-(2n ** 63n), 2n ** 63n - 1n, 42n]) },
    { dtype: 'uint64', shape: [2], data: BigUint64Array.from([2n ** 64n - 1n, 0n]) },
    { dtype: 'bool', shape: [2, 2], data: Uint8Array.from([1, 0, 0, 1]) },
    { dtype: 'string', shape: [3], data: ['a', '', 'héllo ✓'] },
    { dtype: 'float32', shape: [], data: Float32Array.from([7]) },
    { dtype: 'int64', shape: [0, 3], data: new BigInt64Array(0) },
  ];
}

function expectSameTensor(got: TensorData, exp: TensorData): void {
  expect(got.dtype).toBe(exp.dtype);
  expect(got.shape).toEqual(exp.shape);
  expect(got.data.constructor).toBe(exp.data.constructor);
  expect(Array.from(got.data as ArrayLike<unknown>)).toEqual(Array.from(exp.data as ArrayLike<unknown>));
}

describe('tensors', () => {
  it.each(exampleTensors().map((t) => [`${t.dtype}[${t.shape}]`, t] as const))('round-trips %s through raw_data', (_, t) => {
    const back = decodeTensor(encodeTensor(t, 'w'));
    expect(back.name).toBe('w');
    expectSameTensor(back, t);
  });

  it('widens float16 raw_data from its bit patterns', () => {
    const b = proto((w) => {
      w.packedVarints(1, [3]);
      w.varintField(2, 10);
      w.bytesField(9, bytes(0x00, 0x3c, 0x00, 0xc0, 0x00, 0x7c)); // 1, -2, inf
    });
    expect(Array.from(decodeTensor(b).data as Float32Array)).toEqual([1, -2, Infinity]);
  });

  it('reads float_data packed and unpacked, concatenated in order', () => {
    const b = proto((w) => {
      w.packedVarints(1, [4]);
      w.varintField(2, 1);
      w.packedFloats(4, [1, 2]);
      w.floatField(4, 3);
      w.floatField(4, -4.5);
    });
    expect(Array.from(decodeTensor(b).data as Float32Array)).toEqual([1, 2, 3, -4.5]);
  });

  it('reads int32_data for int8, uint16, bool, float16 bits, float8 bits', () => {
    const t = (code: number, n: number, vals: number[]): TensorData =>
      decodeTensor(
        proto((w) => {
          w.packedVarints(1, [n]);
          w.varintField(2, code);
          w.packedVarints(5, vals);
        }),
      );
    expect(Array.from(t(3, 3, [-1, 127, -128]).data as Int8Array)).toEqual([-1, 127, -128]);
    expect(Array.from(t(4, 2, [65535, 3]).data as Uint16Array)).toEqual([65535, 3]);
    expect(Array.from(t(9, 3, [1, 0, 5]).data as Uint8Array)).toEqual([1, 0, 1]);
    expect(Array.from(t(10, 2, [0x3c00, 0x3555]).data as Float32Array)).toEqual([1, 0.333251953125]);
    expect(Array.from(t(16, 1, [0x3f80]).data as Float32Array)).toEqual([1]);
    expect(Array.from(t(17, 2, [0x38, 0x7e]).data as Float32Array)).toEqual([1, 448]);
    // int4: two elements per int32_data entry, low nibble first
    expect(Array.from(t(22, 3, [0x8f, 0x07]).data as Int8Array)).toEqual([-1, -8, 7]);
    expect(Array.from(t(21, 2, [0x8f]).data as Uint8Array)).toEqual([15, 8]);
  });

  it('reads int64_data, uint64_data (for uint32 and uint64) and double_data', () => {
    const int64 = decodeTensor(
      proto((w) => {
        w.packedVarints(1, [3]);
        w.varintField(2, 7);
        const run = new ProtoWriter();
        run.bigVarint(-(2n ** 63n));
        run.bigVarint(9007199254740993n);
        run.bigVarint(-1n);
        w.bytesField(7, run.finish());
      }),
    );
    expect(Array.from(int64.data as BigInt64Array)).toEqual([-(2n ** 63n), 9007199254740993n, -1n]);
    const uint32 = decodeTensor(
      proto((w) => {
        w.packedVarints(1, [2]);
        w.varintField(2, 12);
        w.packedVarints(11, [4294967295, 1]);
      }),
    );
    expect(uint32.data).toBeInstanceOf(Uint32Array);
    expect(Array.from(uint32.data as Uint32Array)).toEqual([4294967295, 1]);
    const uint64 = decodeTensor(
      proto((w) => {
        w.packedVarints(1, [1]);
        w.varintField(2, 13);
        const run = new ProtoWriter();
        run.bigVarint(2n ** 64n - 1n);
        w.bytesField(11, run.finish());
      }),
    );
    expect(Array.from(uint64.data as BigUint64Array)).toEqual([2n ** 64n - 1n]);
    const f64 = decodeTensor(
      proto((w) => {
        w.packedVarints(1, [2]);
        w.varintField(2, 11);
        const dv = new DataView(new ArrayBuffer(16));
        dv.setFloat64(0, Math.E, true);
        dv.setFloat64(8, -0.1, true);
        w.bytesField(10, new Uint8Array(dv.buffer)); // packed double_data
      }),
    );
    expect(Array.from(f64.data as Float64Array)).toEqual([Math.E, -0.1]);
  });

  it('refuses data whose length does not match the dims', () => {
    const tooShort = proto((w) => {
      w.packedVarints(1, [2, 3]);
      w.varintField(2, 1);
      w.bytesField(9, new Uint8Array(20));
    });
    expectDecodeError(() => decodeTensor(tooShort), 'raw_data has 20 bytes but 6 elements of float32 need 24');
    const wrongField = proto((w) => {
      w.packedVarints(1, [2]);
      w.varintField(2, 1);
      w.packedVarints(7, [1, 2]);
    });
    expectDecodeError(() => decodeTensor(wrongField), 'float_data has 0 elements', 'int64_data');
    const missingStrings = proto((w) => {
      w.packedVarints(1, [2]);
      w.varintField(2, 8);
      w.stringField(6, 'one');
    });
    expectDecodeError(() => decodeTensor(missingStrings), 'string_data has 1 elements but dims [2] need 2');
  });

  it('refuses tensors over the limit, overflowing or negative dims before allocating', () => {
    const withDims = (dims: number[], code = 1): Uint8Array =>
      proto((w) => {
        w.packedVarints(1, dims);
        w.varintField(2, code);
      });
    expect(() => decodeTensor(withDims([1 << 20, 1 << 20]))).toThrow(LimitError);
    expect(() => decodeTensor(withDims([2 ** 40, 2 ** 40, 2 ** 40]))).toThrow(/overflow/);
    expect(() => decodeTensor(withDims([4, -1]))).toThrow(LimitError);
    expect(() => decodeTensor(withDims([1024, 1024]), { maxTensorBytes: 1 << 20 })).toThrow(/over the 1048576-byte limit/);
    // within the limit, the missing data is the problem
    expectDecodeError(() => decodeTensor(withDims([16, 16]), { maxTensorBytes: 1 << 20 }), 'float_data has 0 elements');
  });

  it('rejects segments, unknown data types and a missing data type', () => {
    const seg = proto((w) => {
      w.varintField(2, 1);
      w.messageField(3, (s) => s.varintField(1, 0));
    });
    expectDecodeError(() => decodeTensor(seg), 'segment');
    expect(() => decodeTensor(proto((w) => w.varintField(2, 99)))).toThrow(UnsupportedError);
    expectDecodeError(() => decodeTensor(proto((w) => w.packedVarints(1, [1]))), 'no data_type');
  });

  it('densifies sparse tensors (linear and coordinate indices)', () => {
    const sparse = (indexShape: number[], indices: bigint[]): Uint8Array =>
      proto((w) => {
        w.messageField(1, (v) => {
          v.packedVarints(1, [2]);
          v.varintField(2, 1);
          v.stringField(8, 'sp');
          v.bytesField(9, new Uint8Array(Float32Array.from([5, 7]).buffer));
        });
        w.messageField(2, (ix) => {
          ix.packedVarints(1, indexShape);
          ix.varintField(2, 7);
          ix.bytesField(9, new Uint8Array(BigInt64Array.from(indices).buffer));
        });
        w.packedVarints(3, [2, 3]);
      });
    const model = (sp: Uint8Array): Model =>
      decodeModel(
        proto((w) => {
          w.varintField(1, 8);
          w.messageField(7, (g) => g.bytesField(15, sp));
        }),
      );
    const linear = model(sparse([2], [1n, 5n])).graph.initializers.get('sp')!;
    expect(linear.shape).toEqual([2, 3]);
    expect(Array.from(linear.data as Float32Array)).toEqual([0, 5, 0, 0, 0, 7]);
    const coords = model(sparse([2, 2], [0n, 2n, 1n, 0n])).graph.initializers.get('sp')!;
    expect(Array.from(coords.data as Float32Array)).toEqual([0, 0, 5, 7, 0, 0]);
    expectDecodeError(() => model(sparse([2], [1n, 6n])), 'sparse index 6 out of range');
  });
});

describe('external data', () => {
  const externalTensor = (location: string, extra: [string, string][] = []): Uint8Array =>
    proto((w) => {
      w.packedVarints(1, [2]);
      w.varintField(2, 1);
      w.stringField(8, 'weights');
      for (const [k, v] of [['location', location], ...extra] as [string, string][]) {
        w.messageField(13, (e) => {
          e.stringField(1, k);
          e.stringField(2, v);
        });
      }
      w.varintField(14, 1);
    });

  it('reads data through the callback with location, offset and length', () => {
    const calls: unknown[] = [];
    const t = decodeTensor(
      externalTensor('data/w.bin', [
        ['offset', '16'],
        ['length', '8'],
      ]),
      {
        externalData: (location, offset, length) => {
          calls.push([location, offset, length]);
          return new Uint8Array(Float32Array.from([1.5, -3]).buffer);
        },
      },
    );
    expect(calls).toEqual([['data/w.bin', 16, 8]]);
    expect(Array.from(t.data as Float32Array)).toEqual([1.5, -3]);
  });

  it('passes undefined length when absent and checks the returned size', () => {
    let seen: number | undefined = -1;
    const read = (_l: string, _o: number, length: number | undefined): Uint8Array => {
      seen = length;
      return new Uint8Array(4);
    };
    expectDecodeError(() => decodeTensor(externalTensor('w.bin'), { externalData: read }), 'raw_data has 4 bytes');
    expect(seen).toBeUndefined();
  });

  it('names the tensor and location when no callback is given', () => {
    expect(() => decodeTensor(externalTensor('w.bin'))).toThrow(TinferError);
    expect(() => decodeTensor(externalTensor('w.bin'))).toThrow(/weights.*'w\.bin'.*externalData/);
  });

  it.each(['../secret.bin', '/etc/passwd', 'a/../../b', 'C:\\x.bin', '..\\x.bin', '\\\\server\\share'])(
    "refuses location '%s' escaping the model directory",
    (loc) => {
      const read = (): Uint8Array => new Uint8Array(8);
      expect(() => decodeTensor(externalTensor(loc), { externalData: read })).toThrow(/relative path inside/);
    },
  );
});

function subgraphOf(depth: number): Graph {
  let g: Graph = { name: 'leaf', nodes: [], inputs: [], outputs: [], initializers: new Map(), valueInfo: [] };
  for (let i = 0; i < depth; i++) {
    g = {
      ...g,
      name: `g${i}`,
      nodes: [{ name: `if${i}`, opType: 'If', domain: '', inputs: ['c'], outputs: ['y'], attributes: new Map([['then_branch', { type: 'graph', value: g }]]) }],
    };
  }
  return g;
}

describe('models', () => {
  it('keeps symbolic, fixed and unknown dims, names, opsets and metadata', () => {
    const b = new ModelBuilder({ opset: { '': 13, 'com.microsoft': 1 } });
    const x = b.input('x', 'float32', ['batch', 3, null]);
    const [y] = b.node('Relu', [x], {}, { name: 'relu1' });
    b.output(y!, { dtype: 'float32', shape: ['batch', 3, null] });
    b.metadata.set('author', 'me');
    const m = decodeModel(b.toBytes());
    expect(m.graph.inputs).toEqual([{ name: 'x', type: { kind: 'tensor', dtype: 'float32', shape: ['batch', 3, null] } }]);
    expect(m.graph.outputs[0]!.type).toEqual({ kind: 'tensor', dtype: 'float32', shape: ['batch', 3, null] });
    expect(m.graph.nodes[0]).toMatchObject({ name: 'relu1', opType: 'Relu', inputs: ['x'], outputs: [y] });
    expect([...m.opsets]).toEqual([
      ['', 13],
      ['com.microsoft', 1],
    ]);
    expect(m.metadata.get('author')).toBe('me');
    expect(m.producerName).toBe('tinfer-test');
  });

  it("normalises the 'ai.onnx' domain to ''", () => {
    const model = new ModelBuilder().toModel();
    model.opsets = new Map([['ai.onnx', 11]]);
    model.graph.nodes.push({ name: 'n', opType: 'Abs', domain: 'ai.onnx', inputs: ['a'], outputs: ['b'], attributes: new Map() });
    const m = decodeModel(encodeModel(model));
    expect([...m.opsets]).toEqual([['', 11]]);
    expect(m.graph.nodes[0]!.domain).toBe('');
  });

  it('decodes sequence, optional, map, sparse and rank-unknown types', () => {
    const b = new ModelBuilder();
    b.inputOfType('s', { kind: 'sequence', elem: { kind: 'tensor', dtype: 'int64', shape: [2] } });
    b.inputOfType('o', { kind: 'optional', elem: { kind: 'sequence', elem: { kind: 'tensor', dtype: 'float32', shape: null } } });
    b.inputOfType('m', { kind: 'map' });
    b.inputOfType('sp', { kind: 'sparse_tensor', dtype: 'float32', shape: [4, 4] });
    b.input('u', 'uint8', null);
    const m = decodeModel(b.toBytes());
    expect(m.graph.inputs.map((i) => i.type)).toEqual([
      { kind: 'sequence', elem: { kind: 'tensor', dtype: 'int64', shape: [2] } },
      { kind: 'optional', elem: { kind: 'sequence', elem: { kind: 'tensor', dtype: 'float32', shape: null } } },
      { kind: 'map' },
      { kind: 'sparse_tensor', dtype: 'float32', shape: [4, 4] },
      { kind: 'tensor', dtype: 'uint8', shape: null },
    ]);
  });

  it('round-trips every attribute type', () => {
    const t: TensorData = { dtype: 'int64', shape: [2], data: BigInt64Array.from([3n, -4n]) };
    const sub = new ModelBuilder().subgraph('then');
    const sx = sub.input('sx', 'float32', [1]);
    sub.output(sub.node('Neg', [sx])[0]!, { dtype: 'float32', shape: [1] });
    const attrs: Record<string, Attribute> = {
      f: { type: 'float', value: 0.5 },
      i: { type: 'int', value: -(2 ** 40) },
      s: { type: 'string', value: 'NOTSET ✓' },
      t: { type: 'tensor', value: t },
      g: { type: 'graph', value: sub.toGraph() },
      floats: { type: 'floats', value: [1, -0.25] },
      ints: { type: 'ints', value: [1, -1, 2 ** 50] },
      strings: { type: 'strings', value: ['a', 'b'] },
      tensors: { type: 'tensors', value: [t, { dtype: 'string', shape: [1], data: ['z'] }] },
      graphs: { type: 'graphs', value: [sub.toGraph(), sub.toGraph()] },
      sparse: { type: 'sparse_tensor', value: { dtype: 'float32', shape: [2, 2], data: Float32Array.from([0, 1, 0, 2]) } },
      sparses: { type: 'sparse_tensors', value: [{ dtype: 'int32', shape: [3], data: Int32Array.from([0, 0, 9]) }] },
      tp: { type: 'type_proto', value: { kind: 'tensor', dtype: 'bool', shape: [1, 'n'] } },
      tps: { type: 'type_protos', value: [{ kind: 'sequence', elem: null }, { kind: 'tensor', dtype: 'float16', shape: [] }] },
      emptyInts: { type: 'ints', value: [] },
    };
    const b = new ModelBuilder();
    b.node('Custom', ['x'], Object.fromEntries(Object.entries(attrs).map(([k, a]) => [k, { attribute: a }])));
    const node = decodeModel(b.toBytes()).graph.nodes[0]!;
    expect([...node.attributes.keys()]).toEqual(Object.keys(attrs));
    for (const [name, a] of Object.entries(attrs)) {
      const got = node.attributes.get(name)!;
      expect(got.type, name).toBe(a.type);
      expect(normalise(got.value), name).toEqual(normalise(a.value));
    }
  });

  it('infers builder attribute types from JS values (F/Fs force floats)', () => {
    const b = new ModelBuilder();
    const body = b.subgraph();
    body.output(body.node('Identity', [body.input('a', 'float32', [])])[0]!);
    b.node('X', [], { a: 1, b: 1.5, c: new F(2), d: [1, 2], e: [0.5], f: new Fs([3]), g: 's', h: ['p', 'q'], i: body });
    const types = [...decodeModel(b.toBytes()).graph.nodes[0]!.attributes.values()].map((a) => a.type);
    expect(types).toEqual(['int', 'float', 'float', 'ints', 'floats', 'floats', 'string', 'strings', 'graph']);
  });

  it('infers a missing attribute type from the value field (pre-IR-3 files)', () => {
    const m = decodeModel(
      proto((w) => {
        w.messageField(7, (g) =>
          g.messageField(1, (n) => {
            n.stringField(4, 'LeakyRelu');
            n.messageField(5, (a) => {
              a.stringField(1, 'alpha');
              a.floatField(2, 0.25);
            });
            n.messageField(5, (a) => {
              a.stringField(1, 'perm');
              a.packedVarints(8, [1, 0]);
            });
          }),
        );
      }),
    );
    expect(m.graph.nodes[0]!.attributes.get('alpha')).toEqual({ type: 'float', value: 0.25 });
    expect(m.graph.nodes[0]!.attributes.get('perm')).toEqual({ type: 'ints', value: [1, 0] });
  });

  it('round-trips model-local functions with attribute references', () => {
    const fn: FunctionDef = {
      name: 'MyAct',
      domain: 'custom',
      overload: '',
      inputs: ['X'],
      outputs: ['Y'],
      attributeNames: ['alpha'],
      attributeDefaults: new Map([['beta', { type: 'float', value: 2 }]]),
      nodes: [
        {
          name: 'n0',
          opType: 'LeakyRelu',
          domain: '',
          inputs: ['X'],
          outputs: ['Y'],
          attributes: new Map(),
          attributeRefs: new Map([['alpha', 'alpha']]),
        },
      ],
      opsets: new Map([['', 18]]),
      valueInfo: [],
      docString: 'doc',
    };
    const model = new ModelBuilder().toModel();
    model.functions.push(fn);
    const back = decodeModel(encodeModel(model)).functions as FunctionDef[];
    expect(back).toEqual([fn]);
  });

  it('round-trips a whole model: initializers of every dtype, nodes, value_info', () => {
    const b = new ModelBuilder({ opset: 17 });
    exampleTensors().forEach((t, i) => b.initializer(`w${i}`, t));
    b.info('mid', { dtype: 'float32', shape: [1] });
    b.output(b.node('Identity', ['w0'])[0]!);
    const model = b.toModel();
    const back = decodeModel(encodeModel(model));
    expect(back.graph.valueInfo).toEqual(model.graph.valueInfo);
    expect(back.graph.nodes).toEqual(model.graph.nodes);
    for (const [name, t] of model.graph.initializers) expectSameTensor(back.graph.initializers.get(name)!, t);
  });

  it('names the field path and offset of a malformed attribute', () => {
    const b = new ModelBuilder();
    b.node('Relu', ['a']);
    b.node('Relu', ['b']);
    const good = b.toBytes();
    // Re-encode node[1] with an attribute whose FLOAT value is length-delimited.
    const bad = proto((w) => {
      w.messageField(7, (g) => {
        g.messageField(1, (n) => n.stringField(4, 'Relu'));
        g.messageField(1, (n) => {
          n.stringField(4, 'Relu');
          n.messageField(5, (a) => {
            a.stringField(1, 'alpha');
            a.stringField(2, 'oops');
          });
        });
      });
    });
    expect(() => decodeModel(good)).not.toThrow();
    expectDecodeError(() => decodeModel(bad), "ModelProto.graph.node[1].attribute[0]('alpha').f", 'expected fixed32');
  });

  it('refuses subgraphs nested deeper than the limit', () => {
    const model = new ModelBuilder().toModel();
    model.graph = subgraphOf(60);
    expect(() => decodeModel(encodeModel(model))).not.toThrow();
    model.graph = subgraphOf(70);
    expectDecodeError(() => decodeModel(encodeModel(model)), 'nested deeper');
  });

  it('refuses deeply nested type protos without overflowing the stack', () => {
    let t: import('../src/loader/model.js').ValueType = { kind: 'tensor', dtype: 'float32', shape: [] };
    for (let i = 0; i < 400; i++) t = { kind: 'sequence', elem: t };
    const b = new ModelBuilder();
    b.inputOfType('s', t);
    expectDecodeError(() => decodeModel(b.toBytes()), 'nested deeper');
  });

  it('rejects a file without a graph, and garbage', () => {
    expectDecodeError(() => decodeModel(proto((w) => w.varintField(1, 8))), 'no graph');
    expect(() => decodeModel(new TextEncoder().encode('<html>not a model</html>'))).toThrow(TinferError);
  });
});

describe('sequence and optional values (test data)', () => {
  const tensorMsg = (v: number[]): Uint8Array => encodeTensor({ dtype: 'float32', shape: [v.length], data: Float32Array.from(v) });

  it('decodes a SequenceProto of tensors, nested sequences and optionals', () => {
    const b = proto((w) => {
      w.stringField(1, 'seq');
      w.varintField(2, 1);
      w.bytesField(3, tensorMsg([1, 2]));
      w.bytesField(3, tensorMsg([3]));
      w.messageField(5, (s) => s.bytesField(3, tensorMsg([4])));
      w.messageField(7, () => {});
    });
    const { name, elems } = decodeSequence(b);
    expect(name).toBe('seq');
    expect(normalise(elems)).toEqual([
      { kind: 'tensor', value: { dtype: 'float32', shape: [2], data: [1, 2] } },
      { kind: 'tensor', value: { dtype: 'float32', shape: [1], data: [3] } },
      { kind: 'sequence', elems: [{ kind: 'tensor', value: { dtype: 'float32', shape: [1], data: [4] } }] },
      { kind: 'optional', value: null },
    ]);
  });

  it('decodes empty and full OptionalProtos', () => {
    expect(decodeOptional(proto((w) => w.stringField(1, 'o'))).value).toBeNull();
    const full = decodeOptional(proto((w) => w.bytesField(3, tensorMsg([5]))));
    expect(normalise(full.value)).toEqual({ kind: 'tensor', value: { dtype: 'float32', shape: [1], data: [5] } });
  });

  it('reinterprets uint16 test data as bfloat16 when bfloat16 is declared', () => {
    const t = tensorAsDeclared({ dtype: 'uint16', shape: [2], data: Uint16Array.from([0x3f80, 0xc000]) }, 'bfloat16');
    expect(t.dtype).toBe('bfloat16');
    expect(Array.from(t.data as Float32Array)).toEqual([1, -2]);
    const same = { dtype: 'uint16' as const, shape: [1], data: Uint16Array.from([1]) };
    expect(tensorAsDeclared(same, 'uint16')).toBe(same);
  });
});

/** Typed arrays → plain arrays, Maps → entries, for deep comparison. */
function normalise(v: unknown): unknown {
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<unknown>);
  if (v instanceof Map) return [...v].map(([k, x]) => [k, normalise(x)]);
  if (Array.isArray(v)) return v.map(normalise);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalise(x)]));
  return v;
}

/** Rows of the INVENTORY.md table: name → { nodes, inputs, outputs }. */
function readInventory(): Map<string, { nodes: number; inputs: string; outputs: string }> {
  const rows = new Map<string, { nodes: number; inputs: string; outputs: string }>();
  const text = readFileSync(join(MODEL_ZOO, 'INVENTORY.md'), 'utf8');
  for (const line of text.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length < 8 || !/^\d+$/.test(cells[4] ?? '')) continue;
    rows.set(cells[1]!, { nodes: Number(cells[4]), inputs: cells[5]!, outputs: cells[6]! });
  }
  return rows;
}

const ONNX_TYPE_NAMES: Partial<Record<DType, string>> = { float32: 'float', int64: 'int64', uint8: 'uint8', int8: 'int8' };

const haveZoo = existsSync(MODEL_ZOO);
describe.skipIf(!sharedAvailable(MODEL_ZOO, 'loader: model zoo'))('model zoo (../shared/models)', () => {
  const models = haveZoo ? readdirSync(MODEL_ZOO).filter((d) => existsSync(join(MODEL_ZOO, d, 'model.onnx'))) : [];
  const inventory = haveZoo ? readInventory() : new Map();

  it('has an inventory row for every model', () => {
    expect(models.length).toBeGreaterThan(5);
    for (const name of models) expect(inventory.has(name), name).toBe(true);
  });

  it.each(models)('%s: node count, inputs, outputs and test data match the inventory', (name) => {
    const m = decodeModel(new Uint8Array(readFileSync(join(MODEL_ZOO, name, 'model.onnx'))));
    const row = inventory.get(name)!;
    expect(m.graph.nodes.length).toBe(row.nodes);
    expect(m.opsets.get('')).toBe(13);
    const initNames = new Set(m.graph.initializers.keys());
    const realInputs = m.graph.inputs.filter((i) => !initNames.has(i.name));
    for (const input of realInputs) {
      if (input.type.kind !== 'tensor') throw new Error('tensor input expected');
      const shape = input.type.shape!.join(',');
      expect(row.inputs).toContain(`${input.name} ${ONNX_TYPE_NAMES[input.type.dtype]}[${shape}]`);
    }
    for (const output of m.graph.outputs) expect(row.outputs).toContain(output.name);
    const dataDir = join(MODEL_ZOO, name, 'test_data_set_0');
    m.graph.outputs.forEach((out, i) => {
      const t = decodeTensor(new Uint8Array(readFileSync(join(dataDir, `output_${i}.pb`))));
      expect(t.name).toBe(out.name);
      if (out.type.kind === 'tensor') expect(t.dtype).toBe(out.type.dtype);
    });
    realInputs.forEach((inp, i) => {
      const t = decodeTensor(new Uint8Array(readFileSync(join(dataDir, `input_${i}.pb`))));
      expect(t.name).toBe(inp.name);
      if (inp.type.kind === 'tensor') {
        expect(t.dtype).toBe(inp.type.dtype);
        inp.type.shape!.forEach((d, k) => typeof d === 'number' && expect(t.shape[k]).toBe(d));
      }
    });
  });

  // Best of 6 runs, in CPU time (user + system) so that other suites loading the machine do not make it
  // flaky; a single decode takes ~25 ms on an idle machine.
  it('decodes from a Node Buffer (whose slice() shares memory) the same as from a Uint8Array', () => {
    const buf = readFileSync(join(MODEL_ZOO, 'mnist_cnn', 'model.onnx'));
    const a = decodeModel(buf);
    const b = decodeModel(new Uint8Array(buf));
    expect(normalise(a.graph.initializers)).toEqual(normalise(b.graph.initializers));
    const inner = Buffer.concat([Buffer.from([1, 2, 3]), buf]).subarray(3); // non-zero byteOffset
    expect(normalise(decodeModel(inner).graph.initializers)).toEqual(normalise(b.graph.initializers));
  });

  it('decodes resnet18 (45 MB) in well under 100 ms', () => {
    const file = new Uint8Array(readFileSync(join(MODEL_ZOO, 'resnet18', 'model.onnx')));
    let best = Infinity;
    let m: Model | undefined;
    for (let i = 0; i < 6; i++) {
      const c0 = process.cpuUsage();
      m = decodeModel(file);
      const c = process.cpuUsage(c0);
      best = Math.min(best, (c.user + c.system) / 1000);
    }
    console.log(`resnet18 decode: ${best.toFixed(1)} ms`);
    expect(best).toBeLessThan(100);
    let weights = 0;
    for (const t of m!.graph.initializers.values()) weights += t.data.length;
    expect(weights).toBeGreaterThan(11_000_000); // ~11.7M parameters
  });
});

const haveNodeSuite = existsSync(NODE_SUITE);
describe.skipIf(!sharedAvailable(NODE_SUITE, 'loader: ONNX node tests'))('ONNX backend node tests (../shared/onnx-backend/node)', () => {
  const dirs = haveNodeSuite ? readdirSync(NODE_SUITE).sort() : [];
  const sample = dirs.filter((_, i) => i % 7 === 0);

  it('decodes every model in the suite', () => {
    for (const d of dirs) {
      const m = decodeModel(new Uint8Array(readFileSync(join(NODE_SUITE, d, 'model.onnx'))));
      expect(m.graph.outputs.length, d).toBeGreaterThan(0);
    }
  });

  it('decodes the sequence/optional test data by the declared types', () => {
    let checked = 0;
    for (const d of dirs) {
      const m = decodeModel(new Uint8Array(readFileSync(join(NODE_SUITE, d, 'model.onnx'))));
      const initNames = new Set(m.graph.initializers.keys());
      const groups = [
        ['input', m.graph.inputs.filter((i) => !initNames.has(i.name))],
        ['output', m.graph.outputs],
      ] as const;
      for (const [prefix, infos] of groups) {
        infos.forEach((info, i) => {
          if (info.type.kind !== 'sequence' && info.type.kind !== 'optional') return;
          for (const ds of readdirSync(join(NODE_SUITE, d)).filter((x) => x.startsWith('test_data_set'))) {
            const file = join(NODE_SUITE, d, ds, `${prefix}_${i}.pb`);
            if (!existsSync(file)) continue;
            const { value } = decodeValue(new Uint8Array(readFileSync(file)), info.type);
            expect(value.kind, `${d}/${ds}/${prefix}_${i}`).toBe(info.type.kind);
            checked++;
          }
        });
      }
    }
    expect(checked).toBeGreaterThan(20);
  });

  it.each(sample)('%s: test data decode to the declared input/output types', (d) => {
    const m = decodeModel(new Uint8Array(readFileSync(join(NODE_SUITE, d, 'model.onnx'))));
    expect(m.graph.nodes.length).toBeGreaterThan(0);
    const dataDir = join(NODE_SUITE, d, 'test_data_set_0');
    if (!existsSync(dataDir)) return;
    const check = (infos: typeof m.graph.outputs, prefix: string): void => {
      infos.forEach((info, i) => {
        const file = join(dataDir, `${prefix}_${i}.pb`);
        if (info.type.kind !== 'tensor' || !existsSync(file)) return; // sequences/optionals use other protos
        const t = decodeTensor(new Uint8Array(readFileSync(file)));
        // The ONNX suite stores bfloat16 test data as uint16 bit patterns (a known quirk of its generator).
        const quirk = info.type.dtype === 'bfloat16' && t.dtype === 'uint16';
        expect(t.dtype, `${d} ${prefix}_${i}`).toBe(quirk ? 'uint16' : info.type.dtype);
        if (info.type.shape && !quirk) expect(t.shape.length, `${d} ${prefix}_${i} rank`).toBe(info.type.shape.length);
      });
    };
    const initNames = new Set(m.graph.initializers.keys());
    check(m.graph.inputs.filter((i) => !initNames.has(i.name)), 'input');
    check(m.graph.outputs, 'output');
  });
});
