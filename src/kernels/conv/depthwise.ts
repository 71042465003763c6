import { NO_ACTIVATION, type Activation } from '../gemm/activation.js';
import { activateInPlace } from './fused-activation.js';
import type { ConvProblem, FloatArray } from './reference.js';
import type { WasmContext, WasmDepthwiseKernel } from '../../wasm/context.js';
import { DEPTHWISE7_WASM, dilatedDepthwiseModule, depthwiseLayerPaddedSize, wasmDepthwise3x3Interior, wasmDepthwise7x7Interior, wasmDepthwiseInterior, wasmDepthwiseLayer, type WasmDepthwiseLayer } from '../../wasm/depthwise.js';
import type { WasmMemoryView } from './wasm-weights.js';

/** True for 2-D convs where every group has one input channel (group == C, M a multiple of C). */
export function depthwiseApplies(p: ConvProblem): boolean {
  return p.group > 1 && p.group === p.inChannels && p.outChannels % p.group === 0 && p.geo.inSize[0] === 1 && p.geo.kernel[0] === 1;
}

/** The unrolled interior kernel a depthwise layer uses, or 'generic' (tap ranges only). */
export type DepthwiseKernel = 'generic' | '3x3s1' | '3x3s2' | '5x5' | '7x7';

/**
 * Per output row and column, the kernel taps [lo, hi) that land inside the input (computed once at prepare),
 * and the interior [rowLo, rowHi) × [colLo, colHi) of outputs whose taps all do, which the unrolled kernels
 * compute without any bounds logic.
 */
export interface DepthwisePlan {
  khLo: Int32Array;
  khHi: Int32Array;
  kwLo: Int32Array;
  kwHi: Int32Array;
  kernel: DepthwiseKernel;
  rowLo: number;
  rowHi: number;
  colLo: number;
  colHi: number;
  /** Argument slots of the 7×7 and dilated wasm interiors (reused per plane, so a run allocates nothing). */
  args: number[];
  /** The 7×7 or dilated wasm interior, found on the first wasm run (argsKernel) and kept for later runs. */
  argsKernel?: WasmDepthwiseKernel;
}

function tapRange(out: number, inSize: number, k: number, s: number, d: number, pad: number): [Int32Array, Int32Array] {
  const lo = new Int32Array(out);
  const hi = new Int32Array(out);
  for (let o = 0; o < out; o++) {
    const start = o * s - pad;
    lo[o] = Math.min(k, Math.max(0, Math.ceil(-start / d)));
    hi[o] = Math.max(lo[o]!, Math.min(k, Math.ceil((inSize - start) / d)));
  }
  return [lo, hi];
}

/** [first, end) of the outputs whose whole tap range is inside (a contiguous run; empty when none). */
function fullRange(lo: Int32Array, hi: Int32Array, k: number): [number, number] {
  let first = 0;
  while (first < lo.length && !(lo[first] === 0 && hi[first] === k)) first++;
  let end = first;
  while (end < lo.length && lo[end] === 0 && hi[end] === k) end++;
  return [first, end];
}

function interiorKernel(p: ConvProblem): DepthwiseKernel {
  const g = p.geo;
  const [KH, KW] = [g.kernel[1]!, g.kernel[2]!];
  const [sh, sw] = [g.strides[1]!, g.strides[2]!];
  if (g.dilations[1] !== 1 || g.dilations[2] !== 1) return 'generic';
  if (KH === 3 && KW === 3 && sh === 1 && sw === 1) return '3x3s1';
  if (KH === 3 && KW === 3 && sh === 2 && sw === 2) return '3x3s2';
  if (KH === 5 && KW === 5) return '5x5';
  // 7×7 (ConvNeXt): a wasm interior at stride 1 or 2; in JS the interior runs the generic tap loop.
  if (KH === 7 && KW === 7 && sh === sw && sh <= 2) return '7x7';
  return 'generic';
}

