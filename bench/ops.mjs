// Per-kernel micro-benchmarks of the non-GEMM kernels (elementwise, softmax, tensor movement, recurrent)
// at the shapes of the zoo models. Each case is prepared once and run many times; times are medians of
// interleaved rounds, so two builds can be compared in one noisy invocation:
//   node bench/ops.mjs                        # this tree's dist/
//   node bench/ops.mjs /tmp/old-dist dist     # before/after, one column each
//   CASES=Gelu,Softmax node bench/ops.mjs     # only cases whose name contains one of these
//   BACKEND=wasm node bench/ops.mjs           # kernels prepared with a WasmContext, tensors in its memory
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const dists = (process.argv.length > 2 ? process.argv.slice(2) : [new URL('../dist', import.meta.url).pathname]).map((d) => resolve(d));
const filter = process.env.CASES ? process.env.CASES.split(',') : undefined;
const ROUNDS = Number(process.env.ROUNDS ?? 15);
const TARGET_MS = 20; // work per round and case

function random(n, seed, scale = 1) {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 4294967296 - 0.5) * 2 * scale;
  }
  return out;
}
const size = (shape) => shape.reduce((a, b) => a * b, 1);
const f32 = (shape, seed, scale = 3) => ({ dtype: 'float32', shape, data: random(size(shape), seed, scale) });
const i64 = (values) => ({ dtype: 'int64', shape: [values.length], data: BigInt64Array.from(values.map(BigInt)) });

