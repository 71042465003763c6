import { describe, expect, it } from 'vitest';
import { convReference, type ConvProblem } from '../src/kernels/conv/reference.js';
import { convIm2col, convIm2colPacked, im2colPackedScratchLength, packConvWeights, planIm2col, uploadConvWeights } from '../src/kernels/conv/im2col.js';
import { convWinograd, winogradScratchLength, planWinograd, uploadWinogradFilters, winogradApplies, type WinogradVariant } from '../src/kernels/conv/winograd.js';
import { WasmContext } from '../src/wasm/context.js';
import { WasmMemoryView } from '../src/kernels/conv/wasm-weights.js';
import { convPathOf } from '../src/kernels/conv/conv.js';
import { convTransposeReference } from '../src/kernels/conv/conv-transpose.js';
import { convTransposeCol2im, planCol2im } from '../src/kernels/conv/col2im.js';
import { convDepthwise, convDepthwiseWasm, convDepthwiseWasmLayer, depthwiseApplies, depthwisePaddedApplies, depthwiseWasmApplies, depthwiseWasmLayerScratchLength, depthwiseWasmScratchLength, planDepthwise, type DepthwiseKernel } from '../src/kernels/conv/depthwise.js';
import { DEPTHWISE7_WASM, DEPTHWISE_LAYER_WASM } from '../src/wasm/depthwise.js';
import { IM2COL_WASM, im2colWasmApplies } from '../src/kernels/conv/im2col-wasm.js';
import type { WindowGeometry } from '../src/kernels/conv/geometry.js';
import { expectClose, Fs, makeNode, randomTensor, runKernel, tensor } from './harness.js';
import { GraphError, UnsupportedError } from '../src/errors.js';

/** A 2-D problem (lifted to D = 1) with explicit pads; the output size by the ONNX Conv formula. */
function problem2d(o: {
  n?: number; c: number; m: number; group?: number; h: number; w: number; kh: number; kw: number;
  sh?: number; sw?: number; dh?: number; dw?: number; pads?: [number, number, number, number];
}): ConvProblem {
  const [sh, sw, dh, dw] = [o.sh ?? 1, o.sw ?? 1, o.dh ?? 1, o.dw ?? 1];
  const [pt, pl, pb, pr] = o.pads ?? [0, 0, 0, 0];
  const oh = Math.floor((o.h + pt + pb - ((o.kh - 1) * dh + 1)) / sh) + 1;
  const ow = Math.floor((o.w + pl + pr - ((o.kw - 1) * dw + 1)) / sw) + 1;
  const geo: WindowGeometry = {
    inSize: [1, o.h, o.w], outSize: [1, oh, ow], kernel: [1, o.kh, o.kw], strides: [1, sh, sw],
    dilations: [1, dh, dw], padsBegin: [0, pt, pl], padsEnd: [0, pb, pr],
  };
  return { batch: o.n ?? 1, inChannels: o.c, outChannels: o.m, group: o.group ?? 1, geo };
}

function operands(p: ConvProblem, seed: number) {
  const g = p.geo;
  const x = randomTensor([p.batch, p.inChannels, ...g.inSize], seed).data as Float32Array;
  const w = randomTensor([p.outChannels, p.inChannels / p.group, ...g.kernel], seed + 1).data as Float32Array;
  const b = randomTensor([p.outChannels], seed + 2).data as Float32Array;
  const outLen = p.batch * p.outChannels * g.outSize.reduce((a, v) => a * v, 1);
  return { x, w, b, outLen, outShape: [p.batch, p.outChannels, ...g.outSize] };
}

describe('convReference (hand-checked)', () => {
  it('2x2 ones kernel over 1..9 sums each window', () => {
    const p = problem2d({ c: 1, m: 1, h: 3, w: 3, kh: 2, kw: 2 });
    const y = new Float32Array(4);
    convReference(p, Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), new Float32Array(4).fill(1), undefined, y);
    expect([...y]).toEqual([12, 16, 24, 28]);
  });
  it('pads read zeros, stride skips, bias is added', () => {
    // 3x3 input 1..9, 3x3 ones kernel, pad 1, stride 2: corners of the padded sums, + 10.
    const p = problem2d({ c: 1, m: 1, h: 3, w: 3, kh: 3, kw: 3, sh: 2, sw: 2, pads: [1, 1, 1, 1] });
    const y = new Float32Array(4);
    convReference(p, Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), new Float32Array(9).fill(1), Float32Array.from([10]), y);
    expect([...y]).toEqual([12 + 10, 16 + 10, 24 + 10, 28 + 10]);
  });
  it('dilation 2 picks every other tap', () => {
    // 1-D (H = 1) input 1..5, kernel [1, 1] with dilation 2: x[i] + x[i + 2].
    const p = problem2d({ c: 1, m: 1, h: 1, w: 5, kh: 1, kw: 2, dw: 2 });
    const y = new Float32Array(3);
    convReference(p, Float32Array.from([1, 2, 3, 4, 5]), Float32Array.from([1, 1]), undefined, y);
    expect([...y]).toEqual([4, 6, 8]);
  });
  it('groups: each output channel reads only its group', () => {
    // 2 channels, group 2, 1x1 kernel weights 2 and 3: channel-wise scaling.
    const p = problem2d({ c: 2, m: 2, group: 2, h: 1, w: 2, kh: 1, kw: 1 });
    const y = new Float32Array(4);
    convReference(p, Float32Array.from([1, 2, 10, 20]), Float32Array.from([2, 3]), undefined, y);
    expect([...y]).toEqual([2, 4, 30, 60]);
  });
});