export function planDepthwise(p: ConvProblem, kernel: DepthwiseKernel = interiorKernel(p)): DepthwisePlan {
  const g = p.geo;
  const [khLo, khHi] = tapRange(g.outSize[1]!, g.inSize[1]!, g.kernel[1]!, g.strides[1]!, g.dilations[1]!, g.padsBegin[1]!);
  const [kwLo, kwHi] = tapRange(g.outSize[2]!, g.inSize[2]!, g.kernel[2]!, g.strides[2]!, g.dilations[2]!, g.padsBegin[2]!);
  const [rowLo, rowHi] = kernel === 'generic' ? [0, 0] : fullRange(khLo, khHi, g.kernel[1]!);
  const [colLo, colHi] = kernel === 'generic' ? [0, 0] : fullRange(kwLo, kwHi, g.kernel[2]!);
  const square = g.kernel[1] === g.kernel[2] ? g.kernel[1]! : 0;
  const viaArgs = kernel === '7x7' || (g.dilations[1]! > 1 && (square === 3 || square === 5 || square === 7));
  return { khLo, khHi, kwLo, kwHi, kernel, rowLo, rowHi, colLo, colHi, args: viaArgs ? new Array<number>(11 + square * square).fill(0) : [] };
}

/**
 * Direct depthwise convolution: output channel m reads only input channel floor(m / multiplier).
 * Per plane, the interior (every tap inside X) runs an unrolled 3×3 / 5×5 kernel with no bounds logic and
 * the border runs the generic loop over the planned tap ranges; bias and activation are fused per plane.
 * With `wasm`, 3×3 interiors run on WebAssembly SIMD when x and y are float32 views of its memory.
 * X [N, C, 1, H, W], W [M, 1, 1, KH, KW], B [M] -> Y [N, M, 1, OH, OW]
 */
export function convDepthwise(
  p: ConvProblem, plan: DepthwisePlan, x: FloatArray, w: FloatArray, bias: FloatArray | undefined, y: FloatArray,
  act: Activation = NO_ACTIVATION, wasm?: WasmContext,
): void {
  const g = p.geo;
  const [H, W] = [g.inSize[1]!, g.inSize[2]!];
  const [OH, OW] = [g.outSize[1]!, g.outSize[2]!];
  const KK = g.kernel[1]! * g.kernel[2]!;
  const multiplier = p.outChannels / p.inChannels;
  const { rowLo, rowHi, colLo, colHi } = plan;
  const hasInterior = plan.kernel !== 'generic' && rowHi > rowLo && colHi > colLo;
  const seven = plan.kernel === '7x7' && wasm !== undefined ? argsKernel(p, plan, wasm) : undefined;
  for (let n = 0; n < p.batch; n++) {
    for (let m = 0; m < p.outChannels; m++) {
      const xc = (n * p.inChannels + Math.floor(m / multiplier)) * H * W;
      const yc = (n * p.outChannels + m) * OH * OW;
      const b = bias === undefined ? 0 : bias[m]!;
      if (!hasInterior) {
        depthwiseRect(p, plan, x, xc, w, m * KK, b, y, yc, 0, OH, 0, OW);
      } else {
        depthwiseRect(p, plan, x, xc, w, m * KK, b, y, yc, 0, rowLo, 0, OW);
        depthwiseRect(p, plan, x, xc, w, m * KK, b, y, yc, rowHi, OH, 0, OW);
        depthwiseRect(p, plan, x, xc, w, m * KK, b, y, yc, rowLo, rowHi, 0, colLo);
        depthwiseRect(p, plan, x, xc, w, m * KK, b, y, yc, rowLo, rowHi, colHi, OW);
        if (plan.kernel === '3x3s1') {
          if (wasm === undefined || !wasmInterior3x3(wasm, 1, p, plan, x, xc, w, m * KK, b, y, yc)) interior3x3s1(p, plan, x, xc, w, m * KK, b, y, yc);
        } else if (plan.kernel === '3x3s2') {
          if (wasm === undefined || !wasmInterior3x3(wasm, 2, p, plan, x, xc, w, m * KK, b, y, yc)) interior3x3s2(p, plan, x, xc, w, m * KK, b, y, yc);
        } else if (plan.kernel === '7x7') {
          if (seven === undefined || !wasmInterior7x7(wasm!, seven, p, plan, x, xc, w, m * KK, b, y, yc)) {
            depthwiseRect(p, plan, x, xc, w, m * KK, b, y, yc, rowLo, rowHi, colLo, colHi);
          }
        } else if (wasm === undefined || !wasmInterior5x5(wasm, p, plan, x, xc, w, m * KK, b, y, yc)) {
          interior5x5(p, plan, x, xc, w, m * KK, b, y, yc);
        }
      }
      activateInPlace(act, y, yc, OH * OW, wasm);
    }
  }
}

