/**
 * The wasm Winograd input transforms: Bᵀ equal to the conv family's own matrices, and V = Bᵀ d B for groups of
 * four channels against a naive float64 product, written in the conv family's [ξ][tile][channel] layout.
 */
import { describe, expect, it } from 'vitest';
import { applyActivation, type Activation } from '../src/kernels/gemm/activation.js';
import { threadBlockTiles, winogradMatrices } from '../src/kernels/conv/winograd.js';
import { WasmContext } from '../src/wasm/context.js';
import { winogradInputMatrix, winogradOutputMatrix, type WinogradInputVariant } from '../src/wasm/winograd-kernels.js';
import { wasmWinogradInput, wasmWinogradOutput } from '../src/wasm/winograd.js';

const ctx = WasmContext.create();
if (ctx === undefined) console.warn('wasm-winograd: WebAssembly SIMD is unavailable in this engine; tests skipped');

const VARIANTS: WinogradInputVariant[] = ['f23', 'f43', 'f63'];

describe('Winograd tile blocks on threads', () => {
  it('are whole multiples of MR, about two per thread, at least 8 tiles and at most the plan\'s block', () => {
    // 49 tiles (a 28×28 output in F(4,3)) on 2 threads: 12-tile blocks (4 × 12 + 1), not 13 (4 row tiles each).
    expect(threadBlockTiles(49, 49, 2, 4)).toBe(12);
    expect(threadBlockTiles(196, 196, 2, 4)).toBe(48);
    expect(threadBlockTiles(196, 32, 2, 4)).toBe(32);
    expect(threadBlockTiles(16, 16, 2, 4)).toBe(8);
    expect(threadBlockTiles(49, 49, 2, 6)).toBe(12);
    expect(threadBlockTiles(49, 49, 2, 5)).toBe(10);
    expect(threadBlockTiles(168, 168, 3, 4)).toBe(28);
  });
});

describe('Winograd input matrices', () => {
  for (const variant of VARIANTS) {
    it(`${variant}: Bᵀ is the one src/kernels/conv/winograd.ts uses`, () => {
      const mine = winogradInputMatrix(variant);
      const theirs = winogradMatrices(variant);
      expect(mine.n).toBe(theirs.n);
      expect(mine.BT).toEqual(Array.from(theirs.BT));
    });
  }
  for (const variant of VARIANTS) {
    it(`${variant}: Aᵀ is the one src/kernels/conv/winograd.ts uses`, () => {
      const mine = winogradOutputMatrix(variant);
      const theirs = winogradMatrices(variant);
      expect(mine.m).toBe(theirs.m);
      expect(mine.AT).toEqual(Array.from(theirs.AT));
    });
  }
  it('f43 rows are Lavin & Gray\'s', () => {
    expect(winogradInputMatrix('f43').BT.slice(0, 12)).toEqual([4, 0, -5, 0, 1, 0, 0, -4, -4, 1, 1, 0]);
  });
});

