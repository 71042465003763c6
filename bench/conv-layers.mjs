// Per-layer effective GFLOP/s of every Conv in a zoo model: time per node (profiled runs, median over rounds)
// against its direct-convolution FLOPs (2·N·M·OH·OW·Cg·KH·KW), with the path prepare picked.
// Run after `npm run build`: node bench/conv-layers.mjs resnet18 [runs=20] [top=30]   (BACKEND=js|wasm|auto)
import { readFileSync, readdirSync } from 'node:fs';
import { InferenceSession, KernelRegistry, defaultRegistry } from '../dist/index.js';
import { decodeTensor } from '../dist/loader/index.js';
import { fromTensorData } from '../dist/session/tensor.js';
import { convPathOf } from '../dist/kernels/conv/conv.js';

const name = process.argv[2] ?? 'resnet18';
const runs = Number(process.argv[3] ?? 20);
const top = Number(process.argv[4] ?? 30);
const dir = new URL(`../../shared/models/${name}/`, import.meta.url).pathname;
const layers = new Map();
const registry = new KernelRegistry(defaultRegistry.list().map((k) => (k.opType !== 'Conv' || (k.domain ?? '') !== '' ? k : {
  ...k,
  prepare(ctx) {
    const prepared = k.prepare(ctx);
    const x = ctx.inputs[0].shape;
    const w = ctx.inputs[1].shape;
    const y = prepared.outputs[0].shape;
    const outPixels = y.slice(2).reduce((a, d) => a * d, 1);
    const flops = 2 * y[0] * y[1] * outPixels * w.slice(1).reduce((a, d) => a * d, 1);
    layers.set(ctx.node.name || ctx.node.outputs[0], { path: convPathOf(ctx), x, w, y, flops, times: [] });
    return prepared;
  },
})));
const s = InferenceSession.createSync(readFileSync(`${dir}/model.onnx`), { profile: true, backend: process.env.BACKEND ?? 'auto' }, registry);
const ds = `${dir}/test_data_set_0`;
const inputs = readdirSync(ds).filter((f) => f.startsWith('input_')).sort().map((f) => decodeTensor(new Uint8Array(readFileSync(`${ds}/${f}`))));
const feeds = Object.fromEntries(s.inputNames.map((n, i) => [n, fromTensorData(inputs[i])]));
for (let i = 0; i < 5; i++) s.runSync(feeds);
const totals = [];
for (let i = 0; i < runs; i++) {
  s.resetProfile();
  const t0 = performance.now();
  s.runSync(feeds);
  totals.push(performance.now() - t0);
  for (const p of s.profile()) layers.get(p.node)?.times.push(p.totalMs);
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
let convMs = 0, convFlops = 0;
const byPath = {};
const rows = [...layers].map(([node, l]) => {
  const ms = median(l.times);
  convMs += ms;
  convFlops += l.flops;
  const bp = (byPath[l.path] ??= { ms: 0, flops: 0, n: 0 });
  bp.ms += ms; bp.flops += l.flops; bp.n++;
  return { node, ...l, ms, gflops: l.flops / ms / 1e6 };
});
console.log(`${name}: whole run median ${median(totals).toFixed(2)} ms; conv ${convMs.toFixed(2)} ms, ${(convFlops / 1e9).toFixed(3)} GFLOP (direct), ${(convFlops / convMs / 1e6).toFixed(1)} GFLOP/s`);
console.log('per path: ' + Object.entries(byPath).map(([k, v]) => `${k} x${v.n} ${v.ms.toFixed(2)} ms ${(v.flops / v.ms / 1e6).toFixed(1)} GFLOP/s`).join('; '));
console.log('| conv | X | W | path | ms | MFLOP | GFLOP/s |\n|---|---|---|---|---:|---:|---:|');
for (const r of rows.sort((a, b) => b.ms - a.ms).slice(0, top)) {
  console.log(`| ${r.node} | ${r.x.join('x')} | ${r.w.join('x')} | ${r.path} | ${r.ms.toFixed(3)} | ${(r.flops / 1e6).toFixed(1)} | ${r.gflops.toFixed(1)} |`);
}
