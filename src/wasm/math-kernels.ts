import type { WasmContext, WasmModuleSpec } from './context.js';
import { F32, FunctionBuilder, I32, V128, type ModuleBuilder, type SimdOp } from './emitter.js';
import { forLoop, konst, local } from './loops.js';

/**
 * Transcendental f32x4 kernels for the transformer operators: exp, and on it softmax over rows, sigmoid, tanh,
 * SiLU, erf, the exact (erf) GELU and its tanh form; LayerNorm over rows; the row copies and 4×4 transposes of
 * attention's permutes. Compiled as the 'math' family module
 * (`ctx.use(MATH_KERNELS)`) on the shared memory. Pointers are byte offsets; y may alias x.
 *
 * exp(x) (Cody & Waite range reduction): n = round(x·log2 e) by adding 1.5·2^23 (the sum's low mantissa
 * bits hold n), r = x − n·ln2 in two steps (ln2_hi has 9 significant bits so n·ln2_hi is exact), e^r a
 * degree-6 minimax polynomial on [−ln2/2, ln2/2] (relative error 3e-9, fitted with Lawson's algorithm
 * against 30-digit mpmath), and 2^n built in the exponent bits as (n + 127)·2^23. Inputs below
 * −87.33 (just above ln(2^−126)) give 0, above ln(FLT_MAX) +∞, NaN stays NaN. No lane ever computes a
 * denormal: x86 takes a microcode assist (~100 cycles) per denormal result, which made saturated lanes 20×
 * slower than the rest.
 */

const LOG2E = Math.LOG2E;
const ROUND_MAGIC = 12582912; // 1.5·2^23
const ROUND_MAGIC_BITS = 0x4b400000;
const LN2_HI = 0.693359375;
const LN2_LO = -2.12194440054690583e-4;
/** exp is flushed to 0 below −87.33 (e^−87.33 = 1.183e-38, just above the smallest normal 2^−126 = 1.175e-38) and overflows above ln(FLT_MAX). */
const EXP_LO = -87.33;
const EXP_HI = 88.72283935;
/** e^r ≈ 1 + r + r²·(c2 + r·(c3 + r·(c4 + r·(c5 + r·c6)))). */
const EXP_POLY = [0.4999999345147265, 0.16666520687563072, 0.041668387408541965, 0.008368710035312789, 0.001381461100148737];

/** erf(x)/x ≈ P(x²) for |x| ≤ 1: relative error 4e-8 (degree 5 in x²). */
const ERF_SMALL = [1.1283791226739848, -0.3761232653875315, 0.11280182048128515, -0.026711354939382898, 0.004917594560491054, -0.000563157762360697];
/**
 * erfc(a)·e^(a²) ≈ t·R(t) with t = 1/(1 + a/2) for a ≥ 1 (relative error 1.1e-8 up to a = 10, where erfc
 * underflows float32); the substitution maps [1, ∞) onto (0, 2/3] where the scaled erfc is smooth.
 */
const ERFC_SCALED = [0.28209911935167525, 0.2820254983334387, 0.24707846578038406, 0.1782825428907723, 0.0622516619862737, 0.08064839180839514, -0.22484861817241936, 0.09303210591824015];
/**
 * The same over all a ≥ 0 (relative error 4.2e-8 on [0, 9.5], degree 9 in t), for GELU: 1 + erf(z) is 2 − erfc(z)
 * for z > 0 and erfc(|z|) for z < 0, neither of which cancels, so GELU needs no separate small-|z| branch.
 */
const ERFC_SCALED_ALL = [0.2820876782629447, 0.2823534463101591, 0.24326132028009678, 0.20206845269334778, -0.025174117971089316, 0.2759726114113149, -0.4853785977520647, 0.2836993968006956, -0.05889023222268529];
/** erfc(a) is taken as 0 for a² > 80 (erfc(√80) = 1.1e-36), keeping e^(−a²)·t·R(t) out of the denormals. */
const ERFC_U_MAX = 80;
/** tanh(x)/x ≈ P(x²) for |x| ≤ 0.55: relative error 3e-8; above it tanh = (1 − e^(−2|x|)) / (1 + e^(−2|x|)). */
const TANH_SMALL_LIMIT = 0.55;
const TANH_SMALL = [0.9999999677651259, -0.3333279558843929, 0.1331888363484978, -0.05258961579291699, 0.016315878186245976];

export const UNARY_MATH_OPS = ['exp', 'sigmoid', 'tanh', 'silu', 'erf', 'gelu', 'gelu_tanh'] as const;
export type UnaryMathOp = (typeof UNARY_MATH_OPS)[number];

