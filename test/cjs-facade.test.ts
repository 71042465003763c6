/**
 * The CommonJS facade (src/cjs/facade.cjs, built into dist/cjs) that `require('tinfer')` gives where Node cannot
 * require() ES modules (Node 18): the generated entry points are required here with require(esm) refused as Node 18
 * refuses it (ERR_REQUIRE_ESM), and the facade is compared with the ES build it loads: Tensor field by field for
 * each constructor form and each refused argument, instanceof across the two, env set before the load, the
 * synchronous exports before and after `ready`, and a session end to end. Node 18 itself runs the installed
 * package in test/dropin-package.test.ts. Needs `npm run build`; skips with a message without dist/cjs/facade.cjs.
 */
import { existsSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { join } from 'node:path';
import { inspect, types } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './shared.js';
import { reluAddModelBytes } from './dropin-models.js';

const CJS = join(REPO_ROOT, 'dist/cjs');
const hasFacade = existsSync(join(CJS, 'facade.cjs')) && existsSync(join(CJS, 'index.cjs'));
if (!hasFacade) console.warn('[skip] cjs-facade: dist/cjs/facade.cjs not found; run npm run build first');

const nodeRequire = createRequire(import.meta.url);

// Loose types: the facade is plain JavaScript, and the point is to compare it with the ES build at run time.
type Ctor = new (...args: unknown[]) => any;
type Exports = Record<string, any> & { ready: Promise<Record<string, any>> };

/**
 * A fresh require() of dist/cjs/<entry>.cjs (and of the facade module, whose state starts anew) in which require()
 * of an ES module fails with ERR_REQUIRE_ESM, as on Node 18 and Node 20 before 20.19.
 */
function requireWithoutEsm(entry: string): Exports {
  for (const file of [join(CJS, `${entry}.cjs`), join(CJS, 'facade.cjs')]) delete nodeRequire.cache[file];
  const proto = Module.prototype as unknown as { require: (id: string) => unknown };
  const original = proto.require;
  proto.require = function (this: unknown, id: string) {
    if (id.endsWith('.js')) throw Object.assign(new Error(`require() of ES Module ${id} not supported.`), { code: 'ERR_REQUIRE_ESM' });
    return original.call(this, id);
  };
  try {
    return nodeRequire(join(CJS, `${entry}.cjs`)) as Exports;
  } finally {
    proto.require = original;
  }
}

const modelBytes = reluAddModelBytes;

/** What a Tensor shows: its fields, how it prints, its data and location. */
function describeTensor(t: any): unknown {
  return { keys: Object.keys(t), type: t.type, dims: t.dims, size: t.size, data: t.data, location: t.location, printed: inspect(t) };
}

/** What a constructor throws, to compare the two builds' errors. */
function thrown(make: () => unknown): unknown {
  try {
    make();
  } catch (e) {
    const err = e as Error & Record<string, unknown>;
    return { name: err.name, message: err.message, input: err['input'], expected: err['expected'], actual: err['actual'] };
  }
  throw new Error('did not throw');
}

const int32 = new Int32Array([1, -2, 3]);
const TENSOR_ARGS: [string, unknown[]][] = [
  ['(type, typed array, dims)', ['float32', new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]]],
  ['(type, number[], dims)', ['float32', [1, 2, 3, 4], [2, 2]]],
  ['(type, number[]) without dims', ['int32', [1, 2, 3]]],
  ['(typed array, dims)', [new Uint8Array([1, 2, 3, 4]), [4, 1]]],
  ['(typed array)', [new BigInt64Array([1n, 2n])]],
  ['(number[])', [[0.5, 1.5]]],
  ['(boolean[])', [[true, false, true]]],
  ['(string[], dims)', [['a', 'b'], [1, 2]]],
  ['int64 from number[]', ['int64', [1, 2, 3], [3]]],
  ['int64 from Int32Array', ['int64', int32, [3]]],
  ['uint64 from Uint32Array', ['uint64', new Uint32Array([1, 2]), [2]]],
  ['float16 bits', ['float16', new Uint16Array([0x3c00, 0x4000]), [2]]],
  ['bfloat16 from number[]', ['bfloat16', [16256, 16384], [2]]],
  ['bool from number[]', ['bool', [1, 0], [2]]],
  ['dims as a typed array', ['float64', [1, 2, 3, 4], new Int32Array([2, 2])]],
  ['empty', ['float32', [], [0, 3]]],
];

