import type { WasmModuleSpec } from './context.js';
import { F32, FunctionBuilder, I32, V128, type ModuleBuilder } from './emitter.js';
import { forLoop, konst, local } from './loops.js';

/**
 * Recurrent sequences (LSTM, GRU, RNN) in f32x4: one call runs every time step of one direction for one batch
 * entry — the matrix-vector product Ht-1·Rᵀ, the gate nonlinearities and the state update — so the per-step
 * cost is wasm only. The hidden size is padded to Hp = ⌈H/4⌉·4; lanes are four consecutive hidden units.
 *
 * Layouts (byte offsets; all buffers padded with zeros past H, which keeps the padded units' state at 0):
 * - R panels: for each block u of four hidden units, Hp rows k of G vectors: panel[u][k][g] = R[g·H + 4u + l][k]
 *   for lane l (zero past H). So the product for one block is G accumulators fed by one splat of h[k] each.
 * - xp: per time step a row of G·Hp floats, gate g at [g·Hp, (g + 1)·Hp): X·Wᵀ + bias, from the input GEMM.
 * - hA, hB: two Hp-float state buffers the steps alternate between (step s reads one, writes the other).
 * - y (0 = no Y): Y row of the first step; only H floats are written per row.
 * Strides (xpStride, yStride) are in bytes and may be negative (reverse direction). Each function returns the
 * byte offset of the buffer (hA or hB) holding the last step's H.
 *
 * Parameters of every sequence function:
 *   (steps, H, Hp, xp, xpStride, y, yStride, hA, hB, work, R, R2, aux, clip, pre)
 * - LSTM: work = C state (Hp floats, updated in place); aux = peepholes [i, o, f] × Hp (peephole variant).
 * - GRU, linear_before_reset ≠ 0: aux = Rbh (Hp floats), added to Ht-1·Rhᵀ before r scales it.
 * - GRU, linear_before_reset = 0: R panels of [Rz; Rr] (G = 2), R2 panels of Rh (G = 1); work (z) and aux
 *   (r⊙Ht-1) are Hp-float scratch.
 * - pre: G·Hp floats of scratch for the step's products (GRU with linear_before_reset, RNN).
 * `clip` bounds every activation input (+∞ for none; NaN passes through as in the JS clip).
 *
 * Gates: sigmoid(x) = 1 / (1 + e^−x) and tanh(x) = sign(x)·m / (m + 2) with m = expm1(2|x|), both from one
 * exp: e^y = 2^n·e^r with n = round(y·log2 e), r = y − n·ln 2 (Cody–Waite, |r| ≤ ln2/2) and expm1(r) by its
 * degree-6 Taylor polynomial (truncation ≤ 0.35^7/7! ≈ 1.3e-7), so both are within ~5e-7 relative of the exact
 * functions (measured over [−20, 20] in test/rnn-wasm.test.ts: sigmoid ≤ 2.6e-7, tanh ≤ 5.3e-7); NaN passes through.
 */

export type WasmRecurrentSequence = (
  steps: number, H: number, Hp: number, xp: number, xpStride: number, y: number, yStride: number,
  hA: number, hB: number, work: number, R: number, R2: number, aux: number, clip: number, pre: number,
) => number;

/** f32_rnn_projection_g{G}(rows, x, K, W, bias, out, outStride, Hp), see emitProjection. */
export type WasmRecurrentProjection = (rows: number, x: number, K: number, W: number, bias: number, out: number, outStride: number, Hp: number) => void;

/** f32_v{sigmoid,tanh}(x, out, n): n a multiple of 4 (for tests of the gate functions). */
export type WasmVectorMap = (x: number, out: number, n: number) => void;

/** The recurrences, one kernel module each. */
export type RecurrentCellKind = 'lstm' | 'lstmPeephole' | 'gruLinearBeforeReset' | 'gru' | 'rnn';

/** One recurrence's kernels: the sequence and the input projection for its gate count. */
export interface WasmRecurrentCellKernels {
  readonly sequence: WasmRecurrentSequence;
  readonly projection: WasmRecurrentProjection;
}

