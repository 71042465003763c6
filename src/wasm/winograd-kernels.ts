import { F32, FunctionBuilder, I32, V128, type ModuleBuilder } from './emitter.js';
import { WASM_ACT } from './gemm-kernels.js';
import { forLoop, konst, local } from './loops.js';

/**
 * Winograd F(m×m, 3×3) input transform V = Bᵀ d B (Lavin & Gray, "Fast Algorithms for Convolutional Neural
 * Networks", CVPR 2016) in WebAssembly SIMD, four input channels at a time: the lanes are channels, so the
 * transform itself is plain vector arithmetic and the result, V[ξ][t][c..c+3], is one vector store per ξ
 * (the layout of src/kernels/conv/winograd.ts, where channels are contiguous per tile).
 */

export type WinogradInputVariant = 'f23' | 'f43' | 'f63';

/** Interpolation points of F(m, 3), as in src/kernels/conv/winograd.ts (plus the point at infinity). */
const POINTS: Record<WinogradInputVariant, number[]> = {
  f23: [0, 1, -1],
  f43: [0, 1, -1, 2, -2],
  f63: [0, 1, -1, 2, -2, 0.5, -0.5],
};

export function winogradInputName(variant: WinogradInputVariant): string {
  return `f32_winograd_${variant}_input__wasmsimd`;
}
export function winogradOutputName(variant: WinogradInputVariant): string {
  return `f32_winograd_${variant}_output__wasmsimd`;
}

/** Aᵀ (m×n, row-major) of F(m, 3): Aᵀ[i][j] = a_jⁱ, the point at infinity (last column) picking i = m − 1. */
export function winogradOutputMatrix(variant: WinogradInputVariant): { m: number; n: number; AT: number[] } {
  const a = POINTS[variant];
  const n = a.length + 1;
  const m = n - 2;
  const AT = new Array<number>(m * n).fill(0);
  for (let i = 0; i < m; i++) for (let j = 0; j < n - 1; j++) AT[i * n + j] = a[j]! ** i;
  AT[(m - 1) * n + n - 1] = 1;
  return { m, n, AT };
}

/** Ascending coefficients of Π (x − r) over `roots`. */
function monicFromRoots(roots: readonly number[]): number[] {
  let c = [1];
  for (const r of roots) {
    const next = new Array<number>(c.length + 1).fill(0);
    for (let i = 0; i < c.length; i++) {
      next[i + 1]! += c[i]!;
      next[i]! -= r * c[i]!;
    }
    c = next;
  }
  return c;
}

/**
 * Bᵀ (n×n, row-major) of F(m, 3) for correlation: row j < n − 1 holds the coefficients of Π_{l≠j}(x − a_l)
 * (Lagrange numerators at the points a), the last row those of Π_l(x − a_l) (the point at infinity).
 */
export function winogradInputMatrix(variant: WinogradInputVariant): { n: number; BT: number[] } {
  const a = POINTS[variant];
  const n = a.length + 1;
  const BT = new Array<number>(n * n).fill(0);
  for (let j = 0; j < n; j++) {
    const roots = j < n - 1 ? a.filter((_, l) => l !== j) : a;
    monicFromRoots(roots).forEach((v, s) => (BT[j * n + s] = v));
  }
  return { n, BT };
}

/** Byte lanes of an f32 shuffle of (a ++ b): lanes 0–3 from a, 4–7 from b. */
function f32Lanes(lanes: readonly number[]): number[] {
  return lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]);
}
const UNPACK_LO = f32Lanes([0, 4, 1, 5]);
const UNPACK_HI = f32Lanes([2, 6, 3, 7]);
const HALVES_LO = f32Lanes([0, 1, 4, 5]);
const HALVES_HI = f32Lanes([2, 3, 6, 7]);

/** Pushes Σ coef·local over the non-zero terms (±1 without a multiply); zero when there are none. */
function emitCombination(f: FunctionBuilder, terms: Array<[coef: number, local: number]>): void {
  const live = terms.filter(([c]) => c !== 0);
  if (live.length === 0) {
    f.f32x4Const(0, 0, 0, 0);
    return;
  }
  live.forEach(([c, l], i) => {
    const mag = Math.abs(c);
    f.get(l);
    if (mag !== 1) f.f32x4Const(mag, mag, mag, mag).simd('f32x4.mul');
    if (i === 0) {
      if (c < 0) f.simd('f32x4.neg');
    } else {
      f.simd(c < 0 ? 'f32x4.sub' : 'f32x4.add');
    }
  });
}

