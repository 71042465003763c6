/**
 * Bad input of every kind gives a typed TinferError subclass with a message naming what was wrong: never a bare
 * TypeError/RangeError, a crash, a hang or an unbounded allocation. One row per case.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DecodeError,
  GraphError,
  InferenceSession,
  InputError,
  LimitError,
  ModelFileError,
  OptionError,
  SessionReleasedError,
  Tensor,
  TinferError,
  UnsupportedError,
} from '../src/index.js';
import { ModelBuilder } from './onnx-builder.js';
import { tensor } from './harness.js';

/** y = Relu(x), x float32 [n, 4]. */
function reluModel(): Uint8Array {
  const b = new ModelBuilder({ opset: 13 });
  const x = b.input('x', 'float32', ['n', 4]);
  const [y] = b.node('Relu', [x]);
  b.output(y!, { dtype: 'float32', shape: ['n', 4] });
  return b.toBytes();
}

function oneNode(build: (b: ModelBuilder) => string): Uint8Array {
  const b = new ModelBuilder({ opset: 13 });
  b.output(build(b));
  return b.toBytes();
}

const dir = mkdtempSync(join(tmpdir(), 'tinfer-errors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, bytes: Uint8Array): string => {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
};
const x24 = () => new Tensor('float32', new Float32Array(8), [2, 4]);
const relu = () => InferenceSession.create(reluModel());

interface Case {
  name: string;
  run: () => unknown;
  error: new (...args: never[]) => TinferError;
  message: RegExp;
  fields?: Record<string, unknown>;
}

const cases: Case[] = [
  { name: 'wrong feed name', run: async () => (await relu()).run({ y: x24() }), error: InputError, message: /unknown input 'y'; inputs are x/, fields: { input: 'y' } },
  { name: 'missing feed', run: async () => (await relu()).run({}), error: InputError, message: /missing input 'x'/, fields: { input: 'x' } },
  { name: 'extra feed', run: async () => (await relu()).run({ x: x24(), z: x24() }), error: InputError, message: /unknown input 'z'/, fields: { input: 'z' } },
  {
    name: 'wrong dtype',
    run: async () => (await relu()).run({ x: new Tensor('int32', new Int32Array(8), [2, 4]) }),
    error: InputError,
    message: /input 'x': expected type float32, got int32/,
    fields: { input: 'x', expected: 'float32', actual: 'int32' },
  },
  {
    name: 'wrong rank',
    run: async () => (await relu()).run({ x: new Tensor('float32', new Float32Array(8), [8]) }),
    error: InputError,
    message: /input 'x': expected rank 2 \[n,4\], got rank 1 \[8\]/,
    fields: { input: 'x', expected: 'rank 2 [n,4]', actual: 'rank 1 [8]' },
  },
  {
    name: 'wrong dims',
    run: async () => (await relu()).run({ x: new Tensor('float32', new Float32Array(10), [2, 5]) }),
    error: InputError,
    message: /dim 1 should be 4/,
    fields: { input: 'x', expected: '[n,4]', actual: '[2,5]' },
  },
  {
    name: 'Float64Array data for a float32 tensor',
    run: () => new Tensor('float32', new Float64Array(8) as unknown as Float32Array, [2, 4]),
    error: InputError,
    message: /float32 tensor's data must be a Float32Array.*got Float64Array/,
    fields: { expected: 'Float32Array', actual: 'Float64Array' },
  },
  {
    name: 'a float64 tensor for a float32 input',
    run: async () => (await relu()).run({ x: new Tensor(new Float64Array(8), [2, 4]) }),
    error: InputError,
    message: /expected type float32, got float64/,
  },
  {
    name: 'non-Tensor feed',
    run: async () => (await relu()).run({ x: { type: 'float32', values: new Float32Array(8), shape: [2, 4] } as unknown as Tensor }),
    error: InputError,
    message: /input 'x': expected a Tensor, got object \{type, values, shape\}/,
    fields: { input: 'x', expected: 'Tensor' },
  },
  { name: 'feeds not an object', run: async () => (await relu()).run(null as never), error: InputError, message: /feeds must be an object/ },
  { name: 'unknown fetch name', run: async () => (await relu()).run({ x: x24() }, ['nope']), error: InputError, message: /unknown output 'nope'/ },
  { name: 'bad RunOptions.logSeverityLevel', run: async () => (await relu()).run({ x: x24() }, { logSeverityLevel: 9 as 0 }), error: OptionError, message: /logSeverityLevel must be 0/ },
  { name: 'bad SessionOptions.backend', run: () => InferenceSession.create(reluModel(), { backend: 'foo' as 'js' }), error: OptionError, message: /backend must be one of auto, wasm, js, got 'foo'/, fields: { option: 'backend' } },
  { name: 'truncated model file', run: () => InferenceSession.create(file('trunc.onnx', reluModel().subarray(0, 40))), error: DecodeError, message: /exceeds the \d+ bytes that remain \(at byte \d+/ },
  {
    name: 'PNG renamed .onnx',
    run: () => InferenceSession.create(file('png.onnx', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 73, 72, 68, 82]))),
    error: DecodeError,
    message: /at byte \d+, reading ModelProto/,
  },
  { name: 'empty model file', run: () => InferenceSession.create(file('empty.onnx', new Uint8Array(0))), error: DecodeError, message: /model has no graph/ },
  { name: 'missing model path', run: () => InferenceSession.create(join(dir, 'nope.onnx')), error: ModelFileError, message: /cannot read model '.*nope\.onnx': no such file/ },
  { name: 'directory as model path', run: () => InferenceSession.create(dir), error: ModelFileError, message: /it is a directory/ },
  {
    name: 'unknown op',
    run: () => InferenceSession.create(oneNode((b) => b.node('Frobnicate', [b.input('x', 'float32', [2])], {}, { name: 'frob' })[0]!)),
    error: UnsupportedError,
    message: /node 'frob' \(Frobnicate\): operator is not supported/,
  },
  {
    name: 'cycle',
    run: () =>
      InferenceSession.create(
        oneNode((b) => {
          b.node('Add', [b.input('x', 'float32', [2]), 'c'], {}, { outputs: ['a'] });
          return b.node('Relu', ['a'], {}, { outputs: ['c'] })[0]!;
        }),
      ),
    error: GraphError,
    message: /is in a cycle/,
  },
  {
    name: 'huge fixed dim (2^31)',
    run: () => InferenceSession.create(oneNode((b) => b.node('Relu', [b.input('x', 'float32', [2 ** 31, 4])])[0]!)),
    error: LimitError,
    message: /input 'x': declared dims \[2147483648,4\] of float32 need 34359738368 bytes/,
  },
  {
    name: 'huge ConstantOfShape',
    run: () =>
      InferenceSession.create(
        oneNode((b) => {
          const shape = b.initializer('shape', tensor('int64', [3], [100000n, 100000n, 100000n]));
          const [c] = b.node('ConstantOfShape', [shape]);
          return b.node('Add', [b.input('x', 'float32', [1]), c!])[0]!;
        }),
      ),
    error: LimitError,
    message: /cannot allocate 1000000000000000 float32 elements: over the 2 GiB tensor limit/,
  },
  {
    name: 'negative declared dim',
    run: () => InferenceSession.create(oneNode((b) => b.node('Relu', [b.input('pixels', 'float32', [-3, 4])])[0]!)),
    error: GraphError,
    message: /input 'pixels': declared dim 0 is -3/,
  },
  {
    name: 'impossible Reshape at run time',
    run: async () => {
      const s = await InferenceSession.create(
        oneNode((b) => b.node('Reshape', [b.input('x', 'float32', ['n']), b.initializer('shape', tensor('int64', [2], [3n, 3n]))], {}, { name: 'r' })[0]!),
      );
      return s.run({ x: new Tensor('float32', new Float32Array(5), [5]) });
    },
    error: GraphError,
    message: /node 'r' \(Reshape\): cannot reshape \[5\] \(5 elements\) to \[3,3\]/,
  },
  {
    name: 'out-of-range Gather index at run time',
    run: async () => {
      const s = await InferenceSession.create(oneNode((b) => b.node('Gather', [b.input('x', 'float32', [4]), b.input('i', 'int64', [2])], {}, { name: 'g' })[0]!));
      return s.run({ x: new Tensor('float32', new Float32Array(4), [4]), i: new Tensor('int64', new BigInt64Array([0n, 99n]), [2]) });
    },
    error: InputError,
    message: /node 'g' \(Gather\): index 99 is out of range for a dimension of size 4/,
  },
  {
    name: 'run after release',
    run: async () => {
      const s = await relu();
      await s.release();
      return s.run({ x: x24() });
    },
    error: SessionReleasedError,
    message: /run\(\): the session was released/,
  },
];

