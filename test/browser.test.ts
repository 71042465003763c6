/**
 * The BUILT ESM bundle (dist/index.js) in headless Chromium: a tiny static server (node:http) serves the repo and a
 * model written by this test; test/browser/index.html imports the bundle, fetches the model, runs it and writes the
 * outputs into the DOM; `chromium --dump-dom` returns that DOM and the outputs are compared with a naive reference.
 * Skips with a message when /usr/bin/chromium or dist/ is missing (CI installs chromium and builds first).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TensorData } from '../src/dtype.js';
import { ModelBuilder } from './onnx-builder.js';
import { REPO_ROOT } from './shared.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const hasDist = existsSync(join(REPO_ROOT, 'dist/index.js'));
if (!hasChromium) console.warn(`[skip] browser test: ${CHROMIUM} not found (apt-get install -y chromium)`);
else if (!hasDist) console.warn('[skip] browser test: dist/index.js not found (run npm run build first)');

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.onnx': 'application/octet-stream',
};

function f32(shape: number[], values: number[]): TensorData {
  return { dtype: 'float32', shape, data: Float32Array.from(values) };
}

/** A deterministic pseudo-random sequence in [-1, 1). */
function values(n: number, seed: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.sin(seed * 12.9898 + i * 78.233) % 1);
}

// x [1,1,6,6] -> Conv 3x3 pad 1 (3 filters) -> Relu -> GlobalAveragePool [1,3,1,1] -> Flatten [1,3]
//   -> MatMul [3,4] -> Add [4] -> Softmax [1,4]
const W_CONV = values(27, 1);
const B_CONV = values(3, 2);
const W_FC = values(12, 3);
const B_FC = values(4, 4);
const X = values(36, 5);

function buildModel(): Uint8Array {
  const b = new ModelBuilder({ opset: 13 });
  const x = b.input('x', 'float32', [1, 1, 6, 6]);
  const w = b.initializer('w', f32([3, 1, 3, 3], W_CONV));
  const bc = b.initializer('bc', f32([3], B_CONV));
  const wf = b.initializer('wf', f32([3, 4], W_FC));
  const bf = b.initializer('bf', f32([4], B_FC));
  const [c] = b.node('Conv', [x, w, bc], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
  const [r] = b.node('Relu', [c!]);
  const [p] = b.node('GlobalAveragePool', [r!]);
  const [fl] = b.node('Flatten', [p!], { axis: 1 });
  const [m] = b.node('MatMul', [fl!, wf]);
  const [a] = b.node('Add', [m!, bf]);
  const [y] = b.node('Softmax', [a!], { axis: 1 }, { outputs: ['y'] });
  b.output(y!, { dtype: 'float32', shape: [1, 4] });
  return b.toBytes();
}

function reference(): number[] {
  const fr = (v: number[]) => Array.from(Float32Array.from(v));
  const [x, w, bc, wf, bf] = [fr(X), fr(W_CONV), fr(B_CONV), fr(W_FC), fr(B_FC)];
  const pooled = [0, 1, 2].map((m) => {
    let sum = 0;
    for (let oy = 0; oy < 6; oy++)
      for (let ox = 0; ox < 6; ox++) {
        let s = bc[m]!;
        for (let ky = 0; ky < 3; ky++)
          for (let kx = 0; kx < 3; kx++) {
            const iy = oy + ky - 1;
            const ix = ox + kx - 1;
            if (iy >= 0 && iy < 6 && ix >= 0 && ix < 6) s += x[iy * 6 + ix]! * w[m * 9 + ky * 3 + kx]!;
          }
        sum += Math.max(0, s);
      }
    return sum / 36;
  });
  const logits = [0, 1, 2, 3].map((j) => bf[j]! + pooled.reduce((s, v, k) => s + v * wf[k * 4 + j]!, 0));
  const mx = Math.max(...logits);
  const e = logits.map((v) => Math.exp(v - mx));
  const total = e.reduce((s, v) => s + v, 0);
  return e.map((v) => v / total);
}

interface PageResult {
  ok: boolean;
  error?: string;
  userAgent?: string;
  isolated?: boolean;
  info1?: string;
  info2?: string;
  byWorkers?: number;
  same?: boolean;
  outputs?: Record<string, { type: string; dims: number[]; data: number[] }>;
}

/**
 * Serves the repo at / and `tempDir` at /__tmp/; /__hold is answered once the page has POSTed /__result. With
 * `isolated`, every response carries the COOP/COEP headers that make the page cross-origin isolated (shared
 * memory, threads).
 */
function startServer(tempDir: string, isolated = false): Promise<{ server: Server; port: number }> {
  const coi = isolated ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' } : {};
  let releaseHold: (() => void) | undefined;
  let resultPosted = false;
  const serveFile = (root: string, rel: string, res: ServerResponse) => {
    const file = normalize(join(root, rel));
    if (!file.startsWith(root) || !existsSync(file)) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store', ...coi });
    res.end(readFileSync(file));
  };
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    if (path === '/__result' && req.method === 'POST') {
      req.resume();
      req.on('end', () => {
        res.writeHead(204).end();
        resultPosted = true;
        releaseHold?.();
      });
    } else if (path === '/__hold') {
      const release = () => res.writeHead(204, coi).end();
      if (resultPosted) release();
      else {
        const timer = setTimeout(release, 30_000); // never hang the page if it fails before posting
        releaseHold = () => {
          clearTimeout(timer);
          release();
        };
      }
    } else if (path.startsWith('/__tmp/')) {
      serveFile(tempDir, path.slice('/__tmp/'.length), res);
    } else {
      serveFile(REPO_ROOT, path.slice(1), res);
    }
  };
  return new Promise((ok) => {
    const server = createServer(handle);
    server.listen(0, '127.0.0.1', () => ok({ server, port: (server.address() as AddressInfo).port }));
  });
}