type UnaryKernel = (x: number, y: number, n: number) => void;
export interface WasmMathKernels {
  readonly unary: Readonly<Record<UnaryMathOp, UnaryKernel>>;
  /** softmax(scale·x) over `rows` contiguous rows of n. */
  readonly softmax: (x: number, y: number, rows: number, n: number, scale: number) => void;
  /** (x − mean)/√(var + eps)·gamma + beta over rows of n; gamma and beta hold n floats. */
  readonly layerNorm: (x: number, y: number, rows: number, n: number, gamma: number, beta: number, eps: number) => void;
  /** dst[i·cols + j] = src[i·srcStride + j]: rows of contiguous floats gathered into one block (strides in floats). */
  readonly copyRows: (src: number, srcStride: number, dst: number, rows: number, cols: number) => void;
  /** dst[i·cols + j] = src[i + j·srcStride]: a 2-D transpose of a plane whose rows (i) are contiguous in src. */
  readonly transposePlane: (src: number, srcStride: number, dst: number, rows: number, cols: number) => void;
}

export const unaryMathName = (op: UnaryMathOp): string => `f32_v${op}__wasmsimd`;
export const SOFTMAX_NAME = 'f32_softmax_rows__wasmsimd';
export const LAYERNORM_NAME = 'f32_layernorm_rows__wasmsimd';
export const COPY_ROWS_NAME = 'x32_copy_rows__wasmsimd';
export const TRANSPOSE_NAME = 'x32_transpose_plane_4x4__wasmsimd';

// ---- vector expression helpers: each leaves one v128 on the stack ----

/**
 * A builder whose splatted constants come from locals set once in the prologue: a v128.const is 18 bytes at
 * every use, a local.get 2 (the module shrinks from 13 to 10 KB; TurboFan code measured the same speed).
 * `seen` collects the constants on a probe run; `pool` maps them to their locals on the real run.
 */
class PooledBuilder extends FunctionBuilder {
  seen: Set<string> | undefined;
  pool: Map<string, number> | undefined;
}

function constKey(kind: 'f' | 'i', v: number): string {
  return `${kind}${v}`;
}

function emitConst(f: FunctionBuilder, key: string): void {
  const v = Number(key.slice(1));
  if (key[0] === 'f') f.f32x4Const(v, v, v, v);
  else f.v128Const(new Uint8Array(new Int32Array([v, v, v, v]).buffer));
}

function pooled(f: FunctionBuilder, key: string): void {
  const local = f instanceof PooledBuilder ? f.pool?.get(key) : undefined;
  if (local !== undefined) {
    f.get(local);
    return;
  }
  if (f instanceof PooledBuilder) f.seen?.add(key);
  emitConst(f, key);
}

function splat(f: FunctionBuilder, v: number): void {
  pooled(f, constKey('f', v));
}
function splatI32(f: FunctionBuilder, v: number): void {
  pooled(f, constKey('i', v));
}

/**
 * Emits `body` into a function whose vector constants live in locals: a probe run collects them, then the
 * real function sets one local per constant before running `body` again.
 */
function withConstantPool(params: readonly (typeof I32 | typeof F32)[], body: (f: FunctionBuilder) => void): FunctionBuilder {
  const probe = new PooledBuilder(params);
  probe.seen = new Set();
  body(probe);
  const f = new PooledBuilder(params);
  const pool = new Map<string, number>();
  for (const key of probe.seen) {
    const local = f.local(V128);
    emitConst(f, key);
    f.set(local);
    pool.set(key, local);
  }
  f.pool = pool;
  body(f);
  return f;
}
function binop(f: FunctionBuilder, op: SimdOp, a: () => void, b: () => void): void {
  a();
  b();
  f.simd(op);
}

/** Horner: c[0] + v·(c[1] + v·(... c[k])) with v in local `v`. */
function horner(f: FunctionBuilder, v: number, c: readonly number[]): void {
  splat(f, c[c.length - 1]!);
  for (let k = c.length - 2; k >= 0; k--) {
    f.get(v).simd('f32x4.mul');
    splat(f, c[k]!);
    f.simd('f32x4.add');
  }
}

/** Scratch v128 locals the vector helpers share within one function. */
interface Regs {
  t: number[];
}
function regs(f: FunctionBuilder, n: number): Regs {
  return { t: Array.from({ length: n }, () => f.local(V128)) };
}

/**
 * e^x of the v128 in local `x`, leaving it on the stack. `nonPositive`: the caller guarantees x ≤ 0 (or NaN),
 * so no overflow handling. Uses regs.t[0..4].
 */