describe('bad input gives a typed error', () => {
  it.each(cases)('$name', async ({ run, error, message, fields }) => {
    let thrown: unknown;
    try {
      await run();
    } catch (e) {
      thrown = e;
    }
    expect(thrown, 'no error thrown').toBeDefined();
    expect(thrown).toBeInstanceOf(TinferError);
    expect(thrown).toBeInstanceOf(error);
    expect((thrown as Error).name).toBe(error.name);
    expect((thrown as Error).message).toMatch(message);
    for (const [k, v] of Object.entries(fields ?? {})) expect((thrown as unknown as Record<string, unknown>)[k], k).toEqual(v);
  });
});

describe('values a model must accept', () => {
  it('runs NaN and ±Infinity feeds, passing them through Relu as IEEE says', async () => {
    const s = await relu();
    const out = await s.run({ x: new Tensor('float32', Float32Array.from([NaN, Infinity, -Infinity, -1, 0, 1, 2, 3]), [2, 4]) });
    const y = Array.from(out[s.outputNames[0]!]!.data as Float32Array);
    expect(y[0]).toBeNaN();
    expect(y.slice(1)).toEqual([Infinity, 0, 0, 0, 1, 2, 3]);
  });
});

describe('tensors of another onnxruntime-common build', () => {
  it('are accepted as feeds when they carry type, dims and data (transformers.js builds its feeds so)', async () => {
    const s = await InferenceSession.create(oneNode((b) => b.node('Relu', [b.input('x', 'float32', [2, 4])])[0]!));
    const foreign = { type: 'float32', dims: [2, 4], data: Float32Array.of(-1, 2, -3, 4, -5, 6, -7, 8), location: 'cpu', size: 8 };
    const out = await s.run({ x: foreign as unknown as Tensor });
    expect(Array.from(out[s.outputNames[0]!]!.data as Float32Array)).toEqual([0, 2, 0, 4, 0, 6, 0, 8]);
    await expect(s.run({ x: { ...foreign, location: 'gpu-buffer' } as unknown as Tensor })).rejects.toThrow(/tensors on 'gpu-buffer' are not supported/);
  });

  it('are written into as pre-allocated fetches', async () => {
    const s = await InferenceSession.create(oneNode((b) => b.node('Relu', [b.input('x', 'float32', [2, 4])])[0]!));
    const into = { type: 'float32', dims: [2, 4], data: new Float32Array(8), location: 'cpu', size: 8 } as unknown as Tensor;
    const out = await s.run({ x: new Tensor('float32', Float32Array.of(-1, 2, -3, 4, -5, 6, -7, 8), [2, 4]) }, { [s.outputNames[0]!]: into });
    expect(out[s.outputNames[0]!]).toBe(into);
    expect(Array.from(into.data as Float32Array)).toEqual([0, 2, 0, 4, 0, 6, 0, 8]);
  });
});

