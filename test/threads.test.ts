/**
 * Intra-op threads (issue 13): `intraOpNumThreads` splits the large steps over worker threads sharing the wasm
 * memory. Results must be bit-identical at any thread count (K is never split), the pool must actually take
 * work, and sessions must not leak workers or hold the process open. The pool's worker script is
 * dist/wasm/pool-worker.js, so these tests use the BUILT package; they skip with a message without dist/.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './shared.js';
import { F, ModelBuilder } from './onnx-builder.js';
import { tensor } from './harness.js';
import { decodeModel } from '../src/loader/index.js';
import { quantizeDynamic } from '../src/quantize/dynamic.js';
import { generateFeeds, quantizeModel } from '../src/quantize/index.js';

const DIST = join(REPO_ROOT, 'dist/index.js');
const hasDist = existsSync(DIST) && existsSync(join(REPO_ROOT, 'dist/wasm/pool-worker.js'));
if (!hasDist) console.warn('[skip] threads: dist/ (with dist/wasm/pool-worker.js) not found; run npm run build first');

type Ort = typeof import('../src/index.js');
type Session = InstanceType<Ort['InferenceSession']>;

function floats(n: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 31 - 1) * scale;
  }
  return out;
}

/**
 * The step kinds the pool splits, at odd sizes (13, 27, 29 channels, 59×19 planes, batch 2): a 7×7/2 im2col
 * conv with SiLU (two column tiles: one group per tile, the unfused epilogue per row), a 3×3/1 conv (Winograd),
 * depthwise 3×3/1 and 3×3/2 (whole-layer kernel), 5×5 at strides (2,1) with SiLU (generic kernel), a 1×1 conv with SiLU, then Flatten → MatMul and Gemm.
 */
function convNet(batch: number): Uint8Array {
  const b = new ModelBuilder({ opset: 13 });
  const w = (name: string, dims: number[], seed: number) => b.initializer(name, tensor('float32', dims, floats(dims.reduce((x, y) => x * y, 1), seed, 0.2)));
  const x = b.input('x', 'float32', [batch, 3, 118, 38]);
  const [c1] = b.node('Conv', [x, w('w1', [29, 3, 7, 7], 1), w('b1', [29], 2)], { kernel_shape: [7, 7], strides: [2, 2], pads: [3, 3, 3, 3] });
  const [s1] = b.node('Sigmoid', [c1!]);
  const [r1] = b.node('Mul', [c1!, s1!]);
  const [c2] = b.node('Conv', [r1!, w('w2', [27, 29, 3, 3], 3), w('b2', [27], 4)], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
  const [r2] = b.node('Relu', [c2!]);
  const [d1] = b.node('Conv', [r2!, w('w3', [27, 1, 3, 3], 5), w('b3', [27], 6)], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], group: 27 });
  // 5×5 depthwise at strides (2, 1) with SiLU: the generic depthwise kernel, groups split over threads.
  const [d3] = b.node('Conv', [d1!, w('w4b', [27, 1, 5, 5], 13), w('b4b', [27], 14)], { kernel_shape: [5, 5], strides: [2, 1], pads: [2, 2, 2, 2], group: 27 });
  const [s3b] = b.node('Sigmoid', [d3!]);
  const [d3s] = b.node('Mul', [d3!, s3b!]);
  const [d2] = b.node('Conv', [d3s!, w('w4', [27, 1, 3, 3], 7)], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], group: 27 });
  const [c3] = b.node('Conv', [d2!, w('w5', [16, 27, 1, 1], 8), w('b5', [16], 9)], { kernel_shape: [1, 1] });
  const [s3] = b.node('Sigmoid', [c3!]);
  const [m3] = b.node('Mul', [c3!, s3!]);
  const [f] = b.node('Flatten', [m3!], { axis: 1 });
  const [mm] = b.node('MatMul', [f!, w('w6', [16 * 15 * 10, 96], 10)]);
  const [g] = b.node('Gemm', [mm!, w('w7', [96, 13], 11), w('b7', [13], 12)], { alpha: new F(0.5) });
  b.output(g!, { dtype: 'float32', shape: [batch, 13] });
  b.output(m3!, { dtype: 'float32', shape: [batch, 16, 15, 10] });
  return b.toBytes();
}