function emitExp(f: FunctionBuilder, x: number, r: Regs, nonPositive: boolean): void {
  const [xc, fx, n, p, over] = r.t as [number, number, number, number, number];
  f.get(x);
  splat(f, EXP_LO);
  f.simd('f32x4.pmax');
  if (!nonPositive) { splat(f, EXP_HI); f.simd('f32x4.pmin'); }
  f.set(xc);
  // fx = xc·log2e + 1.5·2^23 rounds xc·log2e to the nearest integer n; nf = n as a float
  f.get(xc); splat(f, LOG2E); f.simd('f32x4.mul'); splat(f, ROUND_MAGIC); f.simd('f32x4.add'); f.set(fx);
  f.get(fx); splat(f, ROUND_MAGIC); f.simd('f32x4.sub'); f.set(n);
  // r = xc − n·ln2_hi − n·ln2_lo (reuse p for r)
  f.get(xc).get(n); splat(f, LN2_HI); f.simd('f32x4.mul').simd('f32x4.sub');
  f.get(n); splat(f, LN2_LO); f.simd('f32x4.mul').simd('f32x4.sub').set(p);
  // e^r = 1 + r + r²·Q(r)
  horner(f, p, EXP_POLY);
  f.get(p).get(p).simd('f32x4.mul').simd('f32x4.mul').get(p).simd('f32x4.add');
  splat(f, 1);
  f.simd('f32x4.add');
  if (!nonPositive) {
    // n = 128 would need exponent 255: build 2^(n−1) there and double afterwards (over = all ones where n > 0).
    f.get(n); splat(f, 0); f.simd('f32x4.gt').set(over);
  }
  // 2^n: bits (n + 127)·2^23, with n = bits(fx) − bits(1.5·2^23)
  f.get(fx); splatI32(f, ROUND_MAGIC_BITS - 127); f.simd('i32x4.sub');
  if (!nonPositive) f.get(over).simd('i32x4.add'); // −1 where n > 0
  splatI32(f, 1 << 23);
  f.simd('i32x4.mul').simd('f32x4.mul');
  if (!nonPositive) {
    f.get(over); splat(f, 1); f.simd('v128.and'); splat(f, 1); f.simd('f32x4.add').simd('f32x4.mul');
    // +∞ above the range: bitselect(inf, value, x > hi)
    f.set(p);
    splat(f, Infinity);
    f.get(p).get(x); splat(f, EXP_HI); f.simd('f32x4.gt').simd('v128.bitselect');
  }
  // 0 below the range (v128.andnot(a, b) = a & ~b)
  f.get(x); splat(f, EXP_LO); f.simd('f32x4.lt').simd('v128.andnot');
}

/** Copies the sign bit of the v128 in local `signOf` onto the non-negative value on the stack. */
function copySign(f: FunctionBuilder, signOf: number): void {
  f.get(signOf);
  splatI32(f, -0x80000000);
  f.simd('v128.and').simd('v128.or');
}

/** 1/(1 + e^−|x|) and e^−|x|/(1 + e^−|x|): never overflows. Uses t[0..6]. */
function emitSigmoid(f: FunctionBuilder, x: number, r: Regs): void {
  const [e, q] = [r.t[5]!, r.t[6]!];
  f.get(x).simd('f32x4.abs').simd('f32x4.neg').set(e);
  emitExp(f, e, r, true);
  f.set(e);
  splat(f, 1);
  binop(f, 'f32x4.add', () => splat(f, 1), () => f.get(e));
  f.simd('f32x4.div').set(q);
  // x ≥ 0 ? q : e·q
  f.get(q).get(e).get(q).simd('f32x4.mul').get(x);
  splat(f, 0);
  f.simd('f32x4.ge').simd('v128.bitselect');
}

/** tanh: odd polynomial near 0, (1 − e)/(1 + e) with e = e^(−2|x|) beyond. Uses t[0..7]. */
function emitTanh(f: FunctionBuilder, x: number, r: Regs): void {
  const [a, e, u] = [r.t[5]!, r.t[6]!, r.t[7]!];
  f.get(x).simd('f32x4.abs').set(a);
  f.get(x).get(x).simd('f32x4.mul').set(u);
  f.get(a).get(a).simd('f32x4.add').simd('f32x4.neg').set(e);
  emitExp(f, e, r, true);
  f.set(e);
  // small: x·P(x²)
  horner(f, u, TANH_SMALL);
  f.get(x).simd('f32x4.mul');
  // large: copysign((1 − e)/(1 + e), x)
  binop(f, 'f32x4.sub', () => splat(f, 1), () => f.get(e));
  binop(f, 'f32x4.add', () => splat(f, 1), () => f.get(e));
  f.simd('f32x4.div');
  copySign(f, x);
  f.get(a);
  splat(f, TANH_SMALL_LIMIT);
  f.simd('f32x4.le').simd('v128.bitselect');
}