const SHAPES: Parameters<typeof problem2d>[0][] = [
  { c: 1, m: 1, h: 1, w: 1, kh: 1, kw: 1 },
  { c: 3, m: 4, h: 5, w: 5, kh: 3, kw: 3, pads: [1, 1, 1, 1] },
  { c: 13, m: 7, h: 7, w: 9, kh: 3, kw: 3, sh: 2, sw: 2, pads: [1, 1, 1, 1] },
  { c: 13, m: 5, h: 7, w: 9, kh: 1, kw: 1 },
  { n: 2, c: 4, m: 6, group: 2, h: 6, w: 5, kh: 3, kw: 2, pads: [0, 1, 2, 0] },
  { c: 2, m: 3, h: 9, w: 7, kh: 3, kw: 3, dh: 2, dw: 2, pads: [2, 1, 0, 2] },
  { c: 5, m: 2, h: 7, w: 9, kh: 5, kw: 1, sh: 2, sw: 1, pads: [0, 0, 3, 0] },
  { c: 1, m: 8, h: 13, w: 1, kh: 3, kw: 1, pads: [1, 0, 1, 0] },
  { n: 2, c: 6, m: 6, group: 6, h: 7, w: 9, kh: 3, kw: 3, pads: [1, 1, 1, 1] },
  { c: 13, m: 13, group: 13, h: 7, w: 9, kh: 5, kw: 5, sh: 2, sw: 2, pads: [2, 2, 2, 2] },
  { c: 4, m: 8, group: 4, h: 6, w: 6, kh: 3, kw: 3, dh: 2, dw: 2, pads: [0, 2, 1, 0] },
  { c: 3, m: 3, group: 3, h: 1, w: 1, kh: 3, kw: 3, pads: [1, 1, 1, 1] },
];

describe('every conv path agrees with the reference (rtol 1e-4)', () => {
  SHAPES.forEach((s, si) => {
    const p = problem2d(s);
    const { x, w, b, outLen, outShape } = operands(p, 10 * si + 1);
    const ref = new Float32Array(outLen);
    convReference(p, x, w, b, ref);
    const expected = { dtype: 'float32' as const, shape: outShape, data: ref };
    it(`im2col ${JSON.stringify(s)}`, () => {
      for (const maxBytes of [8 << 20, 1]) {
        const plan = planIm2col(p, maxBytes);
        const col = new Float32Array(plan.scratchLength);
        const y = new Float32Array(outLen).fill(NaN);
        convIm2col(p, plan, x, w, b, y, plan.scratchLength ? col : undefined);
        expectClose({ ...expected, data: y }, expected, 1e-4, 1e-5);
      }
    });
    it.skipIf(!depthwiseApplies(p))(`depthwise ${JSON.stringify(s)}`, () => {
      const y = new Float32Array(outLen).fill(NaN);
      convDepthwise(p, planDepthwise(p), x, w, b, y);
      expectClose({ ...expected, data: y }, expected, 1e-4, 1e-5);
    });
  });

  it('the 1x1 stride-1 case skips im2col (no scratch)', () => {
    expect(planIm2col(problem2d({ c: 13, m: 5, h: 7, w: 9, kh: 1, kw: 1 })).scratchLength).toBe(0);
    expect(planIm2col(problem2d({ c: 13, m: 5, h: 7, w: 9, kh: 1, kw: 1, sh: 2 })).scratchLength).toBeGreaterThan(0);
  });

  it('3-D im2col tiles across depth slices', () => {
    // D 4 -> OD 3 (k 2, pad 0/0... stride 1), H 3 -> OH 2 with pad 1/0 and stride 2, W 5 -> OW 5 (k 3, pads 1/1).
    const geo: WindowGeometry = {
      inSize: [4, 3, 5], outSize: [3, 2, 5], kernel: [2, 2, 3], strides: [1, 2, 1],
      dilations: [1, 1, 1], padsBegin: [0, 1, 1], padsEnd: [0, 0, 1],
    };
    const p: ConvProblem = { batch: 1, inChannels: 3, outChannels: 2, group: 1, geo };
    const { x, w, b, outLen, outShape } = operands(p, 77);
    const ref = new Float32Array(outLen);
    convReference(p, x, w, b, ref);
    for (const maxBytes of [8 << 20, 1, 3 * 12 * 5 * 4 * 4]) {
      const plan = planIm2col(p, maxBytes);
      const y = new Float32Array(outLen).fill(NaN);
      convIm2col(p, plan, x, w, b, y, new Float32Array(plan.scratchLength));
      expectClose({ dtype: 'float32', shape: outShape, data: y }, { dtype: 'float32', shape: outShape, data: ref }, 1e-4, 1e-5);
    }
  });

  it('tiles the column buffer to the byte budget', () => {
    const p = problem2d({ c: 16, m: 4, h: 64, w: 64, kh: 3, kw: 3, pads: [1, 1, 1, 1] });
    const plan = planIm2col(p, 64 * 1024);
    expect(plan.scratchLength * 4).toBeLessThanOrEqual(64 * 1024);
    expect(plan.rowsPerTile).toBeLessThan(64);
  });
});

