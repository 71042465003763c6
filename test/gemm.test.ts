/**
 * One generic tester for every GEMM path (ncnn's testutil idea): random operands over a matrix of odd shapes,
 * every packed tile, every strided tile, every fused epilogue, each compared with a naive float64 triple loop.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  PACKED_MICROKERNELS, STRIDED_MICROKERNELS, applyActivation, gemmPackedA, gemmPackedB, packA, packB,
  packedGemmScratchLength, sgemm, sgemmWithTiles, stridedTileSet, GEMM_TILE, SGEMM_TILE,
  type Activation, type MicrokernelEntry, type PackedTile, type StridedMicrokernel,
} from '../src/kernels/gemm/index.js';
// @ts-expect-error: the generator is plain JavaScript (a build tool), without type declarations.
import * as generator from '../src/kernels/gemm/generate-microkernels.mjs';

/** The generator's exports the tester uses (tiles as [MR, NR] pairs; kernels compiled from the template). */
const gen = generator as {
  PACKED_TILES: [number, number][];
  STRIDED_MAIN_TILES: [number, number][];
  compilePackedMicrokernel(mr: number, nr: number): PackedTile;
  compileStridedMicrokernel(mr: number, nr: number): MicrokernelEntry<StridedMicrokernel>;
  moduleSource(): string;
};

/**
 * Every packed tile under test: the shipped kernels as they are (microkernels.ts), and every other tile of the
 * template compiled on demand, so the tile choice stays a measurement and not a guess.
 */
const PACKED_UNDER_TEST: [string, PackedTile][] = [
  ...Object.entries(PACKED_MICROKERNELS).map(([name, e]): [string, PackedTile] => [`${name} (shipped)`, e]),
  ...gen.PACKED_TILES.filter(([m, n]) => PACKED_MICROKERNELS[`${m}x${n}`] === undefined)
    .map(([m, n]): [string, PackedTile] => [`${m}x${n}`, gen.compilePackedMicrokernel(m, n)]),
];

/** A strided tile set compiled from the template: MR×NR with its 1×NR, MR×1 and 1×1 edge helpers. */
function compiledStridedTiles(m: number, n: number): Record<string, MicrokernelEntry<StridedMicrokernel>> {
  const tiles: [number, number][] = [[m, n], [1, n], [m, 1], [1, 1]];
  return Object.fromEntries(tiles.map(([r, c]) => [`${r}x${c}`, gen.compileStridedMicrokernel(r, c)]));
}

const RTOL = 1e-4;
const ATOL = 1e-5;
const SIZES = [1, 2, 3, 5, 7, 13, 17, 31, 64, 100];
const SMALL_SIZES = [1, 3, 7, 13, 17];

/** Deterministic uniform [-1, 1) values (mulberry32), so a failure reproduces. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2147483648 - 1;
  };
}

function randomArray(n: number, rand: () => number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rand();
  return a;
}

/** A stored operand: element (r, c) of the logical matrix lives at off + r·ld + c, or off + c·ld + r when transposed. */
interface Operand {
  data: Float32Array;
  off: number;
  ld: number;
  trans: boolean;
}

/** A random rows×cols logical matrix stored with an offset and a padded row stride. */
function operand(rows: number, cols: number, trans: boolean, rand: () => number, pad = 0, off = 0): Operand {
  const storedRows = trans ? cols : rows;
  const ld = (trans ? rows : cols) + pad;
  return { data: randomArray(off + storedRows * ld, rand), off, ld, trans };
}

function at(x: Operand, r: number, c: number): number {
  return x.trans ? x.data[x.off + c * x.ld + r]! : x.data[x.off + r * x.ld + c]!;
}

/** Naive float64 reference: ref[i·N + j] = Σ_k op(A)(i, k)·op(B)(k, j). */
function naiveProduct(M: number, N: number, K: number, A: Operand, B: Operand): Float64Array {
  const out = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += at(A, i, k) * at(B, k, j);
      out[i * N + j] = s;
    }
  }
  return out;
}