/** Outputs [oh0, oh1) × [ow0, ow1) of one plane, each over its planned tap range (any kernel, stride, dilation). */
/** Rows × columns of input every tap of every output reads (from −pad), the zero-bordered plane of convDepthwiseWasm. */
function paddedPlaneSize(p: ConvProblem): [number, number] {
  const g = p.geo;
  return [
    (g.outSize[1]! - 1) * g.strides[1]! + (g.kernel[1]! - 1) * g.dilations[1]! + 1,
    (g.outSize[2]! - 1) * g.strides[2]! + (g.kernel[2]! - 1) * g.dilations[2]! + 1,
  ];
}

/** True when convDepthwiseWasm computes this plan: the 3×3 stride-1/2 kernels the wasm module has. */
export function depthwiseWasmApplies(plan: DepthwisePlan): boolean {
  return plan.kernel === '3x3s1' || plan.kernel === '3x3s2';
}

/**
 * True when convDepthwiseWasm computes this plan by padding planes: the 3×3 kernels, and 5×5 / 7×7 at equal
 * strides 1 or 2 (their borders would otherwise run the generic JS loop, a third of a 19×19 plane at 5×5).
 */
export function depthwisePaddedApplies(p: ConvProblem, plan: DepthwisePlan): boolean {
  const g = p.geo;
  const equal12 = g.strides[1] === g.strides[2] && g.strides[1]! <= 2 && g.dilations[1] === 1 && g.dilations[2] === 1;
  return depthwiseWasmApplies(plan) || ((plan.kernel === '5x5' || plan.kernel === '7x7') && equal12) || dilatedSize(p) !== undefined;
}

/** K of a square 3×3 / 5×5 / 7×7 depthwise at stride 1 with equal dilations above 1, else undefined. */
function dilatedSize(p: ConvProblem): 3 | 5 | 7 | undefined {
  const g = p.geo;
  const K = g.kernel[1]!;
  if (K !== g.kernel[2] || (K !== 3 && K !== 5 && K !== 7)) return undefined;
  if (g.strides[1] !== 1 || g.strides[2] !== 1 || g.dilations[1] !== g.dilations[2] || g.dilations[1]! <= 1) return undefined;
  return K;
}

/** Float32 scratch of convDepthwiseWasm (one zero-bordered input plane). */
export function depthwiseWasmScratchLength(p: ConvProblem): number {
  const [Hp, Wp] = paddedPlaneSize(p);
  return Hp * Wp;
}

/**
 * The 3×3, 5×5 and 7×7 depthwise (stride 1 or 2) wholly on WebAssembly SIMD, as NCNN pads before its depthwise kernels:
 * each input plane is copied into a zero-bordered plane (`padded`, depthwiseWasmScratchLength floats) so
 * every output is an interior one of the wasm kernel, which then runs the whole plane; a relu / clip /
 * leakyrelu activation runs once over Y on wasm too (others in JS). The JS border loop this replaces cost
 * more than the interiors on 7×7 to 28×28 planes. Returns false, doing nothing, when x, y or padded is not a
 * float32 view of the wasm memory (the caller runs convDepthwise).
 * X [N, C, 1, H, W], W [M, 1, 1, 3, 3], B [M] -> Y [N, M, 1, OH, OW]
 */