/** Gate blocks of each recurrence's input projection. */
const PROJECTION_GATES: Record<RecurrentCellKind, number> = { lstm: 4, lstmPeephole: 4, gruLinearBeforeReset: 3, gru: 3, rnn: 1 };

function exported<T>(e: Record<string, unknown>, name: string): T {
  if (typeof e[name] !== 'function') throw new RangeError(`recurrent wasm module lacks ${name}`);
  return e[name] as T;
}

/**
 * The module of one recurrence, compiled on first use by WasmContext.use. One module per recurrence keeps each
 * under the 4 KB browsers' main threads still compile synchronously, and a graph pays only for what it runs.
 */
function cellKernels(cell: RecurrentCellKind): WasmModuleSpec<WasmRecurrentCellKernels> {
  const sequenceName = `f32_${cell}_sequence__wasmsimd`;
  const projectionName = `f32_rnn_projection_g${PROJECTION_GATES[cell]}__wasmsimd`;
  return {
    key: `recurrent-${cell}`,
    build(m: ModuleBuilder, relaxed: boolean): void {
      m.addFunction(emitSequence(cell, relaxed), sequenceName);
      m.addFunction(emitProjection(PROJECTION_GATES[cell], relaxed), projectionName);
    },
    bind: (e) => ({ sequence: exported(e, sequenceName), projection: exported(e, projectionName) }),
  };
}

export const RECURRENT_KERNELS: Readonly<Record<RecurrentCellKind, WasmModuleSpec<WasmRecurrentCellKernels>>> = {
  lstm: cellKernels('lstm'),
  lstmPeephole: cellKernels('lstmPeephole'),
  gruLinearBeforeReset: cellKernels('gruLinearBeforeReset'),
  gru: cellKernels('gru'),
  rnn: cellKernels('rnn'),
};

/** The gate functions alone over arrays (for their accuracy tests). */
export const GATE_FUNCTIONS: WasmModuleSpec<{ readonly sigmoid: WasmVectorMap; readonly tanh: WasmVectorMap }> = {
  key: 'recurrent-gates',
  build(m: ModuleBuilder): void {
    m.addFunction(emitVectorMap('sigmoid'), 'f32_vsigmoid__wasmsimd');
    m.addFunction(emitVectorMap('tanh'), 'f32_vtanh__wasmsimd');
  },
  bind: (e) => ({ sigmoid: exported(e, 'f32_vsigmoid__wasmsimd'), tanh: exported(e, 'f32_vtanh__wasmsimd') }),
};

type Cell = RecurrentCellKind;

/** Gate blocks in the R panels of each cell (GRU with reset before linear: the [z; r] panels). */
const PANEL_GATES: Record<Cell, number> = { lstm: 4, lstmPeephole: 4, gruLinearBeforeReset: 3, gru: 2, rnn: 1 };

const LOG2E = Math.LOG2E;
/** ln 2 split so n·LN2_HI is exact for |n| < 2^11 (Cody–Waite). */
const LN2_HI = 0.693145751953125;
const LN2_LO = 1.428606765330187e-6;
/** 1.5·2^23: y + MAGIC rounds y to an integer n (|y| < 2^22) and leaves n in the low mantissa bits. */
const MAGIC = 12582912;

/** The gate functions' constants, splat once into locals (V8 rebuilds a v128.const at each use). */
interface GateConstants {
  consts: Map<string, number>;
  pow23: number;
  bias127: number;
}

/** Every f32 constant the gate functions splat. */
const GATE_CONSTANTS = [LOG2E, MAGIC, LN2_HI, LN2_LO, 1 / 720, 1 / 120, 1 / 24, 1 / 6, 1 / 2, 1, 2, -87, 87, 88, -0];

const constKey = (v: number): string => (Object.is(v, -0) ? '-0' : String(v));

/** Declares the constants' locals and emits their initialisation: call before any other code of the function. */
function gateConstants(f: FunctionBuilder): GateConstants {
  const consts = new Map<string, number>();
  for (const v of GATE_CONSTANTS) {
    const l = f.local(V128);
    f.f32x4Const(v, v, v, v).set(l);
    consts.set(constKey(v), l);
  }
  const pow23 = f.local(V128), bias127 = f.local(V128);
  f.i32(1 << 23).simd('i32x4.splat').set(pow23);
  f.i32(127 << 23).simd('i32x4.splat').set(bias127);
  return { consts, pow23, bias127 };
}