/**
 * Winograd layers whose tile blocks run whole on the threads (channels multiples of 4): 32→24 on 56×48 (no edge
 * tiles: outputs straight into Y) with Relu, then 24→20 unpadded (54×46: edge tiles, written whole and cropped);
 * the input padding and the crop split by channel ranges; then a ConvTranspose (col2im by channel ranges).
 */
function winogradModel(batch: number): Uint8Array {
  const b = new ModelBuilder({ opset: 13 });
  const w = (name: string, dims: number[], seed: number) => b.initializer(name, tensor('float32', dims, floats(dims.reduce((x, y) => x * y, 1), seed, 0.2)));
  const x = b.input('x', 'float32', [batch, 32, 56, 48]);
  const [c1] = b.node('Conv', [x, w('w1', [24, 32, 3, 3], 51), w('b1', [24], 52)], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
  const [r1] = b.node('Relu', [c1!]);
  const [c2] = b.node('Conv', [r1!, w('w2', [20, 24, 3, 3], 53), w('b2', [20], 54)], { kernel_shape: [3, 3] });
  b.output(c2!, { dtype: 'float32', shape: [batch, 20, 54, 46] });
  // ConvTranspose 2×2/2: its GEMM split, then the scatter-add by output-channel ranges.
  const [t1] = b.node('ConvTranspose', [c2!, w('wt', [20, 12, 2, 2], 55), w('bt', [12], 56)], { kernel_shape: [2, 2], strides: [2, 2] }, { outputs: ['up'] });
  b.output(t1!, { dtype: 'float32', shape: [batch, 12, 108, 92] });
  return b.toBytes();
}

/** x [rows, 256] through MatMuls by [256, 256] weights with an unfused Tanh between: row splits and column splits. */
function matMulModel(): Uint8Array {
  const b = new ModelBuilder({ opset: 13 });
  let v = b.input('x', 'float32', ['n', 256]);
  for (let i = 0; i < 3; i++) {
    v = b.node('MatMul', [v, b.initializer(`w${i}`, tensor('float32', [256, 256], floats(256 * 256, 20 + i, 0.1)))])[0]!;
    v = b.node('Tanh', [v])[0]!;
  }
  b.output(v, { dtype: 'float32', shape: ['n', 256] });
  return b.toBytes();
}

/**
 * Memory-bound steps split by element ranges or rows: broadcast Add/Mul/Max (channel, row and same-shape
 * patterns), Sigmoid, HardSigmoid, Clip, Softmax and LayerNormalization rows over [2, 37, 61, 67] (about 300 k floats),
 * then MaxPool, AveragePool and Resize linear/nearest/cubic (plane ranges).
 */
function elementwiseModel(): Uint8Array {
  const b = new ModelBuilder({ opset: 17 });
  const dims = [2, 37, 61, 67];
  const x = b.input('x', 'float32', dims);
  const [a1] = b.node('Add', [x, b.initializer('c', tensor('float32', [37, 1, 1], floats(37, 41)))]);
  const [m1] = b.node('Mul', [a1!, b.initializer('r', tensor('float32', [67], floats(67, 42)))]);
  const [s1] = b.node('Sigmoid', [m1!]);
  const [mx] = b.node('Max', [s1!, x]);
  const [hs] = b.node('HardSigmoid', [mx!], { alpha: new F(0.3) });
  const [cl] = b.node('Clip', [hs!, b.initializer('lo', tensor('float32', [], [-0.25])), b.initializer('hi', tensor('float32', [], [0.75]))]);
  const [sm] = b.node('Softmax', [cl!], { axis: -1 });
  const [ln] = b.node('LayerNormalization', [sm!, b.initializer('gamma', tensor('float32', [67], floats(67, 43))), b.initializer('beta', tensor('float32', [67], floats(67, 44)))], { axis: -1 });
  const [y] = b.node('Add', [ln!, x]);
  b.output(y!, { dtype: 'float32', shape: dims });
  // Pooling: plane ranges per thread (interior kernel + the generic one on the frame).
  const [mp] = b.node('MaxPool', [y!], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
  const [ap] = b.node('AveragePool', [y!], { kernel_shape: [2, 3], strides: [2, 1], pads: [0, 1, 1, 1], count_include_pad: 0 });
  b.output(mp!, { dtype: 'float32', shape: [2, 37, 31, 34] });
  // Resize linear, nearest and cubic ×2: plane ranges per thread, each with its own row buffer.
  const scales = b.initializer('scales', tensor('float32', [4], [1, 1, 2, 2]));
  for (const mode of ['linear', 'nearest', 'cubic']) {
    const [r] = b.node('Resize', [mp!, '', scales], { mode }, { outputs: [`resize_${mode}`] });
    b.output(r!, { dtype: 'float32', shape: [2, 37, 62, 68] });
  }
  b.output(ap!, { dtype: 'float32', shape: [2, 37, 31, 67] });
  return b.toBytes();
}

/** Output name -> index of the first element whose bits differ, for outputs that differ (a small failure message). */
function firstDifferences(a: Record<string, number[]>, b: Record<string, number[]>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = a[name] ?? [];
    const y = b[name] ?? [];
    const n = Math.max(x.length, y.length);
    for (let i = 0; i < n; i++) {
      if (x[i] !== y[i]) {
        out[name] = i;
        break;
      }
    }
  }
  return out;
}

function bits(data: unknown): number[] {
  const f = data as Float32Array;
  return Array.from(new Uint32Array(f.buffer, f.byteOffset, f.length));
}

/** The pool's counters (internal: to show that work really went through the pool). */
function poolStats(s: Session): { batches: number; groups: number; byCaller: number } | undefined {
  return (s as unknown as { wasm?: { pool?: { stats: { batches: number; groups: number; byCaller: number } } } }).wasm?.pool?.stats;
}

function workerGroups(stats: { groups: number; byCaller: number } | undefined): number {
  return stats === undefined ? 0 : stats.groups - stats.byCaller;
}

function osThreads(): number {
  const m = /^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return m === null ? -1 : Number(m[1]);
}

describe.skipIf(!hasDist)('intra-op threads', () => {
  let ort: Ort;
  beforeAll(async () => {
    ort = (await import(pathToFileURL(DIST).href)) as Ort;
  });

  async function outputs(bytes: Uint8Array, threads: number, feeds: Record<string, InstanceType<Ort['Tensor']>>): Promise<{ out: Record<string, number[]>; info: string; groups: number; byWorkers: number }> {
    const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: threads });
    try {
      const out: Record<string, number[]> = {};
      // Twice: the second run reuses the plan, its scratch and the workers' instances.
      await s.run(feeds);
      let r = await s.run(feeds);
      // A worker may find nothing left to claim in a few runs on a loaded machine: run until one took part.
      for (let i = 0; i < 50 && threads > 1 && workerGroups(poolStats(s)) === 0; i++) r = await s.run(feeds);
      for (const name of s.outputNames) out[name] = bits(r[name]!.data);
      const stats = poolStats(s);
      return { out, info: s.backendInfo, groups: stats?.groups ?? 0, byWorkers: workerGroups(stats) };
    } finally {
      await s.release();
    }
  }

  for (const batch of [1, 2]) {
    it(`gives bit-identical conv-net outputs at 1, 2 and 3 threads (batch ${batch})`, async () => {
      const bytes = convNet(batch);
      const feeds = { x: new ort.Tensor('float32', floats(batch * 3 * 118 * 38, 31), [batch, 3, 118, 38]) };
      const one = await outputs(bytes, 1, feeds);
      expect(one.groups).toBe(0);
      for (const threads of [2, 3]) {
        const many = await outputs(bytes, threads, feeds);
        expect(many.info).toContain(`${threads} threads`);
        expect(many.groups).toBeGreaterThan(0);
        // The workers took part (not only the calling thread).
        expect(many.byWorkers).toBeGreaterThan(0);
        expect(firstDifferences(many.out, one.out)).toEqual({});
      }
    });
  }

  it('gives bit-identical Winograd outputs with whole tile blocks per thread (batch 1 and 2)', async () => {
    for (const batch of [1, 2]) {
      const feeds = { x: new ort.Tensor('float32', floats(batch * 32 * 56 * 48, 61), [batch, 32, 56, 48]) };
      const one = await outputs(winogradModel(batch), 1, feeds);
      const two = await outputs(winogradModel(batch), 2, feeds);
      expect(two.byWorkers).toBeGreaterThan(0);
      expect(firstDifferences(two.out, one.out)).toEqual({});
    }
  });

  it('gives bit-identical MatMul chains for 1, 7 and 61 rows (row and column splits, unfused Tanh)', async () => {
    const bytes = matMulModel();
    for (const rows of [1, 7, 61]) {
      const feeds = { x: new ort.Tensor('float32', floats(rows * 256, rows), [rows, 256]) };
      const one = await outputs(bytes, 1, feeds);
      const two = await outputs(bytes, 2, feeds);
      expect(firstDifferences(two.out, one.out)).toEqual({});
      if (rows === 61) expect(two.groups).toBeGreaterThan(0);
    }
  });

  it('keeps working when a new input shape grows the shared memory after the workers started', async () => {
    const s = await ort.InferenceSession.create(matMulModel(), { intraOpNumThreads: 2 });
    const ref = await ort.InferenceSession.create(matMulModel());
    try {
      const memory = (s as unknown as { wasm: { memory: WebAssembly.Memory } }).wasm.memory;
      const before = memory.buffer.byteLength;
      for (const rows of [3, 4000, 50]) {
        const x = new ort.Tensor('float32', floats(rows * 256, rows + 1), [rows, 256]);
        const got = await s.run({ x });
        const want = await ref.run({ x });
        expect(firstDifferences({ y: bits(Object.values(got)[0]!.data) }, { y: bits(Object.values(want)[0]!.data) })).toEqual({});
      }
      expect(memory.buffer.byteLength).toBeGreaterThan(before);
      expect(workerGroups(poolStats(s))).toBeGreaterThan(0);
    } finally {
      await s.release();
      await ref.release();
    }
  });

  it('gives bit-identical elementwise, softmax and LayerNorm outputs at 1 and 2 threads', async () => {
    const feeds = { x: new ort.Tensor('float32', floats(2 * 37 * 61 * 67, 9), [2, 37, 61, 67]) };
    const one = await outputs(elementwiseModel(), 1, feeds);
    const two = await outputs(elementwiseModel(), 2, feeds);
    expect(two.groups).toBeGreaterThan(0);
    expect(firstDifferences(two.out, one.out)).toEqual({});
  });

  it('gives bit-identical int8 outputs (QDQ, QOperator, dynamic) at 1 and 2 threads', async () => {
    const float = convNet(1);
    const calibration = generateFeeds(decodeModel(float), { count: 2, seed: 5 });
    const forms: [string, Uint8Array][] = [
      ['qdq', quantizeModel(float, calibration, { perChannel: true }).bytes],
      ['qoperator', quantizeModel(float, calibration, { format: 'qoperator' }).bytes],
      ['dynamic', quantizeDynamic(float).bytes],
    ];
    const feeds = { x: new ort.Tensor('float32', floats(3 * 118 * 38, 17), [1, 3, 118, 38]) };
    for (const [form, bytes] of forms) {
      const one = await outputs(bytes, 1, feeds);
      const two = await outputs(bytes, 2, feeds);
      expect(two.groups, form).toBeGreaterThan(0);
      expect(firstDifferences(two.out, one.out), form).toEqual({});
    }
  });

  it('accepts threads as an alias and refuses bad counts with an OptionError', async () => {
    const s = await ort.InferenceSession.create(matMulModel(), { threads: 2 });
    expect(s.backendInfo).toContain('2 threads');
    await s.release();
    await expect(ort.InferenceSession.create(matMulModel(), { intraOpNumThreads: -1 })).rejects.toBeInstanceOf(ort.OptionError);
    await expect(ort.InferenceSession.create(matMulModel(), { intraOpNumThreads: 1.5 })).rejects.toBeInstanceOf(ort.OptionError);
  });

  it('leaks no worker threads over 20 create/run/release cycles', async () => {
    const bytes = convNet(1);
    const feeds = { x: new ort.Tensor('float32', floats(3 * 118 * 38, 5), [1, 3, 118, 38]) };
    const warm = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 2 });
    await warm.run(feeds);
    await warm.release();
    const before = osThreads();
    for (let i = 0; i < 20; i++) {
      const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 2 });
      await s.run(feeds);
      await s.release();
    }
    // Worker threads end asynchronously after terminate(); allow a moment, then no more threads than before.
    await new Promise((r) => setTimeout(r, 200));
    expect(osThreads()).toBeLessThanOrEqual(before);
  });

  it('does not keep the process alive: a script that never releases its session exits at once', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tinfer-threads-'));
    const model = join(dir, 'm.onnx');
    writeFileSync(model, matMulModel());
    const script = `
      import { InferenceSession, Tensor } from ${JSON.stringify(pathToFileURL(DIST).href)};
      const s = await InferenceSession.create(${JSON.stringify(model)}, { intraOpNumThreads: 2 });
      await s.run({ x: new Tensor('float32', new Float32Array(64 * 256).fill(0.5), [64, 256]) });
      console.log(s.backendInfo);
    `;
    const t0 = performance.now();
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    const ms = performance.now() - t0;
    rmSync(dir, { recursive: true, force: true });
    expect(r.stderr).toBe('');
    expect(r.stdout, r.stdout).toContain('2 threads');
    expect(r.status).toBe(0);
    expect(ms).toBeLessThan(10_000);
  });
});

