import { describe, expect, it } from 'vitest';
import { InferenceSession, OptionError, Tensor } from '../src/index.js';
import { MemoryBudget } from '../src/kernels/kernel.js';
import type { Model } from '../src/loader/model.js';
import { hasWasmSimd } from '../src/wasm/emitter.js';
import { ModelBuilder } from './onnx-builder.js';
import { tensor } from './harness.js';

const C = 64;
const HW = 28;
const LAYERS = 4;

/** x [1, 64, 28, 28] → (Conv 3×3 64→64 pad 1 → Relu) × 4: every conv is one Winograd F(4,3) picks unlimited. */
function convStack(): Model {
  const b = new ModelBuilder({ opset: 13 });
  let h = b.input('x', 'float32', [1, C, HW, HW]);
  for (let l = 0; l < LAYERS; l++) {
    const w = b.initializer(`w${l}`, tensor('float32', [C, C, 3, 3], Array.from({ length: C * C * 9 }, (_, k) => Math.sin(k * 0.37 + l) * 0.05)));
    const bias = b.initializer(`b${l}`, tensor('float32', [C], Array.from({ length: C }, (_, k) => 0.01 * (k % 5))));
    const [c] = b.node('Conv', [h, w, bias], { pads: [1, 1, 1, 1], kernel_shape: [3, 3] });
    [h] = b.node('Relu', [c!]);
  }
  b.output(h, { dtype: 'float32', shape: [1, C, HW, HW] });
  return b.toModel();
}

const WEIGHT_BYTES = LAYERS * 4 * (C * C * 9 + C);

function convVariants(s: InferenceSession): string[] {
  return s.profile().filter((p) => p.opType === 'Conv').map((p) => p.variant);
}

describe('SessionOptions.memoryLimit', () => {
  const x = new Tensor('float32', Float32Array.from({ length: C * HW * HW }, (_, i) => Math.cos(i * 0.01)), [1, C, HW, HW]);

  it.skipIf(!hasWasmSimd())('with a limit about the weights, 3×3 convs take im2col instead of Winograd: same results, lower planned peak', () => {
    const fast = InferenceSession.fromModel(convStack(), { backend: 'wasm', profile: true });
    const lean = InferenceSession.fromModel(convStack(), { backend: 'wasm', profile: true, memoryLimit: WEIGHT_BYTES });
    const want = fast.runSync({ x })[fast.outputNames[0]!]!.data as Float32Array;
    const got = lean.runSync({ x })[lean.outputNames[0]!]!.data as Float32Array;
    expect(convVariants(fast)).toEqual(Array(LAYERS).fill('f32_conv_winograd_f43_3x3s1__wasmsimd'));
    expect(convVariants(lean)).toEqual(Array(LAYERS).fill('f32_conv_im2col_3x3s1__wasmsimd'));
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / (1 + Math.abs(want[i]!)));
    expect(worst).toBeLessThan(1e-4);
    const [a, b] = [fast.memory(), lean.memory()];
    console.log(`memoryLimit ${WEIGHT_BYTES}: peakBytes ${a.peakBytes} -> ${b.peakBytes}, wasm in use ${a.wasmInUseBytes} -> ${b.wasmInUseBytes}, arena ${a.arenaBytes} -> ${b.arenaBytes}`);
    expect(b.peakBytes).toBeLessThan(a.peakBytes);
    // Winograd F(4,3) keeps 36/9 = 4× the filters, im2col one packed copy (and the GEMM's packing scratch): at least
    // twice the weights fewer bytes in use.
    expect(a.wasmInUseBytes - b.wasmInUseBytes).toBeGreaterThanOrEqual(2 * WEIGHT_BYTES);
    fast.release();
    lean.release();
  });

  it.skipIf(!hasWasmSimd())('a limit with room for some transformed filters gives Winograd to the layers planned first', () => {
    // The budget holds back one packed copy (L bytes) per conv still to plan. Beside the weights, 8 L: the first
    // conv's Winograd filters (4 L) fit next to the 3 L held for the others; the second's would need 10 L and more.
    const L = 4 * (C * C * 9 + C);
    const fast = InferenceSession.fromModel(convStack(), { backend: 'wasm' });
    const s = InferenceSession.fromModel(convStack(), { backend: 'wasm', profile: true, memoryLimit: WEIGHT_BYTES + 8 * L });
    const want = fast.runSync({ x })[fast.outputNames[0]!]!.data as Float32Array;
    const got = s.runSync({ x })[s.outputNames[0]!]!.data as Float32Array;
    expect(convVariants(s)).toEqual(['f32_conv_winograd_f43_3x3s1__wasmsimd', ...Array(LAYERS - 1).fill('f32_conv_im2col_3x3s1__wasmsimd')]);
    // The first conv's whole-tensor scratch did not fit either: it ran on tile-by-tile scratch, with the same results.
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / (1 + Math.abs(want[i]!)));
    expect(worst).toBeLessThan(1e-4);
    fast.release();
    s.release();
  });

  it('works on the js backend too (same results as without)', () => {
    const fast = InferenceSession.fromModel(convStack(), { backend: 'js', profile: true });
    const lean = InferenceSession.fromModel(convStack(), { backend: 'js', profile: true, memoryLimit: WEIGHT_BYTES });
    const want = fast.runSync({ x })[fast.outputNames[0]!]!.data as Float32Array;
    const got = lean.runSync({ x })[lean.outputNames[0]!]!.data as Float32Array;
    expect(convVariants(fast)).toEqual(Array(LAYERS).fill('f32_conv_winograd_f43_3x3s1__js'));
    expect(convVariants(lean)).toEqual(Array(LAYERS).fill('f32_conv_im2col_3x3s1__js'));
    for (let i = 0; i < want.length; i += 97) expect(got[i]).toBeCloseTo(want[i]!, 4);
    // The column scratch streams by tiles instead of holding whole images.
    expect(lean.memory().arenaBytes).toBeLessThan(fast.memory().arenaBytes);
  });

  it('a forced variant wins over the budget', () => {
    const s = InferenceSession.fromModel(convStack(), { backend: 'js', profile: true, memoryLimit: WEIGHT_BYTES, variants: { Conv: 'winograd_f43' } });
    s.runSync({ x });
    expect(convVariants(s)).toEqual(Array(LAYERS).fill('f32_conv_winograd_f43_3x3s1__js'));
  });

  it('is validated: a positive number of bytes, else an OptionError naming it', () => {
    for (const bad of [0, -1, Number.NaN, Infinity, '64MB', null]) {
      const f = () => InferenceSession.fromModel(convStack(), { memoryLimit: bad as unknown as number });
      expect(f).toThrow(OptionError);
      expect(f).toThrow(/memoryLimit must be a positive number of bytes/);
    }
  });
});

describe('MemoryBudget', () => {
  it('sums kept weights and keeps the largest step', () => {
    const b = new MemoryBudget(1000);
    b.charge(300);
    expect(b.fits(700)).toBe(true);
    expect(b.fits(701)).toBe(false);
    b.chargeStep(200);
    b.chargeStep(150); // within the largest step: free
    expect(b.used).toBe(500);
    expect(b.fitsStep(700)).toBe(true); // 500 more than the largest step, 500 remain
    expect(b.fitsStep(701)).toBe(false);
    b.chargeStep(400);
    expect(b.remaining).toBe(300);
  });
});