describe('dims exporters write', () => {
  it('reads a declared dim of -1 (keras2onnx, older tf2onnx) as dynamic, as onnxruntime does', async () => {
    const s = await InferenceSession.create(oneNode((b) => b.node('Relu', [b.input('x', 'float32', [-1, 4])])[0]!));
    expect(s.inputMetadata[0]!.shape).toEqual(['', 4]); // an unnamed dynamic dim, as onnxruntime-node shows one
    for (const n of [1, 3]) {
      const out = await s.run({ x: new Tensor('float32', new Float32Array(4 * n).fill(-1), [n, 4]) });
      expect(out[s.outputNames[0]!]!.dims).toEqual([n, 4]);
    }
  });
});

describe('released sessions', () => {
  it('refuse every call with SessionReleasedError naming the method, but keep names and metadata', async () => {
    const s = await relu();
    s.runSync({ x: x24() });
    await s.release();
    expect(s.released).toBe(true);
    expect(s.inputNames).toEqual(['x']);
    for (const [method, call] of [
      ['run', () => s.runSync({ x: x24() })],
      ['memory', () => s.memory()],
      ['profile', () => s.profile()],
      ['runValues', () => s.runValues(new Map())],
      ['model', () => s.model],
      ['release', () => s.releaseSync()],
    ] as const) {
      expect(call, method).toThrow(SessionReleasedError);
      expect(call, method).toThrow(`${method}(): the session was released`);
    }
    await expect(s.release()).rejects.toThrow(SessionReleasedError);
  });
});
