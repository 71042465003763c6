import type { FunctionBuilder, NumericOp } from './emitter.js';

/** Structured-loop helpers shared by the kernel templates. */

/** for (i = start; i < limit; i += step) body, with start/limit/step emitted by the callbacks. */
export function forLoop(
  f: FunctionBuilder, i: number, start: (f: FunctionBuilder) => void, limit: (f: FunctionBuilder) => void,
  step: (f: FunctionBuilder) => void, body: () => void,
): void {
  start(f);
  f.set(i);
  f.block().loop();
  f.get(i);
  limit(f);
  f.op('i32.ge_s').brIf(1);
  body();
  f.get(i);
  step(f);
  f.op('i32.add').set(i).br(0);
  f.end().end();
}

export const konst = (v: number) => (f: FunctionBuilder) => void f.i32(v);
export const local = (l: number) => (f: FunctionBuilder) => void f.get(l);

/** local = min(a, b) for two emitted i32 values. */
export function minInto(f: FunctionBuilder, into: number, a: (f: FunctionBuilder) => void, b: (f: FunctionBuilder) => void): void {
  a(f);
  b(f);
  a(f);
  b(f);
  f.op('i32.lt_s').select().set(into);
}

/** Emits `x = x op y` on i32 locals/constants in one line. */
export function i32Update(f: FunctionBuilder, x: number, op: NumericOp, y: number): void {
  f.get(x).i32(y).op(op).set(x);
}