/**
 * f32_winograd_f{m}3_input(x, W, planeBytes, groups, v, xiStrideBytes): for `groups` groups of four channels,
 * the n×n interior tile d_c at x + c·planeBytes (row stride W floats) becomes V_c = Bᵀ d_c B, stored as
 * V[ξ] lanes c..c+3 at v + ξ·xiStrideBytes + 16·group. Reads exactly the n×n tile of each channel.
 */
export function emitWinogradInput(variant: WinogradInputVariant): FunctionBuilder {
  const { n, BT } = winogradInputMatrix(variant);
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32]);
  const [x, W, planeBytes, groups, v, xiStride] = [0, 1, 2, 3, 4, 5];
  const g = f.local(I32), rowBytes = f.local(I32), q = f.local(I32);
  const rows = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
  const lo = f.local(V128), hi = f.local(V128), lo2 = f.local(V128), hi2 = f.local(V128);
  const d: number[][] = [], t: number[][] = [];
  for (let i = 0; i < n; i++) {
    d.push([]);
    t.push([]);
    for (let j = 0; j < n; j++) {
      d[i]!.push(f.local(V128));
      t[i]!.push(f.local(V128));
    }
  }
  f.get(W).i32(2).op('i32.shl').set(rowBytes);
  forLoop(f, g, konst(0), local(groups), konst(1), () => {
    // d[k][j] = the four channels' tile element (k, j): per row and 4 (or 2) columns, a 4×4 transpose.
    for (let k = 0; k < n; k++) {
      for (let j0 = 0; j0 < n; j0 += 4) {
        const width = Math.min(4, n - j0);
        for (let c = 0; c < 4; c++) {
          f.get(x);
          if (c > 0) f.get(planeBytes).i32(c).op('i32.mul').op('i32.add');
          if (k > 0) f.get(rowBytes).i32(k).op('i32.mul').op('i32.add');
          f.simdMem(width === 4 ? 'v128.load' : 'v128.load64_zero', 4 * j0, 2).set(rows[c]!);
        }
        f.get(rows[0]!).get(rows[1]!).shuffle(UNPACK_LO).set(lo);
        f.get(rows[2]!).get(rows[3]!).shuffle(UNPACK_LO).set(lo2);
        f.get(lo).get(lo2).shuffle(HALVES_LO).set(d[k]![j0]!);
        f.get(lo).get(lo2).shuffle(HALVES_HI).set(d[k]![j0 + 1]!);
        if (width === 4) {
          f.get(rows[0]!).get(rows[1]!).shuffle(UNPACK_HI).set(hi);
          f.get(rows[2]!).get(rows[3]!).shuffle(UNPACK_HI).set(hi2);
          f.get(hi).get(hi2).shuffle(HALVES_LO).set(d[k]![j0 + 2]!);
          f.get(hi).get(hi2).shuffle(HALVES_HI).set(d[k]![j0 + 3]!);
        }
      }
    }
    // t = Bᵀ d
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        emitCombination(f, d.map((row, k) => [BT[i * n + k]!, row[j]!]));
        f.set(t[i]![j]!);
      }
    }
    // V = t B: V[i][j] = Σ_k t[i][k] Bᵀ[j][k], stored at q = v + (i·n + j)·xiStride
    f.get(v).set(q);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        f.get(q);
        emitCombination(f, t[i]!.map((l, k) => [BT[j * n + k]!, l]));
        f.v128Store(0, 2);
        f.get(q).get(xiStride).op('i32.add').set(q);
      }
    }
    f.get(x).get(planeBytes).i32(2).op('i32.shl').op('i32.add').set(x);
    f.get(v).i32(16).op('i32.add').set(v);
  });
  return f;
}

/**
 * f32_winograd_f{m}3_output(mp, xiStrideBytes, groups, bias, y, OW, planeBytes, act, p0, p1): for `groups` groups of
 * four output channels, Y_o = act(Aᵀ M_o A + bias[o]) for one interior output tile (all m×m inside Y), where
 * M_o[ξ] lanes o..o+3 are at mp + ξ·xiStrideBytes + 16·group (the [ξ][tile][channel] layout) and Y_o's tile
 * starts at y + o·planeBytes with row stride OW floats; bias is 0 (none) or a pointer to the group's first
 * channel. act/p0/p1 as the GEMM epilogue (WASM_ACT). A 4×4 transpose turns channel lanes back into rows.
 */