export function convDepthwiseWasm(
  p: ConvProblem, plan: DepthwisePlan, x: FloatArray, w: FloatArray, bias: FloatArray | undefined, y: FloatArray,
  padded: Float32Array, act: Activation, wasm: WasmContext, memory: WasmMemoryView,
): boolean {
  const buffer = wasm.memory.buffer;
  if (!(x instanceof Float32Array) || !(y instanceof Float32Array) || x.buffer !== buffer || y.buffer !== buffer || padded.buffer !== buffer) return false;
  if (!depthwisePaddedApplies(p, plan)) return false;
  const g = p.geo;
  const stride = g.strides[1] as 1 | 2;
  // Kernels called through plan.args: the 7×7 ones and any dilated one.
  const dilatedK = dilatedSize(p);
  const viaArgs = argsKernel(p, plan, wasm);
  if ((dilatedK !== undefined || plan.kernel === '7x7') && viaArgs === undefined) return false;
  const KK = g.kernel[1]! * g.kernel[2]!;
  const [H, W] = [g.inSize[1]!, g.inSize[2]!];
  const [OH, OW] = [g.outSize[1]!, g.outSize[2]!];
  const [ph, pw] = [g.padsBegin[1]!, g.padsBegin[2]!];
  const [Hp, Wp] = paddedPlaneSize(p);
  // The input rows and columns that land inside the padded plane; everything else in it stays zero.
  const rows = Math.max(0, Math.min(H, Hp - ph));
  const cols = Math.max(0, Math.min(W, Wp - pw));
  const multiplier = p.outChannels / p.inChannels;
  // Rows move with copyWithin on one view of the whole memory (float indices = byte offsets / 4).
  const mem = memory.f32();
  const xBase = x.byteOffset >> 2;
  const padBase = padded.byteOffset >> 2;
  padded.fill(0);
  for (let n = 0; n < p.batch; n++) {
    for (let m = 0; m < p.outChannels; m++) {
      const c = Math.floor(m / multiplier);
      if (m % multiplier === 0) {
        const xc = (n * p.inChannels + c) * H * W;
        for (let ih = 0; ih < rows; ih++) {
          const src = xBase + xc + ih * W;
          mem.copyWithin(padBase + (ih + ph) * Wp + pw, src, src + cols);
        }
      }
      const b = bias === undefined ? 0 : bias[m]!;
      const yc = (n * p.outChannels + m) * OH * OW;
      if (viaArgs !== undefined) wasmDepthwise7x7Interior(wasm, viaArgs, plan.args, padded, 0, Wp, w, m * KK, b, y, yc, OW, 0, OH, 0, OW, 0, 0);
      else wasmDepthwiseInterior(wasm, plan.kernel === '5x5' ? 5 : 3, stride, padded, 0, Wp, w, m * KK, b, y, yc, OW, 0, OH, 0, OW, 0, 0);
    }
  }
  activateWasm(wasm, act, y);
  return true;
}

/** Float32 scratch of convDepthwiseWasmLayer (the layer kernel's zero-bordered input plane). */
export function depthwiseWasmLayerScratchLength(p: ConvProblem, plan: DepthwisePlan): number {
  const [Hp, Wp] = depthwiseLayerPaddedSize(plan.kernel === '3x3s1' ? 1 : 2, p.geo.outSize[1]!, p.geo.outSize[2]!);
  return Hp * Wp;
}

/**
 * The 3×3 depthwise (stride 1 or 2) as one wasm call per batch item (wasmDepthwiseLayer): input planes padded,
 * convolved, biased and clamped (Relu, Clip) inside wasm, four outputs per step including each row's tail;
 * other activations run over Y afterwards. w (and the bias) must be views of the wasm memory (constants
 * uploaded at prepare). Returns false, doing nothing, when a view is outside it (the caller falls back).
 * X [N, C, 1, H, W], W [M, 1, 1, 3, 3], B [M] -> Y [N, M, 1, OH, OW]
 */