function splat(f: FunctionBuilder, C: GateConstants, v: number): void {
  const l = C.consts.get(constKey(v));
  if (l === undefined) throw new RangeError(`recurrent kernels: ${v} is not a gate constant`);
  f.get(l);
}

/** V128 temporaries of one activation in flight. */
interface ActivationTemps {
  y: number;
  t: number;
  n: number;
  r: number;
  p: number;
  s: number;
  sign: number;
}

function activationTemps(f: FunctionBuilder): ActivationTemps {
  const l = (): number => f.local(V128);
  return { y: l(), t: l(), n: l(), r: l(), p: l(), s: l(), sign: l() };
}

/** One activation: local `v` (input, then result), its kind and temporaries. */
interface Activation {
  kind: 'sigmoid' | 'tanh';
  v: number;
  T: ActivationTemps;
}

/**
 * v = sigmoid(v) or tanh(v) for several independent vectors at once, emitted stage by stage across them so
 * their long dependency chains (exp polynomial, divide) overlap:
 *   sigmoid(x) = 1 / (1 + e^y), y = clamp(−x, −87, 87)
 *   tanh(x) = sign(x)·m / (m + 2), m = expm1(y), y = min(2|x|, 88)   (exact sign, also for ±0)
 * with e^y = s·(1 + p), expm1(y) = (s − 1) + s·p, s = 2^n, p = expm1(r), n = round(y·log2 e), r = y − n·ln 2.
 */
function emitActivations(f: FunctionBuilder, C: GateConstants, items: readonly Activation[]): void {
  const each = (emit: (a: Activation) => void): void => items.forEach(emit);
  each(({ kind, v, T }) => {
    if (kind === 'sigmoid') {
      // ±87 keeps e^y and 1 / (1 + e^y) normal floats (denormal lanes run many times slower)
      f.get(v).simd('f32x4.neg');
      splat(f, C, -87);
      f.simd('f32x4.pmax');
      splat(f, C, 87);
      f.simd('f32x4.pmin').set(T.y);
    } else {
      f.get(v).tee(T.sign).simd('f32x4.abs');
      splat(f, C, 2);
      f.simd('f32x4.mul');
      splat(f, C, 88);
      f.simd('f32x4.pmin').set(T.y);
    }
  });
  // t = y·log2e + MAGIC; n = t − MAGIC = round(y·log2e)
  each(({ T }) => {
    f.get(T.y);
    splat(f, C, LOG2E);
    f.simd('f32x4.mul');
    splat(f, C, MAGIC);
    f.simd('f32x4.add').tee(T.t);
    splat(f, C, MAGIC);
    f.simd('f32x4.sub').set(T.n);
  });
  // r = y − n·ln2_hi − n·ln2_lo
  each(({ T }) => {
    f.get(T.y).get(T.n);
    splat(f, C, LN2_HI);
    f.simd('f32x4.mul').simd('f32x4.sub').get(T.n);
    splat(f, C, LN2_LO);
    f.simd('f32x4.mul').simd('f32x4.sub').set(T.r);
  });
  // p = r + r²·(1/2 + r·(1/6 + r·(1/24 + r·(1/120 + r/720)))), by Horner, one stage per coefficient
  each(({ T }) => {
    f.get(T.r);
    splat(f, C, 1 / 720);
    f.simd('f32x4.mul');
    splat(f, C, 1 / 120);
    f.simd('f32x4.add').set(T.p);
  });
  for (const c of [1 / 24, 1 / 6, 1 / 2]) {
    each(({ T }) => {
      f.get(T.p).get(T.r).simd('f32x4.mul');
      splat(f, C, c);
      f.simd('f32x4.add').set(T.p);
    });
  }
  each(({ T }) => void f.get(T.p).get(T.r).simd('f32x4.mul').get(T.r).simd('f32x4.mul').get(T.r).simd('f32x4.add').set(T.p));
  // s = 2^n: the low bits of t hold n (+ 2^22); times 2^23 moves n into the exponent field, + 127 biases it.
  each(({ T }) => void f.get(T.t).get(C.pow23).simd('i32x4.mul').get(C.bias127).simd('i32x4.add').set(T.s));
  // sigmoid: p = 1 + s + s·p (= 1 + e^y); tanh: p = (s − 1) + s·p (= m)
  each(({ kind, T }) => {
    if (kind === 'sigmoid') {
      splat(f, C, 1);
      f.get(T.s).simd('f32x4.add');
    } else {
      f.get(T.s);
      splat(f, C, 1);
      f.simd('f32x4.sub');
    }
    f.get(T.s).get(T.p).simd('f32x4.mul').simd('f32x4.add').set(T.p);
  });
  each(({ kind, v, T }) => {
    if (kind === 'sigmoid') {
      splat(f, C, 1);
      f.get(T.p).simd('f32x4.div').set(v);
    } else {
      f.get(T.p).get(T.p);
      splat(f, C, 2);
      f.simd('f32x4.add').simd('f32x4.div').get(T.sign);
      splat(f, C, -0);
      f.simd('v128.and').simd('v128.or').set(v);
    }
  });
}

