/**
 * `worker: true` (issue 13, first step): run() executes in a Node worker thread, so the event loop keeps running.
 * The worker script is dist/worker-entry.js, so these tests use the BUILT package (dist/index.js, and child
 * processes for exit behaviour and require()); they skip with a message when dist/ is missing (npm run build).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './shared.js';
import { ModelBuilder } from './onnx-builder.js';
import { tensor } from './harness.js';

const DIST = join(REPO_ROOT, 'dist/index.js');
const hasDist = existsSync(DIST) && existsSync(join(REPO_ROOT, 'dist/worker-entry.js')) && existsSync(join(REPO_ROOT, 'dist/cjs/index.cjs'));
if (!hasDist) console.warn('[skip] worker-session: dist/ (with dist/worker-entry.js and dist/cjs) not found; run npm run build first');

type Ort = typeof import('../src/index.js');

/** Deterministic pseudo-random floats in [-1, 1). */
function floats(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** x [1,3,8,8] -> Conv 3x3 (4 filters, pad 1) + bias -> Relu -> Flatten [1,256] -> MatMul [256,10] -> y; also the Relu as 'r'. */
function convMatMulModel(): Uint8Array {
  const b = new ModelBuilder({ opset: 13 });
  const x = b.input('x', 'float32', [1, 3, 8, 8]);
  const [c] = b.node('Conv', [x, b.initializer('w', tensor('float32', [4, 3, 3, 3], floats(108, 1))), b.initializer('b', tensor('float32', [4], floats(4, 2)))], {
    kernel_shape: [3, 3],
    pads: [1, 1, 1, 1],
  });
  const [r] = b.node('Relu', [c!], {}, { outputs: ['r'] });
  const [f] = b.node('Flatten', [r!], { axis: 1 });
  const [y] = b.node('MatMul', [f!, b.initializer('w2', tensor('float32', [256, 10], floats(2560, 3)))], {}, { outputs: ['y'] });
  b.output(y!, { dtype: 'float32', shape: [1, 10] });
  b.output(r!, { dtype: 'float32', shape: [1, 4, 8, 8] });
  return b.toBytes();
}

/** x [n,512] through `links` MatMuls by one [512,512] weight (scaled to keep values finite): slow enough to time. */
function matMulChainModel(links: number): Uint8Array {
  const b = new ModelBuilder({ opset: 13 });
  let v = b.input('x', 'float32', ['n', 512]);
  const w = b.initializer('w', tensor('float32', [512, 512], floats(512 * 512, 7).map((a) => a / 16)));
  for (let i = 0; i < links; i++) v = b.node('MatMul', [v, w])[0]!;
  b.output(v, { dtype: 'float32', shape: ['n', 512] });
  return b.toBytes();
}

/** y = Gather(data [4], i): an index out of range is refused by the kernel, at run time, inside the worker. */
function gatherModel(): Uint8Array {
  const b = new ModelBuilder({ opset: 13 });
  const i = b.input('i', 'int64', [1]);
  const [y] = b.node('Gather', [b.initializer('data', tensor('float32', [4], [10, 20, 30, 40])), i], { axis: 0 }, { outputs: ['y'] });
  b.output(y!, { dtype: 'float32', shape: [1] });
  return b.toBytes();
}

/** The bits of a float32 tensor's data, so -0 and NaN payloads compare exactly. */
function bits(data: unknown): number[] {
  const f = data as Float32Array;
  return Array.from(new Uint32Array(f.buffer, f.byteOffset, f.length));
}

/** setInterval(5 ms) ticks between the start and the end of `work`. */
async function ticksDuring(work: () => Promise<unknown>): Promise<{ ticks: number; ms: number }> {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  try {
    const t0 = performance.now();
    const before = ticks;
    await work();
    return { ticks: ticks - before, ms: performance.now() - t0 };
  } finally {
    clearInterval(timer);
  }
}

describe.skipIf(!hasDist)('worker: true', () => {
  let ort: Ort;
  let dir: string;

  beforeAll(async () => {
    ort = (await import(pathToFileURL(DIST).href)) as Ort;
    dir = mkdtempSync(join(tmpdir(), 'tinfer-worker-'));
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const x = (): InstanceType<Ort['Tensor']> => new ort.Tensor('float32', floats(192, 11), [1, 3, 8, 8]);

  it('returns the same outputs, bit for bit, as a session on the calling thread', async () => {
    const bytes = convMatMulModel();
    const plain = await ort.InferenceSession.create(bytes);
    const worker = await ort.InferenceSession.create(bytes, { worker: true });
    try {
      expect(worker.inputNames).toEqual(plain.inputNames);
      expect(worker.outputNames).toEqual(plain.outputNames);
      expect(worker.inputMetadata).toEqual(plain.inputMetadata);
      const want = await plain.run({ x: x() });
      const got = await worker.run({ x: x() });
      expect(Object.keys(got)).toEqual(['y', 'r']);
      for (const name of ['y', 'r']) {
        expect(got[name]).toBeInstanceOf(ort.Tensor);
        expect(got[name]!.type).toBe('float32');
        expect(got[name]!.dims).toEqual(want[name]!.dims);
        expect(bits(got[name]!.data)).toEqual(bits(want[name]!.data));
      }
    } finally {
      await worker.release();
      await plain.release();
    }
  });

  it('honours fetches (names, or tensors to write into) and RunOptions as a normal run does', async () => {
    const bytes = convMatMulModel();
    const plain = await ort.InferenceSession.create(bytes);
    const worker = await ort.InferenceSession.create(bytes, { worker: true });
    try {
      const want = await plain.run({ x: x() });
      const onlyY = await worker.run({ x: x() }, ['y'], { tag: 'a', logSeverityLevel: 3 });
      expect(Object.keys(onlyY)).toEqual(['y']);
      expect(bits(onlyY.y!.data)).toEqual(bits(want.y!.data));
      const into = new ort.Tensor('float32', new Float32Array(10), [1, 10]);
      const out = await worker.run({ x: x() }, { y: into });
      expect(out.y).toBe(into);
      expect(bits(into.data)).toEqual(bits(want.y!.data));
      await expect(worker.run({ x: x() }, ['nope'])).rejects.toBeInstanceOf(ort.InputError);
      await expect(worker.run({ x: x() }, { logSeverityLevel: 9 as 0 })).rejects.toBeInstanceOf(ort.OptionError);
    } finally {
      await worker.release();
      await plain.release();
    }
  });

  it('keeps the event loop running during a long run (runSync blocks it: 0 ticks; run() hands it back between steps)', async () => {
    const bytes = matMulChainModel(80);
    const feeds = (): Record<string, InstanceType<Ort['Tensor']>> => ({ x: new ort.Tensor('float32', floats(128 * 512, 5), [128, 512]) });
    const plain = await ort.InferenceSession.create(bytes);
    const worker = await ort.InferenceSession.create(bytes, { worker: true });
    try {
      await plain.run(feeds());
      await worker.run(feeds()); // both warm: plans made, kernels tiered up
      const blocked = await ticksDuring(async () => plain.runSync(feeds()));
      const yielding = await ticksDuring(() => plain.run(feeds()));
      const free = await ticksDuring(() => worker.run(feeds()));
      console.log(`[worker-session] ticks during a ${blocked.ms.toFixed(0)} ms runSync: ${blocked.ticks}; run(): ${yielding.ticks} in ${yielding.ms.toFixed(0)} ms; with worker: true, during ${free.ms.toFixed(0)} ms: ${free.ticks}`);
      expect(blocked.ticks).toBe(0);
      expect(yielding.ticks).toBeGreaterThanOrEqual(3);
      expect(free.ticks).toBeGreaterThanOrEqual(3);
    } finally {
      await worker.release();
      await plain.release();
    }
  }, 60_000);

  it('brings errors back as the same TinferError subclasses, with their fields', async () => {
    const worker = await ort.InferenceSession.create(convMatMulModel(), { worker: true });
    const gather = await ort.InferenceSession.create(gatherModel(), { worker: true });
    try {
      // The dtype and dims checks happen in the worker's session.
      const wrongType = await worker.run({ x: new ort.Tensor('int32', new Int32Array(192), [1, 3, 8, 8]) }).catch((e: unknown) => e);
      expect(wrongType).toBeInstanceOf(ort.InputError);
      expect(wrongType).toBeInstanceOf(ort.TinferError);
      expect(wrongType).toMatchObject({ name: 'InputError', input: 'x', expected: 'float32', actual: 'int32' });
      expect((wrongType as Error).message).toBe("input 'x': expected type float32, got int32");
      const missing = await worker.run({}).catch((e: unknown) => e);
      expect(missing).toBeInstanceOf(ort.InputError);
      expect(missing).toMatchObject({ input: 'x', actual: 'nothing' });
      // A kernel's refusal at run time: the same class and message as on the calling thread.
      const index = (): Record<string, InstanceType<Ort['Tensor']>> => ({ i: new ort.Tensor('int64', new BigInt64Array([10n]), [1]) });
      const plain = await ort.InferenceSession.create(gatherModel());
      const want = (await plain.run(index()).catch((e: unknown) => e)) as Error;
      const range = (await gather.run(index()).catch((e: unknown) => e)) as Error;
      expect(want).toBeInstanceOf(ort.InputError);
      expect(range).toBeInstanceOf(ort.InputError);
      expect(range.message).toBe(want.message);
      expect(range.message).toMatch(/out of range/);
      await plain.release();
      // The session still works after errors.
      const ok = await gather.run({ i: new ort.Tensor('int64', new BigInt64Array([2n]), [1]) });
      expect(Array.from(ok.y!.data as Float32Array)).toEqual([30]);
      // A model the worker cannot decode: create() rejects with the DecodeError and its offset.
      const bad = await ort.InferenceSession.create(new Uint8Array([8, 1, 0x3a, 200, 1]), { worker: true }).catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(ort.DecodeError);
      expect(typeof (bad as { offset: unknown }).offset).toBe('number');
      // A missing file, read by the worker.
      const missingFile = await ort.InferenceSession.create(join(dir, 'nope.onnx'), { worker: true }).catch((e: unknown) => e);
      expect(missingFile).toBeInstanceOf(ort.ModelFileError);
      expect((missingFile as { path: string }).path).toContain('nope.onnx');
    } finally {
      await worker.release();
      await gather.release();
    }
  });

  it('refuses what cannot reach a worker with an OptionError', async () => {
    const bytes = convMatMulModel();
    await expect(ort.InferenceSession.create(bytes, { worker: 'yes' as unknown as boolean })).rejects.toMatchObject({ name: 'OptionError', option: 'worker' });
    expect(() => ort.InferenceSession.createSync(bytes, { worker: true })).toThrow(ort.OptionError);
    const withFn = ort.InferenceSession.create(bytes, { worker: true, externalData: () => new Uint8Array(0) });
    await expect(withFn).rejects.toBeInstanceOf(ort.OptionError);
  });

  it('queues concurrent runs and returns each its own result', async () => {
    const bytes = convMatMulModel();
    const plain = await ort.InferenceSession.create(bytes);
    const worker = await ort.InferenceSession.create(bytes, { worker: true });
    try {
      const inputs = Array.from({ length: 8 }, (_, i) => floats(192, 100 + i));
      const want = inputs.map((d) => plain.runSync({ x: new ort.Tensor('float32', d, [1, 3, 8, 8]) }).y!);
      const got = await Promise.all(inputs.map((d) => worker.run({ x: new ort.Tensor('float32', d, [1, 3, 8, 8]) })));
      got.forEach((g, i) => expect(bits(g.y!.data)).toEqual(bits(want[i]!.data)));
    } finally {
      await worker.release();
      await plain.release();
    }
  });

  it('runs runSync() on the calling thread, with the same results', async () => {
    const bytes = convMatMulModel();
    const path = join(dir, 'conv.onnx');
    writeFileSync(path, bytes);
    const plain = await ort.InferenceSession.create(bytes);
    for (const source of [bytes, path]) {
      const worker = await ort.InferenceSession.create(source, { worker: true });
      try {
        const sync = worker.runSync({ x: x() });
        const async = await worker.run({ x: x() });
        const want = plain.runSync({ x: x() });
        expect(bits(sync.y!.data)).toEqual(bits(want.y!.data));
        expect(bits(async.y!.data)).toEqual(bits(want.y!.data));
        expect(worker.model.graph.nodes.length).toBe(4);
      } finally {
        await worker.release();
      }
    }
    await plain.release();
  });

  it("reports the worker session's memory() and profile()", async () => {
    const bytes = convMatMulModel();
    const plain = await ort.InferenceSession.create(bytes, { profile: true });
    const worker = await ort.InferenceSession.create(bytes, { worker: true, profile: true });
    try {
      await plain.run({ x: x() });
      await worker.run({ x: x() });
      await worker.run({ x: x() });
      const m = worker.memory();
      expect(m).toEqual({ ...plain.memory() });
      expect(m.weightBytes).toBe((108 + 4 + 2560) * 4);
      const p = worker.profile();
      expect(p.map((s) => s.opType).sort()).toEqual(plain.profile().map((s) => s.opType).sort());
      expect(p.every((s) => s.calls === 2)).toBe(true);
      worker.resetProfile();
      expect(worker.profile()).toEqual([]);
      await worker.run({ x: x() });
      expect(worker.profile().every((s) => s.calls === 1)).toBe(true);
      expect(worker.planKind).toBe('static');
      expect(worker.backend).toBe(plain.backend);
    } finally {
      await worker.release();
      await plain.release();
    }
  });

  it('release() ends the worker; later calls and runs still queued reject with SessionReleasedError', async () => {
    const worker = await ort.InferenceSession.create(matMulChainModel(8), { worker: true });
    const feeds = { x: new ort.Tensor('float32', floats(64 * 512, 3), [64, 512]) };
    const queued = worker.run(feeds).catch((e: unknown) => e);
    const thread = (worker as unknown as { workerSide: { worker: { worker: { threadId: number } } } }).workerSide.worker.worker;
    expect(thread.threadId).toBeGreaterThan(0);
    await worker.release();
    expect(await queued).toBeInstanceOf(ort.SessionReleasedError);
    expect(thread.threadId).toBe(-1); // Node sets -1 once the thread has exited
    expect(worker.released).toBe(true);
    await expect(worker.run(feeds)).rejects.toBeInstanceOf(ort.SessionReleasedError);
    expect(() => worker.runSync(feeds)).toThrow(ort.SessionReleasedError);
    expect(() => worker.memory()).toThrow(ort.SessionReleasedError);
    expect(() => worker.profile()).toThrow(ort.SessionReleasedError);
    await expect(worker.release()).rejects.toBeInstanceOf(ort.SessionReleasedError);
  });

  /** Runs a script with node; returns its status, output and how long it took. */
  function runScript(name: string, text: string): { status: number | null; stdout: string; stderr: string; ms: number } {
    const file = join(dir, name);
    writeFileSync(file, text);
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [file], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
    return { status: r.status, stdout: r.stdout.trim(), stderr: r.stderr, ms: performance.now() - t0 };
  }

  it('lets the process exit while an idle worker session exists, after awaiting runs (ES module)', () => {
    writeFileSync(join(dir, 'model.onnx'), gatherModel());
    const r = runScript(
      'exit.mjs',
      `import * as ort from ${JSON.stringify(pathToFileURL(DIST).href)};
const s = await ort.InferenceSession.create(new URL('./model.onnx', import.meta.url), { worker: true });
const out = await s.run({ i: new ort.Tensor('int64', new BigInt64Array([1n]), [1]) });
console.log(JSON.stringify(Array.from(out.y.data)));
// No release(): the idle worker must not keep the process alive.
`,
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('[20]');
  }, 40_000);

  it("works from require('tinfer') (the CommonJS entry) and exits with an idle worker", () => {
    writeFileSync(join(dir, 'model.onnx'), gatherModel());
    const r = runScript(
      'exit.cjs',
      `const ort = require(${JSON.stringify(join(REPO_ROOT, 'dist/cjs/index.cjs'))});
const fs = require('node:fs');
ort.InferenceSession.create(fs.readFileSync(__dirname + '/model.onnx'), { worker: true }).then(async (s) => {
  const out = await s.run({ i: new ort.Tensor('int64', new BigInt64Array([3n]), [1]) });
  const bad = await s.run({ i: new ort.Tensor('int64', new BigInt64Array([9n]), [1]) }).catch((e) => e);
  console.log(JSON.stringify(Array.from(out.y.data)), bad instanceof ort.InputError, /out of range/.test(bad.message));
});
`,
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('[40] true true');
  }, 40_000);

  it('refuses worker: true with an OptionError where there is no Node (a browser, Deno without node compat)', () => {
    writeFileSync(join(dir, 'model.onnx'), gatherModel());
    const r = runScript(
      'no-node.mjs',
      `import * as ort from ${JSON.stringify(pathToFileURL(DIST).href)};
import { readFileSync } from 'node:fs';
const bytes = readFileSync(new URL('./model.onnx', import.meta.url));
const nodeProcess = globalThis.process;
globalThis.process = undefined; // as in a browser
const e = await ort.InferenceSession.create(bytes, { worker: true }).catch((e) => e);
globalThis.process = nodeProcess;
console.log(e instanceof ort.OptionError, e.option, /worker_threads/.test(e.message));
`,
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('true worker true');
  }, 40_000);
});