export function emitWinogradOutput(variant: WinogradInputVariant): FunctionBuilder {
  const { m, n, AT } = winogradOutputMatrix(variant);
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32, I32, I32, F32, F32]);
  const [mp, xiStride, groups, bias, y, OW, planeBytes, act, p0, p1] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const g = f.local(I32), q = f.local(I32), rowBytes = f.local(I32), addr = f.local(I32);
  const lo = f.local(V128), hi = f.local(V128), lo2 = f.local(V128), hi2 = f.local(V128);
  const vlo = f.local(V128), vhi = f.local(V128), b = f.local(V128), tmp = f.local(V128);
  const M: number[][] = [], S: number[][] = [], Y: number[][] = [];
  for (let i = 0; i < n; i++) { M.push([]); for (let j = 0; j < n; j++) M[i]!.push(f.local(V128)); }
  for (let i = 0; i < m; i++) { S.push([]); for (let j = 0; j < n; j++) S[i]!.push(f.local(V128)); }
  for (let i = 0; i < m; i++) { Y.push([]); for (let j = 0; j < m; j++) Y[i]!.push(f.local(V128)); }
  f.get(OW).i32(2).op('i32.shl').set(rowBytes);
  f.get(p0).simd('f32x4.splat').set(vlo).get(p1).simd('f32x4.splat').set(vhi);
  forLoop(f, g, konst(0), local(groups), konst(1), () => {
    f.get(mp).set(q);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        f.get(q).v128Load(0, 2).set(M[i]![j]!);
        f.get(q).get(xiStride).op('i32.add').set(q);
      }
    }
    // S = Aᵀ M (m×n), Y = S A (m×m): Y[i][l] = Σ_k S[i][k] Aᵀ[l][k]
    for (let i = 0; i < m; i++) {
      for (let k = 0; k < n; k++) {
        emitCombination(f, M.map((row, j) => [AT[i * n + j]!, row[k]!]));
        f.set(S[i]![k]!);
      }
    }
    f.get(bias).if().get(bias).v128Load(0, 2).set(b).else().f32x4Const(0, 0, 0, 0).set(b).end();
    for (let i = 0; i < m; i++) {
      for (let l = 0; l < m; l++) {
        emitCombination(f, S[i]!.map((s, k) => [AT[l * n + k]!, s]));
        f.get(b).simd('f32x4.add').set(Y[i]![l]!);
      }
    }
    const each = (body: (v: number) => void) => Y.forEach((row) => row.forEach(body));
    f.get(act).i32(WASM_ACT.minmax).op('i32.eq').if();
    each((v) => void f.get(v).get(vlo).simd('f32x4.pmax').get(vhi).simd('f32x4.pmin').set(v));
    f.end();
    f.get(act).i32(WASM_ACT.leakyrelu).op('i32.eq').if();
    each((v) => void f.get(v).get(vlo).simd('f32x4.mul').get(v).get(v).f32x4Const(0, 0, 0, 0).simd('f32x4.lt').simd('v128.bitselect').set(v));
    f.end();
    f.get(act).i32(WASM_ACT.hardswish).op('i32.eq').if();
    each((v) => {
      f.get(v).get(vlo).simd('f32x4.mul').get(vhi).simd('f32x4.add').f32x4Const(0, 0, 0, 0).simd('f32x4.pmax');
      f.f32x4Const(1, 1, 1, 1).simd('f32x4.pmin').set(tmp).get(v).get(tmp).simd('f32x4.mul').set(v);
    });
    f.end();
    // Rows back per channel: for row i and columns l0.., transpose (Y[i][l0..l0+3]) to channel rows and store.
    const rowOf = (c: number, i: number) => {
      f.get(y);
      if (c > 0) f.get(planeBytes).i32(c).op('i32.mul').op('i32.add');
      if (i > 0) f.get(rowBytes).i32(i).op('i32.mul').op('i32.add');
      f.set(addr);
    };
    for (let i = 0; i < m; i++) {
      for (let l0 = 0; l0 < m; l0 += 4) {
        const width = Math.min(4, m - l0);
        const col = (l: number) => Y[i]![Math.min(l0 + l, m - 1)]!;
        f.get(col(0)).get(col(1)).shuffle(UNPACK_LO).set(lo);
        f.get(col(0)).get(col(1)).shuffle(UNPACK_HI).set(hi);
        if (width === 4) {
          f.get(col(2)).get(col(3)).shuffle(UNPACK_LO).set(lo2);
          f.get(col(2)).get(col(3)).shuffle(UNPACK_HI).set(hi2);
          const rows: Array<[number, number, number[]]> = [[lo, lo2, HALVES_LO], [lo, lo2, HALVES_HI], [hi, hi2, HALVES_LO], [hi, hi2, HALVES_HI]];
          rows.forEach(([a, c2, lanes], c) => {
            rowOf(c, i);
            f.get(addr).get(a).get(c2).shuffle(lanes).v128Store(4 * l0, 2);
          });
        } else {
          // Two columns: lo = [c0 c0' c1 c1'], hi = [c2 c2' c3 c3'] (unprimed column l0, primed l0 + 1).
          ([[lo, 0], [lo, 1], [hi, 0], [hi, 1]] as const).forEach(([v, half], c) => {
            rowOf(c, i);
            f.get(addr).get(v).store64Lane(half, 4 * l0, 2);
          });
        }
      }
    }
    f.get(mp).i32(16).op('i32.add').set(mp);
    f.get(y).get(planeBytes).i32(2).op('i32.shl').op('i32.add').set(y);
    f.get(bias).if().get(bias).i32(16).op('i32.add').set(bias).end();
  });
  return f;
}