/** Consumes x, leaves it bounded by the clip vector (±clip). */
function emitClip(f: FunctionBuilder, clip: number, negClip: number): void {
  f.get(negClip).simd('f32x4.pmax').get(clip).simd('f32x4.pmin');
}

/** f32_v{sigmoid,tanh}(x, out, n) over n floats, n a multiple of 4. */
function emitVectorMap(kind: 'sigmoid' | 'tanh'): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32]);
  const [x, out, n] = [0, 1, 2];
  const C = gateConstants(f);
  const i = f.local(I32), v = f.local(V128);
  const T = activationTemps(f);
  forLoop(f, i, konst(0), local(n), konst(4), () => {
    f.get(x).get(i).i32(2).op('i32.shl').op('i32.add').v128Load(0, 2).set(v);
    emitActivations(f, C, [{ kind, v, T }]);
    f.get(out).get(i).i32(2).op('i32.shl').op('i32.add').get(v).v128Store(0, 2);
  });
  return f;
}

/** Locals of a sequence function. */
interface SeqLocals {
  steps: number; H: number; Hp: number; xp: number; xpStride: number; y: number; yStride: number;
  hA: number; hB: number; work: number; R: number; R2: number; aux: number; clipF: number; pre: number;
  s: number; hin: number; hout: number; ub: number; HpBytes: number; tmp: number; P: ProductLocals;
  clip: number; negClip: number; C: GateConstants; T: ActivationTemps[];
}

function seqLocals(f: FunctionBuilder): SeqLocals {
  const I = (): number => f.local(I32);
  const Vl = (): number => f.local(V128);
  return {
    steps: 0, H: 1, Hp: 2, xp: 3, xpStride: 4, y: 5, yStride: 6, hA: 7, hB: 8, work: 9, R: 10, R2: 11, aux: 12, clipF: 13, pre: 14,
    s: I(), hin: I(), hout: I(), ub: I(), HpBytes: I(), tmp: I(), P: productLocals(f),
    clip: Vl(), negClip: Vl(), C: gateConstants(f), T: [0, 1, 2, 3].map(() => activationTemps(f)),
  };
}

/** Locals of one panel product: k counts rows, hp walks the vector, pp the panel, splats hold vec[k + q]. */
interface ProductLocals {
  k: number;
  hp: number;
  pp: number;
  kMain: number;
  splats: number[];
}

function productLocals(f: FunctionBuilder): ProductLocals {
  return { k: f.local(I32), hp: f.local(I32), pp: f.local(I32), kMain: f.local(I32), splats: [f.local(V128), f.local(V128), f.local(V128), f.local(V128)] };
}

/**
 * acc[g] = Σ_k vec[k]·panel[k][g] over k < K (local `K`) for the G gate vectors of one unit block, reading
 * `vec` from local vecBase and the panel from P.pp (left advanced past the panel). Products go to `accs.length`
 * independent accumulator sets over consecutive k (to hide the add latency), summed into accs[0] at the end;
 * each vec[k] is splat once. With `remainder`, K need not be a multiple of the set count (the last K mod sets
 * rows go to set 0); otherwise it must be.
 */