/**
 * c = erfc(|z|) = e^(−z²)·t·R(t), t = 1/(1 + |z|/2), into local r.t[7], with |z| in r.t[5] and z² in r.t[6].
 * e^(−min(z², 80)) and c = 0 beyond keep every lane out of the denormals. Uses t[0..8].
 */
function emitErfc(f: FunctionBuilder, z: number, r: Regs, poly: readonly number[]): void {
  const [a, u, c, t] = [r.t[5]!, r.t[6]!, r.t[7]!, r.t[8]!];
  f.get(z).simd('f32x4.abs').set(a);
  f.get(z).get(z).simd('f32x4.mul').set(u);
  f.get(u);
  splat(f, ERFC_U_MAX);
  f.simd('f32x4.pmin').simd('f32x4.neg').set(c);
  emitExp(f, c, r, true);
  f.set(c);
  splat(f, 1);
  f.get(a); splat(f, 0.5); f.simd('f32x4.mul'); splat(f, 1); f.simd('f32x4.add');
  f.simd('f32x4.div').set(t);
  horner(f, t, poly);
  f.get(t).simd('f32x4.mul').get(c).simd('f32x4.mul');
  f.get(u);
  splat(f, ERFC_U_MAX);
  f.simd('f32x4.gt').simd('v128.andnot').set(c);
}

/** Leaves erf(z): z·P(z²) for |z| ≤ 1 (relative precision near 0), else ±(1 − erfc(|z|)). Uses t[0..8]. */
function emitErf(f: FunctionBuilder, z: number, r: Regs): void {
  const [a, u, c] = [r.t[5]!, r.t[6]!, r.t[7]!];
  emitErfc(f, z, r, ERFC_SCALED);
  horner(f, u, ERF_SMALL);
  f.get(z).simd('f32x4.mul');
  binop(f, 'f32x4.sub', () => splat(f, 1), () => f.get(c));
  copySign(f, z);
  f.get(a);
  splat(f, 1);
  f.simd('f32x4.le').simd('v128.bitselect');
}

/** Leaves 1 + erf(z) = z > 0 ? 2 − erfc(z) : erfc(−z), with the all-range erfc. Uses t[0..8]. */
function emitOnePlusErf(f: FunctionBuilder, z: number, r: Regs): void {
  const c = r.t[7]!;
  emitErfc(f, z, r, ERFC_SCALED_ALL);
  binop(f, 'f32x4.sub', () => splat(f, 2), () => f.get(c));
  f.get(c).get(z);
  splat(f, 0);
  f.simd('f32x4.gt').simd('v128.bitselect');
}

type VectorBody = (f: FunctionBuilder, x: number, r: Regs) => void;

const UNARY_BODIES: Record<UnaryMathOp, VectorBody> = {
  exp: (f, x, r) => emitExp(f, x, r, false),
  sigmoid: emitSigmoid,
  tanh: emitTanh,
  silu: (f, x, r) => { emitSigmoid(f, x, r); f.get(x).simd('f32x4.mul'); },
  erf: emitErf,
  // x/2 · (1 + erf(x/√2))
  gelu: (f, x, r) => {
    const z = r.t[9]!;
    f.get(x); splat(f, Math.SQRT1_2); f.simd('f32x4.mul').set(z);
    emitOnePlusErf(f, z, r);
    f.get(x); splat(f, 0.5); f.simd('f32x4.mul').simd('f32x4.mul');
  },
  // x/2 · (1 + tanh(u)) = x · sigmoid(2u), u = √(2/π)·(x + 0.044715·x³) (Gelu approximate='tanh')
  gelu_tanh: (f, x, r) => {
    const u = r.t[9]!;
    f.get(x).get(x).simd('f32x4.mul');
    splat(f, 0.044715);
    f.simd('f32x4.mul');
    splat(f, 1);
    f.simd('f32x4.add').get(x).simd('f32x4.mul');
    splat(f, 2 * Math.sqrt(2 / Math.PI));
    f.simd('f32x4.mul').set(u);
    emitSigmoid(f, u, r);
    f.get(x).simd('f32x4.mul');
  },
};

