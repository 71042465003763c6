import { describe, expect, it } from 'vitest';
import type { BuilderAttrValue } from './onnx-builder.js';
import { ModelBuilder } from './onnx-builder.js';
import { expectClose, randomTensor, rng } from './harness.js';
import { WasmContext } from '../src/wasm/context.js';
import { checkVariants, type VariantCase } from './variant-tester.js';

/**
 * The conv family against its reference over odd shapes: each case is one Conv / ConvTranspose node with
 * constant W and B (packed at prepare), an optional fused activation after it, and the variant it must run on
 * wasm (`expectVariant`, '__wasmsimd' by default).
 */
interface ConvSpec {
  name: string;
  x: number[];
  /** W's shape: [M, C/group, k...] for Conv, [C, M/group, k...] for ConvTranspose. */
  w: number[];
  attrs?: Record<string, BuilderAttrValue>;
  bias?: boolean;
  /** An activation node after the conv (the fuse pass folds Relu/Clip into Conv). */
  act?: 'Relu' | 'Clip';
  expectVariant?: string;
}

let seed = 1;
function convCase(op: 'Conv' | 'ConvTranspose', s: ConvSpec): VariantCase {
  const m = new ModelBuilder();
  m.input('x', 'float32', s.x);
  const outC = op === 'Conv' ? s.w[0]! : s.w[1]! * Number(s.attrs?.group ?? 1);
  const inputs = ['x', m.initializer('w', randomTensor(s.w, seed++))];
  if (s.bias !== false) inputs.push(m.initializer('b', randomTensor([outC], seed++)));
  let y = m.node(op, inputs, s.attrs ?? {}, { name: 'conv' })[0]!;
  if (s.act === 'Relu') y = m.node('Relu', [y])[0]!;
  if (s.act === 'Clip') y = m.node('Clip', [y, m.initializer('lo', { dtype: 'float32', shape: [], data: new Float32Array([0]) }), m.initializer('hi', { dtype: 'float32', shape: [], data: new Float32Array([0.5]) })])[0]!;
  m.output(y);
  return { name: s.name, model: m, feeds: { x: randomTensor(s.x, seed++) }, node: 'conv', expectVariant: s.expectVariant };
}

const conv = (s: ConvSpec): VariantCase => convCase('Conv', s);
const deconv = (s: ConvSpec): VariantCase => convCase('ConvTranspose', s);

