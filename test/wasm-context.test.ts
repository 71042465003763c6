/** WasmContext: creation, the allocator over its memory (alignment, reuse, growth), scratch reservation. */
import { describe, expect, it } from 'vitest';
import { WASM_GEMM_TILE, WasmContext, type WasmModuleSpec } from '../src/wasm/context.js';
import { FunctionBuilder, I32 } from '../src/wasm/emitter.js';

const ctx = WasmContext.create();
if (ctx === undefined) console.warn('wasm-context: WebAssembly SIMD is unavailable in this engine; tests skipped');

describe.skipIf(ctx === undefined)('WasmContext', () => {
  it('instantiates the default GEMM tile in a few milliseconds', () => {
    const w = WasmContext.create()!;
    expect(w.kernels.gemm.name.startsWith(`${WASM_GEMM_TILE}__`)).toBe(true);
    expect(typeof w.kernels.gemm.packedB).toBe('function');
    expect(w.compileMs).toBeLessThan(500); // generous: shared CI machines; typically ~5 ms
  });

  it('never hands out offset 0 (it means "none" to the kernels) and aligns blocks', () => {
    const w = WasmContext.create()!;
    const a = w.alloc(10);
    const b = w.alloc(100, 256);
    const c = w.alloc(4, 16);
    expect(a).toBeGreaterThan(0);
    expect(a % 64).toBe(0);
    expect(b % 256).toBe(0);
    expect(c % 16).toBe(0);
    expect(new Set([a, b, c]).size).toBe(3);
    // Blocks do not overlap.
    const blocks = [[a, 10], [b, 100], [c, 4]].sort((x, y) => x[0]! - y[0]!);
    for (let i = 1; i < blocks.length; i++) expect(blocks[i]![0]).toBeGreaterThanOrEqual(blocks[i - 1]![0]! + blocks[i - 1]![1]!);
  });

  it('reuses freed blocks and merges neighbours', () => {
    const w = WasmContext.create()!;
    const a = w.alloc(64);
    const b = w.alloc(64);
    const c = w.alloc(64);
    w.free(a);
    w.free(b);
    expect(w.alloc(128)).toBe(a); // a and b merged
    w.free(c);
    expect(() => w.free(c)).toThrow(RangeError);
  });

  it('grows memory on demand, keeping contents at their offsets', () => {
    const w = WasmContext.create({ initialPages: 1 })!;
    const small = w.allocFloats(new Float32Array([1, 2, 3]));
    const before = w.memory.buffer.byteLength;
    const big = w.alloc(4 << 20);
    expect(w.memory.buffer.byteLength).toBeGreaterThan(before);
    expect(big + (4 << 20)).toBeLessThanOrEqual(w.memory.buffer.byteLength);
    expect(Array.from(w.f32(small, 3))).toEqual([1, 2, 3]);
    w.free(big);
    w.free(small);
    expect(w.allocatedBytes).toBe(0);
  });

  it('reserveScratch only grows, and keeps one block', () => {
    const w = WasmContext.create()!;
    expect(w.scratch).toBe(0);
    w.reserveScratch(1000);
    const first = w.scratch;
    expect(first).toBeGreaterThan(0);
    w.reserveScratch(500);
    expect(w.scratch).toBe(first);
    w.reserveScratch(100000);
    expect(w.allocatedBytes).toBeGreaterThanOrEqual(100000);
    expect(w.allocatedBytes).toBeLessThan(100000 + 64);
  });

  it('relaxed SIMD is off when not asked for', () => {
    const w = WasmContext.create({ relaxed: false })!;
    expect(w.relaxedSimd).toBe(false);
    expect(w.kernels.gemm.variant).toBe('wasmsimd');
  });
});

describe.skipIf(ctx === undefined)('WasmContext.warmUp', () => {
  it('runs the drivers and gives its memory back', () => {
    const w = WasmContext.create()!;
    const before = w.allocatedBytes;
    const t0 = performance.now();
    w.warmUp(20);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(w.allocatedBytes).toBe(before);
  });
});

describe.skipIf(ctx === undefined)('WasmContext.createAsync and loadWinograd', () => {
  it('createAsync gives a context whose GEMM runs', async () => {
    const w = (await WasmContext.createAsync())!;
    expect(w).toBeDefined();
    // 1×1 · 1×1 through the packed-B driver: C = 3·4 + bias 0.5, B panel padded to NR.
    const { nr } = w.kernels.gemm;
    const a = w.allocFloats(new Float32Array([3]));
    const b = w.allocFloats(new Float32Array(nr).fill(0).fill(4, 0, 1));
    const bias = w.allocFloats(new Float32Array(nr).fill(0.5));
    const c = w.alloc(4);
    w.reserveScratch(1024);
    w.kernels.gemm.packedB(1, 1, 1, a, 1, 1, b, bias, c, 1, w.scratch, 256, 8, 0, 0, 0, 0, w.tileBuffer);
    expect(w.f32(c, 1)[0]).toBe(12.5);
  });

  it('loadWinograd compiles a variant once; winograd() then returns the same kernels', async () => {
    const w = WasmContext.create()!;
    const k = await w.loadWinograd('f23');
    expect(k).toBeDefined();
    expect(w.winograd('f23')).toBe(k);
    expect(typeof w.winograd('f43')?.output).toBe('function');
  });
});

describe.skipIf(ctx === undefined)('WasmContext.use and load (per-family modules)', () => {
  // A one-function family: twice(p) doubles the float at byte p in the shared memory.
  const spec: WasmModuleSpec<{ twice: (p: number) => void }> = {
    key: 'test-twice',
    build(m) {
      const f = new FunctionBuilder([I32]);
      f.get(0).get(0).f32Load().f32(2).op('f32.mul').f32Store();
      m.addFunction(f, 'twice');
    },
    bind: (e) => ({ twice: e.twice as (p: number) => void }),
  };

  it('compiles a family once on the context memory and caches it', () => {
    const w = WasmContext.create()!;
    const k = w.use(spec)!;
    expect(w.use(spec)).toBe(k);
    const p = w.allocFloats(new Float32Array([1.5]));
    k.twice(p);
    expect(w.f32(p, 1)[0]).toBe(3);
  });

  it('load compiles asynchronously and use then returns the same kernels', async () => {
    const w = WasmContext.create()!;
    const k = await w.load(spec);
    expect(k).toBeDefined();
    expect(w.use(spec)).toBe(k);
  });

  it('a family that fails to build gives undefined, not an exception', () => {
    const w = WasmContext.create()!;
    const bad: WasmModuleSpec<unknown> = { key: 'bad', build: (m) => { const f = new FunctionBuilder([], [I32]); m.addFunction(f, 'f'); }, bind: (e) => e };
    expect(w.use(bad)).toBeUndefined();
  });
});