const TENSOR_ERRORS: [string, unknown[]][] = [
  ['an unknown type', ['complex64', [1], [1]]],
  ['data of another typed array', ['float32', new Float64Array([1]), [1]]],
  ['data that is not an array', ['float32', 'abc', [1]]],
  ['null data', ['int8', null, [1]]],
  ['elements that do not fill dims', ['float32', [1, 2, 3], [2, 2]]],
  ['negative dims', ['float32', [], [-1]]],
  ['fractional dims', ['float32', [1, 2], [1.5]]],
  ['dims that are not an array', ['float32', [1], 1]],
  ['a fractional int64', ['int64', [1.5], [1]]],
  ['a string tensor of numbers', ['string', [1, 2], [2]]],
  ['data of mixed kinds', [[1, 'a']]],
  ['an object', [{ length: 1 }]],
];

describe.skipIf(!hasFacade)('the CommonJS facade (require() without require(esm))', () => {
  it('exports every name of each ES entry point, and ready; the default export holds the facade', async () => {
    for (const entry of ['index', 'node', 'quantize']) {
      const facade = requireWithoutEsm(entry);
      const real = await facade.ready;
      expect(types.isModuleNamespaceObject(real), entry).toBe(true);
      expect(Object.keys(facade).sort(), entry).toEqual([...Object.keys(real), 'ready'].sort());
      expect(facade['__esModule']).toBe(true);
    }
    const ort = requireWithoutEsm('index');
    expect(ort['VERSION']).toBe((await ort.ready)['VERSION']);
    expect(Object.keys(ort['default'])).toEqual(Object.keys((await ort.ready)['default']));
    for (const [name, value] of Object.entries(ort['default'] as object)) expect(value, name).toBe(ort[name]);
  });

  it('gives the ES build itself where require(esm) works', () => {
    const requireModule = (process.features as { require_module?: boolean }).require_module;
    if (!requireModule) return console.warn(`[skip] this Node (${process.version}) has no require(esm)`);
    delete nodeRequire.cache[join(CJS, 'index.cjs')];
    const ort = nodeRequire(join(CJS, 'index.cjs')) as Record<string, unknown>;
    expect(types.isModuleNamespaceObject(ort)).toBe(true);
  });

  it("builds Tensors as tinfer's Tensor does, for each constructor form", async () => {
    const ort = requireWithoutEsm('index');
    const Facade = ort['Tensor'] as Ctor;
    const Real = (await ort.ready)['Tensor'] as Ctor;
    for (const [form, args] of TENSOR_ARGS) {
      const f = new Facade(...args);
      const r = new Real(...args);
      expect(describeTensor(f), form).toEqual(describeTensor(r));
      expect(f.data === args[1] || f.data === args[0], form).toBe(r.data === args[1] || r.data === args[0]);
      expect(describeTensor(f.reshape([...f.dims, 1])), form).toEqual(describeTensor(r.reshape([...r.dims, 1])));
      expect(await f.getData(), form).toEqual(await r.getData());
    }
    expect(Object.getOwnPropertyNames(Facade.prototype).sort()).toEqual(Object.getOwnPropertyNames(Real.prototype).sort());
    expect(Object.getOwnPropertyNames(Facade).sort()).toEqual(Object.getOwnPropertyNames(Real).sort());
  });

  it('disposes like the real Tensor: getData(true) releases, then data throws', async () => {
    const ort = requireWithoutEsm('index');
    const Real = (await ort.ready)['Tensor'] as Ctor;
    const tensors = [new (ort['Tensor'] as Ctor)('float32', [1, 2], [2]), new Real('float32', [1, 2], [2])];
    const released = await Promise.all(tensors.map((t) => t.getData(true)));
    expect(released[0]).toEqual(released[1]);
    expect(tensors.map((t) => t.location)).toEqual(['none', 'none']);
    expect(thrown(() => tensors[0].data)).toEqual(thrown(() => tensors[1].data));
    const other = [new (ort['Tensor'] as Ctor)([1]), new Real([1])];
    for (const t of other) t.dispose();
    expect(inspect(other[0])).toBe(inspect(other[1]));
    expect(other.map((t) => t.location)).toEqual(['none', 'none']);
  });

  it('refuses the same arguments with the same InputError', async () => {
    const ort = requireWithoutEsm('index');
    const Facade = ort['Tensor'] as Ctor;
    const Real = (await ort.ready)['Tensor'] as Ctor;
    for (const [what, args] of TENSOR_ERRORS) {
      expect(thrown(() => new Facade(...args)), what).toEqual(thrown(() => new Real(...args)));
      let error: unknown;
      try {
        new Facade(...args);
      } catch (e) {
        error = e;
      }
      expect(error, what).toBeInstanceOf(ort['InputError'] as Ctor);
      expect(error, what).toBeInstanceOf(ort['TinferError'] as Ctor);
    }
  });

  it("recognises the ES build's tensors and errors with instanceof, and only those of the same class", async () => {
    const ort = requireWithoutEsm('index');
    const own = new (ort['Tensor'] as Ctor)([1]);
    expect(own instanceof (ort['Tensor'] as Ctor)).toBe(true);
    const real = await ort.ready;
    const Tensor = ort['Tensor'] as Ctor;
    expect(new (real['Tensor'] as Ctor)([1]) instanceof Tensor).toBe(true);
    expect({ type: 'float32', data: new Float32Array(1), dims: [1] } instanceof Tensor).toBe(false);
    expect(own instanceof (real['Tensor'] as Ctor)).toBe(false);

    const input = new (real['InputError'] as Ctor)('bad', { input: 'x' });
    for (const name of ['InputError', 'TinferError']) expect(input instanceof (ort[name] as Ctor), name).toBe(true);
    expect(input instanceof Error).toBe(true);
    expect(input instanceof (ort['LimitError'] as Ctor)).toBe(false);
    expect(new (real['KernelFailure'] as Ctor)('k') instanceof (ort['KernelFailure'] as Ctor)).toBe(true);
    expect(new (real['SessionReleasedError'] as Ctor)('run') instanceof (ort['InputError'] as Ctor)).toBe(false);
    // A program's subclass of a facade class keeps the ordinary test.
    class Mine extends (ort['InputError'] as Ctor) {}
    expect(input instanceof Mine).toBe(false);
    expect(new Mine('m') instanceof (ort['InputError'] as Ctor)).toBe(true);
    // The facade's errors are built as tinfer's are.
    for (const [name, args] of [['DecodeError', ['bad', 12, 'tag']], ['ModelFileError', ['gone', '/m.onnx']], ['OptionError', ['bad', 'backend', ['js']]], ['SessionReleasedError', ['run']]] as const) {
      const [f, r] = [ort[name] as Ctor, real[name] as Ctor].map((C) => new C(...args));
      expect({ ...f, message: f.message, name: f.name }, name).toEqual({ ...r, message: r.message, name: r.name });
    }
  });

  it('hands env settings made before the load to the real env, then reads and writes the real one', async () => {
    const ort = requireWithoutEsm('index');
    const env = ort['env'] as Record<string, any>;
    expect(env['versions'].tinfer).toBe(ort['VERSION']);
    expect(() => (env['logLevel'] = 'loud')).toThrow(ort['OptionError'] as Ctor);
    env['logLevel'] = 'error';
    env['debug'] = true;
    env['wasm'].numThreads = 1;
    const realEnv = (await ort.ready)['env'] as Record<string, any>;
    try {
      expect(realEnv['logLevel']).toBe('error');
      expect(realEnv['debug']).toBe(true);
      expect(realEnv['wasm'].numThreads).toBe(1);
      env['logLevel'] = 'fatal';
      expect(realEnv['logLevel']).toBe('fatal');
      realEnv['trace'] = true;
      expect(env['trace']).toBe(true);
      expect(() => (env['logLevel'] = 'loud')).toThrow(/env.logLevel must be one of/);
    } finally {
      Object.assign(realEnv, { logLevel: 'warning', debug: false, trace: false });
      delete realEnv['wasm'].numThreads;
    }
  });

  it('refuses synchronous exports before ready with a TinferError naming ready, and forwards them after', async () => {
    const ort = requireWithoutEsm('index');
    const { decodeModel, KernelRegistry, defaultRegistry } = ort;
    for (const use of [() => decodeModel(modelBytes()), () => new KernelRegistry(), () => defaultRegistry.get, () => (ort['InferenceSession'] as any).createSync(modelBytes())]) {
      expect(use).toThrow(ort['TinferError'] as Ctor);
      expect(use).toThrow(/await require\('tinfer'\)\.ready/);
    }
    const real = await ort.ready;
    expect(ort['decodeModel']).toBe(real['decodeModel']);
    expect(ort['defaultRegistry']).toBe(real['defaultRegistry']);
    // What was taken before the load now forwards to the real exports.
    expect(decodeModel(modelBytes()).graph.nodes.length).toBe(2);
    expect(new KernelRegistry()).toBeInstanceOf(real['KernelRegistry'] as Ctor);
    expect(typeof defaultRegistry.get).toBe('function');
    const session = (ort['InferenceSession'] as any).createSync(modelBytes());
    expect(session).toBeInstanceOf(ort['InferenceSession'] as Ctor);

    const quantize = requireWithoutEsm('quantize');
    expect(() => quantize['roundHalfEven'](2.5)).toThrow(/await require\('tinfer\/quantize'\)\.ready/);
    await quantize.ready;
    expect(quantize['roundHalfEven'](2.5)).toBe(2);
  });

  it('creates a session before the load and runs facade Tensors through it', async () => {
    const ort = requireWithoutEsm('index');
    const { InferenceSession, Tensor, InputError, SessionReleasedError } = ort as Record<string, any>;
    const session = await InferenceSession.create(modelBytes());
    const real = await ort.ready;
    expect(session).toBeInstanceOf(real['InferenceSession'] as Ctor);
    expect(session).toBeInstanceOf(InferenceSession);
    expect(session.inputNames).toEqual(['x']);
    expect(session.inputMetadata).toEqual([{ name: 'x', isTensor: true, type: 'float32', shape: ['n', 4], dims: ['n', 4] }]);
    const x = new Tensor('float32', new Float32Array([1, 1, 1, 1]), [1, 4]);
    const out = await session.run({ x });
    expect(out.y).toBeInstanceOf(Tensor);
    expect(Array.from(out.y.data)).toEqual([2, 0, 3, 0]);
    expect(Array.from(session.runSync({ x }).y.data)).toEqual([2, 0, 3, 0]);
    // A facade Tensor as a pre-allocated fetch is written in place.
    const into = new Tensor('float32', new Float32Array(4), [1, 4]);
    expect((await session.run({ x }, { y: into })).y).toBe(into);
    expect(Array.from(into.data)).toEqual([2, 0, 3, 0]);
    const error = await session.run({ z: x }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect(error).toMatchObject({ input: 'z' });
    await session.release();
    expect(await session.run({ x }).catch((e: unknown) => e)).toBeInstanceOf(SessionReleasedError);
  });

  it("loads 'tinfer/node' whose async functions work before the load", async () => {
    const node = requireWithoutEsm('node');
    expect(() => node['readModelFileSync'](join(REPO_ROOT, 'package.json'))).toThrow(/await require\('tinfer\/node'\)\.ready/);
    const read = await node['readModelFile'](join(REPO_ROOT, 'package.json'));
    expect(read.bytes.length).toBeGreaterThan(0);
    expect(node['readModelFileSync'](join(REPO_ROOT, 'package.json')).bytes).toEqual(read.bytes);
  });
});