checkVariants('Conv', [
  conv({ name: 'dense 1x1 image, 3x3 pads 1', x: [1, 5, 1, 1], w: [7, 5, 3, 3], attrs: { pads: [1, 1, 1, 1] } }),
  conv({ name: 'dense 13ch 7x5 3x3 s1', x: [1, 13, 7, 5], w: [6, 13, 3, 3], expectVariant: 'f32_conv_' }),
  conv({ name: 'dense 7x5 s(2,1)', x: [1, 4, 7, 5], w: [5, 4, 3, 3], attrs: { strides: [2, 1], pads: [1, 1, 1, 1] }, expectVariant: 'f32_conv_im2col_3x3s2x1__wasmsimd' }),
  conv({ name: 'dense 7x5 s(1,2)', x: [1, 4, 7, 5], w: [5, 4, 3, 3], attrs: { strides: [1, 2], pads: [1, 1, 1, 1] }, expectVariant: 'im2col_3x3s1x2__wasmsimd' }),
  conv({ name: 'dense s(3,2) 2x3 kernel', x: [1, 3, 11, 9], w: [4, 3, 2, 3], attrs: { strides: [3, 2] } }),
  conv({ name: 'dense dilation 2', x: [1, 3, 9, 8], w: [4, 3, 3, 3], attrs: { dilations: [2, 2], pads: [2, 2, 2, 2] }, expectVariant: 'im2col_3x3s1d2__wasmsimd' }),
  conv({ name: 'dense asymmetric pads 0,1,1,0', x: [1, 3, 7, 5], w: [4, 3, 3, 3], attrs: { pads: [0, 1, 1, 0] } }),
  conv({ name: 'dense SAME_UPPER s2', x: [1, 3, 7, 5], w: [4, 3, 3, 3], attrs: { auto_pad: 'SAME_UPPER', strides: [2, 2] } }),
  conv({ name: 'dense SAME_LOWER s2', x: [1, 3, 7, 5], w: [4, 3, 4, 4], attrs: { auto_pad: 'SAME_LOWER', strides: [2, 2] } }),
  conv({ name: 'dense batch 2 + relu', x: [2, 3, 7, 5], w: [4, 3, 3, 3], attrs: { pads: [1, 1, 1, 1] }, act: 'Relu' }),
  conv({ name: '1x1 pointwise batch 2', x: [2, 13, 7, 5], w: [6, 13, 1, 1], expectVariant: 'f32_conv_gemm_1x1__wasmsimd' }),
  conv({ name: '1-D conv [N,C,L] k5 s2 pads 2,1', x: [2, 6, 17], w: [4, 6, 5], attrs: { strides: [2], pads: [2, 1] }, expectVariant: 'im2col_1x5s2__wasmsimd' }),
  conv({ name: '1-D depthwise k3 d2', x: [1, 6, 17], w: [6, 1, 3], attrs: { group: 6, dilations: [2], pads: [2, 2] }, expectVariant: 'f32_dwconv_1x3s1d2__wasmsimd' }),
  conv({ name: 'no bias', x: [1, 3, 7, 5], w: [4, 3, 3, 3], bias: false }),
  conv({ name: 'dw 3x3 s1 13ch 7x5', x: [1, 13, 7, 5], w: [13, 1, 3, 3], attrs: { group: 13, pads: [1, 1, 1, 1] }, expectVariant: 'f32_dwconv_3x3s1_layer__wasmsimd' }),
  conv({ name: 'dw 3x3 s(2,1) 13ch 7x5 + relu', x: [1, 13, 7, 5], w: [13, 1, 3, 3], attrs: { group: 13, strides: [2, 1], pads: [1, 1, 1, 1] }, act: 'Relu', expectVariant: 'f32_dwconv_3x3s2x1__wasmsimd' }),
  conv({ name: 'dw 3x3 s(1,2) 13ch 7x5 + clip', x: [1, 13, 7, 5], w: [13, 1, 3, 3], attrs: { group: 13, strides: [1, 2], pads: [1, 1, 1, 1] }, act: 'Clip', expectVariant: 'f32_dwconv_3x3s1x2__wasmsimd' }),
  conv({ name: 'dw 5x5 s(2,1) pads 2', x: [1, 8, 11, 23], w: [8, 1, 5, 5], attrs: { group: 8, strides: [2, 1], pads: [2, 2, 2, 2] }, expectVariant: 'f32_dwconv_5x5s2x1__wasmsimd' }),
  conv({ name: 'dw 5x5 s(1,2) asymmetric pads 0,1,1,0', x: [1, 8, 11, 23], w: [8, 1, 5, 5], attrs: { group: 8, strides: [1, 2], pads: [0, 1, 1, 0] }, expectVariant: 'f32_dwconv_5x5s1x2__wasmsimd' }),
  conv({ name: 'dw 5x5 s2', x: [1, 8, 11, 13], w: [8, 1, 5, 5], attrs: { group: 8, strides: [2, 2], pads: [2, 2, 2, 2] }, expectVariant: 'f32_dwconv_5x5s2__wasmsimd' }),
  conv({ name: 'dw 7x7 s1 1x1 image', x: [1, 4, 1, 1], w: [4, 1, 7, 7], attrs: { group: 4, pads: [3, 3, 3, 3] }, expectVariant: 'dwconv_7x7s1' }),
  conv({ name: 'dw 7x7 s(3,2) batch 2', x: [2, 5, 19, 17], w: [5, 1, 7, 7], attrs: { group: 5, strides: [3, 2], pads: [3, 2, 1, 3] }, expectVariant: 'f32_dwconv_7x7s3x2__wasmsimd' }),
  conv({ name: 'dw 3x1 s(2,1)', x: [1, 6, 9, 7], w: [6, 1, 3, 1], attrs: { group: 6, strides: [2, 1], pads: [1, 0, 1, 0] }, expectVariant: 'f32_dwconv_3x1s2x1__wasmsimd' }),
  conv({ name: 'dw 1x3 s(1,3) dilation (1,2)', x: [1, 6, 9, 20], w: [6, 1, 1, 3], attrs: { group: 6, strides: [1, 3], dilations: [1, 2] }, expectVariant: 'f32_dwconv_1x3s1x3d1x2__wasmsimd' }),
  conv({ name: 'dw 3x3 multiplier 2, SAME_UPPER s2', x: [1, 5, 7, 5], w: [10, 1, 3, 3], attrs: { group: 5, auto_pad: 'SAME_UPPER', strides: [2, 2] } }),
  conv({ name: 'dw 3x3 s(2,1) wide row (16-output blocks)', x: [1, 3, 9, 70], w: [3, 1, 3, 3], attrs: { group: 3, strides: [2, 1], pads: [1, 1, 1, 1] }, expectVariant: 'f32_dwconv_3x3s2x1__wasmsimd' }),
  conv({ name: 'grouped 2 ch/group 3x3 s(2,1)', x: [1, 8, 7, 5], w: [8, 2, 3, 3], attrs: { group: 4, strides: [2, 1], pads: [1, 1, 1, 1] }, expectVariant: 'f32_gconv_3x3s2x1__wasmsimd' }),
  conv({ name: 'grouped 4 ch/group, 6 out/group, batch 2', x: [2, 12, 7, 9], w: [18, 4, 3, 3], attrs: { group: 3, pads: [1, 0, 0, 1] }, expectVariant: 'f32_gconv_3x3s1__wasmsimd' }),
  conv({ name: 'grouped 8 in/16 out per group (im2col)', x: [1, 16, 7, 5], w: [32, 8, 3, 3], attrs: { group: 2, pads: [1, 1, 1, 1] }, expectVariant: 'f32_conv_im2col_3x3s1__wasmsimd' }),
  conv({ name: 'dense 3-D', x: [1, 2, 4, 5, 6], w: [3, 2, 3, 3, 3], attrs: { pads: [1, 1, 1, 1, 1, 1] }, expectVariant: 'f32_conv_im2col_3x3x3s1__wasmsimd' }),
]);

