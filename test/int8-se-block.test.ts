/**
 * A squeeze-excitation block (MobileNetV3 / EfficientNet: global pool, 1×1 squeeze conv + Relu, 1×1 expand conv,
 * HardSigmoid gate, scale) quantized three ways with tinfer's own quantizer: QDQ, QOperator and dynamic int8. On
 * the wasm backend no step may run a slow JS variant: the pooled 1×1 convolutions (one output position) take the
 * int8 GEMV, the 8-bit global average pool its wasm kernel.
 */
import { describe, expect, it } from 'vitest';
import { InferenceSession, Tensor } from '../src/index.js';
import { decodeModel } from '../src/loader/index.js';
import { cosineSimilarity } from '../src/quantize/compare.js';
import { quantizeDynamic } from '../src/quantize/dynamic.js';
import { generateFeeds, quantizeModel } from '../src/quantize/index.js';
import { isJsVariant } from '../src/kernels/kernel.js';
import { WasmContext } from '../src/wasm/context.js';
import { floats } from './dynint8-models.js';
import { ModelBuilder } from './onnx-builder.js';

const C = 256;
const SQUEEZE = 64;

/** x [1, 8, 9, 9] → 1×1 expand to 256 + Relu → depthwise 3×3 + Relu → SE(256 → 64 → 256) → 1×1 project to 16. */
function seModel(): Uint8Array {
  const m = new ModelBuilder({ opset: 13 });
  m.input('x', 'float32', [1, 8, 9, 9]);
  m.initializer('w1', floats([C, 8, 1, 1], 1, 0.4));
  m.initializer('b1', floats([C], 2, 0.1));
  const [e] = m.node('Relu', m.node('Conv', ['x', 'w1', 'b1']));
  m.initializer('wd', floats([C, 1, 3, 3], 3, 0.4));
  m.initializer('bd', floats([C], 4, 0.1));
  const [d] = m.node('Relu', m.node('Conv', [e!, 'wd', 'bd'], { group: C, pads: [1, 1, 1, 1] }));
  const [pooled] = m.node('GlobalAveragePool', [d!]);
  m.initializer('ws', floats([SQUEEZE, C, 1, 1], 5, 0.2));
  m.initializer('bs', floats([SQUEEZE], 6, 0.1));
  const [s] = m.node('Relu', m.node('Conv', [pooled!, 'ws', 'bs'], {}, { name: 'fc1' }));
  m.initializer('we', floats([C, SQUEEZE, 1, 1], 7, 0.3));
  m.initializer('be', floats([C], 8, 0.1));
  const [gate] = m.node('HardSigmoid', m.node('Conv', [s!, 'we', 'be'], {}, { name: 'fc2' }), { alpha: 1 / 6 });
  const [scaled] = m.node('Mul', [d!, gate!]);
  m.initializer('wp', floats([16, C, 1, 1], 9, 0.1));
  m.output(m.node('Conv', [scaled!, 'wp'], {}, { outputs: ['y'] })[0]!);
  return m.toBytes();
}

const float = seModel();
const feeds = generateFeeds(decodeModel(float), { count: 4, seed: 3 });
const hasWasm = WasmContext.create() !== undefined;
/** The int8 op types the three forms fuse into (forced to their reference variants for the bit-exact check). */
const INT8_OPS = ['QLinearConv', 'QLinearGlobalAveragePool', 'ConvIntegerToFloat', 'ConvInteger', 'QLinearMul', 'QLinearAdd'];

const forms: [string, () => Uint8Array][] = [
  ['QDQ, per-channel', () => quantizeModel(float, feeds, { perChannel: true }).bytes],
  ['QOperator, per-tensor', () => quantizeModel(float, feeds, { format: 'qoperator' }).bytes],
  ['dynamic int8', () => quantizeDynamic(float).bytes],
];

describe.skipIf(!hasWasm)('an int8 squeeze-excitation block on wasm', () => {
  const want = (async () => (await (await InferenceSession.create(float)).run(feeds[0]!)).y!)();
  for (const [form, make] of forms) {
    it(`${form}: no step runs a slow JS variant; the pooled 1x1 convolutions take the int8 GEMV`, async () => {
      const bytes = make();
      const session = await InferenceSession.create(bytes, { backend: 'wasm', profile: true });
      const got = (await session.run(feeds[0]!)).y!;
      expect(cosineSimilarity(got.data as Float32Array, (await want).data as Float32Array)).toBeGreaterThan(0.99);
      const profile = session.profile().filter((p) => p.calls > 0);
      const slow = profile.filter((p) => p.slowJs).map((p) => `${p.node} ${p.opType} ${p.variant}`);
      expect(slow, 'slow JS steps').toEqual([]);
      // The steps of the SE block's int8 operators, whatever their output size: none is a JS variant.
      const int8 = profile.filter((p) => /QLinear|Integer/.test(p.opType));
      expect(int8.filter((p) => isJsVariant(p.variant)).map((p) => `${p.node} ${p.opType} ${p.variant}`)).toEqual([]);
      const pooledConvs = int8.filter((p) => /Conv/.test(p.opType) && p.outputShapes[0]?.slice(2).every((d) => d === 1));
      expect(pooledConvs.map((p) => p.variant), 'fc1 and fc2').toHaveLength(2);
      for (const p of pooledConvs) expect(p.variant).toContain('_gemv__wasmsimd');
      if (!form.startsWith('dynamic')) {
        expect(profile.find((p) => p.opType === 'QLinearGlobalAveragePool')?.variant).toMatch(/_qlinearglobalaveragepool_nchw__wasmsimd$/);
      }
      // Bit for bit what the int8 operators' reference variants give (the float steps around them run the same kernels).
      const reference = await InferenceSession.create(bytes, { backend: 'wasm', variants: Object.fromEntries(INT8_OPS.map((op) => [op, 'reference'])) });
      const ref = (await reference.run(feeds[0]!)).y!;
      expect(Array.from(got.data as Float32Array)).toEqual(Array.from(ref.data as Float32Array));
    });
  }
});