function emitPanelProduct(
  f: FunctionBuilder, P: ProductLocals, vecBase: number, K: number, G: number, accs: number[][], relaxed: boolean, remainder: boolean,
): void {
  const sets = accs.length;
  for (const set of accs) for (const a of set) f.f32x4Const(0, 0, 0, 0).set(a);
  f.get(vecBase).set(P.hp);
  const madd = (q: number, g: number, a: number, offset: number) => {
    if (relaxed) {
      f.get(P.splats[q]!).get(P.pp).v128Load(offset, 2).get(a).simd('f32x4.relaxed_madd').set(a);
    } else {
      f.get(a).get(P.splats[q]!).get(P.pp).v128Load(offset, 2).simd('f32x4.mul').simd('f32x4.add').set(a);
    }
  };
  if (remainder) f.get(K).i32(-sets).op('i32.and').set(P.kMain);
  forLoop(f, P.k, konst(0), local(remainder ? P.kMain : K), konst(sets), () => {
    for (let q = 0; q < sets; q++) f.get(P.hp).simdMem('v128.load32_splat', 4 * q).set(P.splats[q]!);
    for (let q = 0; q < sets; q++) for (let g = 0; g < G; g++) madd(q, g, accs[q]![g]!, 16 * (q * G + g));
    f.get(P.hp).i32(4 * sets).op('i32.add').set(P.hp);
    f.get(P.pp).i32(16 * sets * G).op('i32.add').set(P.pp);
  });
  if (remainder) {
    forLoop(f, P.k, local(P.kMain), local(K), konst(1), () => {
      f.get(P.hp).simdMem('v128.load32_splat', 0).set(P.splats[0]!);
      for (let g = 0; g < G; g++) madd(0, g, accs[0]![g]!, 16 * g);
      f.get(P.hp).i32(4).op('i32.add').set(P.hp);
      f.get(P.pp).i32(16 * G).op('i32.add').set(P.pp);
    });
  }
  for (let q = 1; q < sets; q++) for (let g = 0; g < G; g++) f.get(accs[0]![g]!).get(accs[q]![g]!).simd('f32x4.add').set(accs[0]![g]!);
}

/**
 * f32_rnn_projection_g{G}(rows, x, K, W, bias, out, outStride, Hp): for each row r (x row r at x + 4·K·r, out row
 * at out + r·outStride bytes) out[g·Hp + j] = Σ_k x[k]·W[g·H + j][k] + bias[g·Hp + j], W given as the panels of
 * the sequence kernels (per block of four units, K rows of G vectors). The input projection when there are too
 * few rows for the GEMM's 4-row tiles to pay (a T = 1 step streams each weight once, as the recurrent product).
 */
function emitProjection(G: number, relaxed: boolean): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32, I32, I32]);
  const [rows, x, K, W, bias, out, outStride, Hp] = [0, 1, 2, 3, 4, 5, 6, 7];
  const r = f.local(I32), ub = f.local(I32), HpBytes = f.local(I32), xr = f.local(I32), or = f.local(I32);
  const P = productLocals(f);
  const accs = accumulatorSets(f, G);
  f.get(Hp).i32(2).op('i32.shl').set(HpBytes);
  f.get(x).set(xr);
  f.get(out).set(or);
  forLoop(f, r, konst(0), local(rows), konst(1), () => {
    f.get(W).set(P.pp);
    forLoop(f, ub, konst(0), local(HpBytes), konst(16), () => {
      emitPanelProduct(f, P, xr, K, G, accs, relaxed, true);
      for (let g = 0; g < G; g++) {
        f.get(or).get(ub).op('i32.add');
        if (g > 0) f.get(HpBytes).i32(g).op('i32.mul').op('i32.add');
        f.get(accs[0]![g]!);
        f.get(bias).get(ub).op('i32.add');
        if (g > 0) f.get(HpBytes).i32(g).op('i32.mul').op('i32.add');
        f.v128Load(0, 2).simd('f32x4.add').v128Store(0, 2);
      }
    });
    f.get(xr).get(K).i32(2).op('i32.shl').op('i32.add').set(xr);
    f.get(or).get(outStride).op('i32.add').set(or);
  });
  return f;
}

