import { describe, expect, it } from 'vitest';
import { WasmContext } from '../src/wasm/context.js';
import { IM2COL_WASM, wasmIm2colRows } from '../src/kernels/conv/im2col-wasm.js';
import type { ConvProblem } from '../src/kernels/conv/reference.js';

// The wasm im2col against the definition, over odd shapes that defeat its vector steps: strides 1, 2 and 3,
// dilations, asymmetric pads wider than the kernel reach, rows past the input, and row tiles (r0 > 0).

interface Shape { C: number; H: number; W: number; KH: number; KW: number; s: [number, number]; d: [number, number]; pb: [number, number]; pe: [number, number] }

function problemOf(sh: Shape): ConvProblem {
  const OH = Math.floor((sh.H + sh.pb[0] + sh.pe[0] - (sh.d[0] * (sh.KH - 1) + 1)) / sh.s[0]) + 1;
  const OW = Math.floor((sh.W + sh.pb[1] + sh.pe[1] - (sh.d[1] * (sh.KW - 1) + 1)) / sh.s[1]) + 1;
  return {
    batch: 1, inChannels: sh.C, outChannels: 1, group: 1,
    geo: {
      inSize: [1, sh.H, sh.W], outSize: [1, OH, OW], kernel: [1, sh.KH, sh.KW], strides: [1, ...sh.s], dilations: [1, ...sh.d],
      padsBegin: [0, ...sh.pb], padsEnd: [0, ...sh.pe],
    },
  };
}

/** col[((c·KH + kh)·KW + kw)·rows·OW + r·OW + ow] straight from the definition. */
function naiveIm2col(sh: Shape, p: ConvProblem, x: Float32Array, r0: number, rows: number): Float32Array {
  const [OW] = [p.geo.outSize[2]!];
  const out = new Float32Array(sh.C * sh.KH * sh.KW * rows * OW);
  let i = 0;
  for (let c = 0; c < sh.C; c++) for (let kh = 0; kh < sh.KH; kh++) for (let kw = 0; kw < sh.KW; kw++) {
    for (let r = 0; r < rows; r++) for (let ow = 0; ow < OW; ow++) {
      const ih = (r0 + r) * sh.s[0] - sh.pb[0] + kh * sh.d[0];
      const iw = ow * sh.s[1] - sh.pb[1] + kw * sh.d[1];
      out[i++] = ih >= 0 && ih < sh.H && iw >= 0 && iw < sh.W ? x[(c * sh.H + ih) * sh.W + iw]! : 0;
    }
  }
  return out;
}

const SHAPES: Shape[] = [
  { C: 3, H: 23, W: 29, KH: 7, KW: 7, s: [2, 2], d: [1, 1], pb: [3, 3], pe: [3, 3] },
  { C: 5, H: 9, W: 17, KH: 3, KW: 3, s: [1, 1], d: [1, 1], pb: [1, 1], pe: [1, 1] },
  { C: 4, H: 16, W: 16, KH: 3, KW: 3, s: [2, 2], d: [1, 1], pb: [1, 1], pe: [1, 1] },
  { C: 3, H: 31, W: 33, KH: 3, KW: 3, s: [2, 2], d: [1, 1], pb: [0, 0], pe: [0, 0] },
  { C: 2, H: 13, W: 11, KH: 3, KW: 5, s: [1, 3], d: [2, 1], pb: [2, 0], pe: [0, 4] },
  { C: 2, H: 7, W: 6, KH: 2, KW: 3, s: [3, 2], d: [1, 2], pb: [5, 6], pe: [4, 5] },
  { C: 1, H: 1, W: 1, KH: 3, KW: 3, s: [1, 1], d: [1, 1], pb: [1, 1], pe: [1, 1] },
  { C: 2, H: 5, W: 40, KH: 1, KW: 1, s: [2, 2], d: [1, 1], pb: [0, 0], pe: [0, 0] },
];

describe('f32_im2col_2d__wasmsimd equals the im2col definition', () => {
  const ctx = WasmContext.create();
  const k = ctx?.use(IM2COL_WASM);
  it.skipIf(k === undefined)('over odd shapes, whole images and row tiles, writing nothing past the tile', () => {
    for (const sh of SHAPES) {
      const p = problemOf(sh);
      const [OH, OW] = [p.geo.outSize[1]!, p.geo.outSize[2]!];
      const xLen = sh.C * sh.H * sh.W;
      const colLen = sh.C * sh.KH * sh.KW * OH * OW;
      const xOff = ctx!.alloc(xLen * 4 + 64);
      const colOff = ctx!.alloc(colLen * 4 + 64);
      for (const [r0, rows] of [[0, OH], [Math.floor(OH / 2), OH - Math.floor(OH / 2)], [OH - 1, 1]] as const) {
        const x = ctx!.f32(xOff, xLen);
        for (let i = 0; i < xLen; i++) x[i] = 1 + Math.sin(i * 0.7);
        const n = sh.C * sh.KH * sh.KW * rows * OW;
        const guarded = ctx!.f32(colOff, n + 16);
        guarded.fill(-7);
        const col = ctx!.f32(colOff, n);
        expect(wasmIm2colRows(k!, ctx!.memory, p, x, 0, sh.C, r0, rows, col)).toBe(true);
        const want = naiveIm2col(sh, p, x, r0, rows);
        expect(Array.from(col)).toEqual(Array.from(want));
        expect(Array.from(guarded.subarray(n))).toEqual(new Array(16).fill(-7));
      }
      ctx!.free(colOff);
      ctx!.free(xOff);
    }
  });
  it.skipIf(k === undefined)('declines views outside the wasm memory', () => {
    const p = problemOf(SHAPES[1]!);
    expect(wasmIm2colRows(k!, ctx!.memory, p, new Float32Array(5 * 9 * 17), 0, 5, 0, 1, new Float32Array(5 * 9 * 17))).toBe(false);
  });
});
