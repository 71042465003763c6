/**
 * The WebAssembly assembler: LEB128 against hand-encoded bytes (spec 5.2.2 examples), and tiny modules that
 * must validate and compute what a few lines of JS compute.
 */
import { describe, expect, it } from 'vitest';
import {
  F32, FunctionBuilder, I32, ModuleBuilder, V128, hasRelaxedSimd, hasWasmSimd, sleb, uleb,
} from '../src/wasm/emitter.js';

describe('LEB128', () => {
  it('encodes unsigned values in 7-bit groups, low first', () => {
    expect(uleb(0)).toEqual([0x00]);
    expect(uleb(127)).toEqual([0x7f]);
    expect(uleb(128)).toEqual([0x80, 0x01]);
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(uleb(0xffffffff)).toEqual([0xff, 0xff, 0xff, 0xff, 0x0f]);
  });

  it('encodes signed values with the sign in bit 6 of the last byte', () => {
    expect(sleb(0)).toEqual([0x00]);
    expect(sleb(63)).toEqual([0x3f]);
    expect(sleb(64)).toEqual([0xc0, 0x00]);
    expect(sleb(-1)).toEqual([0x7f]);
    expect(sleb(-64)).toEqual([0x40]);
    expect(sleb(-65)).toEqual([0xbf, 0x7f]);
    expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
    expect(sleb(-2147483648)).toEqual([0x80, 0x80, 0x80, 0x80, 0x78]);
  });

  it('refuses values out of range', () => {
    expect(() => uleb(-1)).toThrow(RangeError);
    expect(() => uleb(1.5)).toThrow(RangeError);
    expect(() => sleb(2 ** 31)).toThrow(RangeError);
  });
});

/** Instantiates a one-function module (exported as `f`) with an imported 1-page memory. */
function instantiate(f: FunctionBuilder): { fn: (...args: number[]) => number; memory: WebAssembly.Memory } {
  const m = new ModuleBuilder().importMemory(1, 2);
  m.addFunction(f, 'f');
  const bytes = m.encode();
  expect(WebAssembly.validate(bytes)).toBe(true);
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 2 });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
  return { fn: instance.exports.f as (...args: number[]) => number, memory };
}

const simd = hasWasmSimd();

