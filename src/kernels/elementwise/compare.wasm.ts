/**
 * Float32 comparisons (bool output) and Where (float32 output) under any broadcast of at most four collapsed loop
 * dims, on WebAssembly. Scalar wasm loops: each element is a load, a compare or a select and a store, which already
 * runs several times faster than the JS odometer's per-element function call for every dtype.
 *
 *   f32_{lt,le,gt,ge,eq}_cmp(a, b, out, d0, d1, d2, n, as0, as1, as2, bs0, bs1, bs2, ia, ib)
 *     out[...] (one byte, 0 or 1) = a op b; the three outer dims step each operand by its byte stride, the inner
 *     one by ia / ib bytes (4 when it walks, 0 when broadcast). NaN compares false (true for none of them), as in JS.
 *   f32_where(c, a, b, out, d0, d1, d2, n, cs0, cs1, cs2, as0, as1, as2, bs0, bs1, bs2, ic, ia, ib)
 *     out[...] = c != 0 ? a : b (c one byte per element; the inner steps ic in bytes of c).
 */
import type { WasmModuleSpec } from '../../wasm/context.js';
import { FunctionBuilder, I32, type ModuleBuilder, type NumericOp } from '../../wasm/emitter.js';
import { forLoop, konst, local } from '../../wasm/loops.js';

export const CMP_OPS = ['lt', 'le', 'gt', 'ge', 'eq'] as const;
export type CmpOp = (typeof CMP_OPS)[number];

export type WasmCmpKernel = (
  a: number, b: number, out: number, d0: number, d1: number, d2: number, n: number,
  as0: number, as1: number, as2: number, bs0: number, bs1: number, bs2: number, ia: number, ib: number,
) => void;

export type WasmWhereKernel = (
  c: number, a: number, b: number, out: number, d0: number, d1: number, d2: number, n: number,
  cs0: number, cs1: number, cs2: number, as0: number, as1: number, as2: number, bs0: number, bs1: number, bs2: number,
  ic: number, ia: number, ib: number,
) => void;

/**
 * The loop nest shared by both kernels: `operands` pointer params with their three outer byte strides and inner
 * byte step; `out` advances by `outBytes` per element. `element(ptrs, out)` emits one element's work.
 */
function emitNest(
  f: FunctionBuilder, operands: { ptr: number; outer: [number, number, number]; inner: number }[], out: number, outBytes: number,
  dims: [number, number, number, number], element: (ptrs: number[], out: number) => void,
): void {
  const [d0, d1, d2, n] = dims;
  const i0 = f.local(I32), i1 = f.local(I32), i2 = f.local(I32), i = f.local(I32), po = f.local(I32);
  const r0 = operands.map(() => f.local(I32)), r1 = operands.map(() => f.local(I32)), p = operands.map(() => f.local(I32));
  f.get(out).set(po);
  operands.forEach((o, k) => f.get(o.ptr).set(r0[k]!));
  forLoop(f, i0, konst(0), local(d0), konst(1), () => {
    operands.forEach((_, k) => f.get(r0[k]!).set(r1[k]!));
    forLoop(f, i1, konst(0), local(d1), konst(1), () => {
      operands.forEach((_, k) => f.get(r1[k]!).set(p[k]!));
      forLoop(f, i2, konst(0), local(d2), konst(1), () => {
        // The inner run from p: the pointers walk by their inner steps; restored after for the outer step.
        const q = operands.map(() => f.local(I32));
        operands.forEach((_, k) => f.get(p[k]!).set(q[k]!));
        forLoop(f, i, konst(0), local(n), konst(1), () => {
          element(q, po);
          f.get(po).i32(outBytes).op('i32.add').set(po);
          operands.forEach((o, k) => f.get(q[k]!).get(o.inner).op('i32.add').set(q[k]!));
        });
        operands.forEach((o, k) => f.get(p[k]!).get(o.outer[2]).op('i32.add').set(p[k]!));
      });
      operands.forEach((o, k) => f.get(r1[k]!).get(o.outer[1]).op('i32.add').set(r1[k]!));
    });
    operands.forEach((o, k) => f.get(r0[k]!).get(o.outer[0]).op('i32.add').set(r0[k]!));
  });
}

function emitCmp(op: CmpOp): FunctionBuilder {
  const f = new FunctionBuilder(new Array(15).fill(I32));
  emitNest(
    f,
    [{ ptr: 0, outer: [7, 8, 9], inner: 13 }, { ptr: 1, outer: [10, 11, 12], inner: 14 }],
    2, 1, [3, 4, 5, 6],
    ([pa, pb], po) => void f.get(po).get(pa!).f32Load().get(pb!).f32Load().op(`f32.${op}` as NumericOp).i32Store8(),
  );
  return f;
}

function emitWhere(): FunctionBuilder {
  const f = new FunctionBuilder(new Array(20).fill(I32));
  emitNest(
    f,
    [
      { ptr: 0, outer: [8, 9, 10], inner: 17 },
      { ptr: 1, outer: [11, 12, 13], inner: 18 },
      { ptr: 2, outer: [14, 15, 16], inner: 19 },
    ],
    3, 4, [4, 5, 6, 7],
    ([pc, pa, pb], po) => void f.get(po).get(pa!).f32Load().get(pb!).f32Load().get(pc!).i32Load8(false).select().f32Store(),
  );
  return f;
}

export interface WasmCompareKernels {
  readonly cmp: Readonly<Record<CmpOp, WasmCmpKernel>>;
  readonly where: WasmWhereKernel;
}

export const COMPARE_MODULE: WasmModuleSpec<WasmCompareKernels> = {
  key: 'compare-where',
  build(m: ModuleBuilder) {
    for (const op of CMP_OPS) m.addFunction(emitCmp(op), `f32_${op}_cmp__wasm`);
    m.addFunction(emitWhere(), 'f32_where__wasm');
  },
  bind: (e) => ({
    cmp: Object.fromEntries(CMP_OPS.map((op) => [op, e[`f32_${op}_cmp__wasm`] as WasmCmpKernel])) as Record<CmpOp, WasmCmpKernel>,
    where: e['f32_where__wasm'] as WasmWhereKernel,
  }),
};

/** Loop dims and per-operand byte strides (element size 4 for floats, 1 for the bool condition), padded to four. */
export interface NestCall {
  readonly dims: [number, number, number, number];
  /** Per operand: three outer byte strides, then the inner byte step. */
  readonly strides: [number, number, number, number][];
}

/** The call for a collapsed plan with at most four loop dims, or undefined. `bytes` is each operand's element size. */
export function nestCall(dims: readonly number[], strides: readonly (readonly number[])[], bytes: readonly number[]): NestCall | undefined {
  if (dims.length > 4) return undefined;
  const pad = 4 - dims.length;
  const d = [...new Array<number>(pad).fill(1), ...dims] as [number, number, number, number];
  return {
    dims: d,
    strides: strides.map((s, k) => [...new Array<number>(pad).fill(0), ...s].map((v) => v * bytes[k]!) as [number, number, number, number]),
  };
}
