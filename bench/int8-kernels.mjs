// int8 vs fp32 convolution / matmul medians on conv-shaped problems, through the registered kernels
// (prepare once with constant weights, then run), on both backends: 'js' (plain arrays) and 'wasm' (a WasmContext
// in the options, runtime inputs and outputs as views of its memory, as a session's arena places them).
// Run after `npm run build`: node bench/int8-kernels.mjs [iterations]
// CPU-time medians of this single-threaded process (WALL=1 for wall time); GOPS = 2·multiply-adds / time.
import { defaultRegistry } from '../dist/kernels/registry.js';
import { WasmContext } from '../dist/wasm/context.js';
import { medianTime } from './timing.mjs';

const wasm = WasmContext.create();
wasm?.warmUp();

const iterations = Number(process.argv[2] ?? 9);
const median = (fn) => medianTime(fn, iterations, 2);

let seed = 12345;
const rand = () => {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 2 ** 32;
};
const ctors = { float32: Float32Array, uint8: Uint8Array, int8: Int8Array, int32: Int32Array, int64: BigInt64Array };
function tensor(dtype, shape, fill) {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new ctors[dtype](n);
  for (let i = 0; i < n; i++) data[i] = fill(i);
  return { dtype, shape, data };
}
const scalar = (dtype, v) => tensor(dtype, [], () => v);

function attr(v) {
  return Array.isArray(v) ? { type: 'ints', value: v } : { type: 'int', value: v };
}

/** Prepares `opType` with the constants known (the weights) on one backend, returns a run() closure. */
function prepared(opType, domain, inputs, constantIdx, attrs, backend) {
  const node = {
    name: opType, opType, domain, inputs: inputs.map((_, i) => `i${i}`), outputs: ['y'],
    attributes: new Map(Object.entries(attrs).map(([k, v]) => [k, attr(v)])),
  };
  const kernel = defaultRegistry.get(node);
  const ctx = {
    node, opset: domain === '' ? 13 : 1, options: backend === 'wasm' ? { wasm } : {},
    inputs: inputs.map((t) => t && { dtype: t.dtype, shape: t.shape }),
    constants: inputs.map((t, i) => (constantIdx.includes(i) ? t : undefined)),
  };
  const p = kernel.prepare(ctx);
  const size = (shape) => shape.reduce((a, b) => a * b, 1);
  if (backend !== 'wasm') {
    const outs = p.outputs.map((o) => new ctors[o.dtype](size(o.shape)));
    const scratch = (p.scratch ?? []).map((s) => new ctors[s.dtype](s.length));
    const data = inputs.map((t) => t?.data);
    return () => p.run(data, outs, scratch);
  }
  // Runtime tensors in wasm memory: allocate all first (growth detaches views), then make the views.
  const runtime = inputs.map((t, i) => (t !== undefined && !constantIdx.includes(i) ? t : undefined));
  const bytes = (dtype, n) => n * ctors[dtype].BYTES_PER_ELEMENT;
  const inOff = runtime.map((t) => t && wasm.alloc(t.data.byteLength));
  const outOff = p.outputs.map((o) => wasm.alloc(bytes(o.dtype, size(o.shape))));
  const scrOff = (p.scratch ?? []).map((s) => wasm.alloc(bytes(s.dtype, s.length)));
  const view = (dtype, off, n) => new ctors[dtype](wasm.memory.buffer, off, n);
  const data = inputs.map((t, i) => {
    if (runtime[i] === undefined) return t?.data;
    const v = view(t.dtype, inOff[i], t.data.length);
    v.set(t.data);
    return v;
  });
  const outs = p.outputs.map((o, i) => view(o.dtype, outOff[i], size(o.shape)));
  const scratch = (p.scratch ?? []).map((s, i) => view(s.dtype, scrOff[i], s.length));
  return () => p.run(data, outs, scratch);
}