checkVariants('ConvTranspose', [
  deconv({ name: 'k2 s2 13ch 7x5', x: [1, 13, 7, 5], w: [13, 6, 2, 2], attrs: { strides: [2, 2] } }),
  deconv({ name: 'k3 s3 1x1 image', x: [1, 4, 1, 1], w: [4, 5, 3, 3], attrs: { strides: [3, 3] } }),
  deconv({ name: 'k4 s2 pads 1', x: [1, 6, 7, 5], w: [6, 4, 4, 4], attrs: { strides: [2, 2], pads: [1, 1, 1, 1] } }),
  deconv({ name: 'k3 s(2,1) asymmetric pads 0,1,1,0, output_padding', x: [1, 5, 7, 5], w: [5, 3, 3, 3], attrs: { strides: [2, 1], pads: [0, 1, 1, 0], output_padding: [1, 0] } }),
  deconv({ name: 'k3 s1 dilation 2', x: [1, 5, 7, 5], w: [5, 3, 3, 3], attrs: { dilations: [2, 2] } }),
  deconv({ name: 'groups 2, batch 2', x: [2, 6, 5, 7], w: [6, 2, 3, 3], attrs: { group: 2, strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] } }),
  deconv({ name: 'depthwise-like groups = C', x: [1, 4, 5, 6], w: [4, 1, 4, 4], attrs: { group: 4, strides: [2, 2], pads: [1, 1, 1, 1] } }),
  deconv({ name: 'SAME_UPPER s2', x: [1, 3, 5, 6], w: [3, 4, 3, 3], attrs: { auto_pad: 'SAME_UPPER', strides: [2, 2] } }),
  deconv({ name: '1-D k4 s2', x: [2, 5, 9], w: [5, 3, 4], attrs: { strides: [2], pads: [1, 1] }, expectVariant: 'f32_convtranspose_col2im_1x4s2__wasmsimd' }),
  deconv({ name: '3-D k2 s2', x: [1, 4, 3, 5, 4], w: [4, 3, 2, 2, 2], attrs: { strides: [2, 2, 2] }, expectVariant: 'f32_convtranspose_col2im_2x2x2s2__wasmsimd' }),
  deconv({ name: '3-D k3 s(2,1,2) pads, output_padding, groups 2, dilation (2,1,1), batch 2', x: [2, 4, 3, 4, 5], w: [4, 3, 3, 3, 3], attrs: { group: 2, strides: [2, 1, 2], dilations: [2, 1, 1], pads: [1, 0, 1, 2, 1, 0], output_padding: [1, 0, 1] } }),
  deconv({ name: 'no bias + fused relu', x: [1, 5, 7, 5], w: [5, 3, 2, 2], attrs: { strides: [2, 2] }, bias: false, act: 'Relu' }),
  deconv({ name: 'k4 s2 + fused clip', x: [1, 5, 7, 5], w: [5, 3, 4, 4], attrs: { strides: [2, 2], pads: [1, 1, 1, 1] }, act: 'Clip' }),
]);