describe('Conv kernel', () => {
  const algos = ['reference', 'im2col', 'direct', 'auto'] as const;

  it('agrees across forced algorithms, with W constant or not, with and without bias', () => {
    const x = randomTensor([2, 4, 7, 6], 3);
    const w = randomTensor([4, 1, 3, 3], 4);
    const b = randomTensor([4], 5);
    const attrs = { group: 4, pads: [1, 0, 2, 1], strides: [2, 1] };
    const ref = runKernel('Conv', [x, w, b], attrs, { options: { convAlgorithm: 'reference' } })[0]!;
    expect(ref.shape).toEqual([2, 4, 4, 5]); // H: floor((7 + 3 - 3) / 2) + 1, W: 6 + 1 - 3 + 1
    for (const convAlgorithm of algos) {
      for (const constant of [[], [1, 2]]) {
        const got = runKernel('Conv', [x, w, b], attrs, { options: { convAlgorithm }, constant })[0]!;
        expectClose(got, ref, 1e-4, 1e-5);
      }
    }
    const noBias = runKernel('Conv', [x, w], attrs, { options: { convAlgorithm: 'reference' } })[0]!;
    for (const convAlgorithm of algos) expectClose(runKernel('Conv', [x, w], attrs, { options: { convAlgorithm } })[0]!, noBias, 1e-4, 1e-5);
  });

  it('1-D conv with im2col matches the reference', () => {
    const x = randomTensor([1, 3, 11], 6);
    const w = randomTensor([5, 3, 4], 7);
    const attrs = { strides: [2], pads: [1, 2], dilations: [2] };
    const ref = runKernel('Conv', [x, w], attrs, { options: { convAlgorithm: 'reference' } })[0]!;
    expect(ref.shape).toEqual([1, 5, Math.floor((11 + 3 - 7) / 2) + 1]);
    expectClose(runKernel('Conv', [x, w], attrs, { options: { convAlgorithm: 'im2col' } })[0]!, ref, 1e-4, 1e-5);
  });

  it('3-D conv: im2col matches the reference', () => {
    const x = randomTensor([2, 4, 5, 6, 7], 20);
    const w = randomTensor([6, 2, 3, 2, 3], 21);
    const b = randomTensor([6], 22);
    const attrs = { group: 2, strides: [2, 1, 2], dilations: [1, 2, 1], pads: [1, 0, 2, 0, 1, 1] };
    const ref = runKernel('Conv', [x, w, b], attrs, { options: { convAlgorithm: 'reference' } })[0]!;
    expectClose(runKernel('Conv', [x, w, b], attrs, { options: { convAlgorithm: 'im2col' } })[0]!, ref, 1e-4, 1e-5);
    const pw = runKernel('Conv', [x, randomTensor([3, 4, 1, 1, 1], 23)], {}, { options: { convAlgorithm: 'reference' } })[0]!;
    expectClose(runKernel('Conv', [x, randomTensor([3, 4, 1, 1, 1], 23)], {}, { options: { convAlgorithm: 'im2col' } })[0]!, pw, 1e-4, 1e-5);
  });

  it('3-D conv: ones kernel sums 2x2x2 cubes', () => {
    const x = tensor('float32', [1, 1, 2, 2, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const w = tensor('float32', [1, 1, 2, 2, 2], new Array(8).fill(1));
    const y = runKernel('Conv', [x, w])[0]!;
    expect(y.shape).toEqual([1, 1, 1, 1, 2]);
    expect([...(y.data as Float32Array)]).toEqual([1 + 2 + 4 + 5 + 7 + 8 + 10 + 11, 2 + 3 + 5 + 6 + 8 + 9 + 11 + 12]);
  });

  it('auto_pad SAME_UPPER / SAME_LOWER put the odd pad pixel at the end / begin', () => {
    // 1-D input 1..4, kernel [1, 1], stride 1: total pad 1.
    const x = tensor('float32', [1, 1, 4], [1, 2, 3, 4]);
    const w = tensor('float32', [1, 1, 2], [1, 1]);
    expect([...(runKernel('Conv', [x, w], { auto_pad: 'SAME_UPPER' })[0]!.data as Float32Array)]).toEqual([3, 5, 7, 4]);
    expect([...(runKernel('Conv', [x, w], { auto_pad: 'SAME_LOWER' })[0]!.data as Float32Array)]).toEqual([1, 3, 5, 7]);
    expect(runKernel('Conv', [x, w], { auto_pad: 'VALID', pads: [5, 5] })[0]!.shape).toEqual([1, 1, 3]);
    const s2 = runKernel('Conv', [tensor('float32', [1, 1, 5], [1, 2, 3, 4, 5]), w], { auto_pad: 'SAME_UPPER', strides: [2] })[0]!;
    expect(s2.shape).toEqual([1, 1, 3]); // ceil(5 / 2)
  });

  it('float64 runs through the reference', () => {
    const x = tensor('float64', [1, 1, 3], [1, 2, 3]);
    const w = tensor('float64', [1, 1, 2], [0.5, 0.25]);
    const y = runKernel('Conv', [x, w])[0]!;
    expect(y.dtype).toBe('float64');
    expect([...(y.data as Float64Array)]).toEqual([1, 1.75]);
  });

  it('rejects bad groups, mismatched kernel_shape and integer inputs', () => {
    const x = randomTensor([1, 3, 4, 4]);
    expect(() => runKernel('Conv', [x, randomTensor([2, 2, 3, 3])], { group: 2 })).toThrow(GraphError);
    expect(() => runKernel('Conv', [x, randomTensor([2, 3, 3, 3])], { kernel_shape: [2, 2] })).toThrow(/kernel_shape/);
    expect(() => runKernel('Conv', [tensor('int32', [1, 1, 2], [1, 2]), tensor('int32', [1, 1, 1], [1])])).toThrow(UnsupportedError);
    expect(() => runKernel('Conv', [x, randomTensor([2, 3, 5, 5])])).toThrow(/empty output/);
  });
});

describe('ConvTranspose', () => {
  it('hand-checked: stride 2 scatters each input into a 2-wide window', () => {
    const x = tensor('float32', [1, 1, 3], [1, 2, 3]);
    const w = tensor('float32', [1, 1, 2], [1, 10]);
    const y = runKernel('ConvTranspose', [x, w], { strides: [2] })[0]!;
    expect([...(y.data as Float32Array)]).toEqual([1, 10, 2, 20, 3, 30]);
    const overlap = runKernel('ConvTranspose', [x, w])[0]!;
    expect([...(overlap.data as Float32Array)]).toEqual([1, 12, 23, 30]);
  });

  it('pads crop, output_padding extends, output_shape and SAME pick sizes per spec', () => {
    const x = randomTensor([1, 2, 3, 3], 1);
    const w = randomTensor([2, 3, 3, 3], 2);
    expect(runKernel('ConvTranspose', [x, w], { strides: [2, 2] })[0]!.shape).toEqual([1, 3, 7, 7]);
    expect(runKernel('ConvTranspose', [x, w], { strides: [2, 2], pads: [1, 1, 1, 1] })[0]!.shape).toEqual([1, 3, 5, 5]);
    expect(runKernel('ConvTranspose', [x, w], { strides: [2, 2], output_padding: [1, 0] })[0]!.shape).toEqual([1, 3, 8, 7]);
    expect(runKernel('ConvTranspose', [x, w], { strides: [2, 2], output_shape: [9, 8] })[0]!.shape).toEqual([1, 3, 9, 8]);
    expect(runKernel('ConvTranspose', [x, w], { strides: [2, 2], auto_pad: 'SAME_UPPER' })[0]!.shape).toEqual([1, 3, 6, 6]);
  });

  // ConvTranspose is the adjoint of Conv with the same geometry: <Conv(x), y> = <x, ConvT(y)> (no bias).
  const CASES = [
    { x: [1, 4, 7, 6], w: [6, 2, 3, 3], attrs: { group: 2, strides: [2, 2], pads: [1, 0, 1, 2] } },
    { x: [2, 3, 9, 8], w: [2, 3, 3, 2], attrs: { dilations: [2, 1], strides: [1, 3], pads: [2, 1, 0, 0] } },
    { x: [1, 2, 10], w: [3, 2, 4], attrs: { strides: [3], pads: [2, 1] } },
    { x: [1, 2, 4, 5, 3], w: [2, 2, 2, 3, 2], attrs: { strides: [2, 1, 2], pads: [0, 1, 1, 1, 0, 0] } },
  ];
  CASES.forEach((c, i) => {
    it(`is the adjoint of Conv ${JSON.stringify(c)}`, () => {
      const x = randomTensor(c.x, 30 + i);
      const w = randomTensor(c.w, 40 + i);
      const y = runKernel('Conv', [x, w], c.attrs, { options: { convAlgorithm: 'reference' } })[0]!;
      const r = randomTensor(y.shape, 50 + i);
      // Conv's W [M, C/g, k] read as ConvTranspose's W [C_t = M, M_t/g = C/g, k] maps y's channels back to x's.
      const back = runKernel('ConvTranspose', [r, w], { ...c.attrs, output_shape: x.shape.slice(2) })[0]!;
      expect(back.shape).toEqual(x.shape);
      let lhs = 0;
      let rhs = 0;
      for (let j = 0; j < y.data.length; j++) lhs += (y.data[j] as number) * (r.data[j] as number);
      for (let j = 0; j < x.data.length; j++) rhs += (x.data[j] as number) * (back.data[j] as number);
      expect(Math.abs(lhs - rhs)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(lhs)));
    });
  });
});

/** A 2-D transposed problem: X [n, c, h, w] -> Y [n, m, oh, ow] with oh = s·(h − 1) + (k − 1)·d + 1 − pads. */
function transposed2d(o: { n?: number; c: number; m: number; group?: number; h: number; w: number; kh: number; kw: number; sh?: number; sw?: number; dh?: number; dw?: number; pads?: [number, number, number, number] }): ConvProblem {
  const [sh, sw, dh, dw] = [o.sh ?? 1, o.sw ?? 1, o.dh ?? 1, o.dw ?? 1];
  const [pt, pl, pb, pr] = o.pads ?? [0, 0, 0, 0];
  const oh = sh * (o.h - 1) + (o.kh - 1) * dh + 1 - pt - pb;
  const ow = sw * (o.w - 1) + (o.kw - 1) * dw + 1 - pl - pr;
  const geo: WindowGeometry = {
    inSize: [1, o.h, o.w], outSize: [1, oh, ow], kernel: [1, o.kh, o.kw], strides: [1, sh, sw],
    dilations: [1, dh, dw], padsBegin: [0, pt, pl], padsEnd: [0, pb, pr],
  };
  return { batch: o.n ?? 1, inChannels: o.c, outChannels: o.m, group: o.group ?? 1, geo };
}

describe('ConvTranspose GEMM + col2im agrees with the scatter reference (rtol 1e-4)', () => {
  const CASES = [
    { c: 1, m: 1, h: 1, w: 1, kh: 1, kw: 1 },
    { c: 3, m: 5, h: 4, w: 5, kh: 3, kw: 3, sh: 2, sw: 2, pads: [1, 1, 1, 1] as [number, number, number, number] },
    { n: 2, c: 4, m: 6, group: 2, h: 5, w: 3, kh: 2, kw: 3, sh: 3, sw: 1, pads: [0, 1, 2, 0] as [number, number, number, number] },
    { c: 13, m: 2, h: 7, w: 9, kh: 3, kw: 2, dh: 2, dw: 3, pads: [2, 0, 1, 1] as [number, number, number, number] },
    { c: 6, m: 6, group: 6, h: 6, w: 1, kh: 4, kw: 1, sh: 2, sw: 1 },
  ];
  CASES.forEach((s, i) => {
    it(JSON.stringify(s), () => {
      const p = transposed2d(s);
      const x = randomTensor([p.batch, p.inChannels, ...p.geo.inSize], 70 + i).data as Float32Array;
      const w = randomTensor([p.inChannels, p.outChannels / p.group, ...p.geo.kernel], 80 + i).data as Float32Array;
      const b = randomTensor([p.outChannels], 90 + i).data as Float32Array;
      const shape = [p.batch, p.outChannels, ...p.geo.outSize];
      const len = shape.reduce((a, v) => a * v, 1);
      const ref = new Float32Array(len);
      convTransposeReference(p, x, w, b, ref);
      for (const maxBytes of [8 << 20, 1]) {
        const plan = planCol2im(p, maxBytes);
        const y = new Float32Array(len).fill(NaN);
        convTransposeCol2im(p, plan, x, w, b, y, new Float32Array(plan.scratchLength));
        expectClose({ dtype: 'float32', shape, data: y }, { dtype: 'float32', shape, data: ref }, 1e-4, 1e-5);
      }
    });
  });
});

// ---------------------------------------------------------------------------------------------------------
// The generic tester (NCNN's test_convolution style): every fast path against the reference over a matrix of
// odd shapes (1 and 13 channels, 1×1 and 7×9 images, K not a multiple of the GEMM tile, asymmetric pads), with
// every fused activation applied by the path's own store, at rtol 1e-4. The expected activation is written
// here from the ONNX definitions, independently of the kernels'.

const NO_ACT = { kind: 'none' } as const;

type Act = { kind: 'none' } | { kind: 'relu' } | { kind: 'clip'; min: number; max: number } | { kind: 'leakyrelu'; alpha: number }
  | { kind: 'hardswish'; alpha: number; beta: number } | { kind: 'sigmoid' } | { kind: 'silu' };

const ACTIVATIONS: Act[] = [
  { kind: 'none' }, { kind: 'relu' }, { kind: 'clip', min: -0.5, max: 0.75 }, { kind: 'leakyrelu', alpha: 0.1 },
  { kind: 'hardswish', alpha: 1 / 6, beta: 0.5 }, { kind: 'sigmoid' }, { kind: 'silu' },
];

/** ONNX Relu, Clip, LeakyRelu, HardSwish, Sigmoid and x·Sigmoid(x). */
function expectedActivation(a: Act, v: number): number {
  switch (a.kind) {
    case 'none': return v;
    case 'relu': return Math.max(0, v);
    case 'clip': return Math.min(a.max, Math.max(a.min, v));
    case 'leakyrelu': return v >= 0 ? v : a.alpha * v;
    case 'hardswish': return v * Math.max(0, Math.min(1, a.alpha * v + a.beta));
    case 'sigmoid': return 1 / (1 + Math.exp(-v));
    case 'silu': return v / (1 + Math.exp(-v));
  }
}

/**
 * Where a path runs: 'js' on plain arrays, or 'wasm' with x, y and scratch as views of the context's memory
 * (as in a session's arena) and the packed weights uploaded, so the wasm GEMM twins run. `alloc` gives the
 * backend's buffers; `wasm` is set on the wasm backend only.
 */
interface ConvBackend {
  name: 'js' | 'wasm';
  wasm?: WasmContext;
  alloc(n: number): Float32Array;
}

/** Runs one path on (x, w, b) into y with the activation fused; throws if the path does not apply. */
type PathRunner = (p: ConvProblem, x: Float32Array, w: Float32Array, b: Float32Array, y: Float32Array, act: Act, be: ConvBackend) => void;

/**
 * applies: which problems the path computes; wasmKernel: it has wasm twins for this problem (the wasm run must
 * call them);
 * normwise: its float32 error scales with the output's magnitude, not each element's (Winograd: the transforms
 * mix a whole tile; see Barabasz et al., "Error analysis and improving the accuracy of Winograd convolution",
 * 2020), so its atol is 1e-5 · max|conv(x, w) + b| (before the activation); the wasm GEMM accumulates in float32 where the JS one sums in float64,
 * which makes this visible on outputs that cancel to near zero.
 */
const PATHS: Record<string, { applies: (p: ConvProblem) => boolean; run: PathRunner; wasmKernel?: (p: ConvProblem) => boolean; normwise?: boolean }> = {
  'im2col + sgemm': {
    applies: () => true,
    run: (p, x, w, b, y, act, be) => {
      const plan = planIm2col(p, 4096);
      convIm2col(p, plan, x, w, b, y, be.alloc(plan.scratchLength), act);
    },
  },
  'im2col + packed GEMM (tiled columns)': {
    applies: (p) => !planIm2col(p).pointwise,
    wasmKernel: () => true,
    run: (p, x, w, b, y, act, be) => {
      const plan = planIm2col(p, 4096);
      const packed = packConvWeights(p, w, b);
      const wasm = be.wasm && uploadConvWeights(be.wasm, p, packed, w, b);
      convIm2colPacked(p, plan, packed, x, undefined, y, be.alloc(im2colPackedScratchLength(p, plan, packed)), act, wasm);
    },
  },
  'im2col (copied on wasm) + packed GEMM (tiled columns)': {
    applies: (p) => !planIm2col(p).pointwise && im2colWasmApplies(p),
    wasmKernel: () => true,
    run: (p, x, w, b, y, act, be) => {
      const plan = planIm2col(p, 4096);
      const packed = packConvWeights(p, w, b);
      const wasm = be.wasm && uploadConvWeights(be.wasm, p, packed, w, b);
      convIm2colPacked(p, plan, packed, x, undefined, y, be.alloc(im2colPackedScratchLength(p, plan, packed)), act, wasm, be.wasm?.use(IM2COL_WASM));
    },
  },
  'packed GEMM with the bias pre-filled (runtime bias)': {
    applies: () => true,
    wasmKernel: () => true,
    run: (p, x, w, b, y, act, be) => {
      const plan = planIm2col(p);
      const packed = packConvWeights(p, w, undefined);
      const wasm = be.wasm && uploadConvWeights(be.wasm, p, packed, w, undefined);
      convIm2colPacked(p, plan, packed, x, b, y, be.alloc(im2colPackedScratchLength(p, plan, packed)), act, wasm);
    },
  },
  '1x1 pointwise packed GEMM': {
    applies: (p) => planIm2col(p).pointwise,
    wasmKernel: () => true,
    run: (p, x, w, b, y, act, be) => {
      const plan = planIm2col(p);
      const packed = packConvWeights(p, w, b);
      const wasm = be.wasm && uploadConvWeights(be.wasm, p, packed, w, b);
      convIm2colPacked(p, plan, packed, x, undefined, y, be.alloc(im2colPackedScratchLength(p, plan, packed)), act, wasm);
    },
  },
  ...Object.fromEntries((['f23', 'f43', 'f63'] as WinogradVariant[]).map((v) => [`winograd ${v}`, {
    applies: winogradApplies,
    wasmKernel: () => true,
    normwise: true,
    run: (p: ConvProblem, x: Float32Array, w: Float32Array, b: Float32Array, y: Float32Array, act: Act, be: ConvBackend) => {
      // A small budget so multi-block tiling runs too.
      const plan = planWinograd(p, v, w, 3000 * 4);
      const wasm = be.wasm && uploadWinogradFilters(be.wasm, plan, w, b);
      // On wasm, room for the input padded to whole tiles (the border path is the runtime-bias case below).
      convWinograd(p, plan, x, b, y, be.alloc(winogradScratchLength(p, plan, wasm !== undefined)), act, wasm);
    },
  }])),
  'winograd f43, runtime bias (in the backend\'s memory)': {
    applies: winogradApplies,
    wasmKernel: () => true,
    normwise: true,
    run: (p, x, w, b, y, act, be) => {
      const plan = planWinograd(p, 'f43', w, 3000 * 4);
      const bias = be.alloc(b.length);
      bias.set(b);
      convWinograd(p, plan, x, bias, y, be.alloc(plan.scratchLength), act, be.wasm && uploadWinogradFilters(be.wasm, plan, w));
    },
  },
  'depthwise 3x3 / 5x5 / 7x7 whole planes zero-bordered (wasm; convDepthwise on js)': {
    applies: (p) => depthwiseApplies(p) && depthwisePaddedApplies(p, planDepthwise(p)),
    wasmKernel: () => true,
    run: (p, x, w, b, y, act, be) => {
      const plan = planDepthwise(p);
      if (be.wasm === undefined) convDepthwise(p, plan, x, w, b, y, act);
      else expect(convDepthwiseWasm(p, plan, x, w, b, y, be.alloc(depthwiseWasmScratchLength(p)), act, be.wasm, new WasmMemoryView(be.wasm))).toBe(true);
    },
  },
  'depthwise 3x3 whole layer in one wasm call (wasm; convDepthwise on js)': {
    applies: (p) => depthwiseApplies(p) && depthwiseWasmApplies(planDepthwise(p)),
    wasmKernel: () => true,
    run: (p, x, w, b, y, act, be) => {
      const plan = planDepthwise(p);
      if (be.wasm === undefined) {
        convDepthwise(p, plan, x, w, b, y, act);
        return;
      }
      const layer = be.wasm.use(DEPTHWISE_LAYER_WASM);
      expect(layer).toBeDefined();
      const [wm, bm] = [be.alloc(w.length), be.alloc(b.length)];
      wm.set(w);
      bm.set(b);
      const padded = be.alloc(depthwiseWasmLayerScratchLength(p, plan));
      padded.fill(NaN); // the kernel must zero its border itself
      expect(convDepthwiseWasmLayer(p, plan, x, wm, bm, y, padded, act, be.wasm, layer!)).toBe(true);
    },
  },
  ...Object.fromEntries((['generic', '3x3s1', '3x3s2', '5x5', '7x7'] as DepthwiseKernel[]).map((k) => [`depthwise ${k}`, {
    applies: (p: ConvProblem) => depthwiseApplies(p) && (k === 'generic' || depthwiseKernelFor(p) === k),
    // The 3×3 and 5×5 (stride 1 or 2) interiors have wasm twins (when the plane has an interior).
    wasmKernel: (p: ConvProblem) => (k === '3x3s1' || k === '3x3s2' || k === '7x7' || (k === '5x5' && p.geo.strides[1] === p.geo.strides[2] && p.geo.strides[1]! <= 2)) && hasInterior(planDepthwise(p, k)),
    run: (p: ConvProblem, x: Float32Array, w: Float32Array, b: Float32Array, y: Float32Array, act: Act, be: ConvBackend) => {
      const plan = planDepthwise(p, k);
      if (k !== 'generic') expect(plan.rowHi > plan.rowLo || p.geo.outSize[1]! < 3).toBe(true);
      convDepthwise(p, plan, x, w, b, y, act, be.wasm);
    },
  }])),
};

const wasmCtx = WasmContext.create();
const WASM_SKIP = 'WebAssembly SIMD is not available in this engine: wasm backend cases skipped';
if (wasmCtx === undefined) console.warn(WASM_SKIP);
/**
 * Calls of the context's wasm kernels (GEMM drivers, depthwise interiors, Winograd transforms; the kernels
 * and uploads reach them through these objects), to show the wasm path really ran.
 */
const wasmDriverCalls = { count: 0, winogradInput: 0, winogradOutput: 0 };
if (wasmCtx !== undefined) {
  const counted = (table: Record<string | number, unknown>, key: string | number, kind?: 'winogradInput' | 'winogradOutput'): void => {
    const orig = table[key] as (...a: number[]) => void;
    table[key] = (...a: number[]) => {
      wasmDriverCalls.count++;
      if (kind !== undefined) wasmDriverCalls[kind]++;
      orig(...a);
    };
  };
  const k = wasmCtx.kernels as unknown as Record<string, Record<string | number, unknown>>;
  counted(k.gemm!, 'packedA');
  counted(k.gemm!, 'packedB');
  counted(k.depthwise3x3!, 0);
  counted(k.depthwise3x3!, 1);
  counted(k.depthwise![5] as Record<number, unknown>, 0);
  counted(k.depthwise![5] as Record<number, unknown>, 1);
  const seven = wasmCtx.use(DEPTHWISE7_WASM) as unknown as Record<number, unknown>;
  counted(seven, 0);
  counted(seven, 1);
  // Dilated depthwise kernels are one module per (K, dilation), made on first use: count those calls too.
  const realUse = wasmCtx.use.bind(wasmCtx);
  wasmCtx.use = ((spec) => {
    const k = realUse(spec);
    if (!spec.key.startsWith('f32_dwconv_') || typeof k !== 'function') return k;
    return (...a: number[]) => { wasmDriverCalls.count++; (k as (...b: number[]) => void)(...a); };
  }) as WasmContext['use'];
  const layer = wasmCtx.use(DEPTHWISE_LAYER_WASM) as unknown as { layer3x3: Record<number, unknown> };
  counted(layer.layer3x3, 0);
  counted(layer.layer3x3, 1);
  counted(wasmCtx.use(IM2COL_WASM) as unknown as Record<string, unknown>, 'im2col');
  for (const v of ['f23', 'f43', 'f63'] as const) {
    // The context generates each variant's transforms once and hands out the same object afterwards.
    const transforms = wasmCtx.winograd(v) as unknown as Record<string, unknown>;
    counted(transforms, 'input', 'winogradInput');
    counted(transforms, 'output', 'winogradOutput');
  }
  // Grow the memory once up front so no allocation in a test grows it (growth detaches earlier views).
  wasmCtx.free(wasmCtx.alloc(64 << 20));
}

/**
 * Runs `body` on a backend: on wasm, x is copied into the memory, y and every alloc() are views of it, and
 * the result is copied back into y. Every block is freed afterwards.
 */
function onBackend(name: 'js' | 'wasm', x: Float32Array, y: Float32Array, body: (x: Float32Array, y: Float32Array, be: ConvBackend) => void): void {
  if (name === 'js') {
    body(x, y, { name, alloc: (n) => new Float32Array(n) });
    return;
  }
  const ctx = wasmCtx!;
  const blocks: number[] = [];
  const alloc = (n: number): Float32Array => {
    const off = ctx.alloc(Math.max(1, n) * 4);
    blocks.push(off);
    return ctx.f32(off, n);
  };
  const buffer = ctx.memory.buffer;
  try {
    const xs = alloc(x.length);
    xs.set(x);
    const ys = alloc(y.length).fill(NaN);
    body(xs, ys, { name, wasm: ctx, alloc });
    expect(ctx.memory.buffer, 'no allocation grew (and detached) the memory').toBe(buffer);
    y.set(ys);
  } finally {
    blocks.forEach((o) => ctx.free(o));
  }
}

function hasInterior(plan: { rowLo: number; rowHi: number; colLo: number; colHi: number }): boolean {
  return plan.rowHi > plan.rowLo && plan.colHi > plan.colLo;
}

function depthwiseKernelFor(p: ConvProblem): DepthwiseKernel {
  return planDepthwise(p).kernel;
}

const FAST_SHAPES: Parameters<typeof problem2d>[0][] = [
  ...SHAPES,
  // 3x3 stride 1 (Winograd): 1 channel, 1x1 image, odd sizes, asymmetric pads, channels not a multiple of 4/8.
  { c: 1, m: 1, h: 1, w: 1, kh: 3, kw: 3, pads: [1, 1, 1, 1] },
  { c: 13, m: 7, h: 7, w: 9, kh: 3, kw: 3, pads: [1, 0, 2, 1] },
  { n: 2, c: 17, m: 9, h: 13, w: 11, kh: 3, kw: 3, pads: [0, 2, 1, 0] },
  { c: 16, m: 33, h: 8, w: 8, kh: 3, kw: 3, pads: [1, 1, 1, 1] },
  { c: 3, m: 5, h: 6, w: 3, kh: 3, kw: 3 },
  { c: 4, m: 3, h: 2, w: 5, kh: 3, kw: 3, pads: [3, 0, 4, 3] },
  { c: 2, m: 2, h: 1, w: 17, kh: 3, kw: 3, pads: [1, 1, 1, 1] },
  // 1x1 and K not a multiple of the tile.
  { n: 2, c: 13, m: 9, h: 7, w: 9, kh: 1, kw: 1 },
  { c: 7, m: 5, h: 5, w: 5, kh: 1, kw: 1, pads: [1, 0, 0, 1] },
  // Depthwise 3x3 s1 / s2 and 5x5, odd sizes, asymmetric pads, channel multiplier 2.
  { c: 13, m: 13, group: 13, h: 7, w: 9, kh: 3, kw: 3, pads: [1, 0, 2, 1] },
  { c: 5, m: 10, group: 5, h: 9, w: 8, kh: 3, kw: 3, sh: 2, sw: 2, pads: [0, 1, 1, 0] },
  { c: 4, m: 4, group: 4, h: 11, w: 10, kh: 3, kw: 3, sh: 2, sw: 2, pads: [1, 1, 1, 1] },
  { c: 3, m: 3, group: 3, h: 9, w: 12, kh: 5, kw: 5, pads: [2, 1, 2, 3] },
  { c: 6, m: 6, group: 6, h: 13, w: 9, kh: 5, kw: 5, sh: 2, sw: 2, pads: [2, 2, 1, 2] },
  // Dilated depthwise (MobileNetV3's tail in DeepLab / LR-ASPP): 5x5 dilation 2, 3x3 dilation 3, multiplier 2.
  { c: 4, m: 4, group: 4, h: 14, w: 19, kh: 5, kw: 5, dh: 2, dw: 2, pads: [4, 4, 4, 4] },
  { c: 3, m: 6, group: 3, h: 11, w: 13, kh: 3, kw: 3, dh: 3, dw: 3, pads: [3, 2, 3, 3] },
  // Depthwise 7x7 (ConvNeXt) at stride 1 and 2, rows long enough for whole vector steps.
  { c: 3, m: 3, group: 3, h: 11, w: 21, kh: 7, kw: 7, pads: [3, 3, 3, 3] },
  { c: 2, m: 4, group: 2, h: 15, w: 30, kh: 7, kw: 7, sh: 2, sw: 2, pads: [3, 2, 3, 1] },
  { c: 1, m: 1, group: 1, h: 1, w: 1, kh: 3, kw: 3, pads: [1, 1, 1, 1] },
  { c: 2, m: 2, group: 2, h: 2, w: 2, kh: 3, kw: 3, pads: [1, 1, 1, 1] },
  // Depthwise rows of whole vectors (16 wide) and of 12 outputs at stride 2 with multiplier 2, batch 2.
  { n: 2, c: 8, m: 8, group: 8, h: 17, w: 16, kh: 3, kw: 3, pads: [1, 1, 1, 1] },
  { n: 2, c: 8, m: 16, group: 8, h: 15, w: 23, kh: 3, kw: 3, sh: 2, sw: 2, pads: [1, 1, 1, 1] },
];

describe('generic tester: every fast path × every fused activation × both backends agrees with the reference (rtol 1e-4)', () => {
  FAST_SHAPES.forEach((s, si) => {
    const p = problem2d(s);
    const { x, w, b, outLen, outShape } = operands(p, 100 + si);
    const ref = new Float32Array(outLen);
    convReference(p, x, w, b, ref);
    for (const [name, path] of Object.entries(PATHS)) {
      if (!path.applies(p)) continue;
      for (const backend of ['js', 'wasm'] as const) {
        const title = `${name} [${backend}] ${JSON.stringify(s)}`;
        if (backend === 'wasm' && wasmCtx === undefined) {
          it.skip(`${title} (${WASM_SKIP})`, () => {});
          continue;
        }
        it(title, () => {
          for (const act of ACTIVATIONS) {
            const y = new Float32Array(outLen).fill(NaN);
            const calls = wasmDriverCalls.count;
            onBackend(backend, x, y, (xb, yb, be) => path.run(p, xb, w, b, yb, act, be));
            if (backend === 'wasm' && path.wasmKernel?.(p)) expect(wasmDriverCalls.count, 'the wasm kernels ran').toBeGreaterThan(calls);
            const want = ref.map((v) => expectedActivation(act, v));
            const atol = path.normwise ? 1e-5 * Math.max(1, ...ref.map(Math.abs)) : 1e-5;
            try {
              expectClose({ dtype: 'float32', shape: outShape, data: y }, { dtype: 'float32', shape: outShape, data: want }, 1e-4, atol);
            } catch (e) {
              throw new Error(`activation ${act.kind}: ${(e as Error).message}`);
            }
          }
        });
      }
    }
  });

  it('covers every path at least once', () => {
    const covered = new Set<string>();
    for (const s of FAST_SHAPES) for (const [name, path] of Object.entries(PATHS)) if (path.applies(problem2d(s))) covered.add(name);
    expect([...covered].sort()).toEqual(Object.keys(PATHS).sort());
  });

  it('Winograd F(4,3) on the 64->64 3x3 56x56 layer, both backends: max relative error <= 1e-4', () => {
    const p = problem2d({ c: 64, m: 64, h: 56, w: 56, kh: 3, kw: 3, pads: [1, 1, 1, 1] });
    const { x, w, b, outLen } = operands(p, 7);
    const ref = new Float32Array(outLen);
    convReference(p, x, w, b, ref);
    const runs = (['f43', 'f63'] as WinogradVariant[]).flatMap((v) => (wasmCtx ? ['js', 'wasm'] as const : ['js'] as const).map((be) => [v, be] as const));
    for (const [v, backend] of runs) {
      const plan = planWinograd(p, v, w);
      const y = new Float32Array(outLen);
      const before = { ...wasmDriverCalls };
      onBackend(backend, x, y, (xb, yb, be) => {
        const wasm = be.wasm && uploadWinogradFilters(be.wasm, plan, w, b);
        convWinograd(p, plan, xb, b, yb, be.alloc(plan.scratchLength), NO_ACT, wasm);
      });
      if (backend === 'wasm') {
        // Interior tiles, 64 channels: both transforms ran on wasm (the constant bias uploaded with the filters).
        expect(wasmDriverCalls.winogradInput).toBeGreaterThan(before.winogradInput);
        expect(wasmDriverCalls.winogradOutput).toBeGreaterThan(before.winogradOutput);
      }
      let maxErr = 0;
      let scale = 0;
      for (let i = 0; i < outLen; i++) {
        maxErr = Math.max(maxErr, Math.abs(y[i]! - ref[i]!));
        scale = Math.max(scale, Math.abs(ref[i]!));
      }
      expect(maxErr / scale).toBeLessThanOrEqual(1e-4);
    }
  });
});

describe('Conv kernel: path choice, forced algorithms and the fused activation attribute', () => {
  const x = randomTensor([1, 16, 9, 10], 201);
  const w = randomTensor([24, 16, 3, 3], 202);
  const b = randomTensor([24], 203);
  const attrs = { pads: [1, 1, 1, 1] };
  const ctxFor = (algo: 'auto' | 'winograd' | 'im2col' | 'reference' | 'direct', constant = true) => ({
    node: makeNode('Conv', attrs, 3),
    opset: 17,
    inputs: [x, w, b].map((t) => ({ dtype: t.dtype, shape: t.shape })),
    constants: [undefined, constant ? w : undefined, constant ? b : undefined],
    options: { convAlgorithm: algo },
  });

  it('auto picks Winograd for a 16->24 3x3 stride-1 layer with constant weights, im2col without them', () => {
    expect(convPathOf(ctxFor('auto'))).toMatch(/^winograd-/);
    expect(convPathOf(ctxFor('auto', false))).toBe('im2col');
    expect(convPathOf(ctxFor('im2col'))).toBe('im2col-packed');
    expect(convPathOf(ctxFor('reference'))).toBe('reference');
    expect(convPathOf(ctxFor('winograd'))).toMatch(/^winograd-/);
  });

  it('forcing winograd on a strided conv falls back to a path that applies', () => {
    const ctx = { ...ctxFor('winograd'), node: makeNode('Conv', { ...attrs, strides: [2, 2] }, 3) };
    expect(convPathOf(ctx)).toBe('im2col-packed');
  });

  it('every forced path with a fused Relu6 matches reference then clip', () => {
    const fused = { ...attrs, 'tinfer.activation': 'clip', 'tinfer.activation_params': new Fs([0, 0.5]) };
    const ref = runKernel('Conv', [x, w, b], attrs, { options: { convAlgorithm: 'reference' } })[0]!;
    const want = { ...ref, data: (ref.data as Float32Array).map((v) => Math.min(0.5, Math.max(0, v))) };
    for (const convAlgorithm of ['auto', 'winograd', 'im2col', 'reference', 'direct'] as const) {
      for (const constant of [[], [1, 2]]) {
        const got = runKernel('Conv', [x, w, b], fused, { options: { convAlgorithm }, constant })[0]!;
        expectClose(got, want, 1e-4, 1e-5);
      }
    }
  });

  it('rejects an unknown fused activation', () => {
    expect(() => runKernel('Conv', [x, w, b], { ...attrs, 'tinfer.activation': 'gelu' })).toThrow(UnsupportedError);
  });
});

describe.skipIf(wasmCtx === undefined)('JS weight packs are released after a wasm upload and remade for the JS fallback', () => {
  const expectNear = (got: Float32Array, want: Float32Array) => {
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(1e-4 * Math.abs(want[i]!) + 1e-5);
  };

  it('im2col: packs emptied by the upload, and views outside wasm memory still give the reference', () => {
    const p = problem2d({ c: 5, m: 7, h: 9, w: 8, kh: 3, kw: 3, sh: 2, sw: 2, pads: [1, 1, 1, 1] });
    const { x, w, b, outLen } = operands(p, 7);
    const ref = new Float32Array(outLen);
    convReference(p, x, w, b, ref);
    const plan = planIm2col(p);
    const packed = packConvWeights(p, w, b);
    const wasm = uploadConvWeights(wasmCtx!, p, packed, w, b);
    expect(packed.groups).toHaveLength(0);
    const y = new Float32Array(outLen).fill(NaN);
    convIm2colPacked(p, plan, packed, x, b, y, new Float32Array(im2colPackedScratchLength(p, plan, packed)), NO_ACT, wasm);
    expect(packed.groups).toHaveLength(1);
    expectNear(y, ref);
  });

  it('Winograd: filters emptied by the upload, and the JS fallback remakes them', () => {
    const p = problem2d({ c: 6, m: 5, h: 10, w: 11, kh: 3, kw: 3, pads: [1, 1, 1, 1] });
    const { x, w, b, outLen } = operands(p, 9);
    const ref = new Float32Array(outLen);
    convReference(p, x, w, b, ref);
    const plan = planWinograd(p, 'f43', w);
    const wasm = uploadWinogradFilters(wasmCtx!, plan, w, b);
    expect(plan.filters).toHaveLength(0);
    const y = new Float32Array(outLen).fill(NaN);
    convWinograd(p, plan, x, b, y, new Float32Array(winogradScratchLength(p, plan, true)), NO_ACT, wasm);
    expect(plan.filters.length).toBeGreaterThan(0);
    expectNear(y, ref);
  });
});