function accumulatorSets(f: FunctionBuilder, G: number): number[][] {
  // Enough independent chains (≥ 8 when G ≥ 2) without running out of the 16 xmm registers.
  const sets = G === 1 ? 4 : 2;
  return Array.from({ length: sets }, () => Array.from({ length: G }, () => f.local(V128)));
}

/** Pushes the address base + ub + g·Hp·4 (gate g of the current unit block in a G·Hp row). */
function gateAddress(f: FunctionBuilder, S: SeqLocals, base: number, g: number): void {
  f.get(base).get(S.ub).op('i32.add');
  if (g > 0) f.get(S.HpBytes).i32(g).op('i32.mul').op('i32.add');
}

/** Loads xp gate g of the current block and adds it to the value on the stack, then clips. */
function addInputAndClip(f: FunctionBuilder, S: SeqLocals, g: number): void {
  gateAddress(f, S, S.xp, g);
  f.v128Load(0, 2).simd('f32x4.add');
  emitClip(f, S.clip, S.negClip);
}

/** Stores the vector in local v as Y[4u .. min(4u + 4, H)) (only when y ≠ 0). */
function emitStoreY(f: FunctionBuilder, S: SeqLocals, v: number): void {
  f.get(S.y).if();
  // tmp = H·4 − ub: bytes of Y left in this row
  f.get(S.H).i32(2).op('i32.shl').get(S.ub).op('i32.sub').set(S.tmp);
  f.get(S.tmp).i32(16).op('i32.ge_s').if();
  f.get(S.y).get(S.ub).op('i32.add').get(v).v128Store(0, 2);
  f.else();
  for (let lane = 0; lane < 3; lane++) {
    f.get(S.tmp).i32(4 * lane).op('i32.gt_s').if();
    f.get(S.y).get(S.ub).op('i32.add').get(v).lane('f32x4.extract_lane', lane).f32Store(4 * lane);
    f.end();
  }
  f.end();
  f.end();
}

/** for (ub = 0; ub < Hp·4; ub += 16) body: the unit blocks, ub the block's byte offset in an Hp row. */
function forUnitBlocks(f: FunctionBuilder, S: SeqLocals, body: () => void): void {
  forLoop(f, S.ub, konst(0), local(S.HpBytes), konst(16), body);
}

function emitSequence(cell: Cell, relaxed: boolean): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, F32, I32], [I32]);
  const S = seqLocals(f);
  const G = PANEL_GATES[cell];
  const accs = accumulatorSets(f, G);
  const acc = accs[0]!;
  const hAcc = cell === 'gru' ? accumulatorSets(f, 1) : [];
  const v = Array.from({ length: 4 }, () => f.local(V128));
  // GRU (linear before reset) and RNN: all products of a step first (into pre), then all gates, whose short
  // iterations the core then overlaps (measured 15 % and 8 % faster at H = 64). LSTM measured as fast or faster
  // with each block's gates right after its product.
  const twoPhase = cell === 'gruLinearBeforeReset' || cell === 'rnn';

  f.get(S.clipF).simd('f32x4.splat').set(S.clip);
  f.get(S.clip).simd('f32x4.neg').set(S.negClip);
  f.get(S.Hp).i32(2).op('i32.shl').set(S.HpBytes);
  f.get(S.hA).set(S.hin);
  f.get(S.hB).set(S.hout);
  forLoop(f, S.s, konst(0), local(S.steps), konst(1), () => {
    f.get(S.R).set(S.P.pp);
    if (cell === 'gru') {
      emitGruResetPass(f, S, accs, v, relaxed);
      f.get(S.R2).set(S.P.pp);
    }
    if (twoPhase) {
      forUnitBlocks(f, S, () => {
        emitPanelProduct(f, S.P, S.hin, S.Hp, G, accs, relaxed, false);
        for (let g = 0; g < G; g++) {
          gateAddress(f, S, S.pre, g);
          f.get(acc[g]!).v128Store(0, 2);
        }
      });
    }
    forUnitBlocks(f, S, () => {
      if (twoPhase) {
        for (let g = 0; g < G; g++) {
          gateAddress(f, S, S.pre, g);
          f.v128Load(0, 2).set(acc[g]!);
        }
      } else if (cell === 'gru') {
        emitPanelProduct(f, S.P, S.aux, S.Hp, 1, hAcc, relaxed, false);
      } else {
        emitPanelProduct(f, S.P, S.hin, S.Hp, G, accs, relaxed, false);
      }
      switch (cell) {
        case 'lstm':
        case 'lstmPeephole':
          emitLstmGates(f, S, acc, v, cell === 'lstmPeephole');
          break;
        case 'gruLinearBeforeReset':
          emitGruLinearBeforeResetGates(f, S, acc, v);
          break;
        case 'gru':
          emitGruHiddenGate(f, S, hAcc[0]![0]!, v);
          break;
        case 'rnn':
          f.get(acc[0]!);
          addInputAndClip(f, S, 0);
          f.set(v[0]!);
          emitActivations(f, S.C, [{ kind: 'tanh', v: v[0]!, T: S.T[0]! }]);
          break;
      }
      f.get(S.hout).get(S.ub).op('i32.add').get(v[0]!).v128Store(0, 2);
      emitStoreY(f, S, v[0]!);
    });
    f.get(S.xp).get(S.xpStride).op('i32.add').set(S.xp);
    f.get(S.y).if().get(S.y).get(S.yStride).op('i32.add').set(S.y).end();
    // swap hin, hout
    f.get(S.hin).set(S.tmp).get(S.hout).set(S.hin).get(S.tmp).set(S.hout);
  });
  f.get(S.hin);
  return f;
}