/** base + 4·i */
function addr(f: FunctionBuilder, base: number, i: number): void {
  f.get(base).get(i).i32(2).op('i32.shl').op('i32.add');
}

/**
 * y[i] = g(x[i]) for i < n: the vector body on groups of four, then the same body on a splat of each tail
 * element (lane 0 stored), so the tail computes exactly what the vectors do.
 */
function emitUnary(op: UnaryMathOp): FunctionBuilder {
  return withConstantPool([I32, I32, I32], (f) => emitUnaryBody(f, op));
}

function emitUnaryBody(f: FunctionBuilder, op: UnaryMathOp): void {
  const [x, y, n] = [0, 1, 2];
  const i = f.local(I32), vn = f.local(I32), v = f.local(V128);
  const r = regs(f, 10);
  f.get(n).i32(-4).op('i32.and').set(vn);
  forLoop(f, i, konst(0), local(vn), konst(4), () => {
    addr(f, y, i);
    addr(f, x, i);
    f.v128Load(0, 2).set(v);
    UNARY_BODIES[op](f, v, r);
    f.v128Store(0, 2);
  });
  forLoop(f, i, local(vn), local(n), konst(1), () => {
    addr(f, y, i);
    addr(f, x, i);
    f.simdMem('v128.load32_splat').set(v);
    UNARY_BODIES[op](f, v, r);
    f.lane('f32x4.extract_lane', 0).f32Store();
  });
}

/** Horizontal reduction of the v128 on the stack with a scalar op ('f32.add' / 'f32.max'), into local `into`. */
function reduceLanes(f: FunctionBuilder, v: number, op: 'f32.add' | 'f32.max', into: number): void {
  f.set(v);
  f.get(v).lane('f32x4.extract_lane', 0).get(v).lane('f32x4.extract_lane', 1).op(op);
  f.get(v).lane('f32x4.extract_lane', 2).get(v).lane('f32x4.extract_lane', 3).op(op);
  f.op(op).get(into).op(op).set(into);
}

/**
 * f32_softmax_rows(x, y, rows, n, scale): per row of n, three passes: m = max(scale·x); y = e^(scale·x − m)
 * summed; y ·= 1/sum. Every exp argument is ≤ 0, so the non-positive exp. The tail goes through splats.
 */
function emitSoftmax(): FunctionBuilder {
  return withConstantPool([I32, I32, I32, I32, F32], emitSoftmaxBody);
}

function emitSoftmaxBody(f: FunctionBuilder): void {
  const [x, y, rows, n, scale] = [0, 1, 2, 3, 4];
  const row = f.local(I32), i = f.local(I32), vn = f.local(I32);
  const vs = f.local(V128), acc = f.local(V128), v = f.local(V128), vm = f.local(V128), tmp = f.local(V128);
  const m = f.local(F32), sum = f.local(F32);
  const r = regs(f, 5);
  f.get(scale).simd('f32x4.splat').set(vs);
  f.get(n).i32(-4).op('i32.and').set(vn);
  forLoop(f, row, konst(0), local(rows), konst(1), () => {
    // pass 1: maximum of scale·x
    splat(f, -Infinity);
    f.set(acc);
    f.f32(-Infinity).set(m);
    forLoop(f, i, konst(0), local(vn), konst(4), () => {
      f.get(acc);
      addr(f, x, i);
      f.v128Load(0, 2).get(vs).simd('f32x4.mul').simd('f32x4.max').set(acc);
    });
    forLoop(f, i, local(vn), local(n), konst(1), () => {
      f.get(m);
      addr(f, x, i);
      f.f32Load().get(scale).op('f32.mul').op('f32.max').set(m);
    });
    f.get(acc);
    reduceLanes(f, tmp, 'f32.max', m);
    f.get(m).simd('f32x4.splat').set(vm);
    // pass 2: y = e^(scale·x − m), summed
    splat(f, 0);
    f.set(acc);
    f.f32(0).set(sum);
    const expOf = (load: () => void) => {
      load();
      f.get(vs).simd('f32x4.mul').get(vm).simd('f32x4.sub').set(v);
      emitExp(f, v, r, true);
    };
    forLoop(f, i, konst(0), local(vn), konst(4), () => {
      addr(f, y, i);
      expOf(() => { addr(f, x, i); f.v128Load(0, 2); });
      f.tee(v).v128Store(0, 2);
      f.get(acc).get(v).simd('f32x4.add').set(acc);
    });
    forLoop(f, i, local(vn), local(n), konst(1), () => {
      addr(f, y, i);
      expOf(() => { addr(f, x, i); f.simdMem('v128.load32_splat'); });
      f.lane('f32x4.extract_lane', 0).tee(m).f32Store();
      f.get(sum).get(m).op('f32.add').set(sum);
    });
    f.get(acc);
    reduceLanes(f, tmp, 'f32.add', sum);
    // pass 3: y ·= 1/sum
    f.f32(1).get(sum).op('f32.div').tee(sum).simd('f32x4.splat').set(v);
    forLoop(f, i, konst(0), local(vn), konst(4), () => {
      addr(f, y, i);
      addr(f, y, i);
      f.v128Load(0, 2).get(v).simd('f32x4.mul').v128Store(0, 2);
    });
    forLoop(f, i, local(vn), local(n), konst(1), () => {
      addr(f, y, i);
      addr(f, y, i);
      f.f32Load().get(sum).op('f32.mul').f32Store();
    });
    f.get(x).get(n).i32(2).op('i32.shl').op('i32.add').set(x);
    f.get(y).get(n).i32(2).op('i32.shl').op('i32.add').set(y);
  });
}

