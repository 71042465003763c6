/**
 * Binary float32 ops under any numpy broadcast, on WebAssembly SIMD: one kernel per op walks the loop nest that
 * planBroadcast (broadcast.ts) collapsed at prepare. The output is contiguous; the three outer loop dims step each
 * operand by its own byte stride (0 where it is broadcast); the innermost dim is walked by one of three f32x4
 * loops: both operands walking, A walking with B one value (splat), or A one value with B walking.
 *
 *   f32_{op}_bcast(a, b, out, d0, d1, d2, n, as0, as1, as2, bs0, bs1, bs2, mode)
 *     for i0 < d0, i1 < d1, i2 < d2: inner loop of n elements at a + i0·as0 + i1·as1 + i2·as2 (and b likewise),
 *     mode 0: a[i] op b[i]; 1: a[i] op b[0]; 2: a[0] op b[i]; 3: a[0] op b[0] (a broadcast along the inner dim).
 *
 * `out` may alias an operand of the output's shape (in place): each element is read before it is written.
 * Every op is exactly the scalar JS op in float32: add/sub/mul/div round once; max/min follow the JS kernels'
 * `x >= y || x !== x ? x : y` (NaN propagates, ties keep A, so max(-0, +0) is -0); PRelu is x < 0 ? x·s : x.
 */
import { SPLIT_MIN_ELEMENTS, type WasmContext, type WasmModuleSpec } from '../../wasm/context.js';
import { FunctionBuilder, I32, V128, F32, type ModuleBuilder } from '../../wasm/emitter.js';
import { forLoop, konst, local } from '../../wasm/loops.js';

export const BCAST_OPS = ['add', 'sub', 'mul', 'div', 'max', 'min', 'prelu'] as const;
export type BcastOp = (typeof BCAST_OPS)[number];

/** The kernel: see the file comment for the parameters. */
export type WasmBcastKernel = (
  a: number, b: number, out: number, d0: number, d1: number, d2: number, n: number,
  as0: number, as1: number, as2: number, bs0: number, bs1: number, bs2: number, mode: number,
) => void;

/** Emits `x op y` for two f32x4 values in locals (vector) or two f32 values (scalar), leaving the result. */
function emitOp(f: FunctionBuilder, op: BcastOp, x: number, y: number, vector: boolean): void {
  const simple: Record<string, [string, string]> = {
    add: ['f32x4.add', 'f32.add'], sub: ['f32x4.sub', 'f32.sub'], mul: ['f32x4.mul', 'f32.mul'], div: ['f32x4.div', 'f32.div'],
  };
  const s = simple[op];
  if (s !== undefined) {
    f.get(x).get(y);
    if (vector) f.simd(s[0] as 'f32x4.add');
    else f.op(s[1] as 'f32.add');
    return;
  }
  if (op === 'prelu') {
    // x < 0 ? x·s : x
    if (vector) {
      f.get(x).get(y).simd('f32x4.mul').get(x).get(x).f32x4Const(0, 0, 0, 0).simd('f32x4.lt').simd('v128.bitselect');
    } else {
      f.get(x).get(y).op('f32.mul').get(x).get(x).f32(0).op('f32.lt').select();
    }
    return;
  }
  // max: x >= y || x != x ? x : y;  min: x <= y || x != x ? x : y
  const cmp = op === 'max' ? 'ge' : 'le';
  if (vector) {
    f.get(x).get(y).get(x).get(y).simd(`f32x4.${cmp}` as 'f32x4.ge').get(x).get(x).simd('f32x4.ne').simd('v128.or').simd('v128.bitselect');
  } else {
    f.get(x).get(y).get(x).get(y).op(`f32.${cmp}` as 'f32.ge').get(x).get(x).op('f32.ne').op('i32.or').select();
  }
}

