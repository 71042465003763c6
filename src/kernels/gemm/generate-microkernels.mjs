// Writes microkernels.ts: register-blocked MR×NR GEMM micro-kernels, unrolled into scalar locals so V8
// keeps the accumulators in registers (XNNPACK's one-template-many-tiles idea, in plain JS).
// Run: node src/kernels/gemm/generate-microkernels.mjs   (the output is committed; re-run after editing this file)
//
// Only the tiles the runtime uses are written (GEMM_TILE in packed.ts, SGEMM_TILE in sgemm.ts and its edge
// helpers); the tester and bench/gemm.mjs compile every other tile on demand from the same template with
// compilePackedMicrokernel / compileStridedMicrokernel, so all tiles stay tested without shipping them.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Packed tiles written to microkernels.ts: the one packed.ts uses. */
const SHIPPED_PACKED_TILES = [[4, 4]];
/** Strided tiles written to microkernels.ts: sgemm's 8×4 and its 1×4 / 8×1 / 1×1 edge helpers. */
const SHIPPED_STRIDED_TILES = [[8, 4], [1, 1], [1, 4], [8, 1]];
/** Every tile the tester and the benchmark compare (the shipped ones included). */
export const PACKED_TILES = [[2, 8], [4, 4], [4, 8], [4, 12], [4, 16], [6, 8], [8, 4], [8, 8]];
export const STRIDED_MAIN_TILES = [[2, 4], [4, 4], [4, 8], [2, 8], [6, 4], [8, 4]];

const range = (n) => Array.from({ length: n }, (_, i) => i);

const PACKED_PARAMS = [
  ['kc', 'number'], ['a', 'Float32Array'], ['ai', 'number'], ['b', 'Float32Array'], ['bi', 'number'],
  ['c', 'Float32Array'], ['ci', 'number'], ['ldc', 'number'],
];
const STRIDED_PARAMS = [
  ['kc', 'number'], ['alpha', 'number'], ['a', 'Float32Array'], ['ai', 'number'], ['ars', 'number'], ['acs', 'number'],
  ['b', 'Float32Array'], ['bi', 'number'], ['brs', 'number'], ['bcs', 'number'], ['c', 'Float32Array'], ['ci', 'number'],
  ['ldc', 'number'],
];

/** `p1: T1, p2: T2, ...` wrapped at 118 columns, two-space indented. */
function typedParams(params) {
  const lines = [];
  let line = '  ';
  for (const [p, t] of params) {
    const piece = `${p}: ${t}, `;
    if (line.length + piece.length > 118) {
      lines.push(line.trimEnd());
      line = '  ';
    }
    line += piece;
  }
  lines.push(line.trimEnd());
  return lines.join('\n');
}

function signature(name, params, typed) {
  if (!typed) return `function ${name}(${params.map(([p]) => p).join(', ')})`;
  return `export function ${name}(\n${typedParams(params)}\n): void`;
}

function fmaLines(MR, NR) {
  return range(MR).map((r) => `    ${range(NR).map((j) => `c${r}_${j} += a${r} * b${j};`).join(' ')}`).join('\n');
}

function zeroAccumulators(MR, NR) {
  return range(MR).map((r) => `  let ${range(NR).map((j) => `c${r}_${j} = 0`).join(', ')};`).join('\n');
}

/** Full-tile store: c[row r] (+)= scale·acc. */
function store(MR, NR, op, scaled) {
  const v = (r, j) => (scaled ? `alpha * c${r}_${j}` : `c${r}_${j}`);
  return range(MR)
    .map((r) => `  ${r ? 'ci += ldc;' : ''}${r ? ' ' : ''}${range(NR).map((j) => `c[ci${j ? ` + ${j}` : ''}] ${op} ${v(r, j)};`).join(' ')}`)
    .join('\n');
}

/**
 * f32_gemm_MRxNR (C = A·B) and f32_gemminc_MRxNR (C += A·B, XNNPACK's "gemminc" for K blocks after the first):
 * one straight-line path each, so every call runs every load and store, the first call leaves complete type
 * feedback, and an optimized (or on-stack-replaced) copy never meets a branch it has not seen. Edge tiles are
 * the caller's (packed.ts runs them whole in a scratch tile).
 */
function packedKernel(MR, NR, inc, typed) {
  const aLoads = range(MR).map((r) => `a${r} = a[ai${r ? ` + ${r}` : ''}]`).join(', ');
  const bLoads = range(NR).map((j) => `b${j} = b[bi${j ? ` + ${j}` : ''}]`).join(', ');
  return `${typed ? `
/**
 * C[${MR}×${NR} tile at ci, row stride ldc] ${inc ? '+=' : '='} A panel · B panel over kc steps, where the A panel holds ${MR} values
 * per k (k-major, from ai) and the B panel ${NR} values per k (from bi). No branches: see generate-microkernels.mjs.
 */
` : ''}${signature(`f32_${inc ? 'gemminc' : 'gemm'}_${MR}x${NR}`, PACKED_PARAMS, typed)} {
${zeroAccumulators(MR, NR)}
  for (let k = 0; k < kc; k++) {
    const ${aLoads};
    const ${bLoads};
${fmaLines(MR, NR)}
    ai += ${MR};
    bi += ${NR};
  }
${store(MR, NR, inc ? '+=' : '=', false)}
}
`;
}