export function winogradFilterName(variant: WinogradInputVariant): string {
  return `f32_winograd_${variant}_filter__wasmsimd`;
}

/**
 * G (n×3, row-major) of F(m, 3): row j < n − 1 is (1, a_j, a_j²) / Π_{l≠j}(a_j − a_l), the last row (0, 0, 1).
 * The same float64 values, computed by the same expressions, as src/kernels/conv/winograd.ts's G.
 */
function winogradFilterMatrix(variant: WinogradInputVariant): { n: number; G: number[] } {
  const a = POINTS[variant];
  const n = a.length + 1;
  const G = new Array<number>(n * 3).fill(0);
  for (let j = 0; j < n - 1; j++) {
    const f = a.filter((_, l) => l !== j).reduce((acc, al) => acc * (a[j]! - al), 1);
    for (let k = 0; k < 3; k++) G[j * 3 + k] = a[j]! ** k / f;
  }
  G[(n - 1) * 3 + 2] = 1;
  return { n, G };
}

function f64x2Const(f: FunctionBuilder, x: number): FunctionBuilder {
  return f.v128Const(new Uint8Array(new Float64Array([x, x]).buffer));
}

/**
 * f32_winograd_f{m}3_filter(w, C, o0, pairs, table, nr): the filter transform U = G g Gᵀ of output channels
 * o0 .. o0 + 2·pairs − 1 (one panel: o0 a multiple of nr, 2·pairs ≤ nr) against every input channel, written
 * straight into the n² packed GEMM operands of src/kernels/conv/winograd.ts (winogradFilters): U_ξ[o][c] at
 * table[ξ] + 4·(⌊o/nr⌋·C·nr + c·nr + o mod nr), table being n² i32 byte addresses, nr even. W [M, C, 3, 3]
 * starts at byte w. Input channels outside, pairs inside: each panel row (nr floats) is written whole before the
 * next, so the n² output streams go through the cache once (pairs outside took 3× as long on resnet18's layers).
 *
 * Two filters per f64x2 vector, in float64 and in the same order of operations as the JS transform (F(4,3):
 * g43's products by reciprocals; the others: Σ G·g left to right), then rounded to float32 once: the packs are bit for bit those
 * of winogradFilters, made at memory speed instead of a scalar JS pass over resnet18's 37 M transformed values.
 */