/** The activations written out from their definitions (ONNX Operators.md), independent of activation.ts. */
function naiveActivation(act: Activation, x: number): number {
  switch (act.kind) {
    case 'none': return x;
    case 'relu': return Math.max(0, x);
    case 'clip': return Math.min(Math.max(x, act.min!), act.max!);
    case 'leakyrelu': return x >= 0 ? x : act.alpha! * x;
    case 'hardswish': return x * Math.max(0, Math.min(1, x / 6 + 0.5));
    case 'silu': return x * (1 / (1 + Math.exp(-x)));
    case 'sigmoid': return 1 / (1 + Math.exp(-x));
    case 'tanh': return Math.tanh(x);
  }
}

const EPILOGUES: Activation[] = [
  { kind: 'none' },
  { kind: 'relu' },
  { kind: 'clip', min: 0, max: 6 },
  { kind: 'clip', min: -0.5, max: 0.25 },
  { kind: 'leakyrelu', alpha: 0.1 },
  { kind: 'hardswish' },
  { kind: 'silu' },
  { kind: 'sigmoid' },
  { kind: 'tanh' },
];

/**
 * Checks C (row stride ldc, from cOff) against expected[i·N + j]; cells outside the M×N window must still hold
 * `untouched` (NaN compares as NaN) unless it is undefined.
 */
function expectMatrix(C: Float32Array, cOff: number, ldc: number, M: number, N: number, expected: ArrayLike<number>, untouched: number | undefined, label: string): void {
  let worst = '';
  for (let i = 0; i < M && !worst; i++) {
    for (let j = 0; j < N; j++) {
      const got = C[cOff + i * ldc + j]!;
      const want = expected[i * N + j]!;
      if (!(Math.abs(got - want) <= ATOL + RTOL * Math.abs(want))) {
        worst = `${label}: C[${i},${j}] = ${got}, expected ${want}`;
        break;
      }
    }
  }
  expect(worst).toBe('');
  if (untouched === undefined) return;
  for (let p = 0; p < C.length; p++) {
    const i = Math.floor((p - cOff) / ldc);
    const j = (p - cOff) - i * ldc;
    const inside = p >= cOff && i < M && j < N;
    if (!inside && !Object.is(C[p], untouched)) {
      expect.fail(`${label}: C[${p}] outside the output window was written`);
    }
  }
}