/**
 * f32_layernorm_rows(x, y, rows, n, gamma, beta, eps): per row, mean, then the variance of x − mean (two
 * passes, no cancellation), then y = (x − mean)·(1/√(var + eps))·gamma + beta.
 */
function emitLayerNorm(): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32, F32]);
  const [x, y, rows, n, gamma, beta, eps] = [0, 1, 2, 3, 4, 5, 6];
  const row = f.local(I32), i = f.local(I32), vn = f.local(I32);
  const acc = f.local(V128), tmp = f.local(V128), vmean = f.local(V128), vinv = f.local(V128);
  const mean = f.local(F32), sq = f.local(F32), d = f.local(F32), invN = f.local(F32);
  f.get(n).i32(-4).op('i32.and').set(vn);
  // 1/n (the scalar int -> float conversion through a vector lane)
  f.f32(1).get(n).simd('i32x4.splat').simd('f32x4.convert_i32x4_s').lane('f32x4.extract_lane', 0).op('f32.div').set(invN);
  forLoop(f, row, konst(0), local(rows), konst(1), () => {
    // mean
    splat(f, 0);
    f.set(acc);
    f.f32(0).set(mean);
    forLoop(f, i, konst(0), local(vn), konst(4), () => {
      f.get(acc);
      addr(f, x, i);
      f.v128Load(0, 2).simd('f32x4.add').set(acc);
    });
    forLoop(f, i, local(vn), local(n), konst(1), () => {
      f.get(mean);
      addr(f, x, i);
      f.f32Load().op('f32.add').set(mean);
    });
    f.get(acc);
    reduceLanes(f, tmp, 'f32.add', mean);
    f.get(mean).get(invN).op('f32.mul').tee(mean).simd('f32x4.splat').set(vmean);
    // variance of x − mean
    splat(f, 0);
    f.set(acc);
    f.f32(0).set(sq);
    forLoop(f, i, konst(0), local(vn), konst(4), () => {
      addr(f, x, i);
      f.v128Load(0, 2).get(vmean).simd('f32x4.sub').tee(tmp).get(tmp).simd('f32x4.mul').get(acc).simd('f32x4.add').set(acc);
    });
    forLoop(f, i, local(vn), local(n), konst(1), () => {
      addr(f, x, i);
      f.f32Load().get(mean).op('f32.sub').tee(d).get(d).op('f32.mul').get(sq).op('f32.add').set(sq);
    });
    f.get(acc);
    reduceLanes(f, tmp, 'f32.add', sq);
    f.f32(1).get(sq).get(invN).op('f32.mul').get(eps).op('f32.add').op('f32.sqrt').op('f32.div').tee(sq).simd('f32x4.splat').set(vinv);
    // y = (x − mean)·inv·gamma + beta
    forLoop(f, i, konst(0), local(vn), konst(4), () => {
      addr(f, y, i);
      addr(f, x, i);
      f.v128Load(0, 2).get(vmean).simd('f32x4.sub').get(vinv).simd('f32x4.mul');
      addr(f, gamma, i);
      f.v128Load(0, 2).simd('f32x4.mul');
      addr(f, beta, i);
      f.v128Load(0, 2).simd('f32x4.add').v128Store(0, 2);
    });
    forLoop(f, i, local(vn), local(n), konst(1), () => {
      addr(f, y, i);
      addr(f, x, i);
      f.f32Load().get(mean).op('f32.sub').get(sq).op('f32.mul');
      addr(f, gamma, i);
      f.f32Load().op('f32.mul');
      addr(f, beta, i);
      f.f32Load().op('f32.add').f32Store();
    });
    f.get(x).get(n).i32(2).op('i32.shl').op('i32.add').set(x);
    f.get(y).get(n).i32(2).op('i32.shl').op('i32.add').set(y);
  });
  return f;
}

