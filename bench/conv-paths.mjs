// Which convolution path each Conv of a model takes, with its shape and its time over three profiled runs,
// then the CPU-time median of ten whole-model runs (steadier than wall time on a shared machine).
// Run after `npm run build`: node bench/conv-paths.mjs ../shared/models/resnet18/model.onnx [...more models]
import { readFileSync } from 'node:fs';
import { InferenceSession, Tensor, KernelRegistry, defaultRegistry } from '../dist/index.js';
import { convPathOf } from '../dist/kernels/conv/conv.js';

for (const file of process.argv.slice(2)) {
  const chosen = new Map();
  // The default kernels, with Conv's prepare wrapped to record the path it picks for each node.
  const registry = new KernelRegistry(defaultRegistry.list().map((k) => (k.opType !== 'Conv' || (k.domain ?? '') !== '' ? k : {
    ...k,
    prepare(ctx) {
      const x = ctx.inputs[0];
      const w = ctx.inputs[1];
      chosen.set(ctx.node.name || ctx.node.outputs[0], { path: convPathOf(ctx), x: x?.shape, w: w?.shape, fused: ctx.node.attributes.get('tinfer.activation')?.value ?? '' });
      return k.prepare(ctx);
    },
  })));
  const bytes = readFileSync(file);
  // A first session warms the JIT up, so the profiled one times compiled code.
  const warm = InferenceSession.createSync(bytes, {});
  const session = InferenceSession.createSync(bytes, { profile: true }, registry);
  const feeds = {};
  for (const input of session.inputMetadata) {
    const dims = (input.dims ?? []).map((d) => (typeof d === 'number' ? d : 1));
    const n = dims.reduce((a, d) => a * d, 1);
    feeds[input.name] = new Tensor('float32', Float32Array.from({ length: n }, (_, i) => Math.sin(i)), dims);
  }
  for (let i = 0; i < 3; i++) warm.runSync(feeds);
  for (let i = 0; i < 3; i++) session.runSync(feeds);
  const times = new Map(session.profile().map((p) => [p.node, p.totalMs / p.calls]));
  console.log(`\n${file}`);
  console.log('| conv | X | W | path | fused | ms/run |\n|---|---|---|---|---|---:|');
  const counts = {};
  for (const [name, c] of chosen) {
    counts[c.path] = (counts[c.path] ?? 0) + 1;
    console.log(`| ${name} | ${c.x?.join('x')} | ${c.w?.join('x')} | ${c.path} | ${c.fused} | ${(times.get(name) ?? NaN).toFixed(2)} |`);
  }
  console.log(`paths: ${JSON.stringify(counts)}`);
  const byOp = {};
  for (const p of session.profile()) byOp[p.opType] = (byOp[p.opType] ?? 0) + p.totalMs / p.calls;
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const runs = [];
  for (let i = 0; i < 10; i++) {
    const t0 = cpu();
    warm.runSync(feeds);
    runs.push(cpu() - t0);
  }
  runs.sort((a, b) => a - b);
  console.log(`whole model: CPU-time median ${runs[5].toFixed(1)} ms, min ${runs[0].toFixed(1)} ms (10 runs)`);
  console.log(`ms per op type: ${Object.entries(byOp).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}`);
}