describe('packed GEMM, every tile', () => {
  for (const [tileName, tile] of PACKED_UNDER_TEST) {
    it(`tile ${tileName}: op(A)·packed B matches the naive product for M,N,K in {${SIZES}}`, () => {
      const rand = rng(1);
      for (const M of SIZES) for (const N of SIZES) for (const K of SIZES) {
        const A = operand(M, K, false, rand);
        const B = operand(K, N, false, rand);
        const pb = packB(B.data, 0, B.ld, false, K, N, 1, undefined, { tile });
        const C = new Float32Array(M * N).fill(NaN);
        const scratch = new Float32Array(packedGemmScratchLength(pb, M));
        gemmPackedB(M, A.data, 0, A.ld, false, pb, C, 0, N, { kind: 'none' }, scratch);
        expectMatrix(C, 0, N, M, N, naiveProduct(M, N, K, A, B), NaN, `${tileName} M${M} N${N} K${K}`);
      }
    });

    it(`tile ${tileName}: packed A·op(B) matches the naive product for M,N,K in {${SIZES}}`, () => {
      const rand = rng(2);
      for (const M of SIZES) for (const N of SIZES) for (const K of SIZES) {
        const A = operand(M, K, false, rand);
        const B = operand(K, N, false, rand);
        const pa = packA(A.data, 0, A.ld, false, M, K, 1, undefined, { tile });
        const C = new Float32Array(M * N).fill(NaN);
        const scratch = new Float32Array(packedGemmScratchLength(pa, N));
        gemmPackedA(pa, N, B.data, 0, B.ld, false, C, 0, N, { kind: 'none' }, scratch);
        expectMatrix(C, 0, N, M, N, naiveProduct(M, N, K, A, B), NaN, `${tileName} M${M} N${N} K${K}`);
      }
    });

    it(`tile ${tileName}: every epilogue, with bias, alpha, transposes, offsets, strides and K/M/N blocking`, () => {
      const rand = rng(3);
      for (const act of EPILOGUES) for (const M of SMALL_SIZES) for (const N of SMALL_SIZES) for (const K of [1, 5, 17, 40]) {
        for (const trans of [false, true]) {
          const label = `${tileName} ${JSON.stringify(act)} M${M} N${N} K${K} trans ${trans}`;
          const alpha = 0.75;
          const A = operand(M, K, trans, rand, 3, 2);
          const B = operand(K, N, !trans, rand, 1, 5);
          const bias = randomArray(Math.max(M, N) + 4, rand);
          const ref = naiveProduct(M, N, K, A, B);
          // Small K and row/column blocks so several blocks (and partial ones) run even for small matrices.
          const options = { tile, kc: 7, block: 3 };
          const ldc = N + 2;
          const cOff = 3;
          const colRef = ref.map((v, p) => naiveActivation(act, alpha * v + bias[4 + (p % N)]!));
          const pb = packB(B.data, B.off, B.ld, B.trans, K, N, alpha, { data: bias, offset: 4 }, options);
          const C1 = new Float32Array(cOff + M * ldc).fill(-7);
          const s1 = new Float32Array(packedGemmScratchLength(pb, M) + 2).fill(NaN);
          gemmPackedB(M, A.data, A.off, A.ld, A.trans, pb, C1, cOff, ldc, act, s1, 2);
          expectMatrix(C1, cOff, ldc, M, N, colRef, -7, `packB ${label}`);

          const rowRef = ref.map((v, p) => naiveActivation(act, alpha * v + bias[4 + Math.floor(p / N)]!));
          const pa = packA(A.data, A.off, A.ld, A.trans, M, K, alpha, { data: bias, offset: 4 }, options);
          const C2 = new Float32Array(cOff + M * ldc).fill(-7);
          const s2 = new Float32Array(packedGemmScratchLength(pa, N) + 1).fill(NaN);
          gemmPackedA(pa, N, B.data, B.off, B.ld, B.trans, C2, cOff, ldc, act, s2, 1);
          expectMatrix(C2, cOff, ldc, M, N, rowRef, -7, `packA ${label}`);
        }
      }
    });

    it(`tile ${tileName}: accumulate adds the product to C before bias and activation, edge tiles included`, () => {
      const rand = rng(7);
      const act: Activation = { kind: 'relu' };
      for (const M of SMALL_SIZES) for (const N of SMALL_SIZES) for (const K of [0, 3, 17]) {
        const label = `${tileName} accumulate M${M} N${N} K${K}`;
        const A = operand(M, K, false, rand);
        const B = operand(K, N, false, rand);
        const bias = randomArray(Math.max(M, N), rand);
        const ldc = N + 1;
        const C0 = new Float32Array(M * ldc).fill(-7);
        for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) C0[i * ldc + j] = rand();
        const ref = naiveProduct(M, N, K, A, B);
        const prior = (p: number): number => C0[Math.floor(p / N) * ldc + (p % N)]!;
        const options = { tile, kc: 5, block: 3 };

        const pb = packB(B.data, 0, B.ld, false, K, N, 1, { data: bias }, options);
        const C1 = C0.slice();
        gemmPackedB(M, A.data, 0, A.ld, false, pb, C1, 0, ldc, act, new Float32Array(packedGemmScratchLength(pb, M)).fill(NaN), 0, true);
        expectMatrix(C1, 0, ldc, M, N, ref.map((v, p) => Math.max(0, prior(p) + v + bias[p % N]!)), -7, `packB ${label}`);

        const pa = packA(A.data, 0, A.ld, false, M, K, 1, { data: bias }, options);
        const C2 = C0.slice();
        gemmPackedA(pa, N, B.data, 0, B.ld, false, C2, 0, ldc, act, new Float32Array(packedGemmScratchLength(pa, N)).fill(NaN), 0, true);
        expectMatrix(C2, 0, ldc, M, N, ref.map((v, p) => Math.max(0, prior(p) + v + bias[Math.floor(p / N)]!)), -7, `packA ${label}`);
      }
    });
  }

  it('accumulate adds the product to C before bias and activation', () => {
    const rand = rng(4);
    const [M, N, K] = [13, 17, 31];
    const A = operand(M, K, false, rand);
    const B = operand(K, N, false, rand);
    const C0 = randomArray(M * N, rand);
    const ref = naiveProduct(M, N, K, A, B).map((v, p) => Math.max(0, v + C0[p]!));
    const pb = packB(B.data, 0, N, false, K, N, 1, undefined, { kc: 8 });
    const C = C0.slice();
    gemmPackedB(M, A.data, 0, K, false, pb, C, 0, N, { kind: 'relu' }, new Float32Array(packedGemmScratchLength(pb, M)), 0, true);
    expectMatrix(C, 0, N, M, N, ref, 0, 'accumulate');
  });

  it('K = 0 gives act(bias)', () => {
    const bias = new Float32Array([-1, 2, -3]);
    const pa = packA(new Float32Array(0), 0, 0, false, 3, 0, 1, { data: bias });
    const C = new Float32Array(6).fill(NaN);
    gemmPackedA(pa, 2, new Float32Array(0), 0, 2, false, C, 0, 2, { kind: 'relu' }, new Float32Array(packedGemmScratchLength(pa, 2)));
    expect(Array.from(C)).toEqual([0, 0, 2, 2, 0, 0]);
  });

  it('a hand-checked 2×2 product with bias and Relu6', () => {
    // [1 2; 3 4] · [5 6; 7 8] = [19 22; 43 50]; + bias [-20, 1] per column; clip to [0, 6].
    const pb = packB(new Float32Array([5, 6, 7, 8]), 0, 2, false, 2, 2, 1, { data: new Float32Array([-20, 1]) });
    const C = new Float32Array(4);
    gemmPackedB(2, new Float32Array([1, 2, 3, 4]), 0, 2, false, pb, C, 0, 2, { kind: 'clip', min: 0, max: 6 }, new Float32Array(packedGemmScratchLength(pb, 2)));
    expect(Array.from(C)).toEqual([0, 6, 6, 6]);
  });

  it('refuses weights packed for the other side and unknown tiles', () => {
    const pa = packA(new Float32Array(4), 0, 2, false, 2, 2);
    expect(() => gemmPackedB(2, new Float32Array(4), 0, 2, false, pa, new Float32Array(4), 0, 2, { kind: 'none' }, new Float32Array(64))).toThrow(/packA/);
    expect(() => packB(new Float32Array(4), 0, 2, false, 2, 2, 1, undefined, { tile: '3x3' })).toThrow(/3x3/);
  });
});