function emitBcast(op: BcastOp): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32]);
  const [a, b, out, d0, d1, d2, n, as0, as1, as2, bs0, bs1, bs2, mode] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
  const i0 = f.local(I32), i1 = f.local(I32), i2 = f.local(I32), i = f.local(I32), n4 = f.local(I32);
  const pa = f.local(I32), pb = f.local(I32), po = f.local(I32);
  const ra0 = f.local(I32), rb0 = f.local(I32), ra1 = f.local(I32), rb1 = f.local(I32);
  const vx = f.local(V128), vy = f.local(V128), sx = f.local(F32), sy = f.local(F32);
  f.get(n).i32(-4).op('i32.and').set(n4);
  f.get(out).set(po);

  /** One inner loop: a and b step 16 bytes per vector when they walk, stay put when they are one value. */
  const inner = (aWalks: boolean, bWalks: boolean): void => {
    if (!aWalks) f.get(pa).f32Load().tee(sx).simd('f32x4.splat').set(vx);
    if (!bWalks) f.get(pb).f32Load().tee(sy).simd('f32x4.splat').set(vy);
    forLoop(f, i, konst(0), local(n4), konst(4), () => {
      if (aWalks) f.get(pa).get(i).i32(2).op('i32.shl').op('i32.add').v128Load(0, 2).set(vx);
      if (bWalks) f.get(pb).get(i).i32(2).op('i32.shl').op('i32.add').v128Load(0, 2).set(vy);
      f.get(po).get(i).i32(2).op('i32.shl').op('i32.add');
      emitOp(f, op, vx, vy, true);
      f.v128Store(0, 2);
    });
    forLoop(f, i, local(n4), local(n), konst(1), () => {
      if (aWalks) f.get(pa).get(i).i32(2).op('i32.shl').op('i32.add').f32Load().set(sx);
      if (bWalks) f.get(pb).get(i).i32(2).op('i32.shl').op('i32.add').f32Load().set(sy);
      f.get(po).get(i).i32(2).op('i32.shl').op('i32.add');
      emitOp(f, op, sx, sy, false);
      f.f32Store();
    });
  };

  f.get(a).set(ra0).get(b).set(rb0);
  forLoop(f, i0, konst(0), local(d0), konst(1), () => {
    f.get(ra0).set(ra1).get(rb0).set(rb1);
    forLoop(f, i1, konst(0), local(d1), konst(1), () => {
      f.get(ra1).set(pa).get(rb1).set(pb);
      forLoop(f, i2, konst(0), local(d2), konst(1), () => {
        f.get(mode).op('i32.eqz').if();
        inner(true, true);
        f.else().get(mode).i32(1).op('i32.eq').if();
        inner(true, false);
        f.else().get(mode).i32(2).op('i32.eq').if();
        inner(false, true);
        f.else();
        inner(false, false);
        f.end().end().end();
        f.get(po).get(n).i32(2).op('i32.shl').op('i32.add').set(po);
        f.get(pa).get(as2).op('i32.add').set(pa);
        f.get(pb).get(bs2).op('i32.add').set(pb);
      });
      f.get(ra1).get(as1).op('i32.add').set(ra1);
      f.get(rb1).get(bs1).op('i32.add').set(rb1);
    });
    f.get(ra0).get(as0).op('i32.add').set(ra0);
    f.get(rb0).get(bs0).op('i32.add').set(rb0);
  });
  return f;
}

export function bcastName(op: BcastOp): string {
  return `f32_${op}_bcast__wasmsimd`;
}

/** The family module: one broadcast kernel per op, compiled on first use. */
export const BCAST_MODULE: WasmModuleSpec<Readonly<Record<BcastOp, WasmBcastKernel>>> = {
  key: 'binary-broadcast',
  build(m: ModuleBuilder) {
    for (const op of BCAST_OPS) m.addFunction(emitBcast(op), bcastName(op));
  },
  bind: (e) => Object.fromEntries(BCAST_OPS.map((op) => [op, e[bcastName(op)] as WasmBcastKernel])) as Record<BcastOp, WasmBcastKernel>,
};

/**
 * The calls for a collapsed plan, fixed at prepare: the innermost four loop dims go to the kernel; any loop dims
 * further out (rare: five or more alternating broadcast dims) are walked by a small odometer in JS, one kernel
 * call per step.
 */
export interface BcastCall {
  /** d0, d1, d2, n of each kernel call */
  readonly dims: readonly [number, number, number, number];
  /** Byte strides of A and B over d0, d1, d2. */
  readonly aStrides: readonly [number, number, number];
  readonly bStrides: readonly [number, number, number];
  readonly mode: 0 | 1 | 2 | 3;
  /** Loop dims outside the kernel, outermost first, with A's, B's and the output's byte strides. */
  readonly outer: readonly { size: number; a: number; b: number; out: number }[];
}

/**
 * The calls for a collapsed plan (dims outermost first, element strides per operand). The innermost stride of a
 * walking operand is 1 (planBroadcast merges contiguous runs), so the inner loop is one of the three modes;
 * undefined if not (never for planBroadcast's plans).
 */
export function bcastCall(dims: readonly number[], aStrides: readonly number[], bStrides: readonly number[]): BcastCall | undefined {
  // Left-padded to at least four dims (size 1, stride 0).
  const pad = Math.max(0, 4 - dims.length);
  const rank = pad + dims.length;
  const d = (j: number): number => (j < pad ? 1 : dims[j - pad]!);
  const sa = (j: number): number => (j < pad ? 0 : aStrides[j - pad]!);
  const sb = (j: number): number => (j < pad ? 0 : bStrides[j - pad]!);
  const k = rank - 4;
  const [ia, ib] = [sa(k + 3), sb(k + 3)];
  if ((ia !== 0 && ia !== 1) || (ib !== 0 && ib !== 1)) return undefined;
  const mode = ia === 1 && ib === 1 ? 0 : ia === 1 ? 1 : ib === 1 ? 2 : 3;
  const outer: { size: number; a: number; b: number; out: number }[] = [];
  for (let j = 0; j < k; j++) {
    let inner = 1;
    for (let i = j + 1; i < rank; i++) inner *= d(i);
    outer.push({ size: d(j), a: 4 * sa(j), b: 4 * sb(j), out: 4 * inner });
  }
  return {
    dims: [d(k), d(k + 1), d(k + 2), d(k + 3)],
    aStrides: [4 * sa(k), 4 * sa(k + 1), 4 * sa(k + 2)],
    bStrides: [4 * sb(k), 4 * sb(k + 1), 4 * sb(k + 2)],
    mode,
    outer,
  };
}