describe.skipIf(!hasDist)('run() on the calling thread', () => {
  let ort: Ort;
  beforeAll(async () => {
    ort = (await import(pathToFileURL(DIST).href)) as Ort;
  });

  it('queues concurrent run() calls of one session (call order, correct results) and refuses runSync meanwhile', async () => {
    const s = await ort.InferenceSession.create(matMulModel());
    try {
      const inputs = [3, 17, 40].map((rows) => new ort.Tensor('float32', floats(rows * 256, rows), [rows, 256]));
      const want = inputs.map((x) => bits(Object.values(s.runSync({ x }))[0]!.data));
      const pending = inputs.map((x) => s.run({ x }));
      // The first run has started and handed the thread back at least once by now, or is queued.
      const clash = (() => {
        try {
          s.runSync({ x: inputs[0]! });
          return undefined;
        } catch (e) {
          return e;
        }
      })();
      const got = await Promise.all(pending);
      expect(got.map((r) => bits(Object.values(r)[0]!.data))).toEqual(want);
      if (clash !== undefined) expect(clash).toBeInstanceOf(ort.TinferError);
    } finally {
      await s.release();
    }
  });

  it('a release() during a run() makes that run reject with SessionReleasedError', async () => {
    const s = await ort.InferenceSession.create(matMulModel());
    const x = new ort.Tensor('float32', floats(512 * 256, 3), [512, 256]);
    await s.run({ x });
    const p = s.run({ x });
    await new Promise((r) => setImmediate(r));
    await s.release();
    const e = await p.then(() => undefined, (err: unknown) => err);
    // The run either finished before the release reached it, or stopped at its next hand-back.
    if (e !== undefined) expect(e).toBeInstanceOf(ort.SessionReleasedError);
  });
});