export function convDepthwiseWasmLayer(
  p: ConvProblem, plan: DepthwisePlan, x: FloatArray, w: Float32Array, bias: Float32Array | undefined, y: FloatArray,
  padded: Float32Array, act: Activation, wasm: WasmContext, k: WasmDepthwiseLayer,
): boolean {
  if (!(x instanceof Float32Array) || !(y instanceof Float32Array) || !depthwiseWasmApplies(plan)) return false;
  const stride = plan.kernel === '3x3s1' ? 1 : 2;
  const g = p.geo;
  const [H, W] = [g.inSize[1]!, g.inSize[2]!];
  const [OH, OW] = [g.outSize[1]!, g.outSize[2]!];
  const [C, M] = [p.inChannels, p.outChannels];
  const clamp = act.kind === 'relu' || act.kind === 'clip';
  const lo = act.kind === 'clip' ? act.min ?? -Infinity : 0;
  const hi = act.kind === 'clip' ? act.max ?? Infinity : Infinity;
  for (let n = 0; n < p.batch; n++) {
    const done = wasmDepthwiseLayer(
      wasm, k, stride, x, n * C * H * W, C, H, W, w, bias, y, n * M * OH * OW, M, OH, OW, g.padsBegin[1]!, g.padsBegin[2]!,
      padded, clamp, lo, hi,
    );
    if (!done) return false;
  }
  if (!clamp && act.kind !== 'none') activateWasm(wasm, act, y);
  return true;
}

/** y = act(y) over the whole tensor, on wasm SIMD (hardswish in JS). */
function activateWasm(wasm: WasmContext, act: Activation, y: Float32Array): void {
  activateInPlace(act, y, 0, y.length, wasm);
}

/** The 3×3 interior on WebAssembly SIMD; false (nothing done) when x or y is not a float32 view of its memory. */
/**
 * The wasm interior called through plan.args (7×7, or any dilated K×K at stride 1), or undefined for the others
 * (and when the engine refuses the module). Looked up once per plan: later runs neither allocate nor search.
 */
function argsKernel(p: ConvProblem, plan: DepthwisePlan, wasm: WasmContext): WasmDepthwiseKernel | undefined {
  if (plan.argsKernel !== undefined) return plan.argsKernel;
  const g = p.geo;
  const dilatedK = dilatedSize(p);
  if (dilatedK !== undefined) plan.argsKernel = wasm.use(dilatedDepthwiseModule(dilatedK, g.dilations[1]!));
  else if (plan.kernel === '7x7') plan.argsKernel = wasm.use(DEPTHWISE7_WASM)?.[g.strides[1]! - 1];
  return plan.argsKernel;
}

/** The 7×7 interior on WebAssembly SIMD; false (nothing done) outside its memory. */
function wasmInterior7x7(
  wasm: WasmContext, kernel: WasmDepthwiseKernel, p: ConvProblem, plan: DepthwisePlan, x: FloatArray, xc: number,
  w: FloatArray, wm: number, b: number, y: FloatArray, yc: number,
): boolean {
  if (!(x instanceof Float32Array) || !(y instanceof Float32Array)) return false;
  const g = p.geo;
  return wasmDepthwise7x7Interior(
    wasm, kernel, plan.args, x, xc, g.inSize[2]!, w, wm, b, y, yc, g.outSize[2]!, plan.rowLo, plan.rowHi, plan.colLo, plan.colHi,
    g.padsBegin[1]!, g.padsBegin[2]!,
  );
}