function stridedKernel(MR, NR, typed) {
  const aOffs = range(MR).slice(1).map((r) => `ar${r} = ${r} * ars`).join(', ');
  const bOffs = range(NR).slice(1).map((j) => `bc${j} = ${j} * bcs`).join(', ');
  const aLoads = range(MR).map((r) => `a${r} = a[ai${r ? ` + ar${r}` : ''}]`).join(', ');
  const bLoads = range(NR).map((j) => `b${j} = b[bi${j ? ` + bc${j}` : ''}]`).join(', ');
  return `${typed ? `
/**
 * C[${MR}×${NR} tile at ci, row stride ldc] += alpha · Σ_k A(r, k)·B(k, j) over kc steps, reading unpacked operands
 * through strides: A(r, k) = a[ai + r·ars + k·acs], B(k, j) = b[bi + k·brs + j·bcs].
 */
` : ''}${signature(`f32_gemm_strided_${MR}x${NR}`, STRIDED_PARAMS, typed)} {
${MR > 1 ? `  const ${aOffs};\n` : ''}${NR > 1 ? `  const ${bOffs};\n` : ''}${zeroAccumulators(MR, NR)}
  for (let k = 0; k < kc; k++) {
    const ${aLoads};
    const ${bLoads};
${fmaLines(MR, NR)}
    ai += acs;
    bi += brs;
  }
${store(MR, NR, '+=', true)}
}
`;
}

/** The packed MR×NR micro-kernel as a function, compiled from the template (tests and benchmarks). */
export function compilePackedMicrokernel(mr, nr) {
  const compile = (inc) => new Function(`return ${packedKernel(mr, nr, inc, false)}`)();
  return { mr, nr, gemm: compile(false), gemminc: compile(true) };
}

/** The strided MR×NR micro-kernel as a function, compiled from the template (tests and benchmarks). */
export function compileStridedMicrokernel(mr, nr) {
  return { mr, nr, kernel: new Function(`return ${stridedKernel(mr, nr, false)}`)() };
}

/** The text of microkernels.ts (the tester checks that the committed file is this). */
export function moduleSource() {
  const entry = (prefix) => ([m, n]) => `  '${m}x${n}': { mr: ${m}, nr: ${n}, kernel: ${prefix}${m}x${n} },`;
  const packedEntry = ([m, n]) => `  '${m}x${n}': { mr: ${m}, nr: ${n}, gemm: f32_gemm_${m}x${n}, gemminc: f32_gemminc_${m}x${n} },`;
  return `// Generated by generate-microkernels.mjs: do not edit by hand.
/* eslint-disable */

/** Signature shared by every packed micro-kernel (see f32_gemm_4x4 and f32_gemminc_4x4). */
export type PackedMicrokernel = (
${typedParams(PACKED_PARAMS)}
) => void;

/** Signature shared by every strided micro-kernel (see f32_gemm_strided_8x4). */
export type StridedMicrokernel = (
${typedParams(STRIDED_PARAMS)}
) => void;

/** A strided micro-kernel with its tile. */
export interface MicrokernelEntry<K> {
  readonly mr: number;
  readonly nr: number;
  readonly kernel: K;
}

/** A packed tile: its overwriting (C = A·B) and accumulating (C += A·B) micro-kernels. */
export interface PackedTile {
  readonly mr: number;
  readonly nr: number;
  readonly gemm: PackedMicrokernel;
  readonly gemminc: PackedMicrokernel;
}
${SHIPPED_PACKED_TILES.map(([m, n]) => packedKernel(m, n, false, true) + packedKernel(m, n, true, true)).join('')}${SHIPPED_STRIDED_TILES.map(([m, n]) => stridedKernel(m, n, true)).join('')}
/** The packed tiles the runtime ships, keyed 'MRxNR' (other tiles: compilePackedMicrokernel in the generator). */
export const PACKED_MICROKERNELS: Readonly<Record<string, PackedTile>> = {
${SHIPPED_PACKED_TILES.map(packedEntry).join('\n')}
};

/** The strided tiles the runtime ships, keyed 'MRxNR' (other tiles: compileStridedMicrokernel in the generator). */
export const STRIDED_MICROKERNELS: Readonly<Record<string, MicrokernelEntry<StridedMicrokernel>>> = {
${SHIPPED_STRIDED_TILES.map(entry('f32_gemm_strided_')).join('\n')}
};
`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(fileURLToPath(new URL('./microkernels.ts', import.meta.url)), moduleSource());
}