/** A wasm run forcing `variant` against the js reference run (variants the automatic choice does not pick). */
async function forcedAgainstReference(op: string, c: VariantCase, variant: string): Promise<string> {
  const { InferenceSession, Tensor } = await import('../src/index.js');
  const x = new Tensor('float32', c.feeds.x!.data as Float32Array, c.feeds.x!.shape as number[]);
  const ref = await InferenceSession.create(c.model.toBytes(), { backend: 'js', variants: { [op]: 'reference' } });
  const fast = await InferenceSession.create(c.model.toBytes(), { variants: { [op]: variant }, profile: true });
  const want = Object.values(await ref.run({ x }))[0]!;
  const got = Object.values(await fast.run({ x }))[0]!;
  const asData = (t: typeof got) => ({ dtype: 'float32' as const, shape: [...t.dims], data: t.data as Float32Array });
  expectClose(asData(got), asData(want), 1e-4, 1e-5);
  return fast.profile().find((p) => p.node === 'conv')?.variant ?? '';
}

describe('Conv variants the automatic choice skips, forced', () => {
  const wasmOnly = WasmContext.create() === undefined ? it.skip : it;
  for (const [name, spec] of [
    ['dw 5x5 s2 padded interiors', { x: [1, 8, 11, 13], w: [8, 1, 5, 5], attrs: { group: 8, strides: [2, 2], pads: [2, 2, 2, 2] } }],
    ['dw 7x7 s1 padded interiors + relu', { x: [1, 4, 9, 10], w: [4, 1, 7, 7], attrs: { group: 4, pads: [3, 3, 3, 3] }, act: 'Relu' }],
    ['dw 3x3 d2 padded interiors', { x: [1, 4, 9, 10], w: [4, 1, 3, 3], attrs: { group: 4, dilations: [2, 2], pads: [2, 2, 2, 2] } }],
  ] as const) {
    wasmOnly(name, async () => {
      const v = await forcedAgainstReference('Conv', conv({ name, ...spec } as ConvSpec), '_padded__wasmsimd');
      expect(v).toContain('_padded__wasmsimd');
    });
  }
  wasmOnly("forcing 'js' on the wasm backend runs a JS variant (A/B runs)", async () => {
    expect(await forcedAgainstReference('Conv', conv({ name: 'js', x: [1, 3, 7, 5], w: [4, 3, 3, 3], attrs: { strides: [2, 1] } }), 'js')).toBe('f32_conv_im2col_3x3s2x1__js');
    expect(await forcedAgainstReference('Conv', conv({ name: 'dw js', x: [1, 4, 7, 5], w: [4, 1, 3, 3], attrs: { group: 4, strides: [2, 1] } }), 'dwconv_3x3s2x1__js')).toBe('f32_dwconv_3x3s2x1__js');
    expect(await forcedAgainstReference('ConvTranspose', deconv({ name: 'deconv js', x: [1, 3, 7, 5], w: [3, 4, 2, 2], attrs: { strides: [2, 2] } }), 'js')).toBe('f32_convtranspose_col2im_2x2s2__js');
  });
  wasmOnly('grouped 16 ch/group forced to the grouped direct kernel', async () => {
    const v = await forcedAgainstReference('Conv', conv({ name: 'g16', x: [1, 32, 7, 5], w: [8, 16, 3, 3], attrs: { group: 2, pads: [1, 1, 1, 1] } }), 'f32_gconv');
    expect(v).toBe('f32_gconv_3x3s1__wasmsimd');
  });
});

checkVariants('Conv', [
  (() => {
    // W and B as graph inputs (computed filters): the depthwise kernel reads them from the arena.
    const m = new ModelBuilder();
    m.input('x', 'float32', [1, 6, 9, 11]);
    m.input('w', 'float32', [6, 1, 3, 3]);
    m.input('b', 'float32', [6]);
    m.output(m.node('Conv', ['x', 'w', 'b'], { group: 6, strides: [2, 1], pads: [1, 1, 1, 1] }, { name: 'conv' })[0]!);
    const feeds = { x: randomTensor([1, 6, 9, 11], 91), w: randomTensor([6, 1, 3, 3], 92), b: randomTensor([6], 93) };
    return { name: 'dw 3x3 s(2,1) with runtime W and B', model: m, feeds, node: 'conv', expectVariant: 'f32_dwconv_3x3s2x1__wasmsimd' };
  })(),
]);