export function emitWinogradFilter(variant: WinogradInputVariant): FunctionBuilder {
  const { n, G } = winogradFilterMatrix(variant);
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32]);
  const [w, C, o0, pairs, table, nr] = [0, 1, 2, 3, 4, 5];
  const p = f.local(I32), c = f.local(I32), src = f.local(I32), dst = f.local(I32), cBase = f.local(I32), dBase = f.local(I32);
  const rowBytes = f.local(I32), panelStep = f.local(I32);
  const bases = Array.from({ length: n * n }, () => f.local(I32));
  const g = Array.from({ length: 9 }, () => f.local(V128));
  const tmp = Array.from({ length: n * 3 }, () => f.local(V128));
  const s = f.local(V128), q = f.local(V128), rounded = f.local(V128);
  bases.forEach((b, xi) => void f.get(table).i32Load(4 * xi).set(b));
  f.get(C).i32(36).op('i32.mul').set(rowBytes);
  f.get(nr).i32(2).op('i32.shl').set(panelStep);
  /** Pushes x·y for a local x and a constant y. */
  const byConst = (x: number, y: number, op: 'f64x2.mul') => void f64x2Const(f.get(x), y).simd(op);
  /** Stores the f64x2 on the stack, rounded to float32, as U_ξ of filters (o, c) and (o + 1, c). */
  const store = (xi: number) => void f.simd('f32x4.demote_f64x2_zero').set(rounded).get(bases[xi]!).get(dst).op('i32.add').get(rounded).store64Lane(0, 0, 2);
  /** out(k) for (G (x, y, z)ᵀ)_k, F(4,3)'s G, exactly as winograd.ts's g43 (locals in, each output on the stack). */
  const g43 = (x: number, y: number, z: number, out: (k: number) => void) => {
    f.get(x).get(z).simd('f64x2.add').simd('f64x2.neg');
    f64x2Const(f, 1 / 6).simd('f64x2.mul').set(s);
    byConst(x, 1 / 24, 'f64x2.mul');
    byConst(z, 1 / 6, 'f64x2.mul');
    f.simd('f64x2.add').set(q);
    byConst(x, 0.25, 'f64x2.mul'); out(0);
    f.get(s); byConst(y, 1 / 6, 'f64x2.mul'); f.simd('f64x2.sub'); out(1);
    f.get(s); byConst(y, 1 / 6, 'f64x2.mul'); f.simd('f64x2.add'); out(2);
    f.get(q); byConst(y, 1 / 12, 'f64x2.mul'); f.simd('f64x2.add'); out(3);
    f.get(q); byConst(y, 1 / 12, 'f64x2.mul'); f.simd('f64x2.sub'); out(4);
    f.get(z); out(5);
  };
  // The panel's filters for c at cBase (byte address of W[o0][c]), its row c at dBase = 4·(⌊o0/nr⌋·C·nr + c·nr).
  f.get(w).get(o0).get(rowBytes).op('i32.mul').op('i32.add').set(cBase);
  f.get(o0).get(nr).op('i32.div_u').get(C).op('i32.mul').get(nr).op('i32.mul').i32(2).op('i32.shl').set(dBase);
  forLoop(f, c, konst(0), local(C), konst(1), () => {
    f.get(cBase).set(src);
    f.get(dBase).set(dst);
    forLoop(f, p, konst(0), local(pairs), konst(1), () => {
      // g[k] = (w[o][c][k], w[o + 1][c][k]) in float64
      g.forEach((gk, k) => {
        f.get(src).f32Load(4 * k).simd('f32x4.splat');
        f.get(src).get(rowBytes).op('i32.add').f32Load(4 * k).lane('f32x4.replace_lane', 1);
        f.simd('f64x2.promote_low_f32x4').set(gk);
      });
      if (variant === 'f43') {
        // tmp = G g, column by column; U = tmp Gᵀ, row by row.
        for (let l = 0; l < 3; l++) g43(g[l]!, g[3 + l]!, g[6 + l]!, (k) => void f.set(tmp[k * 3 + l]!));
        for (let i = 0; i < 6; i++) g43(tmp[i * 3]!, tmp[i * 3 + 1]!, tmp[i * 3 + 2]!, (k) => store(i * 6 + k));
      } else {
        for (let i = 0; i < n; i++) {
          for (let l = 0; l < 3; l++) {
            byConst(g[l]!, G[i * 3]!, 'f64x2.mul');
            byConst(g[3 + l]!, G[i * 3 + 1]!, 'f64x2.mul');
            f.simd('f64x2.add');
            byConst(g[6 + l]!, G[i * 3 + 2]!, 'f64x2.mul');
            f.simd('f64x2.add').set(tmp[i * 3 + l]!);
          }
        }
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < n; j++) {
            byConst(tmp[i * 3]!, G[j * 3]!, 'f64x2.mul');
            byConst(tmp[i * 3 + 1]!, G[j * 3 + 1]!, 'f64x2.mul');
            f.simd('f64x2.add');
            byConst(tmp[i * 3 + 2]!, G[j * 3 + 2]!, 'f64x2.mul');
            f.simd('f64x2.add');
            store(i * n + j);
          }
        }
      }
      f.get(src).get(rowBytes).i32(1).op('i32.shl').op('i32.add').set(src);
      f.get(dst).i32(8).op('i32.add').set(dst);
    });
    f.get(cBase).i32(36).op('i32.add').set(cBase);
    f.get(dBase).get(panelStep).op('i32.add').set(dBase);
  });
  return f;
}

export function addWinogradKernels(m: ModuleBuilder, variants: readonly WinogradInputVariant[] = ['f23', 'f43', 'f63']): void {
  for (const variant of variants) {
    m.addFunction(emitWinogradInput(variant), winogradInputName(variant));
    m.addFunction(emitWinogradOutput(variant), winogradOutputName(variant));
    m.addFunction(emitWinogradFilter(variant), winogradFilterName(variant));
  }
}