/**
 * LSTM gates of one unit block (acc = Ht-1·R[i, o, f, c]ᵀ); leaves Ht in v[0] and updates C (work) in place:
 *   i = σ(acc_i + xp_i + Pi⊙Ct-1), f = σ(acc_f + xp_f + Pf⊙Ct-1), c = tanh(acc_c + xp_c)
 *   Ct = f⊙Ct-1 + i⊙c,  o = σ(acc_o + xp_o + Po⊙Ct),  Ht = o⊙tanh(Ct)
 * Without peepholes o does not wait for Ct: i, f, c and o are computed together, then tanh(Ct).
 */
function emitLstmGates(f: FunctionBuilder, S: SeqLocals, acc: number[], v: number[], peepholes: boolean): void {
  const [iv, fv, cv, ov] = v as [number, number, number, number];
  const cOld = acc[3]!;
  // pre-activation of ONNX gate g (+ peephole q⊙c) into local `into`
  const preActivation = (g: number, peep: number | undefined, c: number, into: number) => {
    f.get(acc[g]!);
    if (peep !== undefined) {
      gateAddress(f, S, S.aux, peep);
      f.v128Load(0, 2).get(c).simd('f32x4.mul').simd('f32x4.add');
    }
    addInputAndClip(f, S, g);
    f.set(into);
  };
  const T = S.T;
  preActivation(3, undefined, 0, cv);
  f.get(S.work).get(S.ub).op('i32.add').v128Load(0, 2).set(cOld);
  preActivation(0, peepholes ? 0 : undefined, cOld, iv);
  preActivation(2, peepholes ? 2 : undefined, cOld, fv);
  const first: Activation[] = [
    { kind: 'sigmoid', v: iv, T: T[0]! },
    { kind: 'sigmoid', v: fv, T: T[1]! },
    { kind: 'tanh', v: cv, T: T[2]! },
  ];
  if (!peepholes) {
    preActivation(1, undefined, 0, ov);
    first.push({ kind: 'sigmoid', v: ov, T: T[3]! });
  }
  emitActivations(f, S.C, first);
  // Ct = f⊙Ct-1 + i⊙c (into cv), stored
  f.get(fv).get(cOld).simd('f32x4.mul').get(iv).get(cv).simd('f32x4.mul').simd('f32x4.add').set(cv);
  f.get(S.work).get(S.ub).op('i32.add').get(cv).v128Store(0, 2);
  f.get(cv).set(fv);
  if (peepholes) {
    preActivation(1, 1, cv, ov);
    emitActivations(f, S.C, [{ kind: 'sigmoid', v: ov, T: T[3]! }, { kind: 'tanh', v: fv, T: T[1]! }]);
  } else {
    emitActivations(f, S.C, [{ kind: 'tanh', v: fv, T: T[1]! }]);
  }
  f.get(ov).get(fv).simd('f32x4.mul').set(v[0]!);
}