/** The 5×5 interior on WebAssembly SIMD (equal strides 1 or 2); false (nothing done) otherwise or outside its memory. */
function wasmInterior5x5(
  wasm: WasmContext, p: ConvProblem, plan: DepthwisePlan, x: FloatArray, xc: number, w: FloatArray, wm: number,
  b: number, y: FloatArray, yc: number,
): boolean {
  const g = p.geo;
  const stride = g.strides[1]!;
  if (!(x instanceof Float32Array) || !(y instanceof Float32Array) || g.strides[2] !== stride || (stride !== 1 && stride !== 2)) return false;
  return wasmDepthwiseInterior(
    wasm, 5, stride, x, xc, g.inSize[2]!, w, wm, b, y, yc, g.outSize[2]!, plan.rowLo, plan.rowHi, plan.colLo, plan.colHi,
    g.padsBegin[1]!, g.padsBegin[2]!,
  );
}

function wasmInterior3x3(
  wasm: WasmContext, stride: 1 | 2, p: ConvProblem, plan: DepthwisePlan, x: FloatArray, xc: number, w: FloatArray, wm: number,
  b: number, y: FloatArray, yc: number,
): boolean {
  if (!(x instanceof Float32Array) || !(y instanceof Float32Array)) return false;
  const g = p.geo;
  return wasmDepthwise3x3Interior(
    wasm, stride, x, xc, g.inSize[2]!, w, wm, b, y, yc, g.outSize[2]!, plan.rowLo, plan.rowHi, plan.colLo, plan.colHi,
    g.padsBegin[1]!, g.padsBegin[2]!,
  );
}

function depthwiseRect(
  p: ConvProblem, plan: DepthwisePlan, x: FloatArray, xc: number, w: FloatArray, wm: number, b: number,
  y: FloatArray, yc: number, oh0: number, oh1: number, ow0: number, ow1: number,
): void {
  const g = p.geo;
  const W = g.inSize[2]!;
  const OW = g.outSize[2]!;
  const KW = g.kernel[2]!;
  const [sh, sw] = [g.strides[1]!, g.strides[2]!];
  const [dh, dw] = [g.dilations[1]!, g.dilations[2]!];
  const [ph, pw] = [g.padsBegin[1]!, g.padsBegin[2]!];
  const { khLo, khHi, kwLo, kwHi } = plan;
  for (let oh = oh0; oh < oh1; oh++) {
    const ih0 = oh * sh - ph;
    const kh0 = khLo[oh]!;
    const kh1 = khHi[oh]!;
    for (let ow = ow0; ow < ow1; ow++) {
      const iw0 = ow * sw - pw;
      const kw0 = kwLo[ow]!;
      const kw1 = kwHi[ow]!;
      let s = b;
      for (let kh = kh0; kh < kh1; kh++) {
        const xr = xc + (ih0 + kh * dh) * W + iw0;
        const wr = wm + kh * KW;
        for (let kw = kw0; kw < kw1; kw++) s += x[xr + kw * dw]! * w[wr + kw]!;
      }
      y[yc + oh * OW + ow] = s;
    }
  }
}

/** 3×3 stride 1 interior: each row slides a 3×3 window of registers, loading one new input column per output. */
function interior3x3s1(p: ConvProblem, plan: DepthwisePlan, x: FloatArray, xc: number, w: FloatArray, wm: number, b: number, y: FloatArray, yc: number): void {
  const W = p.geo.inSize[2]!;
  const OW = p.geo.outSize[2]!;
  const [ph, pw] = [p.geo.padsBegin[1]!, p.geo.padsBegin[2]!];
  const w00 = w[wm]!, w01 = w[wm + 1]!, w02 = w[wm + 2]!;
  const w10 = w[wm + 3]!, w11 = w[wm + 4]!, w12 = w[wm + 5]!;
  const w20 = w[wm + 6]!, w21 = w[wm + 7]!, w22 = w[wm + 8]!;
  const { rowLo, rowHi, colLo, colHi } = plan;
  for (let oh = rowLo; oh < rowHi; oh++) {
    let r0 = xc + (oh - ph) * W + colLo - pw;
    let r1 = r0 + W;
    let r2 = r1 + W;
    let a0 = x[r0]!, a1 = x[r0 + 1]!;
    let b0 = x[r1]!, b1 = x[r1 + 1]!;
    let c0 = x[r2]!, c1 = x[r2 + 1]!;
    let yi = yc + oh * OW + colLo;
    for (let ow = colLo; ow < colHi; ow++) {
      const a2 = x[r0 + 2]!, b2 = x[r1 + 2]!, c2 = x[r2 + 2]!;
      y[yi++] = b + w00 * a0 + w01 * a1 + w02 * a2 + w10 * b0 + w11 * b1 + w12 * b2 + w20 * c0 + w21 * c1 + w22 * c2;
      a0 = a1; a1 = a2; b0 = b1; b1 = b2; c0 = c1; c1 = c2;
      r0++; r1++; r2++;
    }
  }
}