// [name, opType, attrs, inputs, indices of constant inputs, opset]
const CASES = [
  ['Gelu vit [197,384]', 'Gelu', {}, [f32([1, 197, 384], 1)], [], 20],
  ['Erf vit [197,384]', 'Erf', {}, [f32([1, 197, 384], 1)], [], 13],
  ['Relu bert [1,32,512]', 'Relu', {}, [f32([1, 32, 512], 2)], [], 13],
  ['Sigmoid [64,56,56]', 'Sigmoid', {}, [f32([1, 64, 56, 56], 2)], [], 13],
  ['Tanh [64,56,56]', 'Tanh', {}, [f32([1, 64, 56, 56], 2)], [], 13],
  ['Softmax vit [3,197,197]', 'Softmax', {}, [f32([1, 3, 197, 197], 3)], [], 13],
  ['Softmax bert [2,32,32]', 'Softmax', {}, [f32([1, 2, 32, 32], 3)], [], 13],
  ['Softmax vit scaled [3,197,197]', 'Softmax', { 'tinfer.softmax_scale': 0.17677669 }, [f32([1, 3, 197, 197], 3)], [], 13],
  ['LayerNorm vit [197,192]', 'LayerNormalization', { epsilon: 1e-6 }, [f32([1, 197, 192], 3), f32([192], 4), f32([192], 5)], [1, 2], 17],
  ['LayerNorm bert [32,128]', 'LayerNormalization', {}, [f32([1, 32, 128], 3), f32([128], 4), f32([128], 5)], [1, 2], 17],
  ['Add same [197,96]', 'Add', {}, [f32([1, 197, 96], 4), f32([1, 197, 96], 5)], [], 13],
  ['Add bias [197,384]+[384]', 'Add', {}, [f32([1, 197, 384], 4), f32([384], 5)], [1], 13],
  ['Mul scalar [3,197,197]*[]', 'Mul', {}, [f32([1, 3, 197, 197], 4), f32([], 5)], [1], 13],
  ['Mul row [1,32,128]*[1,32,1]', 'Mul', {}, [f32([1, 32, 128], 4), f32([1, 32, 1], 5)], [], 13],
  ['Div tiny [1,32,1]', 'Div', {}, [f32([1, 32, 1], 4), f32([1, 32, 1], 5)], [], 13],
  ['Pow bert [1,32,128]^2', 'Pow', {}, [f32([1, 32, 128], 4), { dtype: 'float32', shape: [], data: Float32Array.of(2) }], [1], 13],
  ['Transpose vit [197,3,3,32]', 'Transpose', { perm: [2, 0, 3, 1, 4] }, [f32([1, 197, 3, 3, 32], 6)], [], 13],
  ['Transpose vit heads [197,3,32] 0,2,1,3', 'Transpose', { perm: [0, 2, 1, 3] }, [f32([1, 197, 3, 32], 6)], [], 13],
  ['Transpose vit kT [3,197,32] 0,1,3,2', 'Transpose', { perm: [0, 1, 3, 2] }, [f32([1, 3, 197, 32], 6)], [], 13],
  ['Transpose vit patches [96,196] 0,2,1', 'Transpose', { perm: [0, 2, 1] }, [f32([1, 96, 196], 6)], [], 13],
  ['Transpose bert heads [32,4,32] 1,0,2', 'Transpose', { perm: [1, 0, 2] }, [f32([32, 4, 32], 6)], [], 13],
  ['Transpose bert kT [32,4,32] 1,2,0', 'Transpose', { perm: [1, 2, 0] }, [f32([32, 4, 32], 6)], [], 13],
  ['Transpose shuffle [2,58,28,28]', 'Transpose', { perm: [0, 2, 1, 3, 4] }, [f32([1, 2, 58, 28, 28], 6)], [], 13],
  ['Slice shuffle [1,116,28,28] half', 'Slice', {}, [f32([1, 116, 28, 28], 7), i64([58]), i64([116]), i64([1])], [1, 2, 3], 13],
  ['Slice tiny [1,32] ', 'Slice', {}, [f32([1, 64], 7), i64([0]), i64([32]), i64([1])], [1, 2, 3], 13],
  ['Concat shuffle 2x[1,58,28,28]', 'Concat', { axis: 1 }, [f32([1, 58, 28, 28], 8), f32([1, 58, 28, 28], 9)], [], 13],
  ['Split shuffle [1,116,28,28]', 'Split', { axis: 1 }, [f32([1, 116, 28, 28], 8), i64([58, 58])], [1], 13, 2],
  ['Gather bert emb [1,32]', 'Gather', {}, [f32([1000, 128], 8), { dtype: 'int64', shape: [1, 32], data: BigInt64Array.from({ length: 32 }, (_, i) => BigInt(i * 7)) }], [0], 13],
  ['Gemm classifier [1,1280]x[1000,1280]T', 'Gemm', { transB: 1 }, [f32([1, 1280], 3), f32([1000, 1280], 4, 0.1), f32([1000], 5)], [1, 2], 13],
  ['MaxPool squeeze 3x3s2 ceil [64,111,111]', 'MaxPool', { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 }, [f32([1, 64, 111, 111], 9)], [], 13],
  ['MaxPool shuffle 3x3s2 pad1 [24,112,112]', 'MaxPool', { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }, [f32([1, 24, 112, 112], 9)], [], 13],
  ['LSTM T=25 I=40 H=64', 'LSTM', { hidden_size: 64 }, [f32([25, 1, 40], 10, 1), f32([1, 256, 40], 11, 0.2), f32([1, 256, 64], 12, 0.2), f32([1, 512], 13, 0.2)], [1, 2, 3], 13, 3],
  ['LSTM silero T=1 I=H=128', 'LSTM', { hidden_size: 128 }, [f32([1, 1, 128], 10, 1), f32([1, 512, 128], 11, 0.2), f32([1, 512, 128], 12, 0.2), f32([1, 1024], 13, 0.2), f32([1, 1, 128], 14, 1), f32([1, 1, 128], 15, 1)].slice(0, 4), [1, 2, 3], 13, 3],
  ['LSTM silero, weights not constant', 'LSTM', { hidden_size: 128 }, [f32([1, 1, 128], 10, 1), f32([1, 512, 128], 11, 0.2), f32([1, 512, 128], 12, 0.2), f32([1, 1024], 13, 0.2)], [], 13, 3],
  ['GRU T=25 I=40 H=64', 'GRU', { hidden_size: 64, linear_before_reset: 1 }, [f32([25, 1, 40], 10, 1), f32([1, 192, 40], 11, 0.2), f32([1, 192, 64], 12, 0.2), f32([1, 384], 13, 0.2)], [1, 2, 3], 13, 2],
];