/**
 * x32_copy_rows(src, srcStride, dst, rows, cols): dst[i·cols + j] = src[i·srcStride + j] (any 32-bit data; strides
 * in elements): the row copies of permutes whose innermost axis stays innermost (attention's head splits).
 */
function emitCopyRows(): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, I32, I32]);
  const [src, srcStride, dst, rows, cols] = [0, 1, 2, 3, 4];
  const row = f.local(I32), j = f.local(I32), vn = f.local(I32), s = f.local(I32), d = f.local(I32);
  f.get(cols).i32(-4).op('i32.and').set(vn);
  f.get(src).set(s).get(dst).set(d);
  forLoop(f, row, konst(0), local(rows), konst(1), () => {
    forLoop(f, j, konst(0), local(vn), konst(4), () => {
      addr(f, d, j);
      addr(f, s, j);
      f.v128Load(0, 2).v128Store(0, 2);
    });
    forLoop(f, j, local(vn), local(cols), konst(1), () => {
      addr(f, d, j);
      addr(f, s, j);
      f.i32Load().i32Store();
    });
    f.get(s).get(srcStride).i32(2).op('i32.shl').op('i32.add').set(s);
    f.get(d).get(cols).i32(2).op('i32.shl').op('i32.add').set(d);
  });
  return f;
}

/** i8x16.shuffle lanes picking 32-bit lanes (0..3 of a, 4..7 of b). */
function lanes32(...l: number[]): number[] {
  return l.flatMap((k) => [4 * k, 4 * k + 1, 4 * k + 2, 4 * k + 3]);
}

/**
 * x32_transpose_plane_4x4(src, srcStride, dst, rows, cols): dst[i·cols + j] = src[i + j·srcStride]. Blocks of
 * 4×4: four loads (src columns j..j+3, four consecutive i each), two rounds of shuffles, four stores (dst rows
 * i..i+3, four consecutive j each); the remaining rows and columns element by element.
 */
function emitTransposePlane(): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, I32, I32]);
  const [src, srcStride, dst, rows, cols] = [0, 1, 2, 3, 4];
  const i = f.local(I32), j = f.local(I32), rv = f.local(I32), cv = f.local(I32), k = f.local(I32);
  const p = f.local(I32), q = f.local(I32);
  const [a, b, c, d] = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
  const [t0, t1, t2, t3] = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
  f.get(rows).i32(-4).op('i32.and').set(rv);
  f.get(cols).i32(-4).op('i32.and').set(cv);
  const srcAt = (ii: number, jj: number) => {
    // src + 4·(i + j·srcStride)
    f.get(src).get(ii).get(jj).get(srcStride).op('i32.mul').op('i32.add').i32(2).op('i32.shl').op('i32.add');
  };
  const dstAt = (ii: number, jj: number) => {
    f.get(dst).get(ii).get(cols).op('i32.mul').get(jj).op('i32.add').i32(2).op('i32.shl').op('i32.add');
  };
  forLoop(f, i, konst(0), local(rv), konst(4), () => {
    forLoop(f, j, konst(0), local(cv), konst(4), () => {
      srcAt(i, j);
      f.set(p);
      const stride4 = () => f.get(srcStride).i32(2).op('i32.shl');
      f.get(p).v128Load(0, 2).set(a);
      f.get(p); stride4(); f.op('i32.add').tee(p).v128Load(0, 2).set(b);
      f.get(p); stride4(); f.op('i32.add').tee(p).v128Load(0, 2).set(c);
      f.get(p); stride4(); f.op('i32.add').v128Load(0, 2).set(d);
      f.get(a).get(b).shuffle(lanes32(0, 4, 1, 5)).set(t0);
      f.get(a).get(b).shuffle(lanes32(2, 6, 3, 7)).set(t1);
      f.get(c).get(d).shuffle(lanes32(0, 4, 1, 5)).set(t2);
      f.get(c).get(d).shuffle(lanes32(2, 6, 3, 7)).set(t3);
      dstAt(i, j);
      f.set(q);
      const rowBytes = () => f.get(cols).i32(2).op('i32.shl');
      f.get(q).get(t0).get(t2).shuffle(lanes32(0, 1, 4, 5)).v128Store(0, 2);
      f.get(q); rowBytes(); f.op('i32.add').tee(q).get(t0).get(t2).shuffle(lanes32(2, 3, 6, 7)).v128Store(0, 2);
      f.get(q); rowBytes(); f.op('i32.add').tee(q).get(t1).get(t3).shuffle(lanes32(0, 1, 4, 5)).v128Store(0, 2);
      f.get(q); rowBytes(); f.op('i32.add').get(t1).get(t3).shuffle(lanes32(2, 3, 6, 7)).v128Store(0, 2);
    });
    // the last cols mod 4 columns of these four rows
    forLoop(f, j, local(cv), local(cols), konst(1), () => {
      forLoop(f, k, local(i), () => void f.get(i).i32(4).op('i32.add'), konst(1), () => {
        dstAt(k, j);
        srcAt(k, j);
        f.i32Load().i32Store();
      });
    });
  });
  // the last rows mod 4 rows
  forLoop(f, i, local(rv), local(rows), konst(1), () => {
    forLoop(f, j, konst(0), local(cols), konst(1), () => {
      dstAt(i, j);
      srcAt(i, j);
      f.i32Load().i32Store();
    });
  });
  return f;
}

