/** The onnxruntime-common surface: create() sources, run() arguments, metadata, Tensor, env, default export, release. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import ort, { InferenceSession, InputError, OptionError, Tensor, env, KernelFailure, TinferError } from '../src/index.js';
import { nothingQuantizedReason } from '../src/cli/quantize.js';
import { decodeModel } from '../src/loader/index.js';
import { ModelBuilder } from './onnx-builder.js';
import { tensor } from './harness.js';
import { REPO_ROOT as REPO_ROOT_FOR_GC } from './shared.js';

/** y = Relu(x + [1, -1, 2, -2]) and s = ReduceSum(y) (keepdims 0), x float32 [batch, 4]. */
function model(): Uint8Array {
  const b = new ModelBuilder({ opset: 13 });
  const x = b.input('x', 'float32', ['batch', 4]);
  const [s] = b.node('Add', [x, b.initializer('b', tensor('float32', [4], [1, -1, 2, -2]))]);
  const [y] = b.node('Relu', [s!], {}, { outputs: ['y'] });
  b.output(y!, { dtype: 'float32', shape: ['batch', 4] });
  b.output(b.node('ReduceSum', [y!], { keepdims: 0 }, { outputs: ['s'] })[0]!, { dtype: 'float32', shape: [] });
  return b.toBytes();
}