/** Runs the calls on byte offsets. */
export function runBcast(k: WasmBcastKernel, c: BcastCall, a: number, b: number, out: number, ctx?: WasmContext): void {
  const [d0, d1, d2, n] = c.dims;
  if (ctx?.pool !== undefined && c.outer.length === 0 && splitBcast(ctx, k, c, a, b, out)) return;
  if (c.outer.length === 0) {
    k(a, b, out, d0, d1, d2, n, c.aStrides[0], c.aStrides[1], c.aStrides[2], c.bStrides[0], c.bStrides[1], c.bStrides[2], c.mode);
    return;
  }
  runOuter(k, c, 0, a, b, out);
}

/**
 * One call split over the pool's threads along its outermost loop dim longer than one (or the inner run when
 * there is no outer loop): the output is contiguous, so a range of that dim is a contiguous range of it. False
 * when the call is too small to pay.
 */
function splitBcast(ctx: WasmContext, k: WasmBcastKernel, c: BcastCall, a: number, b: number, out: number): boolean {
  const pool = ctx.pool!;
  const dims = [...c.dims];
  const total = dims[0]! * dims[1]! * dims[2]! * dims[3]!;
  if (pool.recording || total < 2 * SPLIT_MIN_ELEMENTS) return false;
  const axis = dims.findIndex((d) => d > 1);
  if (axis < 0) return false;
  const chunks = Math.min(pool.threads * 2, Math.floor(total / SPLIT_MIN_ELEMENTS), axis < 3 ? dims[axis]! : Math.floor(dims[3]! / 4));
  if (chunks < 2) return false;
  // Byte steps per index of the split dim: A, B and the output.
  const inner = axis === 3;
  const aStep = inner ? (c.mode === 0 || c.mode === 1 ? 4 : 0) : c.aStrides[axis]!;
  const bStep = inner ? (c.mode === 0 || c.mode === 2 ? 4 : 0) : c.bStrides[axis]!;
  const outStep = 4 * dims.slice(axis + 1).reduce((p, x) => p * x, 1);
  const size = dims[axis]!;
  pool.batch(() => {
    for (let i = 0; i < chunks; i++) {
      let s0 = Math.floor((i * size) / chunks);
      let s1 = Math.floor(((i + 1) * size) / chunks);
      if (inner) {
        s0 = Math.floor(s0 / 4) * 4;
        s1 = i + 1 === chunks ? size : Math.floor(s1 / 4) * 4;
      }
      const d = [...dims];
      d[axis] = s1 - s0;
      pool.group();
      pool.call(k, [
        a + s0 * aStep, b + s0 * bStep, out + s0 * outStep, d[0]!, d[1]!, d[2]!, d[3]!,
        c.aStrides[0], c.aStrides[1], c.aStrides[2], c.bStrides[0], c.bStrides[1], c.bStrides[2], c.mode,
      ]);
    }
  });
  return true;
}

function runOuter(k: WasmBcastKernel, c: BcastCall, level: number, a: number, b: number, out: number): void {
  if (level === c.outer.length) {
    const [d0, d1, d2, n] = c.dims;
    k(a, b, out, d0, d1, d2, n, c.aStrides[0], c.aStrides[1], c.aStrides[2], c.bStrides[0], c.bStrides[1], c.bStrides[2], c.mode);
    return;
  }
  const o = c.outer[level]!;
  for (let i = 0; i < o.size; i++) runOuter(k, c, level + 1, a + i * o.a, b + i * o.b, out + i * o.out);
}

/** A short name of the broadcast pattern for the variant name: same, scalar, row, channel or bcast{dims}. */
export function bcastPattern(c: BcastCall): string {
  const [d0, d1, d2] = c.dims;
  const outer = d0 * d1 * d2;
  if (c.mode === 0 && outer === 1 && c.outer.length === 0) return 'same';
  if (c.mode !== 0 && outer === 1 && c.outer.length === 0) return 'scalar';
  if (c.mode === 3) return 'splat';
  const loops = [d0, d1, d2].filter((d) => d > 1).length + 1 + c.outer.length;
  if (loops === 2 && c.mode !== 0) return 'channel';
  if (loops === 2) return 'row';
  return `bcast${loops}d`;
}