/** The 'math' family: every unary kernel, softmax and LayerNorm over rows, and the permute copies. */
export const MATH_KERNELS: WasmModuleSpec<WasmMathKernels> = {
  key: 'math',
  build(m: ModuleBuilder): void {
    for (const op of UNARY_MATH_OPS) m.addFunction(emitUnary(op), unaryMathName(op));
    m.addFunction(emitSoftmax(), SOFTMAX_NAME);
    m.addFunction(emitLayerNorm(), LAYERNORM_NAME);
    m.addFunction(emitCopyRows(), COPY_ROWS_NAME);
    m.addFunction(emitTransposePlane(), TRANSPOSE_NAME);
  },
  bind(exports: Record<string, unknown>): WasmMathKernels {
    const unary = Object.fromEntries(UNARY_MATH_OPS.map((op) => [op, exports[unaryMathName(op)] as UnaryKernel]));
    return {
      unary: unary as Record<UnaryMathOp, UnaryKernel>,
      softmax: exports[SOFTMAX_NAME] as WasmMathKernels['softmax'],
      layerNorm: exports[LAYERNORM_NAME] as WasmMathKernels['layerNorm'],
      copyRows: exports[COPY_ROWS_NAME] as WasmMathKernels['copyRows'],
      transposePlane: exports[TRANSPOSE_NAME] as WasmMathKernels['transposePlane'],
    };
  },
};

// ---- TypeScript faces: false (doing nothing) when the kernels are missing or a view is not in wasm memory ----

function inMemory(ctx: WasmContext, ...views: Float32Array[]): boolean {
  const buffer = ctx.memory.buffer;
  for (const v of views) if (v.buffer !== buffer) return false;
  return true;
}

/** y[i] = op(x[i]) for i < y.length (x at least as long). */
export function wasmUnaryMath(ctx: WasmContext, k: WasmMathKernels, op: UnaryMathOp, x: Float32Array, y: Float32Array): boolean {
  if (!inMemory(ctx, x, y) || x.length < y.length) return false;
  ctx.invokeRange(k.unary[op], [x.byteOffset, y.byteOffset, y.length], y.length, [0, 1], 2);
  return true;
}

/** softmax(scale·x) along rows of n: x and y hold rows·n floats. */
export function wasmSoftmaxRows(ctx: WasmContext, k: WasmMathKernels, x: Float32Array, y: Float32Array, rows: number, n: number, scale: number): boolean {
  if (!inMemory(ctx, x, y) || x.length < rows * n || y.length < rows * n) return false;
  ctx.invokeRows(k.softmax, [x.byteOffset, y.byteOffset, rows, n, scale], rows, 4 * n, [0, 1], 2);
  return true;
}

/**
 * LayerNorm along rows of n; gamma and beta are byte offsets of n floats each in wasm memory (uploaded at
 * prepare, so run makes no views).
 */
export function wasmLayerNormRows(
  ctx: WasmContext, k: WasmMathKernels, x: Float32Array, y: Float32Array, rows: number, n: number,
  gamma: number, beta: number, eps: number,
): boolean {
  if (!inMemory(ctx, x, y) || x.length < rows * n || y.length < rows * n) return false;
  ctx.invokeRows(k.layerNorm, [x.byteOffset, y.byteOffset, rows, n, gamma, beta, eps], rows, 4 * n, [0, 1], 2);
  return true;
}