function dumpDom(url: string, profileDir: string): Promise<string> {
  const args = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    `--user-data-dir=${profileDir}`,
    '--dump-dom',
    url,
  ];
  return new Promise((ok, fail) => {
    const child = spawn(CHROMIUM, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (out.includes('TINFER_RESULT:') || code === 0) ok(out);
      else fail(new Error(`chromium exited ${code}: ${err.slice(-2000)}`));
    });
  });
}

function parseResult(dom: string): PageResult | undefined {
  const m = /<pre id="result">TINFER_RESULT:(.*?)<\/pre>/s.exec(dom);
  if (!m) return undefined;
  const json = m[1]!.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  return JSON.parse(json) as PageResult;
}

describe.skipIf(!hasChromium || !hasDist)('browser (headless Chromium, built ESM bundle)', () => {
  let tempDir: string;
  let server: Server;
  let port: number;

  beforeAll(async () => {
    tempDir = mkdtempSync(join(tmpdir(), 'tinfer-browser-'));
    writeFileSync(join(tempDir, 'model.onnx'), buildModel());
    writeFileSync(join(tempDir, 'input.json'), JSON.stringify({ x: { type: 'float32', dims: [1, 1, 6, 6], data: X } }));
    ({ server, port } = await startServer(resolve(tempDir)));
  });

  afterAll(() => {
    server?.close();
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  });

  it('loads dist/index.js, fetches a model and matches the naive reference', async () => {
    const url = `http://127.0.0.1:${port}/test/browser/index.html?model=/__tmp/model.onnx&input=/__tmp/input.json`;
    const result = await pageResult(url);
    expect(result, 'the page never wrote TINFER_RESULT').toBeDefined();
    expect(result!.error).toBeUndefined();
    expect(result!.ok).toBe(true);
    expect(result!.userAgent).toMatch(/Chrom/);
    const y = result!.outputs!.y!;
    expect(y.type).toBe('float32');
    expect(y.dims).toEqual([1, 4]);
    const expected = reference();
    for (let i = 0; i < 4; i++) expect(Math.abs(y.data[i]! - expected[i]!)).toBeLessThan(1e-5);
  });
});

/** y = x [64, 256] · W [256, 192]: 3 M multiply-adds, enough for the GEMM to split over two threads. */
function threadsModel(): Uint8Array {
  const b = new ModelBuilder({ opset: 13 });
  const x = b.input('x', 'float32', [64, 256]);
  const w = b.initializer('w', f32([256, 192], values(256 * 192, 7)));
  const [y] = b.node('MatMul', [x, w], {}, { outputs: ['y'] });
  b.output(y!, { dtype: 'float32', shape: [64, 192] });
  return b.toBytes();
}

/** Opens the page until it has written its result marker (the first Chromium start can be slow), at most 3 times. */
async function pageResult(url: string): Promise<PageResult | undefined> {
  let result: PageResult | undefined;
  for (let attempt = 0; attempt < 3 && !result; attempt++) {
    const profile = mkdtempSync(join(tmpdir(), 'tinfer-chromium-'));
    try {
      result = parseResult(await dumpDom(url, profile));
    } finally {
      rmSync(profile, { recursive: true, force: true });
    }
  }
  return result;
}

describe.skipIf(!hasChromium || !hasDist)('browser threads (headless Chromium)', () => {
  let tempDir: string;
  const servers: Server[] = [];
  const X2 = values(64 * 256, 9);

  beforeAll(() => {
    tempDir = mkdtempSync(join(tmpdir(), 'tinfer-browser-threads-'));
    writeFileSync(join(tempDir, 'model.onnx'), threadsModel());
    writeFileSync(join(tempDir, 'input.json'), JSON.stringify({ x: { type: 'float32', dims: [64, 256], data: X2 } }));
  });

  afterAll(() => {
    for (const s of servers) s.close();
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  });

  /** The naive product, to check the page's outputs (the engine may use relaxed-SIMD FMA: a tolerance). */
  function expected(): number[] {
    const W = values(256 * 192, 7);
    const out: number[] = [];
    for (let i = 0; i < 64; i++) {
      for (let j = 0; j < 192; j++) {
        let s = 0;
        for (let k = 0; k < 256; k++) s += Math.fround(X2[i * 256 + k]!) * Math.fround(W[k * 192 + j]!);
        out.push(s);
      }
    }
    return out;
  }

  for (const isolated of [true, false]) {
    it(isolated ? 'with COOP/COEP: two threads on shared memory, bit-identical to one' : 'without COOP/COEP: falls back to one thread and says why', async () => {
      const { server, port } = await startServer(resolve(tempDir), isolated);
      servers.push(server);
      const result = await pageResult(`http://127.0.0.1:${port}/test/browser/threads.html?model=/__tmp/model.onnx&input=/__tmp/input.json`);
      expect(result, 'the page never wrote TINFER_RESULT').toBeDefined();
      expect(result!.error).toBeUndefined();
      expect(result!.isolated).toBe(isolated);
      if (isolated) {
        expect(result!.info2).toContain('2 threads');
        expect(result!.byWorkers).toBeGreaterThan(0);
      }
      else expect(result!.info2).toMatch(/1 thread \(SharedArrayBuffer is not available/);
      expect(result!.same).toBe(true);
      const y = result!.outputs!.y!;
      const want = expected();
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(y.data[i]! - want[i]!));
      expect(worst).toBeLessThan(1e-3);
    });
  }
});
