/**
 * session.profile(): one entry per run node with calls, time, shapes and how the kernel ran (its detail), on both
 * backends and for eager graphs; nodes the plan resolves show up with { skipped: true }; `tinfer bench --profile`
 * prints the per-op table and the slowest nodes (skips without dist/).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InferenceSession, Tensor, type StepProfile } from '../src/index.js';
import { defaultRegistry, KernelRegistry } from '../src/kernels/registry.js';
import type { KernelDef } from '../src/kernels/kernel.js';
import { WasmContext } from '../src/wasm/context.js';
import { ModelBuilder } from './onnx-builder.js';
import { randomTensor, tensor } from './harness.js';
import { REPO_ROOT } from './shared.js';

const hasWasm = WasmContext.create() !== undefined;
if (!hasWasm) console.warn('[skip] profile: WebAssembly SIMD is not available, wasm backend cases skipped');
const BACKENDS = hasWasm ? (['wasm', 'js'] as const) : (['js'] as const);
const RUNS = 3;

/** X [1, 2, 8, 8] → MaxPool 2×2 s2 → Flatten [1, 32] → Gemm (constant W [32, 10], bias) → Relu → Softmax. */
function smallModel(): Uint8Array {
  const b = new ModelBuilder({ opset: 13 });
  const x = b.input('x', 'float32', [1, 2, 8, 8]);
  const w = b.initializer('w', randomTensor([32, 10], 1, -1, 1));
  const bias = b.initializer('bias', randomTensor([10], 2, -1, 1));
  const [pooled] = b.node('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] }, { name: 'pool' });
  const [flat] = b.node('Flatten', [pooled!], { axis: 1 }, { name: 'flatten' });
  const [fc] = b.node('Gemm', [flat!, w, bias], {}, { name: 'fc' });
  const [act] = b.node('Relu', [fc!], {}, { name: 'relu' });
  const [y] = b.node('Softmax', [act!], { axis: -1 }, { name: 'softmax' });
  b.output(y!);
  return b.toBytes();
}

const feeds = { x: new Tensor('float32', randomTensor([1, 2, 8, 8], 3).data as Float32Array, [1, 2, 8, 8]) };

function byNode(profile: StepProfile[]): Map<string, StepProfile> {
  return new Map(profile.map((p) => [p.node, p]));
}

function outputOf(s: InferenceSession): Float32Array {
  return s.runSync(feeds)[s.outputNames[0]!]!.data as Float32Array;
}

describe.each(BACKENDS)('session.profile() on the %s backend', (backend) => {
  it('lists every run node once, with calls = runs, times, shapes and the path its kernel takes', () => {
    const s = InferenceSession.createSync(smallModel(), { backend, profile: true, optimize: false });
    for (let i = 0; i < RUNS; i++) s.runSync(feeds);
    const profile = s.profile();
    expect(profile.map((p) => p.node).sort()).toEqual(['fc', 'pool', 'relu', 'softmax']);
    const p = byNode(profile);
    for (const step of profile) {
      expect(step.calls, step.node).toBe(RUNS);
      expect(step.totalMs, step.node).toBeGreaterThanOrEqual(0);
      // A static plan's values live in the arena (wasm memory on the wasm backend): no call falls back to JS.
      expect(step.jsFallbackCalls, step.node).toBe(0);
    }
    expect(p.get('pool')!.opType).toBe('MaxPool');
    expect(p.get('pool')!.inputShapes).toEqual([[1, 2, 8, 8]]);
    expect(p.get('pool')!.outputShapes).toEqual([[1, 2, 4, 4]]);
    expect(p.get('fc')!.inputShapes).toEqual([[1, 32], [32, 10], [10]]);
    expect(p.get('fc')!.outputShapes).toEqual([[1, 10]]);
    expect(p.get('softmax')!.outputShapes).toEqual([[1, 10]]);
    // The kernels of this part name their path: wasm when the wasm kernel was prepared, js otherwise.
    for (const node of ['pool', 'fc', 'softmax']) expect(p.get(node)!.detail.split(' ')[0], node).toBe(backend);
    expect(p.get('pool')!.detail).toContain('2x2s2');
    expect(p.get('fc')!.detail).toContain('B packed at prepare');
  });

  it('names each convolution path: Winograd, 1x1 GEMM, im2col, depthwise, with the fused activation', () => {
    const b = new ModelBuilder({ opset: 13 });
    const x = b.input('x', 'float32', [1, 32, 28, 28]);
    const conv = (name: string, w: number[], attrs: Record<string, unknown>, input: string) =>
      b.node('Conv', [input, b.initializer(`${name}_w`, randomTensor(w, w.length + w[0]!, -0.3, 0.3))], attrs, { name })[0]!;
    const wino = conv('wino', [32, 32, 3, 3], { pads: [1, 1, 1, 1] }, x);
    const [r] = b.node('Relu', [wino], {}, { name: 'wino_relu' });
    const point = conv('point', [16, 32, 1, 1], {}, r!);
    const strided = conv('strided', [16, 16, 3, 3], { strides: [2, 2], pads: [1, 1, 1, 1] }, point);
    b.output(conv('dw', [16, 1, 3, 3], { group: 16, pads: [1, 1, 1, 1] }, strided));
    const s = InferenceSession.createSync(b.toBytes(), { backend, profile: true });
    s.runSync({ x: new Tensor('float32', randomTensor([1, 32, 28, 28], 5).data as Float32Array, [1, 32, 28, 28]) });
    const p = byNode(s.profile());
    expect(p.get('wino')!.detail).toMatch(new RegExp(`^${backend} winograd F\\(\\d,3\\).* 3x3/1 \\+ relu$`));
    expect(p.get('point')!.detail).toMatch(new RegExp(`^${backend} 1x1 gemm.*1x1/1$`));
    expect(p.get('strided')!.detail).toMatch(new RegExp(`^${backend} im2col.*3x3/2$`));
    expect(p.get('dw')!.detail).toMatch(new RegExp(`^${backend} depthwise.*3x3/1 g16$`));
  });

  it('lists the nodes the plan resolves (Flatten is an alias) only when asked, with calls 0', () => {
    const s = InferenceSession.createSync(smallModel(), { backend, profile: true, optimize: false });
    s.runSync(feeds);
    expect(s.profile().some((p) => p.node === 'flatten')).toBe(false);
    const flatten = byNode(s.profile({ skipped: true })).get('flatten');
    expect(flatten).toMatchObject({ opType: 'Flatten', calls: 0, totalMs: 0, detail: 'alias (no run)', jsFallbackCalls: 0, outputShapes: [[1, 32]] });
  });

  it('counts from zero after resetProfile, and profiling does not change the outputs', () => {
    const profiled = InferenceSession.createSync(smallModel(), { backend, profile: true });
    const plain = InferenceSession.createSync(smallModel(), { backend });
    expect(outputOf(profiled)).toEqual(outputOf(plain));
    profiled.resetProfile();
    expect(profiled.profile()).toEqual([]);
    profiled.runSync(feeds);
    expect(profiled.profile().every((p) => p.calls === 1)).toBe(true);
  });

  it('profiles a kernel that gives no detail with an empty one', () => {
    const relu = defaultRegistry.get({ opType: 'Relu', domain: '', name: '', inputs: [], outputs: [], attributes: new Map() });
    const silent: KernelDef = {
      opType: 'Relu',
      prepare(ctx) {
        const { detail: _unused, ...prepared } = relu.prepare(ctx);
        return prepared;
      },
    };
    const registry = new KernelRegistry([...defaultRegistry.list(), silent]);
    const s = InferenceSession.createSync(smallModel(), { backend, profile: true, optimize: false }, registry);
    s.runSync(feeds);
    expect(byNode(s.profile()).get('relu')).toMatchObject({ calls: 1, detail: '', outputShapes: [[1, 10]] });
  });

  it('marks node-by-node (eager) runs; on wasm their values are staged in wasm memory, so no call falls back to JS', () => {
    // A Reshape to a runtime shape makes the graph eager.
    const b = new ModelBuilder({ opset: 13 });
    const x = b.input('x', 'float32', [2, 6]);
    const shape = b.input('shape', 'int64', [2]);
    const [r] = b.node('Reshape', [x, shape], {}, { name: 'reshape' });
    const [y] = b.node('Softmax', [r!], { axis: -1 }, { name: 'softmax' });
    b.output(y!);
    const s = InferenceSession.createSync(b.toBytes(), { backend, profile: true });
    const eagerFeeds = {
      x: new Tensor('float32', randomTensor([2, 6], 5).data as Float32Array, [2, 6]),
      shape: new Tensor('int64', tensor('int64', [2], [3, 4]).data as BigInt64Array, [2]),
    };
    s.runSync(eagerFeeds);
    s.runSync(eagerFeeds);
    expect(s.planKind).toBe('eager');
    const softmax = byNode(s.profile()).get('softmax')!;
    expect(softmax.calls).toBe(2);
    expect(softmax.inputShapes).toEqual([[3, 4]]);
    expect(softmax.outputShapes).toEqual([[3, 4]]);
    expect(softmax.detail.startsWith('eager')).toBe(true);
    if (backend === 'wasm') {
      expect(softmax.detail).toContain('staged in wasm memory');
      expect(softmax.jsFallbackCalls).toBe(0);
    } else {
      expect(softmax.detail).toContain('js softmax');
      expect(softmax.jsFallbackCalls).toBe(0);
    }
  });
});

const CLI = join(REPO_ROOT, 'dist/cli/main.js');
const hasDist = existsSync(CLI);
if (!hasDist) console.warn('[skip] profile: dist/cli/main.js not found (run npm run build first)');

describe.skipIf(!hasDist)('tinfer bench --profile', () => {
  const bench = (...args: string[]) => {
    const dir = mkdtempSync(join(tmpdir(), 'tinfer-profile-'));
    try {
      const path = join(dir, 'model.onnx');
      writeFileSync(path, smallModel());
      return spawnSync(process.execPath, [CLI, 'bench', path, '--iterations', '2', '--warmup', '0', '--backend', 'js', ...args], { encoding: 'utf8' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it('prints the per-op table and the slowest nodes after the timings', () => {
    // The CLI optimises: Relu fuses into the Gemm, leaving MaxPool, Gemm and Softmax to run.
    const r = bench('--profile', '--top', '2');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('| model | load ms |');
    expect(r.stdout).toContain('| op | ms/run | % of run | nodes |');
    expect(r.stdout).toMatch(/\| Gemm \| [\d.]+ \| [\d.]+ \| 1 \|/);
    expect(r.stdout).toMatch(/\| total \| [\d.]+ \| 100\.0 \| 3 \|/);
    expect(r.stdout).toContain('slowest 2 nodes:');
    const nodeRows = r.stdout.split('slowest 2 nodes:')[1]!.split('\n').filter((l) => /^\| [\d.]+ \|/.test(l));
    expect(nodeRows).toHaveLength(2);
    expect(r.stdout).toMatch(/\| (MaxPool|Gemm|Softmax) \| (pool|fc|softmax) \| f32_(maxpool|gemm|softmax)__js \| js (max pool 2x2s2|gemm, B packed at prepare \+ relu|softmax rows) \| \[1,/);
    expect(r.stdout).toMatch(/JS share: 0\.0% of run time/);
    expect(r.stdout).toContain('not run (resolved at plan time): 1 alias (no run)');
  });

  it('keeps the default output free of the profile', () => {
    const r = bench();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('| model | load ms |');
    expect(r.stdout).not.toContain('| op | ms/run');
  });
});