describe('modules', () => {
  it('an empty module validates', () => {
    expect(WebAssembly.validate(new ModuleBuilder().encode())).toBe(true);
  });

  it('i32 arithmetic, locals and a loop: sum of 1..n', () => {
    const f = new FunctionBuilder([I32], [I32]);
    const s = f.local(I32);
    f.block().loop();
    f.get(0).op('i32.eqz').brIf(1);
    f.get(s).get(0).op('i32.add').set(s);
    f.get(0).i32(1).op('i32.sub').set(0).br(0);
    f.end().end();
    f.get(s);
    const { fn } = instantiate(f);
    for (const n of [0, 1, 10, 1000]) expect(fn(n)).toBe((n * (n + 1)) / 2);
  });

  it('if/else with a result, signed compares and negative constants', () => {
    const f = new FunctionBuilder([I32], [I32]);
    f.get(0).i32(-5).op('i32.lt_s').if(I32).i32(-1000).else().get(0).i32(3).op('i32.mul').end();
    const { fn } = instantiate(f);
    expect(fn(-6)).toBe(-1000);
    expect(fn(-5)).toBe(-15);
    expect(fn(7)).toBe(21);
  });

  it('f32 loads and stores with memarg offsets', () => {
    // mem[p + 8] = mem[p] · mem[p + 4] + 0.5
    const f = new FunctionBuilder([I32]);
    f.get(0).get(0).f32Load(0).get(0).f32Load(4).op('f32.mul').f32(0.5).op('f32.add').f32Store(8);
    const { fn, memory } = instantiate(f);
    const view = new Float32Array(memory.buffer, 16, 3);
    view.set([1.5, -3]);
    fn(16);
    expect(view[2]).toBe(1.5 * -3 + 0.5);
  });

  it.skipIf(!simd)('f32x4 add/mul/max/min, splat, lane extract/replace and v128.const', () => {
    // out = max(min(a·splat(s) + const, 2), -2) with lane 3 replaced by lane 0 of a
    const f = new FunctionBuilder([I32, F32]);
    const x = f.local(V128);
    f.get(0).v128Load(0).get(1).simd('f32x4.splat').simd('f32x4.mul').f32x4Const(0.5, 1, -1, 0).simd('f32x4.add');
    f.f32x4Const(2, 2, 2, 2).simd('f32x4.min').f32x4Const(-2, -2, -2, -2).simd('f32x4.max').set(x);
    f.get(x).get(0).v128Load(0).lane('f32x4.extract_lane', 0).lane('f32x4.replace_lane', 3).set(x);
    f.get(0).get(x).v128Store(16);
    const { fn, memory } = instantiate(f);
    const a = [0.25, 3, -0.75, 9];
    new Float32Array(memory.buffer, 0, 4).set(a);
    fn(0, 2);
    const c = [0.5, 1, -1, 0];
    const want = a.map((v, i) => Math.max(-2, Math.min(2, v * 2 + c[i]!)));
    want[3] = a[0]!;
    expect(Array.from(new Float32Array(memory.buffer, 16, 4))).toEqual(want);
  });

  it.skipIf(!simd)('f32x4.lt + v128.bitselect: where(x < 0, 0.1·x, x), and pmin/pmax', () => {
    const f = new FunctionBuilder([I32]);
    const x = f.local(V128);
    f.get(0).v128Load(0).set(x);
    f.get(0).get(x).f32x4Const(0.1, 0.1, 0.1, 0.1).simd('f32x4.mul').get(x).get(x).f32x4Const(0, 0, 0, 0)
      .simd('f32x4.lt').simd('v128.bitselect').v128Store(16);
    f.get(0).get(x).f32x4Const(-1, -1, -1, -1).simd('f32x4.pmax').f32x4Const(1, 1, 1, 1).simd('f32x4.pmin').v128Store(32);
    const { fn, memory } = instantiate(f);
    const a = new Float32Array([-2, 0.5, -0.25, 3]);
    new Float32Array(memory.buffer, 0, 4).set(a);
    fn(0);
    expect(Array.from(new Float32Array(memory.buffer, 16, 4))).toEqual(Array.from(a, (v) => Math.fround(v < 0 ? Math.fround(0.1) * v : v)));
    expect(Array.from(new Float32Array(memory.buffer, 32, 4))).toEqual([-1, 0.5, -0.25, 1]);
  });

  it.skipIf(!simd)('int8 path: load8x8_s, i16x8 extend/mul/add, i32x4.dot_i16x8_s, i32x4 extract', () => {
    // Σ_i a[i]·b[i] over 8 int8 pairs via i16 widening and the pairwise dot product.
    const f = new FunctionBuilder([I32], [I32]);
    const d = f.local(V128);
    f.get(0).simdMem('v128.load8x8_s', 0).get(0).simdMem('v128.load8x8_s', 8).simd('i32x4.dot_i16x8_s').set(d);
    f.get(d).lane('i32x4.extract_lane', 0).get(d).lane('i32x4.extract_lane', 1).op('i32.add');
    f.get(d).lane('i32x4.extract_lane', 2).op('i32.add').get(d).lane('i32x4.extract_lane', 3).op('i32.add');
    const { fn, memory } = instantiate(f);
    const a = [-128, 127, 3, -4, 5, 0, -7, 100];
    const b = [127, -128, -3, 4, 9, 55, -7, -100];
    new Int8Array(memory.buffer, 0, 16).set([...a, ...b]);
    expect(fn(0)).toBe(a.reduce((s, v, i) => s + v * b[i]!, 0));
  });

  it.skipIf(!simd)('calls between functions of one module', () => {
    const m = new ModuleBuilder().importMemory(1, 1);
    const sq = new FunctionBuilder([I32], [I32]);
    sq.get(0).get(0).op('i32.mul');
    const sqIndex = m.addFunction(sq);
    const f = new FunctionBuilder([I32, I32], [I32]);
    f.get(0).call(sqIndex).get(1).call(sqIndex).op('i32.add');
    m.addFunction(f, 'f');
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1 });
    const inst = new WebAssembly.Instance(new WebAssembly.Module(m.encode()), { env: { memory } });
    expect((inst.exports.f as (a: number, b: number) => number)(3, 4)).toBe(25);
  });

  it('an unclosed block is refused at encode time', () => {
    const f = new FunctionBuilder([]);
    f.block();
    expect(() => f.encode()).toThrow(/unclosed/);
    expect(() => new FunctionBuilder([]).end()).toThrow(RangeError);
  });

  it('the feature probes answer booleans, relaxed only with SIMD', () => {
    expect(typeof simd).toBe('boolean');
    if (hasRelaxedSimd()) expect(simd).toBe(true);
  });
});
