/**
 * Runs the examples (examples/classify, examples/vad, examples/browser) the way the README says, against the BUILT
 * package, and checks their output against independent expectations: a naive forward pass of the built-in CNN, the
 * known positions of the tone bursts in the generated WAV, hand-checkable decoder/resize values.
 * Skips with a message when dist/ is missing (CI builds first).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeModel } from '../src/loader/index.js';
import { REPO_ROOT } from './shared.js';

const hasDist = existsSync(join(REPO_ROOT, 'dist/index.js'));
if (!hasDist) console.warn('[skip] examples: dist/index.js not found (run npm run build first)');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

function runExample(script: string, args: string[]): string {
  const res = spawnSync(process.execPath, [join(REPO_ROOT, script), ...args], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`${script} exited ${res.status}:\n${res.stdout}\n${res.stderr}`);
  return res.stdout;
}

function parseTop5(stdout: string): { index: number; score: number }[] {
  return [...stdout.matchAll(/class\s+(\d+)\s+([0-9.]+)/g)].map((m) => ({ index: Number(m[1]), score: Number(m[2]) }));
}

// ---- naive reference of the built-in CNN (examples/classify/builtin-cnn.mjs) ----

type Weights = Map<string, Float32Array>;

function conv(x: Float32Array, [C, H, W]: number[], w: Float32Array, b: Float32Array, M: number, stride: number, pad: number) {
  const OH = Math.floor((H + 2 * pad - 3) / stride) + 1;
  const OW = Math.floor((W + 2 * pad - 3) / stride) + 1;
  const out = new Float32Array(M * OH * OW);
  for (let m = 0; m < M; m++)
    for (let oy = 0; oy < OH; oy++)
      for (let ox = 0; ox < OW; ox++) {
        let s = b[m]!;
        for (let c = 0; c < C; c++)
          for (let ky = 0; ky < 3; ky++) {
            const iy = oy * stride + ky - pad;
            if (iy < 0 || iy >= H) continue;
            for (let kx = 0; kx < 3; kx++) {
              const ix = ox * stride + kx - pad;
              if (ix >= 0 && ix < W) s += x[(c * H + iy) * W + ix]! * w[((m * C + c) * 3 + ky) * 3 + kx]!;
            }
          }
        out[(m * OH + oy) * OW + ox] = Math.max(0, s); // Relu follows both convs
      }
  return { out, dims: [M, OH, OW] };
}

function builtinCnnReference(ws: Weights, x: Float32Array): number[] {
  const c1 = conv(x, [3, 224, 224], ws.get('w1')!, ws.get('b1')!, 8, 2, 1);
  const [C, H, W] = c1.dims as [number, number, number];
  const pooled = new Float32Array(C * (H / 2) * (W / 2));
  for (let c = 0; c < C; c++)
    for (let y = 0; y < H / 2; y++)
      for (let x2 = 0; x2 < W / 2; x2++) {
        let m = -Infinity;
        for (let dy = 0; dy < 2; dy++) for (let dx = 0; dx < 2; dx++) m = Math.max(m, c1.out[(c * H + 2 * y + dy) * W + 2 * x2 + dx]!);
        pooled[(c * (H / 2) + y) * (W / 2) + x2] = m;
      }
  const c2 = conv(pooled, [C, H / 2, W / 2], ws.get('w2')!, ws.get('b2')!, 16, 2, 1);
  const plane = c2.dims[1]! * c2.dims[2]!;
  const gap = Array.from({ length: 16 }, (_, m) => c2.out.subarray(m * plane, (m + 1) * plane).reduce((s, v) => s + v, 0) / plane);
  const wf = ws.get('wf')!;
  const bf = ws.get('bf')!;
  return Array.from(bf, (bias, j) => gap.reduce((s, v, k) => s + v * wf[j * 16 + k]!, bias));
}

describe.skipIf(!hasDist)('examples', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tinfer-examples-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  describe('classify', () => {
    it('decodes PPM and BMP (padded rows) to the same pixels and resizes bilinearly with half-pixel centres', async () => {
      const img = await import('../examples/classify/image.mjs');
      const enc = await import('../examples/classify/sample-image.mjs');
      const small = enc.sampleImage(5, 3); // 15-byte rows: BMP pads them to 16
      expect(Array.from(img.decodeImage(enc.encodePPM(small)).rgb)).toEqual(Array.from(small.rgb));
      expect(Array.from(img.decodeImage(enc.encodeBMP(small)).rgb)).toEqual(Array.from(small.rgb));
      // A hand-written 2x1 PPM with a comment and maxval 255: pixels (0,0,0) and (255,255,255)... as bytes.
      const ppm = new Uint8Array([...new TextEncoder().encode('P6 # c\n2 1\n255\n'), 0, 10, 20, 200, 210, 220]);
      expect(Array.from(img.decodePPM(ppm).rgb)).toEqual([0, 10, 20, 200, 210, 220]);
      // 2 -> 4 pixels, half-pixel centres: source x = -0.25 (clamped), 0.25, 0.75, 1.25 (clamped).
      const row = img.resizeBilinear({ width: 2, height: 1, rgb: new Uint8Array([0, 0, 0, 255, 255, 255]) }, 4, 1);
      expect(Array.from(row.filter((_: number, i: number) => i % 3 === 0))).toEqual([0, 0.25, 0.75, 1]);
    });

    it('classify.mjs prints the same top-5 for the PPM and BMP sample, matching a naive forward pass', async () => {
      const ppm = join(dir, 'sample.ppm');
      const bmp = join(dir, 'sample.bmp');
      runExample('examples/classify/make-sample.mjs', [ppm]);
      runExample('examples/classify/make-sample.mjs', [bmp]);
      const outPpm = runExample('examples/classify/classify.mjs', [ppm]);
      const outBmp = runExample('examples/classify/classify.mjs', [bmp]);
      expect(outPpm).toMatch(/RANDOM weights/);
      const top = parseTop5(outPpm);
      expect(top).toHaveLength(5);
      expect(parseTop5(outBmp)).toEqual(top);

      const { builtinCnnBytes } = await import('../examples/classify/builtin-cnn.mjs');
      const { decodeImage, preprocess, softmax, topK } = await import('../examples/classify/image.mjs');
      const model = decodeModel(builtinCnnBytes());
      const weights: Weights = new Map([...model.graph.initializers].map(([k, t]) => [k, t.data as Float32Array]));
      const x = preprocess(decodeImage(new Uint8Array(readFileSync(ppm))), 224);
      const expected = topK(softmax(builtinCnnReference(weights, x)), 5) as { index: number; score: number }[];
      expect(top.map((t) => t.index)).toEqual(expected.map((t) => t.index));
      for (let i = 0; i < 5; i++) expect(Math.abs(top[i]!.score - expected[i]!.score)).toBeLessThanOrEqual(5e-5 + 1e-6);
    });
  });

  describe('vad', () => {
    it('reads stereo WAVs with extra chunks (channels averaged)', async () => {
      const { decodeWav } = await import('../examples/vad/wav.mjs');
      const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));
      const u32 = (v: number) => [v & 255, (v >> 8) & 255, (v >> 16) & 255, v >>> 24];
      const u16 = (v: number) => [v & 255, (v >> 8) & 255];
      const fmt = [...u16(1), ...u16(2), ...u32(8000), ...u32(32000), ...u16(4), ...u16(16)];
      const data = [...u16(16384), ...u16(0), ...u16(65536 - 32768), ...u16(65536 - 16384)]; // (0.5, 0), (-1, -0.5)
      const body = [...ascii('WAVE'), ...ascii('LIST'), ...u32(3), 1, 2, 3, 0, ...ascii('fmt '), ...u32(16), ...fmt, ...ascii('data'), ...u32(8), ...data];
      const wav = decodeWav(new Uint8Array([...ascii('RIFF'), ...u32(body.length), ...body]));
      expect(wav.sampleRate).toBe(8000);
      expect(wav.channels).toBe(2);
      expect(Array.from(wav.samples)).toEqual([0.25, -0.75]);
    });

    it('vad.mjs finds the two tone bursts of the generated WAV', async () => {
      const wav = join(dir, 'sample.wav');
      runExample('examples/vad/make-wav.mjs', [wav]);
      const out = runExample('examples/vad/vad.mjs', [wav]);
      const segments = [...out.matchAll(/speech ([0-9.]+)s - ([0-9.]+)s/g)].map((m) => [Number(m[1]), Number(m[2])]);
      const { BURSTS } = await import('../examples/vad/make-wav.mjs');
      expect(segments).toHaveLength(BURSTS.length);
      // Edges within 0.1 s: one 32 ms chunk of detection lag, 30 ms padding, one chunk of LSTM smoothing.
      segments.forEach(([a, b], i) => {
        expect(Math.abs(a! - BURSTS[i][0])).toBeLessThan(0.1);
        expect(Math.abs(b! - BURSTS[i][1])).toBeLessThan(0.1);
      });
    });
  });

  describe('browser', () => {
    it('serve.mjs serves the page, the bundle, the model and the sample; the page classifies like classify.mjs', async () => {
      const child = spawn(process.execPath, [join(REPO_ROOT, 'examples/browser/serve.mjs'), '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
      try {
        const url = await new Promise<string>((ok, fail) => {
          let out = '';
          child.stdout.on('data', (d: Buffer) => {
            out += d.toString();
            const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(out);
            if (m) ok(m[0]);
          });
          child.on('exit', (code) => fail(new Error(`serve.mjs exited ${code}`)));
        });
        for (const path of ['examples/browser/index.html', 'examples/browser/main.js', 'dist/index.js', 'examples/classify/image.mjs', 'model.onnx', 'sample.ppm']) {
          expect((await fetch(url + path)).status, path).toBe(200);
        }
        expect((await fetch(url + 'README.md')).status).toBe(404); // only page assets are served

        if (!existsSync(CHROMIUM)) {
          console.warn(`[skip] browser example page: ${CHROMIUM} not found`);
          return;
        }
        const profile = mkdtempSync(join(tmpdir(), 'tinfer-chromium-'));
        const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
          '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, '--virtual-time-budget=30000', '--dump-dom',
          `${url}examples/browser/index.html?autorun`];
        const dom = await new Promise<string>((ok) => {
          const c = spawn(CHROMIUM, args, { stdio: ['ignore', 'pipe', 'ignore'] });
          let out = '';
          c.stdout.on('data', (d: Buffer) => (out += d.toString()));
          c.on('close', () => ok(out));
        });
        rmSync(profile, { recursive: true, force: true });
        const m = /data-top5="([^"]*)"/.exec(dom);
        expect(m, `page did not classify:\n${dom.slice(0, 2000)}`).not.toBeNull();
        const pageTop = JSON.parse(m![1]!.replace(/&quot;/g, '"')) as { index: number; score: number }[];
        const sample = join(dir, 'browser-sample.ppm');
        writeFileSync(sample, new Uint8Array(await (await fetch(url + 'sample.ppm')).arrayBuffer()));
        const nodeTop = parseTop5(runExample('examples/classify/classify.mjs', [sample]));
        expect(pageTop.map((t) => t.index)).toEqual(nodeTop.map((t) => t.index));
        pageTop.forEach((t, i) => expect(Math.abs(t.score - nodeTop[i]!.score)).toBeLessThanOrEqual(5e-5 + 1e-6));
      } finally {
        child.kill();
      }
    });
  });
});