describe('generated micro-kernels', () => {
  it('microkernels.ts is the generator output (re-run generate-microkernels.mjs after editing it)', () => {
    const committed = readFileSync(new URL('../src/kernels/gemm/microkernels.ts', import.meta.url), 'utf8');
    expect(committed === gen.moduleSource()).toBe(true);
  });

  it('ships exactly the tiles the runtime uses', () => {
    expect(Object.keys(PACKED_MICROKERNELS)).toEqual([GEMM_TILE]);
    const { mr, nr } = STRIDED_MICROKERNELS[SGEMM_TILE]!;
    expect(Object.keys(STRIDED_MICROKERNELS).sort()).toEqual([SGEMM_TILE, `1x${nr}`, `${mr}x1`, '1x1'].sort());
  });
});

describe('applyActivation', () => {
  for (const act of EPILOGUES) {
    it(`${act.kind}${act.kind === 'clip' ? ` [${act.min}, ${act.max}]` : ''} matches its definition, only inside [off, off + n)`, () => {
      const xs = [-9, -3, -2.5, -1, -0.25, 0, 0.1, 0.5, 1, 2.9, 3, 7, 40, -40];
      const buf = new Float32Array([100, ...xs, 100]);
      applyActivation(act, buf, 1, xs.length);
      expect(buf[0]).toBe(100);
      expect(buf[buf.length - 1]).toBe(100);
      xs.forEach((x, i) => expect(buf[i + 1]).toBeCloseTo(naiveActivation(act, x), 6));
    });
  }

  it('refuses an unknown kind', () => {
    expect(() => applyActivation({ kind: 'gelu' } as unknown as Activation, new Float32Array(1), 0, 1)).toThrow(/gelu/);
  });
});

