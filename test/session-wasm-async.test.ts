import { afterEach, describe, expect, it } from 'vitest';
import { InferenceSession, Tensor } from '../src/index.js';
import { WasmContext } from '../src/wasm/context.js';
import { MATH_KERNELS } from '../src/wasm/math-kernels.js';
import { ModelBuilder } from './onnx-builder.js';
import { randomTensor } from './harness.js';

// Browsers' main threads refuse to compile a WebAssembly module over 4 KB synchronously. Kernel families are
// compiled at prepare with `new WebAssembly.Module`; InferenceSession.create (async) must then compile the
// refused ones asynchronously and re-plan, so a browser still runs them on wasm. Simulated here by making the
// synchronous constructor refuse modules over 4 KB, as Chrome does.

const hasWasm = WasmContext.create() !== undefined;
const RealModule = WebAssembly.Module;

function refuseLargeSyncCompiles(): void {
  const Refusing = function (bytes: BufferSource) {
    if (bytes.byteLength > 4096) throw new RangeError('WebAssembly.Module is disallowed on the main thread, if the buffer size is larger than 4KB');
    return new RealModule(bytes);
  } as unknown as typeof WebAssembly.Module;
  Refusing.prototype = RealModule.prototype;
  (WebAssembly as { Module: typeof WebAssembly.Module }).Module = Refusing;
}

/** x [rows, n] -> Softmax(x) over the last axis (a math-family kernel, ~10 KB of wasm). */
function softmaxModel(n: number): Uint8Array {
  const b = new ModelBuilder({ opset: 13 });
  const x = b.input('x', 'float32', [3, n]);
  b.output(b.node('Softmax', [x], { axis: -1 })[0]!);
  return b.toBytes();
}

function naiveSoftmax(x: Float32Array, n: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < x.length / n; r++) {
    const row = Array.from(x.subarray(r * n, (r + 1) * n));
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    out.push(...e.map((v) => v / s));
  }
  return out;
}

describe.skipIf(!hasWasm)('kernel families refused synchronously load asynchronously', () => {
  afterEach(() => {
    (WebAssembly as { Module: typeof WebAssembly.Module }).Module = RealModule;
  });

  it('create() compiles the refused math family asynchronously, re-plans, and runs it', async () => {
    // Count the wasm softmax's calls: the bind of every context made from here on wraps it.
    let calls = 0;
    const spec = MATH_KERNELS as { bind: typeof MATH_KERNELS.bind };
    const realBind = spec.bind;
    spec.bind = (e) => {
      const k = realBind(e);
      return { ...k, softmax: (...a: Parameters<typeof k.softmax>) => { calls++; k.softmax(...a); } };
    };
    refuseLargeSyncCompiles();
    let s: InferenceSession;
    try {
      s = await InferenceSession.create(softmaxModel(37), { backend: 'wasm' });
    } finally {
      spec.bind = realBind;
    }
    const wasm = (s as unknown as { wasm: WasmContext }).wasm;
    expect(wasm.hasRefused).toBe(false);
    expect(wasm.use(MATH_KERNELS)).toBeDefined();
    const x = randomTensor([3, 37], 5, -4, 4).data as Float32Array;
    const y = (await s.run({ x: new Tensor('float32', x, [3, 37]) }))[s.outputNames[0]!]!.data as Float32Array;
    naiveSoftmax(x, 37).forEach((v, i) => expect(Math.abs(y[i]! - v)).toBeLessThan(1e-6));
    expect(calls, 'the re-made plan runs the wasm softmax').toBe(1);
  });

  it('the refusal is real: a synchronous use() gives undefined under it', () => {
    const w = WasmContext.create()!;
    refuseLargeSyncCompiles();
    expect(w.use(MATH_KERNELS)).toBeUndefined();
    expect(w.hasRefused).toBe(true);
  });
});