/** One row: ms and GOPS for fp32 and int8 on both backends. */
function measure(label, macs, build) {
  const backends = wasm === undefined ? ['js'] : ['js', 'wasm'];
  const cells = [];
  const ms = {};
  for (const kind of ['fp32', 'int8']) {
    for (const b of backends) {
      const t = median(build(kind, b));
      ms[`${kind}/${b}`] = t;
      cells.push(`${kind}/${b} ${t.toFixed(2).padStart(7)} ms ${((2 * macs) / t / 1e6).toFixed(1).padStart(5)} GOPS`);
    }
  }
  const best = (kind) => Math.min(...backends.map((b) => ms[`${kind}/${b}`]));
  console.log(`${label.padEnd(30)} ${cells.join('  ')}  int8/fp32 ${(best('int8') / best('fp32')).toFixed(2)}`);
}

function convCase(label, C, M, H, W, k, stride, group = 1) {
  const pad = k >> 1;
  const attrs = { kernel_shape: [k, k], pads: [pad, pad, pad, pad], strides: [stride, stride], group };
  const wShape = [M, C / group, k, k];
  const xf = tensor('float32', [1, C, H, W], () => rand() * 2 - 1);
  const wf = tensor('float32', wShape, () => rand() * 2 - 1);
  const bf = tensor('float32', [M], () => rand() - 0.5);
  const xq = tensor('uint8', [1, C, H, W], () => (rand() * 256) | 0);
  const wq = tensor('int8', wShape, () => ((rand() * 255) | 0) - 127);
  const ws = tensor('float32', [M], () => 0.002 + rand() * 0.002);
  const bq = tensor('int32', [M], () => ((rand() * 2000) | 0) - 1000);
  const qInputs = [xq, scalar('float32', 0.02), scalar('uint8', 128), wq, ws, tensor('int8', [M], () => 0), scalar('float32', 0.05), scalar('uint8', 100), bq];
  const OH = Math.floor((H + 2 * pad - k) / stride) + 1;
  const OW = Math.floor((W + 2 * pad - k) / stride) + 1;
  measure(label, M * (C / group) * k * k * OH * OW, (kind, b) => kind === 'fp32'
    ? prepared('Conv', '', [xf, wf, bf], [1, 2], attrs, b)
    : prepared('QLinearConv', '', qInputs, [1, 2, 3, 4, 5, 6, 7, 8], attrs, b));
}

function matmulCase(label, M, K, N) {
  const af = tensor('float32', [M, K], () => rand() * 2 - 1);
  const bf = tensor('float32', [K, N], () => rand() * 2 - 1);
  const aq = tensor('uint8', [M, K], () => (rand() * 256) | 0);
  const bq = tensor('int8', [K, N], () => ((rand() * 255) | 0) - 127);
  const qInputs = [aq, scalar('float32', 0.02), scalar('uint8', 128), bq, scalar('float32', 0.003), scalar('int8', 0), scalar('float32', 0.05), scalar('uint8', 100)];
  measure(label, M * K * N, (kind, b) => kind === 'fp32'
    ? prepared('MatMul', '', [af, bf], [1], {}, b)
    : prepared('QLinearMatMul', '', qInputs, [1, 2, 3, 4, 5, 6, 7], {}, b));
}

convCase('conv 64->64 3x3 56x56', 64, 64, 56, 56, 3, 1);
convCase('conv 256->256 1x1 14x14', 256, 256, 14, 14, 1, 1);
convCase('conv 128->128 3x3 28x28 s2', 128, 128, 28, 28, 3, 2);
convCase('depthwise 144 3x3 56x56', 144, 144, 56, 56, 3, 1, 144);
convCase('depthwise 384 3x3 14x14 s2', 384, 384, 14, 14, 3, 2, 384);
matmulCase('matmul 196x256 · 256x256', 196, 256, 256);
matmulCase('matmul 1x512 · 512x1000', 1, 512, 1000);
