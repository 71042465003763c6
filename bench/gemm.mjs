// GEMM micro-benchmark: median GFLOP/s of every packed tile and every sgemm tile on the shapes that matter.
// Run: npm run build && node bench/gemm.mjs [--quick] [--only packed|sgemm|blocking]
// Tiles the runtime does not ship are compiled from the generator's template (same code, built on demand).
import {
  PACKED_MICROKERNELS, STRIDED_MICROKERNELS, gemmPackedA, gemmPackedB, packA, packB, packedGemmScratchLength,
  sgemmWithTiles, stridedTileSet, GEMM_TILE, SGEMM_KC, SGEMM_TILE,
} from '../dist/kernels/gemm/index.js';
import {
  PACKED_TILES, STRIDED_MAIN_TILES, compilePackedMicrokernel, compileStridedMicrokernel,
} from '../src/kernels/gemm/generate-microkernels.mjs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const ROUNDS = quick ? 3 : 5;

function median(xs) {
  const s = [...xs].sort((x, y) => x - y);
  return s[s.length >> 1];
}

/** [name, M, N, K, weights side]: 'A' = conv-like (weights on the left), 'B' = Gemm-like. */
const SHAPES = [
  ['512^3', 512, 512, 512, 'B'],
  ['1024x1024x256', 1024, 1024, 256, 'B'],
  ['conv M64 N3136 K576', 64, 3136, 576, 'A'],
  ['conv M256 N196 K2304', 256, 196, 2304, 'A'],
];

function random(n) {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() * 2 - 1;
  return a;
}

/**
 * GFLOP/s of `fn` over one timed batch of ~0.2 GFLOP after a warm-up batch (the parent takes medians).
 * Timed in process CPU time, not wall time: the machine is shared, and CPU time does not count the slices
 * other processes take from us (cache interference still shows, hence the medians).
 */
function measure(flops, fn) {
  const inner = Math.max(1, Math.round(2e8 / flops));
  for (let i = 0; i < inner; i++) fn();
  const t0 = process.cpuUsage();
  for (let i = 0; i < inner; i++) fn();
  const t = process.cpuUsage(t0);
  return (flops * inner) / ((t.user + t.system) / 1e6) / 1e9;
}

/** A shipped tile by name, or any other tile of the template compiled on demand. */
function packedTile(name) {
  if (PACKED_MICROKERNELS[name]) return name;
  const [m, n] = name.split('x').map(Number);
  return compilePackedMicrokernel(m, n);
}

function stridedTiles(name) {
  if (STRIDED_MICROKERNELS[name]) return stridedTileSet(name);
  const [m, n] = name.split('x').map(Number);
  const set = [[m, n], [1, n], [m, 1], [1, 1]].map(([r, c]) => [`${r}x${c}`, compileStridedMicrokernel(r, c)]);
  return stridedTileSet(name, Object.fromEntries(set));
}

function benchPacked(name, kc, block) {
  const tile = packedTile(name);
  const row = {};
  for (const [name, M, N, K, side] of SHAPES) {
    const A = random(M * K);
    const B = random(K * N);
    const C = new Float32Array(M * N);
    const act = { kind: 'none' };
    let fn;
    if (side === 'B') {
      const pb = packB(B, 0, N, false, K, N, 1, undefined, { tile, kc, block });
      const scratch = new Float32Array(packedGemmScratchLength(pb, M));
      fn = () => gemmPackedB(M, A, 0, K, false, pb, C, 0, N, act, scratch);
    } else {
      const pa = packA(A, 0, K, false, M, K, 1, undefined, { tile, kc, block });
      const scratch = new Float32Array(packedGemmScratchLength(pa, N));
      fn = () => gemmPackedA(pa, N, B, 0, N, false, C, 0, N, act, scratch);
    }
    row[name] = measure(2 * M * N * K, fn);
  }
  return row;
}

function benchStrided(tile, kc) {
  const tiles = stridedTiles(tile);
  const row = {};
  for (const [name, M, N, K] of SHAPES) {
    const A = random(M * K);
    const B = random(K * N);
    const C = new Float32Array(M * N);
    row[name] = measure(2 * M * N * K, () => sgemmWithTiles(tiles, kc, false, false, M, N, K, 1, A, 0, K, B, 0, N, 0, C, 0, N));
  }
  return row;
}

function print(title, rows) {
  const names = SHAPES.map((s) => s[0]);
  console.log(`\n${title} (median GFLOP/s of CPU time over ${ROUNDS} interleaved rounds)`);
  console.log(`| variant | ${names.join(' | ')} |`);
  console.log(`|---|${names.map(() => '---:').join('|')}|`);
  for (const [variant, row] of rows) console.log(`| ${variant} | ${names.map((n) => row[n].toFixed(2)).join(' | ')} |`);
}

/** Variants: [label, kind, tile, kc, block]; each is timed in its own process so call sites stay monomorphic. */
function variants() {
  const list = [];
  if (!only || only === 'packed') {
    for (const [m, n] of PACKED_TILES) list.push(['Packed GEMM, default blocking', `packed ${m}x${n}`, 'packed', `${m}x${n}`]);
  }
  if (!only || only === 'sgemm') {
    for (const [m, n] of STRIDED_MAIN_TILES) list.push(['sgemm (unpacked, strided)', `sgemm ${m}x${n}`, 'sgemm', `${m}x${n}`, SGEMM_KC]);
  }
  if (!only || only === 'blocking') {
    for (const kc of [64, 128, 256, 512, 4096]) list.push(['Packed blocking', `packed ${GEMM_TILE}, kc ${kc}`, 'packed', GEMM_TILE, kc]);
    for (const block of [32, 128, 512, 2048]) list.push(['Packed blocking', `packed ${GEMM_TILE}, mc/nc ${block}`, 'packed', GEMM_TILE, undefined, block]);
    for (const kc of [128, 256, 1024, 4096]) list.push(['sgemm blocking', `sgemm ${SGEMM_TILE}, kc ${kc}`, 'sgemm', SGEMM_TILE, kc]);
  }
  return list;
}

const childIndex = args.indexOf('--child');
if (childIndex >= 0) {
  const [kind, tile, kc, block] = JSON.parse(args[childIndex + 1]);
  const row = kind === 'packed' ? benchPacked(tile, kc ?? undefined, block ?? undefined) : benchStrided(tile, kc);
  process.stdout.write(JSON.stringify(row));
} else {
  // Round-robin: every round times every variant once (in a fresh process), so load spikes on this shared
  // machine hit all variants alike; the table reports the median over rounds.
  const list = variants();
  const results = list.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    list.forEach(([, label, ...spec], v) => {
      const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', JSON.stringify(spec)], { encoding: 'utf8' });
      results[v].push(JSON.parse(out));
    });
    process.stderr.write(`round ${round + 1}/${ROUNDS} done\n`);
  }
  const tables = new Map();
  list.forEach(([title, label], v) => {
    const row = {};
    for (const [name] of SHAPES) row[name] = median(results[v].map((r) => r[name]));
    if (!tables.has(title)) tables.set(title, []);
    tables.get(title).push([label, row]);
  });
  for (const [title, rows] of tables) print(title, rows);
}
