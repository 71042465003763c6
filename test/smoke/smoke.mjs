#!/usr/bin/env node
// Smoke suite for the BUILT package: plain ESM JavaScript, no dev dependencies, so it runs on a bare Node 18
// (x64, and arm64 / armv7 under qemu; see .ci/smoke.sh). Builds a few tiny models in code, runs them through
// InferenceSession, and compares with naive references written here. When ../shared/models exists it also runs
// the CLI's `test` command on the mnist_cnn and lstm_seq zoo models.
//   node test/smoke/smoke.mjs            (after npm run build)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InferenceSession, Tensor, env } from '../../dist/index.js';
import { GraphBuilder, encode, randomValues, rng } from '../../examples/lib/model-builder.mjs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SHARED = process.env.TINFER_SHARED ?? resolve(REPO, '../shared');
const results = [];

async function check(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    results.push(true);
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    results.push(false);
    console.log(`FAIL ${name}: ${e && e.stack ? e.stack : e}`);
  }
}

function assertClose(name, actual, expected, atol, rtol = 0) {
  if (actual.length !== expected.length) throw new Error(`${name}: length ${actual.length}, expected ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    const a = Number(actual[i]);
    const e = Number(expected[i]);
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) throw new Error(`${name}[${i}] = ${a}, expected ${e} (atol ${atol}, rtol ${rtol})`);
  }
}

function assertDims(name, dims, expected) {
  if (dims.join(',') !== expected.join(',')) throw new Error(`${name}: dims [${dims}], expected [${expected}]`);
}

// ---- naive references ----

const sigmoid = (x) => 1 / (1 + Math.exp(-x));

/** NCHW conv, one group, symmetric padding, stride 1: out[n][m][y][x] = b[m] + sum_c,ky,kx in*w. */
function convRef(x, [N, C, H, W], w, [M, , KH, KW], b, pad) {
  const OH = H + 2 * pad - KH + 1;
  const OW = W + 2 * pad - KW + 1;
  const out = new Float64Array(N * M * OH * OW);
  for (let n = 0; n < N; n++)
    for (let m = 0; m < M; m++)
      for (let oy = 0; oy < OH; oy++)
        for (let ox = 0; ox < OW; ox++) {
          let s = b ? b[m] : 0;
          for (let c = 0; c < C; c++)
            for (let ky = 0; ky < KH; ky++)
              for (let kx = 0; kx < KW; kx++) {
                const iy = oy + ky - pad;
                const ix = ox + kx - pad;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                s += x[((n * C + c) * H + iy) * W + ix] * w[((m * C + c) * KH + ky) * KW + kx];
              }
          out[((n * M + m) * OH + oy) * OW + ox] = s;
        }
  return { data: out, dims: [N, M, OH, OW] };
}

function maxPool2x2(x, [N, C, H, W]) {
  const OH = H >> 1;
  const OW = W >> 1;
  const out = new Float64Array(N * C * OH * OW);
  for (let nc = 0; nc < N * C; nc++)
    for (let oy = 0; oy < OH; oy++)
      for (let ox = 0; ox < OW; ox++) {
        let m = -Infinity;
        for (let dy = 0; dy < 2; dy++) for (let dx = 0; dx < 2; dx++) m = Math.max(m, x[(nc * H + 2 * oy + dy) * W + 2 * ox + dx]);
        out[(nc * OH + oy) * OW + ox] = m;
      }
  return { data: out, dims: [N, C, OH, OW] };
}

function softmax(v) {
  const m = Math.max(...v);
  const e = v.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

/** Round half to even, as QuantizeLinear / QLinearConv specify. */
function roundHalfEven(x) {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));

// ---- models ----

async function convNet() {
  const r = rng(1);
  const g = new GraphBuilder('convnet');
  g.input('x', 'float32', [1, 1, 8, 8]);
  const wc = randomValues(r, 4 * 9, 0.5);
  const bc = randomValues(r, 4, 0.1);
  const wg = randomValues(r, 10 * 64, 0.2);
  const bg = randomValues(r, 10, 0.1);
  g.initializer('wc', 'float32', [4, 1, 3, 3], wc);
  g.initializer('bc', 'float32', [4], bc);
  g.initializer('wg', 'float32', [10, 64], wg);
  g.initializer('bg', 'float32', [10], bg);
  g.node('Conv', ['x', 'wc', 'bc'], ['c'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
  g.node('Relu', ['c'], ['r']);
  g.node('MaxPool', ['r'], ['p'], { kernel_shape: [2, 2], strides: [2, 2] });
  g.node('Flatten', ['p'], ['f'], { axis: 1 });
  g.node('Gemm', ['f', 'wg', 'bg'], ['logits'], { transB: 1 });
  g.node('Softmax', ['logits'], ['y'], { axis: 1 });
  g.output('y', 'float32', [1, 10]);
  const session = await InferenceSession.create(encode(g));

  const x = Float32Array.from(randomValues(r, 64));
  const out = (await session.run({ x: new Tensor('float32', x, [1, 1, 8, 8]) })).y;

  const conv = convRef(x, [1, 1, 8, 8], Float32Array.from(wc), [4, 1, 3, 3], Float32Array.from(bc), 1);
  const pooled = maxPool2x2(conv.data.map((v) => Math.max(0, v)), conv.dims);
  const fw = Float32Array.from(wg);
  const logits = Array.from({ length: 10 }, (_, j) => {
    let s = Math.fround(bg[j]);
    for (let k = 0; k < 64; k++) s += pooled.data[k] * fw[j * 64 + k];
    return s;
  });
  assertDims('y', out.dims, [1, 10]);
  assertClose('y', out.data, softmax(logits), 1e-5, 1e-4);
}

async function lstm() {
  const r = rng(2);
  const T = 5, I = 3, H = 4;
  const W = randomValues(r, 4 * H * I, 0.5);
  const R = randomValues(r, 4 * H * H, 0.5);
  const B = randomValues(r, 8 * H, 0.2);
  const g = new GraphBuilder('lstm');
  g.input('X', 'float32', [T, 1, I]);
  g.initializer('W', 'float32', [1, 4 * H, I], W);
  g.initializer('R', 'float32', [1, 4 * H, H], R);
  g.initializer('B', 'float32', [1, 8 * H], B);
  g.node('LSTM', ['X', 'W', 'R', 'B'], ['Y', 'Y_h'], { hidden_size: H });
  g.output('Y', 'float32', [T, 1, 1, H]);
  g.output('Y_h', 'float32', [1, 1, H]);
  const session = await InferenceSession.create(encode(g));
  const X = Float32Array.from(randomValues(r, T * I));
  const out = session.runSync({ X: new Tensor('float32', X, [T, 1, I]) });

  // ONNX LSTM, gate order i, o, f, c (Operators.md): it = σ(Xt·Wiᵀ + Ht-1·Riᵀ + Wbi + Rbi), ...,
  // Ct = ft⊙Ct-1 + it⊙tanh(c̃t), Ht = ot⊙tanh(Ct).
  const w = Float32Array.from(W), rr = Float32Array.from(R), b = Float32Array.from(B);
  let h = new Array(H).fill(0);
  let c = new Array(H).fill(0);
  const ys = [];
  for (let t = 0; t < T; t++) {
    const pre = Array.from({ length: 4 * H }, (_, row) => {
      let s = b[row] + b[4 * H + row];
      for (let k = 0; k < I; k++) s += X[t * I + k] * w[row * I + k];
      for (let k = 0; k < H; k++) s += h[k] * rr[row * H + k];
      return s;
    });
    const gate = (g, j) => pre[g * H + j];
    c = c.map((cj, j) => sigmoid(gate(2, j)) * cj + sigmoid(gate(0, j)) * Math.tanh(gate(3, j)));
    h = c.map((cj, j) => sigmoid(gate(1, j)) * Math.tanh(cj));
    ys.push(...h);
  }
  assertDims('Y', out.Y.dims, [T, 1, 1, H]);
  assertClose('Y', out.Y.data, ys, 1e-5, 1e-4);
  assertClose('Y_h', out.Y_h.data, h, 1e-5, 1e-4);
}

async function qdq() {
  const r = rng(3);
  const C = 2, M = 3, S = 6;
  const xScale = 0.02, xZp = 128, wScale = 0.01, yScale = 0.05, yZp = 100;
  const wq = Array.from({ length: M * C * 9 }, () => Math.floor(r() * 255) - 127);
  const bias = Array.from({ length: M }, () => Math.floor(r() * 200) - 100);
  const g = new GraphBuilder('qdq');
  g.input('x', 'float32', [1, C, S, S]);
  g.initializer('xs', 'float32', [], [xScale]);
  g.initializer('xz', 'uint8', [], [xZp]);
  g.initializer('w', 'int8', [M, C, 3, 3], wq);
  g.initializer('ws', 'float32', [], [wScale]);
  g.initializer('wz', 'int8', [], [0]);
  g.initializer('ys', 'float32', [], [yScale]);
  g.initializer('yz', 'uint8', [], [yZp]);
  g.initializer('b', 'int32', [M], bias);
  g.node('QuantizeLinear', ['x', 'xs', 'xz'], ['xq']);
  g.node('QLinearConv', ['xq', 'xs', 'xz', 'w', 'ws', 'wz', 'ys', 'yz', 'b'], ['yq'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
  g.node('DequantizeLinear', ['yq', 'ys', 'yz'], ['y']);
  g.output('yq', 'uint8', [1, M, S, S]);
  g.output('y', 'float32', [1, M, S, S]);
  const session = await InferenceSession.create(encode(g));
  const x = Float32Array.from(randomValues(r, C * S * S, 2.4));
  const out = session.runSync({ x: new Tensor('float32', x, [1, C, S, S]) });

  // QuantizeLinear: q = saturate(round(x / s) + zp); QLinearConv: acc = Σ (xq - xz)(wq - wz) + b,
  // yq = saturate(round(acc · xs·ws/ys) + yz); DequantizeLinear: (yq - yz) · ys.
  const f = Math.fround;
  const xq = Array.from(x, (v) => clamp(roundHalfEven(f(v / f(xScale))) + xZp, 0, 255));
  const acc = convRef(xq.map((v) => v - xZp), [1, C, S, S], wq, [M, C, 3, 3], bias, 1);
  const multiplier = (f(xScale) * f(wScale)) / f(yScale);
  const yq = Array.from(acc.data, (a) => clamp(roundHalfEven(a * multiplier) + yZp, 0, 255));
  assertDims('yq', out.yq.dims, [1, M, S, S]);
  if (out.yq.type !== 'uint8') throw new Error(`yq type ${out.yq.type}`);
  // One quantization step of slack: the runtime may form the requantization scale in float32.
  assertClose('yq', out.yq.data, yq, 1);
  assertClose('y', out.y.data, Array.from(out.yq.data, (q) => (q - yZp) * f(yScale)), 1e-6);
}

async function shapeSubgraph() {
  // Reshape x [N, 3, 4] to [N, 12] with the target shape computed in the graph: Shape -> Gather -> Concat.
  const g = new GraphBuilder('shape');
  g.input('x', 'float32', ['N', 3, 4]);
  g.initializer('i0', 'int64', [1], [0]);
  g.initializer('minus1', 'int64', [1], [-1]);
  g.node('Shape', ['x'], ['s']);
  g.node('Gather', ['s', 'i0'], ['n'], { axis: 0 });
  g.node('Concat', ['n', 'minus1'], ['target'], { axis: 0 });
  g.node('Reshape', ['x', 'target'], ['y']);
  g.output('y', 'float32', ['N', 12]);
  g.output('target', 'int64', [2]);
  const session = await InferenceSession.create(encode(g));
  for (const n of [2, 5]) {
    const x = Float32Array.from({ length: n * 12 }, (_, i) => i * 0.5 - 3);
    const out = session.runSync({ x: new Tensor('float32', x, [n, 3, 4]) });
    assertDims(`y (N=${n})`, out.y.dims, [n, 12]);
    assertClose(`y (N=${n})`, out.y.data, x, 0);
    if (out.target.type !== 'int64') throw new Error(`target type ${out.target.type}`);
    assertClose(`target (N=${n})`, Array.from(out.target.data, Number), [n, -1], 0);
  }
}

async function fourThreads() {
  // Conv 3x3 (Winograd) -> Relu -> Conv 1x1 at 1 and 4 threads: bit-identical, and the naive reference.
  const r = rng(7);
  const [C, M, M2, S] = [8, 16, 24, 24];
  const g = new GraphBuilder('threads');
  g.input('x', 'float32', [1, C, S, S]);
  const w1 = randomValues(r, M * C * 9, 0.3);
  const b1 = randomValues(r, M, 0.1);
  const w2 = randomValues(r, M2 * M, 0.3);
  g.initializer('w1', 'float32', [M, C, 3, 3], w1);
  g.initializer('b1', 'float32', [M], b1);
  g.initializer('w2', 'float32', [M2, M, 1, 1], w2);
  g.node('Conv', ['x', 'w1', 'b1'], ['c'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
  g.node('Relu', ['c'], ['r']);
  g.node('Conv', ['r', 'w2'], ['y'], { kernel_shape: [1, 1] });
  g.output('y', 'float32', [1, M2, S, S]);
  const bytes = encode(g);
  const x = Float32Array.from(randomValues(r, C * S * S, 1));
  const outputs = [];
  for (const threads of [1, 4]) {
    const session = await InferenceSession.create(bytes, { intraOpNumThreads: threads });
    if (threads === 4 && !/4 threads/.test(session.backendInfo)) throw new Error(`4 threads asked, backend: ${session.backendInfo}`);
    outputs.push((await session.run({ x: new Tensor('float32', x, [1, C, S, S]) })).y.data);
    await session.release();
  }
  const bits = (a) => new Uint32Array(a.buffer, a.byteOffset, a.length);
  const [one, four] = outputs.map(bits);
  for (let i = 0; i < one.length; i++) if (one[i] !== four[i]) throw new Error(`4 threads differ from 1 at ${i}: ${outputs[1][i]} vs ${outputs[0][i]}`);
  const c = convRef(x, [1, C, S, S], w1, [M, C, 3, 3], b1, 1);
  const relu = Array.from(c.data, (v) => Math.max(0, v));
  const y = convRef(relu, [1, M, S, S], w2, [M2, M, 1, 1], undefined, 0);
  assertClose('y', outputs[1], y.data, 1e-4, 1e-4);
}

async function commonJs() {
  // require('tinfer') as CommonJS programs write it: on Node 18 (no require(esm)) the facade of dist/cjs, which
  // loads this ES build with import(); on Node 20.19+ / 22.12+ the ES build itself.
  const ort = createRequire(import.meta.url)('../../dist/cjs/index.cjs');
  const facade = ort.ready !== undefined;
  const g = new GraphBuilder('cjs');
  g.input('x', 'float32', ['n', 4]);
  g.initializer('b', 'float32', [4], [1, -1, 2, -2]);
  g.node('Add', ['x', 'b'], ['s']);
  g.node('Relu', ['s'], ['y']);
  g.output('y', 'float32', ['n', 4]);
  const bytes = encode(g);
  ort.env.logLevel = 'error';
  try {
    const session = await ort.InferenceSession.create(bytes);
    const x = new ort.Tensor('float32', Float32Array.of(1, 1, 1, 1), [1, 4]);
    const y = (await session.run({ x })).y;
    if (!(y instanceof ort.Tensor) || !(session instanceof ort.InferenceSession)) throw new Error('outputs or session not instanceof the CommonJS classes');
    const esm = (await InferenceSession.create(bytes)).runSync({ x: new Tensor('float32', Float32Array.of(1, 1, 1, 1), [1, 4]) }).y;
    assertDims('y', y.dims, esm.dims);
    assertClose('y', y.data, esm.data, 0);
    const error = await session.run({ z: x }).then(() => undefined, (e) => e);
    if (!(error instanceof ort.InputError) || error.input !== 'z') throw new Error(`wrong feed name: ${error}`);
    if (env.logLevel !== 'error') throw new Error(`env.logLevel set from CommonJS did not reach the ES build: ${env.logLevel}`);
    await ort.ready;
    if (ort.decodeModel(bytes).graph.nodes.length !== 2) throw new Error('decodeModel after ready');
    await session.release();
  } finally {
    ort.env.logLevel = 'warning';
  }
  console.log(`     require('tinfer') gave ${facade ? 'the CommonJS facade (no require(esm))' : 'the ES build (require(esm))'}`);
}

function cliTest(model) {
  const dir = resolve(SHARED, 'models', model);
  const res = spawnSync(process.execPath, [resolve(REPO, 'dist/cli/main.js'), 'test', dir], { encoding: 'utf8' });
  const text = `${res.stdout ?? ''}${res.stderr ?? ''}`;
  if (res.status !== 0) throw new Error(`tinfer test ${model} exited ${res.status}:\n${text}`);
  if (!/\b1 passed, 0 failed\b/.test(text)) throw new Error(`unexpected output:\n${text}`);
}

console.log(`tinfer smoke: node ${process.version} ${process.platform}/${process.arch}`);
await check('conv net (Conv/Relu/MaxPool/Flatten/Gemm/Softmax)', convNet);
await check('LSTM', lstm);
await check('int8 QDQ (QuantizeLinear/QLinearConv/DequantizeLinear)', qdq);
await check('shape subgraph (Shape/Gather/Concat/Reshape), two batch sizes', shapeSubgraph);
await check('4 intra-op threads (worker threads on shared wasm memory)', fourThreads);
await check("CommonJS: require('tinfer'), run, instanceof, a typed error, env, ready", commonJs);
if (existsSync(resolve(SHARED, 'models'))) {
  await check('cli: tinfer test mnist_cnn', () => cliTest('mnist_cnn'));
  await check('cli: tinfer test lstm_seq', () => cliTest('lstm_seq'));
} else {
  console.log(`skip zoo models: ${resolve(SHARED, 'models')} not found (../shared is absent)`);
}
const failed = results.filter((ok) => !ok).length;
console.log(`${results.length - failed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