describe.skipIf(ctx === undefined)('f32_winograd_f{m}3_input and _output__wasmsimd', () => {
  const w = ctx!;

  for (const variant of VARIANTS) {
    it(`${variant}: V = Bᵀ d B for every channel of every group`, () => {
      const { n, BT } = winogradInputMatrix(variant);
      for (const [groups, W, H] of [[1, n, n], [2, 11, 9], [3, n + 5, n + 1]] as const) {
        const C = 4 * groups;
        const plane = W * H + 2;
        const ih0 = H - n, iw0 = W - n; // the tile at the bottom-right corner: the last floats a channel holds
        const tiles = 3, t = 1; // V for tile 1 of a 3-tile block, channels contiguous per tile
        const xiStride = C * tiles;
        const xAt = w.alloc(C * plane * 4), vAt = w.alloc((n * n * xiStride + 4) * 4);
        const x = w.f32(xAt, C * plane);
        for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.61 + n) * 3;
        const v = w.f32(vAt, n * n * xiStride + 4).fill(Number.NaN);
        const vOff = t * C;
        expect(wasmWinogradInput(w, variant, x, ih0 * W + iw0, W, plane, groups, v, vOff, xiStride)).toBe(true);
        for (let c = 0; c < C; c++) {
          const d = (k: number, j: number) => x[c * plane + (ih0 + k) * W + iw0 + j]!;
          for (let i = 0; i < n; i++) {
            for (let j = 0; j < n; j++) {
              // V[i][j] = Σ_k Σ_l Bᵀ[i][k] d[k][l] Bᵀ[j][l]
              let s = 0, scale = 0;
              for (let k = 0; k < n; k++) {
                for (let l = 0; l < n; l++) {
                  const term = BT[i * n + k]! * d(k, l) * BT[j * n + l]!;
                  s += term;
                  scale += Math.abs(term);
                }
              }
              const got = v[vOff + (i * n + j) * xiStride + c]!;
              expect(Math.abs(got - s), `${variant} C${C} c${c} V[${i}][${j}]: ${got} vs ${s}`).toBeLessThanOrEqual(1e-5 * (scale + 1));
            }
          }
        }
        // Other tiles' slots are untouched.
        for (let xi = 0; xi < n * n; xi++) {
          expect(v[xi * xiStride + 0]).toBeNaN();
          expect(v[xi * xiStride + 2 * C]).toBeNaN();
        }
        w.free(xAt);
        w.free(vAt);
      }
    });
  }

  const ACTS: Activation[] = [{ kind: 'none' }, { kind: 'relu' }, { kind: 'clip', min: -1, max: 2 }, { kind: 'leakyrelu', alpha: 0.3 }, { kind: 'hardswish' }];
  for (const variant of VARIANTS) {
    it(`${variant}: Y = act(Aᵀ M A + bias) for every channel, written only inside the tile`, () => {
      const { m, n, AT } = winogradOutputMatrix(variant);
      ACTS.forEach((act, ai) => {
        const groups = 1 + (ai % 3);
        const Mc = 4 * groups;
        const tiles = 2, t = 1, xiStride = Mc * tiles;
        const OW = m + 3, OH = m + 2, plane = OW * OH;
        const oh0 = 2, ow0 = 3; // the tile at the bottom-right corner of each plane
        const withBias = ai % 2 === 0;
        const mAt = w.alloc(n * n * xiStride * 4), yAt = w.alloc(Mc * plane * 4), bAt = w.alloc((Mc + 1) * 4);
        const M = w.f32(mAt, n * n * xiStride);
        for (let i = 0; i < M.length; i++) M[i] = Math.cos(i * 0.7 + ai) * 1.5;
        const bias = w.f32(bAt, Mc + 1);
        for (let i = 0; i < bias.length; i++) bias[i] = (i - 2) / 4;
        const y = w.f32(yAt, Mc * plane).fill(Number.NaN);
        const ok = wasmWinogradOutput(w, variant, M, t * Mc, xiStride, groups, withBias ? bias : undefined, 1, y, oh0 * OW + ow0, OW, plane, act);
        expect(ok).toBe(true);
        for (let o = 0; o < Mc; o++) {
          const want = new Float32Array(m * m);
          const scale = new Float64Array(m * m);
          for (let i = 0; i < m; i++) {
            for (let l = 0; l < m; l++) {
              let s = withBias ? bias[1 + o]! : 0, sc = Math.abs(s);
              for (let j = 0; j < n; j++) {
                for (let k = 0; k < n; k++) {
                  const term = AT[i * n + j]! * M[t * Mc + (j * n + k) * xiStride + o]! * AT[l * n + k]!;
                  s += term;
                  sc += Math.abs(term);
                }
              }
              want[i * m + l] = s;
              scale[i * m + l] = sc;
            }
          }
          applyActivation(act, want, 0, m * m);
          for (let oh = 0; oh < OH; oh++) {
            for (let ow = 0; ow < OW; ow++) {
              const got = y[o * plane + oh * OW + ow]!;
              const i = oh - oh0, l = ow - ow0;
              if (i < 0 || l < 0) { expect(got, `${variant} ${act.kind} o${o} (${oh}, ${ow}) untouched`).toBeNaN(); continue; }
              const err = Math.abs(got - want[i * m + l]!);
              expect(err, `${variant} ${act.kind} o${o} Y[${i}][${l}]: ${got} vs ${want[i * m + l]}`).toBeLessThanOrEqual(1e-5 * (scale[i * m + l]! + 1));
            }
          }
        }
        w.free(mAt);
        w.free(yAt);
        w.free(bAt);
      });
    });
  }

  it('the output transform declines activations it cannot fuse', () => {
    const at = w.alloc(64 * 4);
    const view = w.f32(at, 64);
    expect(wasmWinogradOutput(w, 'f23', view, 0, 16, 1, undefined, 0, view, 0, 2, 4, { kind: 'sigmoid' })).toBe(false);
    w.free(at);
  });

  it('returns false when a view is not in wasm memory', () => {
    expect(wasmWinogradInput(w, 'f43', new Float32Array(36), 0, 6, 36, 1, new Float32Array(144), 0, 4)).toBe(false);
  });
});