const dir = mkdtempSync(join(tmpdir(), 'tinfer-api-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const x = () => new Tensor('float32', Float32Array.from([1, 1, 1, 1]), [1, 4]);

describe('InferenceSession.create', () => {
  it('loads from a path, a file URL, a Uint8Array, an ArrayBuffer and an ArrayBuffer range', async () => {
    const bytes = model();
    const path = join(dir, 'm.onnx');
    writeFileSync(path, bytes);
    const padded = new Uint8Array(bytes.length + 10);
    padded.set(bytes, 7);
    for (const s of [
      await InferenceSession.create(path),
      await InferenceSession.create(pathToFileURL(path)),
      await InferenceSession.create(pathToFileURL(path).href),
      await InferenceSession.create(bytes),
      await InferenceSession.create(bytes.slice().buffer),
      await InferenceSession.create(padded.buffer, 7, bytes.length),
      await InferenceSession.create(padded.buffer, 7, bytes.length, { backend: 'js' }),
    ]) {
      expect(Array.from((await s.run({ x: x() })).y!.data as Float32Array)).toEqual([2, 0, 3, 0]);
    }
  });

  it('refuses a byte range outside the buffer', async () => {
    await expect(InferenceSession.create(new ArrayBuffer(8), 4, 10)).rejects.toThrow(OptionError);
  });
});

describe('run(feeds, fetches?, options?)', () => {
  it('accepts RunOptions in place of fetches', async () => {
    const s = await InferenceSession.create(model());
    const out = await s.run({ x: x() }, { logSeverityLevel: 3, tag: 't' });
    expect(Object.keys(out)).toEqual(['y', 's']);
  });

  it('returns only the fetched outputs, by name list or by record', async () => {
    const s = await InferenceSession.create(model());
    expect(Object.keys(await s.run({ x: x() }, ['s']))).toEqual(['s']);
    expect(Object.keys(await s.run({ x: x() }, ['s'], { logSeverityLevel: 2 }))).toEqual(['s']);
    expect(Object.keys(await s.run({ x: x() }, { y: null }))).toEqual(['y']);
  });

  it('writes an output into a pre-allocated fetch tensor', async () => {
    const s = await InferenceSession.create(model());
    const into = new Tensor('float32', new Float32Array(4), [1, 4]);
    const out = await s.run({ x: x() }, { y: into });
    expect(out.y).toBe(into);
    expect(Array.from(into.data as Float32Array)).toEqual([2, 0, 3, 0]);
    await expect(s.run({ x: x() }, { y: new Tensor('float32', new Float32Array(2), [2]) })).rejects.toThrow(InputError);
  });
});

describe('metadata', () => {
  it("has onnxruntime-node's {name, isTensor, type, shape} and tinfer's dims", async () => {
    const s = await InferenceSession.create(model());
    expect(s.inputMetadata).toEqual([{ name: 'x', isTensor: true, type: 'float32', shape: ['batch', 4], dims: ['batch', 4] }]);
    expect(s.outputMetadata[1]).toEqual({ name: 's', isTensor: true, type: 'float32', shape: [], dims: [] });
  });
});

describe('Tensor', () => {
  it('has location, size, getData and dispose', async () => {
    const t = new Tensor('float32', Float32Array.from([1, 2, 3]), [3]);
    expect(t.location).toBe('cpu');
    expect(t.size).toBe(3);
    expect(Array.from(await t.getData())).toEqual([1, 2, 3]);
    t.dispose();
    expect(t.location).toBe('none');
    expect(() => t.data).toThrow(InputError);
  });

  it('getData(true) hands the data over', async () => {
    const t = new Tensor(Float32Array.from([1]), [1]);
    const data = await t.getData(true);
    expect(data).toBeInstanceOf(Float32Array);
    expect(t.location).toBe('none');
  });

  it('infers float32 from number[] and bool from boolean[], as onnxruntime does', () => {
    expect(new Tensor([1, 2]).type).toBe('float32');
    expect(new Tensor([true, false]).type).toBe('bool');
  });
});

describe('env, default export and error classes', () => {
  it('keeps env settings and refuses bad log levels', () => {
    env.logLevel = 'error';
    expect(env.logLevel).toBe('error');
    expect(() => (env.logLevel = 'loud' as 'error')).toThrow(OptionError);
    env.wasm.numThreads = 1;
    env.webgpu.powerPreference = 'low-power';
    expect(env.versions.tinfer).toMatch(/^\d+\.\d+\.\d+/);
    env.logLevel = 'warning';
  });

  it('exports the same API as the default export', () => {
    expect(ort.InferenceSession).toBe(InferenceSession);
    expect(ort.Tensor).toBe(Tensor);
    expect(ort.env).toBe(env);
    expect(new KernelFailure('x')).toBeInstanceOf(TinferError);
  });

  it('refuses unknown SessionOptions values with the valid ones', async () => {
    await expect(InferenceSession.create(model(), { backend: 'gpu' as 'js' })).rejects.toMatchObject({ option: 'backend', valid: ['auto', 'wasm', 'js'] });
    await expect(InferenceSession.create(model(), { maxCachedPlans: 0 })).rejects.toThrow(OptionError);
    // onnxruntime's options are accepted.
    await InferenceSession.create(model(), { executionProviders: ['cpu'], graphOptimizationLevel: 'all', enableCpuMemArena: true, logSeverityLevel: 3 });
  });
});

describe('weights in Constant nodes', () => {
  /** y = MatMul(x, W) with W [4, 2] in a Constant node, as paddle2onnx exports. */
  function constantWeights(): Uint8Array {
    const b = new ModelBuilder({ opset: 13 });
    const [w] = b.node('Constant', [], { value: tensor('float32', [4, 2], new Float32Array(8).fill(0.5)) });
    b.output(b.node('MatMul', [b.input('x', 'float32', [1, 4]), w!])[0]!);
    return b.toBytes();
  }

  it('memory() counts them as weights', async () => {
    const s = await InferenceSession.create(constantWeights());
    expect(s.memory().weightBytes).toBe(32);
  });

  it('quantize explains they were not quantized', () => {
    expect(nothingQuantizedReason(decodeModel(constantWeights()))).toMatch(/weights of 1 of 1 Conv\/MatMul\/Gemm nodes are Constant nodes/);
  });
});

describe('release()', () => {
  const dist = join(REPO_ROOT_FOR_GC, 'dist/index.js');
  it.skipIf(!existsSync(dist))('lets the wasm memory be garbage-collected (node --expose-gc on the built package)', () => {
    const script = `
      const { InferenceSession, Tensor } = await import(${JSON.stringify(pathToFileURL(dist).href)});
      const bytes = new Uint8Array(${JSON.stringify(Array.from(model()))});
      let s = await InferenceSession.create(bytes, { backend: 'wasm' });
      await s.run({ x: new Tensor('float32', new Float32Array(4), [1, 4]) });
      const memory = new WeakRef(s.wasm.memory);
      await s.release();
      for (let i = 0; i < 10 && memory.deref(); i++) { await new Promise((r) => setTimeout(r, 10)); globalThis.gc(); }
      console.log(memory.deref() === undefined ? 'collected' : 'alive');`;
    const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('collected');
  });
});
