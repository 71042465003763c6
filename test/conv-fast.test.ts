import { describe, expect, it } from 'vitest';
import { convReference, type ConvProblem } from '../src/kernels/conv/reference.js';
import type { WindowGeometry } from '../src/kernels/conv/geometry.js';
import { convWinograd, planWinograd, winogradApplies, winogradMatrices, type WinogradVariant } from '../src/kernels/conv/winograd.js';
import { randomTensor } from './harness.js';

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

/** 1-D correlation y_i = Σ_k g_k d_{i+k} computed by Aᵀ[(G g) ⊙ (Bᵀ d)], exactly (float64). */
describe('Winograd transform matrices', () => {
  for (const v of ['f23', 'f43', 'f63'] as WinogradVariant[]) {
    it(`${v} computes a 1-D correlation`, () => {
      const { m, n, BT, G, AT } = winogradMatrices(v);
      const d = Array.from({ length: n }, (_, i) => Math.sin(i + 1));
      const g = [0.3, -1.2, 0.7];
      const u = Array.from({ length: n }, (_, j) => G[j * 3]! * g[0]! + G[j * 3 + 1]! * g[1]! + G[j * 3 + 2]! * g[2]!);
      const vv = Array.from({ length: n }, (_, j) => d.reduce((s, dk, k) => s + BT[j * n + k]! * dk, 0));
      for (let i = 0; i < m; i++) {
        const got = u.reduce((s, uj, j) => s + AT[i * n + j]! * uj * vv[j]!, 0);
        const want = g[0]! * d[i]! + g[1]! * d[i + 1]! + g[2]! * d[i + 2]!;
        expect(Math.abs(got - want)).toBeLessThan(1e-12);
      }
    });
  }
});

describe('winograd quick', () => {
  for (const v of ['f23', 'f43', 'f63'] as WinogradVariant[]) {
    it(v, () => {
      const p = problem2d({ c: 13, m: 7, h: 11, w: 9, kh: 3, kw: 3, pads: [1, 0, 2, 1] });
      expect(winogradApplies(p)).toBe(true);
      const x = randomTensor([1, 13, 11, 9], 1).data as Float32Array;
      const w = randomTensor([7, 13, 3, 3], 2).data as Float32Array;
      const b = randomTensor([7], 3).data as Float32Array;
      const outLen = 7 * p.geo.outSize[1]! * p.geo.outSize[2]!;
      const ref = new Float32Array(outLen);
      convReference(p, x, w, b, ref);
      const plan = planWinograd(p, v, w, 20000);
      const y = new Float32Array(outLen).fill(NaN);
      convWinograd(p, plan, x, b, y, new Float32Array(plan.scratchLength));
      let maxRel = 0;
      for (let i = 0; i < outLen; i++) maxRel = Math.max(maxRel, Math.abs(y[i]! - ref[i]!) / Math.max(1, Math.abs(ref[i]!)));
      expect(maxRel).toBeLessThan(1e-4);
    });
  }
});

describe('autoWinogradVariant', () => {
  it('picks F(4,3) for 3×3 layers with at least 16 channels each side and 16 output pixels, else none', async () => {
    const { autoWinogradVariant } = await import('../src/kernels/conv/conv.js');
    const layer = (c: number, h: number) => problem2d({ c, m: c, h, w: h, kh: 3, kw: 3, pads: [1, 1, 1, 1] });
    expect(autoWinogradVariant(layer(64, 56))).toBe('f43');
    expect(autoWinogradVariant(layer(512, 7))).toBe('f43');
    expect(autoWinogradVariant(layer(8, 56))).toBeUndefined();
    expect(autoWinogradVariant(layer(64, 3))).toBeUndefined();
  });
});