function toAttribute(v) {
  if (typeof v === 'number') return Number.isInteger(v) ? { type: 'int', value: v } : { type: 'float', value: v };
  if (typeof v === 'string') return { type: 'string', value: v };
  return { type: 'ints', value: v };
}

async function loadDist(dir) {
  const url = (p) => pathToFileURL(`${dir}/${p}`).href;
  const { defaultRegistry } = await import(url('kernels/registry.js'));
  const { allocData } = await import(url('dtype.js'));
  let wasm;
  if (process.env.BACKEND === 'wasm') {
    const { WasmContext } = await import(url('wasm/context.js'));
    wasm = WasmContext.create();
    wasm?.warmUp();
  }
  return { dir, defaultRegistry, allocData, wasm };
}

/** Prepares one case with one build; returns a function that runs it `reps` times. */
function prepareCase(build, [name, opType, attrs, inputs, constant, opset, nOut = 1]) {
  const node = {
    name,
    opType,
    domain: '',
    inputs: inputs.map((_, i) => `in${i}`),
    outputs: Array.from({ length: nOut }, (_, i) => `out${i}`),
    attributes: new Map(Object.entries(attrs).map(([k, v]) => [k, toAttribute(v)])),
  };
  const kernel = build.defaultRegistry.get(node);
  const prepared = kernel.prepare({
    node,
    opset,
    inputs: inputs.map((t) => ({ dtype: t.dtype, shape: [...t.shape] })),
    constants: inputs.map((t, i) => (constant.includes(i) ? t : undefined)),
    options: build.wasm ? { wasm: build.wasm } : {},
  });
  // With wasm, float32 runtime tensors live in its memory, as a session's arena does (allocated first: an
  // allocation may grow the memory and detach earlier views).
  const place = (dtype, n) => (build.wasm && dtype === 'float32' ? build.wasm.alloc(Math.max(1, n) * 4) : undefined);
  const outAt = prepared.outputs.map((o) => place(o.dtype, size(o.shape)));
  const scratchAt = (prepared.scratch ?? []).map((s) => place(s.dtype, s.length));
  const inAt = inputs.map((t, i) => (constant.includes(i) ? undefined : place(t.dtype, t.data.length)));
  const view = (at, dtype, n) => (at === undefined ? build.allocData(dtype, n) : build.wasm.f32(at, n));
  const outs = prepared.outputs.map((o, i) => view(outAt[i], o.dtype, size(o.shape)));
  const scratch = (prepared.scratch ?? []).map((s, i) => view(scratchAt[i], s.dtype, s.length));
  const datas = inputs.map((t, i) => {
    if (inAt[i] === undefined) return t.data;
    const v = build.wasm.f32(inAt[i], t.data.length);
    v.set(t.data);
    return v;
  });
  return (reps) => {
    for (let r = 0; r < reps; r++) prepared.run(datas, outs, scratch);
  };
}

const builds = [];
for (const d of dists) builds.push(await loadDist(d));
const cases = CASES.filter((c) => !filter || filter.some((f) => c[0].includes(f)));
const header = ['case', ...builds.map((b) => `${b.dir.split('/').slice(-2).join('/')} µs`)];
const rows = [];
for (const c of cases) {
  const runs = builds.map((b) => prepareCase(b, c));
  // Calibrate repetitions on the first build so a round is ~TARGET_MS.
  runs.forEach((r) => r(3));
  let t = performance.now();
  runs[0](3);
  const per = Math.max((performance.now() - t) / 3, 1e-3);
  const reps = Math.max(1, Math.round(TARGET_MS / per));
  const samples = runs.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    runs.forEach((run, i) => {
      t = performance.now();
      run(reps);
      samples[i].push(((performance.now() - t) * 1000) / reps);
    });
  }
  const medians = samples.map((s) => s.sort((a, b) => a - b)[s.length >> 1]);
  rows.push([c[0], ...medians.map((m) => m.toFixed(1))]);
  console.error(rows.at(-1).join('  '));
}
console.log(`| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|`);
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