describe('Conv variant selection', () => {
  it('an activation after ConvTranspose is fused into it', async () => {
    const c = deconv({ name: 'fused', x: [1, 5, 7, 5], w: [5, 3, 2, 2], attrs: { strides: [2, 2] }, act: 'Relu' });
    const { InferenceSession, Tensor } = await import('../src/index.js');
    const s = await InferenceSession.create(c.model.toBytes(), { profile: true });
    await s.run({ x: new Tensor('float32', c.feeds.x!.data as Float32Array, c.feeds.x!.shape as number[]) });
    expect(s.profile().map((p) => p.opType)).toEqual(['ConvTranspose']);
  });
  it("the reference run forces the true reference ('reference' selects f32_conv__ref)", async () => {
    const c = conv({ name: 'ref', x: [1, 3, 7, 5], w: [4, 3, 3, 3] });
    const { InferenceSession, Tensor } = await import('../src/index.js');
    const s = await InferenceSession.create(c.model.toBytes(), { backend: 'js', variants: { Conv: 'reference' }, profile: true });
    await s.run({ x: new Tensor('float32', c.feeds.x!.data as Float32Array, c.feeds.x!.shape as number[]) });
    expect(s.profile().find((p) => p.node === 'conv')?.variant).toBe('f32_conv__ref');
  });
  it('a forced variant that does not apply is an error naming the applicable ones', async () => {
    const c = conv({ name: 'bad force', x: [1, 3, 7, 5], w: [4, 3, 3, 3], attrs: { strides: [2, 2] } });
    const { InferenceSession } = await import('../src/index.js');
    await expect(InferenceSession.create(c.model.toBytes(), { backend: 'js', variants: { Conv: 'winograd' } })).rejects.toThrow(/applicable/);
  });
  it('forcing im2col on a depthwise conv runs it as im2col + GEMM', async () => {
    const c = conv({ name: 'dw im2col', x: [1, 6, 7, 5], w: [6, 1, 3, 3], attrs: { group: 6, pads: [1, 1, 1, 1] } });
    const { InferenceSession, Tensor } = await import('../src/index.js');
    const s = await InferenceSession.create(c.model.toBytes(), { variants: { Conv: 'im2col' }, profile: true });
    await s.run({ x: new Tensor('float32', c.feeds.x!.data as Float32Array, c.feeds.x!.shape as number[]) });
    expect(s.profile().find((p) => p.node === 'conv')?.variant).toMatch(/^f32_conv_im2col_3x3s1__/);
  });
});

/** Seeded random geometries: kernel 1–7, strides 1–3, dilations 1–2, pads 0–3 per side, planes 1–12. */
function randomGeometryCases(count: number, transpose: boolean): VariantCase[] {
  const r = rng(transpose ? 4242 : 2424);
  const int = (lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
  const cases: VariantCase[] = [];
  while (cases.length < count) {
    const [KH, KW] = transpose ? [int(1, 4), int(1, 4)] : [int(1, 7), int(1, 7)];
    const strides = [int(1, 3), int(1, 3)];
    const dilations = [int(1, 2), int(1, 2)];
    const [H, W] = [int(1, 12), int(1, 12)];
    const group = int(1, 4);
    const [Cg, Mg] = [int(1, 3), int(1, 3)];
    const ext = [(KH - 1) * dilations[0]! + 1, (KW - 1) * dilations[1]! + 1];
    const pads = transpose
      ? [int(0, ext[0]! - 1), int(0, ext[1]! - 1), int(0, ext[0]! - 1), int(0, ext[1]! - 1)]
      : [int(0, 3), int(0, 3), int(0, 3), int(0, 3)];
    const attrs: Record<string, BuilderAttrValue> = { group, strides, dilations, pads };
    let out: number[];
    if (transpose) {
      const outputPadding = [int(0, Math.max(strides[0]!, dilations[0]!) - 1), int(0, Math.max(strides[1]!, dilations[1]!) - 1)];
      attrs.output_padding = outputPadding;
      out = [0, 1].map((i) => strides[i]! * ([H, W][i]! - 1) + outputPadding[i]! + ext[i]! - pads[i]! - pads[i + 2]!);
    } else {
      out = [0, 1].map((i) => Math.floor(([H, W][i]! + pads[i]! + pads[i + 2]! - ext[i]!) / strides[i]!) + 1);
    }
    if (out.some((o) => o < 1)) continue;
    const name = `${transpose ? 'ConvTranspose' : 'Conv'} g${group} ${Cg}->${Mg}/group ${H}x${W} k${KH}x${KW} s${strides} d${dilations} pads ${pads}${transpose ? ` op ${attrs.output_padding}` : ''}`;
    const w = transpose ? [group * Cg, Mg, KH, KW] : [group * Mg, Cg, KH, KW];
    // Dense groups of many channels go to im2col; only check that a wasm variant ran.
    cases.push(convCase(transpose ? 'ConvTranspose' : 'Conv', { name, x: [int(1, 2), group * Cg, H, W], w, attrs }));
  }
  return cases;
}

checkVariants('Conv', randomGeometryCases(24, false));
checkVariants('ConvTranspose', randomGeometryCases(16, true));