/**
 * GRU, linear_before_reset ≠ 0 (acc = Ht-1·R[z, r, h]ᵀ); leaves Ht in v[0]:
 *   z = σ(acc_z + xp_z), r = σ(acc_r + xp_r), h = tanh(xp_h + r⊙(acc_h + Rbh)), Ht = h + z⊙(Ht-1 − h)
 */
function emitGruLinearBeforeResetGates(f: FunctionBuilder, S: SeqLocals, acc: number[], v: number[]): void {
  const [zv, rv, hv] = [v[1]!, v[2]!, v[3]!];
  f.get(acc[0]!);
  addInputAndClip(f, S, 0);
  f.set(zv);
  f.get(acc[1]!);
  addInputAndClip(f, S, 1);
  f.set(rv);
  emitActivations(f, S.C, [{ kind: 'sigmoid', v: zv, T: S.T[0]! }, { kind: 'sigmoid', v: rv, T: S.T[1]! }]);
  f.get(acc[2]!).get(S.aux).get(S.ub).op('i32.add').v128Load(0, 2).simd('f32x4.add').get(rv).simd('f32x4.mul');
  addInputAndClip(f, S, 2);
  f.set(hv);
  emitActivations(f, S.C, [{ kind: 'tanh', v: hv, T: S.T[2]! }]);
  blendHidden(f, S, zv, hv, v);
}

/** v[0] = h + z⊙(Ht-1 − h), Ht-1 read from hin. */
function blendHidden(f: FunctionBuilder, S: SeqLocals, zv: number, hv: number, v: number[]): void {
  f.get(hv).get(zv).get(S.hin).get(S.ub).op('i32.add').v128Load(0, 2).get(hv).simd('f32x4.sub').simd('f32x4.mul').simd('f32x4.add').set(v[0]!);
}

/**
 * GRU, linear_before_reset = 0, first pass over all unit blocks (panels [Rz; Rr] from R):
 * work = z = σ(acc_z + xp_z), aux = r⊙Ht-1 with r = σ(acc_r + xp_r).
 */
function emitGruResetPass(f: FunctionBuilder, S: SeqLocals, accs: number[][], v: number[], relaxed: boolean): void {
  const acc = accs[0]!;
  const [zv, rv] = [v[0]!, v[1]!];
  forUnitBlocks(f, S, () => {
    emitPanelProduct(f, S.P, S.hin, S.Hp, 2, accs, relaxed, false);
    f.get(acc[0]!);
    addInputAndClip(f, S, 0);
    f.set(zv);
    f.get(acc[1]!);
    addInputAndClip(f, S, 1);
    f.set(rv);
    emitActivations(f, S.C, [{ kind: 'sigmoid', v: zv, T: S.T[0]! }, { kind: 'sigmoid', v: rv, T: S.T[1]! }]);
    f.get(S.work).get(S.ub).op('i32.add').get(zv).v128Store(0, 2);
    f.get(S.aux).get(S.ub).op('i32.add').get(rv).get(S.hin).get(S.ub).op('i32.add').v128Load(0, 2).simd('f32x4.mul').v128Store(0, 2);
  });
}

/** GRU, linear_before_reset = 0, second pass (acc = (r⊙Ht-1)·Rhᵀ): h = tanh(acc + xp_h), Ht = h + z⊙(Ht-1 − h). */
function emitGruHiddenGate(f: FunctionBuilder, S: SeqLocals, acc: number, v: number[]): void {
  const [zv, hv] = [v[1]!, v[2]!];
  f.get(acc);
  addInputAndClip(f, S, 2);
  f.set(hv);
  emitActivations(f, S.C, [{ kind: 'tanh', v: hv, T: S.T[0]! }]);
  f.get(S.work).get(S.ub).op('i32.add').v128Load(0, 2).set(zv);
  blendHidden(f, S, zv, hv, v);
}
