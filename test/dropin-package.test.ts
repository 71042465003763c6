/**
 * The package as users install it: the package build of the built dist/ (`build-package.mjs --stage`, what
 * prepack makes: minified, no source maps), packed with `npm pack`, its size checked against the budget, installed
 * offline (tinfer has no dependencies) into temporary CommonJS, ES module and strict-TypeScript projects that run a
 * tiny model, and its `tinfer` command run. Needs a build (`npm run build`, which CI runs before the tests); skips
 * with a message without dist/ or npm.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '../src/version.js';
import { REPO_ROOT } from './shared.js';
import { ModelBuilder } from './onnx-builder.js';
import { tensor } from './harness.js';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const hasNpm = spawnSync(npm, ['--version'], { encoding: 'utf8' }).status === 0;
const hasDist = existsSync(join(REPO_ROOT, 'dist/index.js')) && existsSync(join(REPO_ROOT, 'dist/cjs/index.cjs'));
if (!hasNpm) console.warn('[skip] package: npm is not available, so the package cannot be packed');
else if (!hasDist) console.warn('[skip] package: dist/ (with dist/cjs) not found; run npm run build first');

/** y = Relu(x + [1, -1, 2, -2]), x float32 [n, 4]: for x = [1, 1, 1, 1] it gives [2, 0, 3, 0]. */
function modelBytes(): Uint8Array {
  const b = new ModelBuilder({ opset: 13 });
  const x = b.input('x', 'float32', ['n', 4]);
  const [s] = b.node('Add', [x, b.initializer('b', tensor('float32', [4], [1, -1, 2, -2]))]);
  b.output(b.node('Relu', [s!], {}, { outputs: ['y'] })[0]!, { dtype: 'float32', shape: ['n', 4] });
  return b.toBytes();
}

const EXPECTED = '[2,0,3,0]';

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

// Strict TypeScript, CommonJS output, onnxruntime's idioms: import = require, namespaced types.
const TS_CJS = `
import ort = require('tinfer');
const options: ort.InferenceSession.SessionOptions = { executionProviders: ['cpu'], graphOptimizationLevel: 'all' };
async function main(): Promise<void> {
  const session: ort.InferenceSession = await ort.InferenceSession.create('model.onnx', options);
  const feeds: ort.InferenceSession.FeedsType = { x: new ort.Tensor('float32', new Float32Array([1, 1, 1, 1]), [1, 4]) };
  const out = await session.run(feeds, { logSeverityLevel: 3 });
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
    expect(readFileSync(join(installed, 'session/session.js'), 'utf8')).not.toMatch(/\/\*\*|^\s*\/\/ /m);
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

  it('type-checks and runs strict TypeScript: import ort = require() in a .cts, default imports in a .mts', () => {
    const tsconfig = { compilerOptions: { strict: true, noUncheckedIndexedAccess: true, module: 'nodenext', target: 'ES2022', types: [], outDir: 'out' }, include: ['*.cts', '*.mts'] };
    const dir = project('ts-app', {}, { 'main.cts': TS_CJS, 'main.mts': TS_ESM, 'tsconfig.json': JSON.stringify(tsconfig) });
    const r = spawnSync(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', '.'], { cwd: dir, encoding: 'utf8' });
    expect(r.stdout + r.stderr, 'tsc').toBe('');
    expect(node(dir, 'out/main.cjs')).toBe(EXPECTED);
    expect(node(dir, 'out/main.mjs')).toBe(EXPECTED);
  }, 60_000);
});