describe('sgemm', () => {
  /** The shipped tile set as it is, then every main tile of the template compiled with its edge helpers. */
  const stridedUnderTest: [string, () => ReturnType<typeof stridedTileSet>][] = [
    [`${SGEMM_TILE} (shipped)`, () => stridedTileSet(SGEMM_TILE)],
    ...gen.STRIDED_MAIN_TILES.filter(([m, n]) => `${m}x${n}` !== SGEMM_TILE).map(([m, n]): [string, () => ReturnType<typeof stridedTileSet>] => [
      `${m}x${n}`, () => stridedTileSet(`${m}x${n}`, compiledStridedTiles(m, n)),
    ]),
  ];

  it('default tiles: every transA/transB/alpha/beta with offsets and padded strides', () => {
    const rand = rng(5);
    for (const transA of [false, true]) for (const transB of [false, true]) {
      for (const alpha of [1, -0.5, 0]) for (const beta of [0, 1, 0.3]) {
        for (const [M, N, K] of [[1, 1, 1], [5, 7, 3], [13, 17, 31], [64, 31, 100], [2, 100, 7], [100, 3, 300]] as const) {
          const A = operand(M, K, transA, rand, 2, 3);
          const B = operand(K, N, transB, rand, 1, 6);
          const ldc = N + 3;
          const cOff = 4;
          const C = randomArray(cOff + M * ldc, rand);
          const C0 = C.slice();
          const ref = naiveProduct(M, N, K, A, B).map((v, p) => alpha * v + beta * C0[cOff + Math.floor(p / N) * ldc + (p % N)]!);
          sgemm(transA, transB, M, N, K, alpha, A.data, A.off, A.ld, B.data, B.off, B.ld, beta, C, cOff, ldc);
          const label = `transA ${transA} transB ${transB} alpha ${alpha} beta ${beta} M${M} N${N} K${K}`;
          expectMatrix(C, cOff, ldc, M, N, ref, undefined, label);
          for (let p = 0; p < C.length; p++) {
            const i = Math.floor((p - cOff) / ldc);
            if (p < cOff || i >= M || (p - cOff) - i * ldc >= N) expect(C[p]).toBe(C0[p]);
          }
        }
      }
    }
  });

  it('beta = 0 overwrites NaN in C; K = 0 and alpha = 0 only scale C', () => {
    const C = new Float32Array([NaN, NaN, 2, 4]);
    sgemm(false, false, 2, 2, 1, 1, new Float32Array([1, 2]), 0, 1, new Float32Array([3, 4]), 0, 2, 0, C, 0, 2);
    expect(Array.from(C)).toEqual([3, 4, 6, 8]);
    sgemm(false, false, 2, 2, 0, 1, new Float32Array(0), 0, 0, new Float32Array(0), 0, 2, 0.5, C, 0, 2);
    expect(Array.from(C)).toEqual([1.5, 2, 3, 4]);
    sgemm(false, false, 2, 2, 1, 0, new Float32Array([NaN, NaN]), 0, 1, new Float32Array([1, 1]), 0, 2, 2, C, 0, 2);
    expect(Array.from(C)).toEqual([3, 4, 6, 8]);
  });

  for (const [tile, tileSet] of stridedUnderTest) {
    it(`strided tile ${tile}: every transpose over M,N,K in {${SMALL_SIZES},64} with K blocking`, () => {
      const rand = rng(6);
      const tiles = tileSet();
      const sizes = [...SMALL_SIZES, 64];
      for (const transA of [false, true]) for (const transB of [false, true]) {
        for (const M of sizes) for (const N of sizes) for (const K of [1, 9, 40]) {
          const A = operand(M, K, transA, rand, 1);
          const B = operand(K, N, transB, rand, 2);
          const C = new Float32Array(M * N).fill(NaN);
          sgemmWithTiles(tiles, 8, transA, transB, M, N, K, 1, A.data, 0, A.ld, B.data, 0, B.ld, 0, C, 0, N);
          expectMatrix(C, 0, N, M, N, naiveProduct(M, N, K, A, B), NaN, `${tile} transA ${transA} transB ${transB} M${M} N${N} K${K}`);
        }
      }
    });
  }
});