/** 3×3 stride 2 interior: consecutive windows share one column, so two new input columns per output. */
function interior3x3s2(p: ConvProblem, plan: DepthwisePlan, x: FloatArray, xc: number, w: FloatArray, wm: number, b: number, y: FloatArray, yc: number): void {
  const W = p.geo.inSize[2]!;
  const OW = p.geo.outSize[2]!;
  const [ph, pw] = [p.geo.padsBegin[1]!, p.geo.padsBegin[2]!];
  const w00 = w[wm]!, w01 = w[wm + 1]!, w02 = w[wm + 2]!;
  const w10 = w[wm + 3]!, w11 = w[wm + 4]!, w12 = w[wm + 5]!;
  const w20 = w[wm + 6]!, w21 = w[wm + 7]!, w22 = w[wm + 8]!;
  const { rowLo, rowHi, colLo, colHi } = plan;
  for (let oh = rowLo; oh < rowHi; oh++) {
    let r0 = xc + (oh * 2 - ph) * W + colLo * 2 - pw;
    let r1 = r0 + W;
    let r2 = r1 + W;
    let a0 = x[r0]!, b0 = x[r1]!, c0 = x[r2]!;
    let yi = yc + oh * OW + colLo;
    for (let ow = colLo; ow < colHi; ow++) {
      const a1 = x[r0 + 1]!, a2 = x[r0 + 2]!;
      const b1 = x[r1 + 1]!, b2 = x[r1 + 2]!;
      const c1 = x[r2 + 1]!, c2 = x[r2 + 2]!;
      y[yi++] = b + w00 * a0 + w01 * a1 + w02 * a2 + w10 * b0 + w11 * b1 + w12 * b2 + w20 * c0 + w21 * c1 + w22 * c2;
      a0 = a2; b0 = b2; c0 = c2;
      r0 += 2; r1 += 2; r2 += 2;
    }
  }
}

/** 5×5 interior (any stride): five unrolled taps per row, rows accumulated in turn. */
function interior5x5(p: ConvProblem, plan: DepthwisePlan, x: FloatArray, xc: number, w: FloatArray, wm: number, b: number, y: FloatArray, yc: number): void {
  const W = p.geo.inSize[2]!;
  const OW = p.geo.outSize[2]!;
  const [sh, sw] = [p.geo.strides[1]!, p.geo.strides[2]!];
  const [ph, pw] = [p.geo.padsBegin[1]!, p.geo.padsBegin[2]!];
  const { rowLo, rowHi, colLo, colHi } = plan;
  for (let oh = rowLo; oh < rowHi; oh++) {
    const yr = yc + oh * OW;
    for (let ow = colLo; ow < colHi; ow++) y[yr + ow] = b;
    for (let kh = 0; kh < 5; kh++) {
      const wr = wm + kh * 5;
      const k0 = w[wr]!, k1 = w[wr + 1]!, k2 = w[wr + 2]!, k3 = w[wr + 3]!, k4 = w[wr + 4]!;
      let xi = xc + (oh * sh - ph + kh) * W + colLo * sw - pw;
      for (let ow = colLo; ow < colHi; ow++, xi += sw) {
        y[yr + ow]! += k0 * x[xi]! + k1 * x[xi + 1]! + k2 * x[xi + 2]! + k3 * x[xi + 3]! + k4 * x[xi + 4]!;
      }
    }
  }
}
