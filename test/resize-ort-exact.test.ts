/**
 * Resize bit for bit against onnxruntime-node (a peer, never a dependency): each case is one Resize model built
 * here, run by both runtimes on the same random float32 input; the outputs must be identical bits. tinfer runs
 * it twice, forced to the reference variant on the js backend and with its default (wasm) variant, since both
 * must reproduce onnxruntime's float32 operation order (issue 12: a 1-ulp difference before a
 * DynamicQuantizeLinear flips quantization steps).
 *
 * The models feed Resize from a graph input, so onnxruntime runs its CPU Resize kernel at every optimization level.
 * (With graphOptimizationLevel 'all' on an AVX2 machine, a linear Resize with integer scales that follows a Conv is
 * rewritten to com.microsoft.nchwc.Upsample, whose MLAS kernel weighs and sums differently, (a + b) + (c + d) with
 * weights (1 − fy)(1 − fx)…; tinfer does not emulate that rewrite.)
 *
 * onnxruntime-node is looked up at $TINFER_ORT_NODE, then bench/peers/node_modules (npm ci there), then the
 * main checkout's peers; the suite is skipped, saying so, when none is installed.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TensorData } from '../src/dtype.js';
import { InferenceSession, Tensor } from '../src/index.js';
import { F, rng, tensor } from './harness.js';
import { ModelBuilder } from './onnx-builder.js';
import { REPO_ROOT } from './shared.js';

interface OrtTensor { data: ArrayLike<number>; dims: readonly number[] }
interface OrtModule {
  InferenceSession: { create(bytes: Uint8Array, options?: object): Promise<{ run(feeds: object): Promise<Record<string, OrtTensor>> }> };
  Tensor: new (type: string, data: Float32Array, dims: number[]) => unknown;
}

function findOrt(): OrtModule | undefined {
  const candidates = [
    process.env.TINFER_ORT_NODE,
    resolve(REPO_ROOT, 'bench/peers/node_modules/onnxruntime-node'),
    resolve(REPO_ROOT, '../main/bench/peers/node_modules/onnxruntime-node'),
  ];
  for (const dir of candidates) {
    if (dir === undefined || !existsSync(dir)) continue;
    try {
      return createRequire(resolve(REPO_ROOT, 'package.json'))(dir) as OrtModule;
    } catch {
      // A broken install counts as absent.
    }
  }
  return undefined;
}

const ort = findOrt();
if (ort === undefined) console.warn('onnxruntime-node is not installed (bench/peers, or $TINFER_ORT_NODE): the bit-exact Resize comparison is skipped');

/** Distance in units in the last place between two float32 values (0 when the bits are equal). */
export function ulpDistance(a: number, b: number): number {
  const f = new Float32Array([a, b]);
  const i = new Int32Array(f.buffer);
  const ordered = (v: number) => (v < 0 ? -2147483648 - v : v);
  if (Number.isNaN(f[0]!) || Number.isNaN(f[1]!)) return Number.isNaN(f[0]!) && Number.isNaN(f[1]!) ? 0 : Infinity;
  return Math.abs(ordered(i[0]!) - ordered(i[1]!));
}

interface ResizeCase {
  name: string;
  shape: number[];
  attrs: Record<string, string | number | F>;
  scales?: number[];
  sizes?: number[];
  roi?: number[];
  opset?: number;
  /** Upsample (opset 9) instead of Resize. */
  upsample?: boolean;
  /** Append DynamicQuantizeLinear and compare its uint8 output (and scale, zero point). */
  quantize?: boolean;
}

function buildModel(c: ResizeCase): Uint8Array {
  const b = new ModelBuilder({ opset: c.opset ?? 19 });
  const x = b.input('x', 'float32', c.shape);
  const f32 = (name: string, v: number[]) => b.initializer(name, tensor('float32', [v.length], v));
  let inputs: string[];
  if (c.upsample || (c.opset ?? 19) < 11) inputs = [x, f32('scales', c.scales!)];
  else {
    const roi = c.roi ? f32('roi', c.roi) : '';
    const scales = c.scales ? f32('scales', c.scales) : '';
    const sizes = c.sizes ? b.initializer('sizes', tensor('int64', [c.sizes.length], c.sizes.map(BigInt))) : '';
    inputs = c.sizes ? [x, roi, scales, sizes] : [x, roi, scales];
  }
  const [y] = b.node(c.upsample ? 'Upsample' : 'Resize', inputs, c.attrs);
  if (c.quantize) {
    const [q, s, z] = b.node('DynamicQuantizeLinear', [y!], {}, { outputs: 3 });
    b.output(q!);
    b.output(s!);
    b.output(z!);
  } else b.output(y!);
  return b.toBytes();
}

function input(c: ResizeCase): Float32Array {
  const r = rng(c.shape.reduce((a, b) => a * 7 + b, 3));
  // Full-mantissa values of mixed magnitude, so every rounding step shows.
  return Float32Array.from({ length: c.shape.reduce((a, b) => a * b, 1) }, () => (r() * 2 - 1) * 3.7);
}

async function runOrt(c: ResizeCase, bytes: Uint8Array, x: Float32Array): Promise<ArrayLike<number>[]> {
  const session = await ort!.InferenceSession.create(bytes);
  const out = await session.run({ x: new ort!.Tensor('float32', x, c.shape) });
  return Object.keys(out).sort().map((k) => out[k]!.data);
}

async function runTinfer(bytes: Uint8Array, c: ResizeCase, x: Float32Array, reference: boolean): Promise<{ data: ArrayLike<number>[]; variant: string }> {
  const options = reference ? { backend: 'js' as const, variants: { Resize: 'reference', Upsample: 'reference' } } : {};
  const s = await InferenceSession.create(bytes, { ...options, profile: true });
  const out = await s.run({ x: new Tensor('float32', x, c.shape) });
  const variant = s.profile().find((p) => p.opType === 'Resize' || p.opType === 'Upsample')?.variant ?? '';
  return { data: Object.keys(out).sort().map((k) => out[k]!.data as ArrayLike<number>), variant };
}

/** Largest ulp distance between two outputs, and how many elements differ. */
export function compareBits(got: ArrayLike<number>, want: ArrayLike<number>): { maxUlp: number; differing: number } {
  let maxUlp = 0;
  let differing = 0;
  for (let i = 0; i < want.length; i++) {
    const d = typeof want[i] === 'bigint' ? (got[i] === want[i] ? 0 : Infinity) : ulpDistance(Number(got[i]), Number(want[i]));
    if (d > 0) differing++;
    maxUlp = Math.max(maxUlp, d);
  }
  return { maxUlp, differing };
}

const sc = (h: number, w: number) => [1, 1, h, w];
const COORDS = ['half_pixel', 'pytorch_half_pixel', 'align_corners', 'asymmetric', 'half_pixel_symmetric'] as const;
/**
 * align_corners (and tf_crop_and_resize) with scales whose product scale·in is not whole: onnxruntime divides by
 * the floored output length, the ONNX reference (and its conformance tests, which tinfer passes) by scale·in, so
 * those cases differ by design; here they get scales with whole products.
 */
const hFor = (coord: string) => (coord === 'align_corners' ? 2 : 1.7);
const wideFor = (coord: string) => (coord === 'align_corners' ? 6 : 5);
const CROP_ROI = [0, 0, 0.1, -0.15, 1, 1, 0.85, 1.2];

export const ORT_CASES: ResizeCase[] = [
  // Bilinear, the OCR / segmentation case, over scales that round every way.
  ...[[2, 2], [1.7, 0.6], [2.5, 2.5], [0.5, 0.5], [3, 1.25]].map(([h, w]) => ({
    name: `linear half_pixel [1,3,7,5] scales ${h}x${w}`, shape: [1, 3, 7, 5], attrs: { mode: 'linear' }, scales: sc(h!, w!),
  })),
  ...COORDS.map((coord) => ({
    name: `linear ${coord} [2,13,7,${wideFor(coord)}] scales ${hFor(coord)}x2.5`, shape: [2, 13, 7, wideFor(coord)],
    attrs: { mode: 'linear', coordinate_transformation_mode: coord }, scales: sc(hFor(coord), 2.5),
  })),
  ...COORDS.map((coord) => ({
    name: `linear ${coord} sizes [1,2,11,3]`, shape: [1, 2, 6, 5], attrs: { mode: 'linear', coordinate_transformation_mode: coord }, sizes: [1, 2, 11, 3],
  })),
  { name: 'linear tf_crop_and_resize sizes [1,2,9,8], extrapolation 0.5', shape: [1, 2, 6, 5], roi: CROP_ROI, sizes: [1, 2, 9, 8],
    attrs: { mode: 'linear', coordinate_transformation_mode: 'tf_crop_and_resize', extrapolation_value: new F(0.5) } },
  { name: 'linear 1x1 input', shape: [1, 1, 1, 1], attrs: { mode: 'linear' }, scales: sc(3, 2) },
  { name: 'linear 2-D input', shape: [7, 5], attrs: { mode: 'linear' }, scales: [1.7, 2.5] },
  { name: 'linear NHWC scales [1,2,2,1]', shape: [1, 6, 5, 3], attrs: { mode: 'linear' }, scales: [1, 2, 1.6, 1] },
  { name: 'trilinear [1,2,3,4,5] scales 1.5x2x0.7', shape: [1, 2, 3, 4, 5], attrs: { mode: 'linear' }, scales: [1, 1, 1.5, 2, 0.7] },
  { name: 'trilinear 3-D input align_corners', shape: [3, 4, 5], attrs: { mode: 'linear', coordinate_transformation_mode: 'align_corners' }, scales: [2, 1.5, 0.8] },
  // Bicubic: coefficients, A, exclude_outside.
  ...COORDS.map((coord) => ({
    name: `cubic ${coord} [1,3,7,${wideFor(coord)}] scales ${hFor(coord)}x2.5`, shape: [1, 3, 7, wideFor(coord)],
    attrs: { mode: 'cubic', coordinate_transformation_mode: coord }, scales: sc(hFor(coord), 2.5),
  })),
  { name: 'cubic A=-0.5 exclude_outside scales 2x0.6', shape: [2, 3, 7, 5], attrs: { mode: 'cubic', cubic_coeff_a: -0.5, exclude_outside: 1 }, scales: sc(2, 0.6) },
  { name: 'cubic downscale 0.5 sizes', shape: [1, 2, 9, 8], attrs: { mode: 'cubic' }, sizes: [1, 2, 4, 5] },
  { name: 'cubic tf_crop_and_resize', shape: [1, 2, 6, 5], roi: CROP_ROI, sizes: [1, 2, 9, 8],
    attrs: { mode: 'cubic', coordinate_transformation_mode: 'tf_crop_and_resize', extrapolation_value: new F(0.5) } },
  { name: 'cubic 2-D input', shape: [7, 5], attrs: { mode: 'cubic' }, scales: [1.7, 2.5] },
  // Nearest: every rounding mode.
  ...(['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'] as const).flatMap((nearest) =>
    COORDS.map((coord) => ({
      name: `nearest ${nearest} ${coord} scales 1.5x2.5`, shape: [1, 3, 6, 4], attrs: { mode: 'nearest', nearest_mode: nearest, coordinate_transformation_mode: coord }, scales: sc(1.5, 2.5),
    }))),
  { name: 'nearest downscale 0.6 sizes', shape: [2, 3, 10, 7], attrs: { mode: 'nearest' }, sizes: [2, 3, 6, 4] },
  { name: 'nearest tf_crop_and_resize', shape: [1, 2, 6, 5], roi: CROP_ROI, sizes: [1, 2, 9, 8],
    attrs: { mode: 'nearest', coordinate_transformation_mode: 'tf_crop_and_resize', extrapolation_value: new F(0.5) } },
  { name: 'nearest 3-D scales on every axis', shape: [3, 4, 5], attrs: { mode: 'nearest' }, scales: [2, 1.5, 0.6] },
  { name: 'Resize-10 nearest scales 2x2', opset: 10, shape: [1, 2, 4, 5], attrs: { mode: 'nearest' }, scales: sc(2, 2) },
  { name: 'Resize-10 linear scales 1.7x0.6', opset: 10, shape: [1, 2, 4, 5], attrs: { mode: 'linear' }, scales: sc(1.7, 0.6) },
  { name: 'Upsample-9 linear scales 2x3', upsample: true, opset: 9, shape: [1, 2, 4, 5], attrs: { mode: 'linear' }, scales: sc(2, 3) },
  { name: 'Resize-13 linear half_pixel 2x', opset: 13, shape: [1, 4, 8, 8], attrs: { mode: 'linear' }, scales: sc(2, 2) },
  // The issue: bilinear Resize feeding DynamicQuantizeLinear must give the same uint8 codes.
  { name: 'linear 2x -> DynamicQuantizeLinear', shape: [1, 8, 20, 20], attrs: { mode: 'linear' }, scales: sc(2, 2), quantize: true },
  { name: 'linear 1.7x0.6 -> DynamicQuantizeLinear', shape: [1, 8, 20, 20], attrs: { mode: 'linear' }, scales: sc(1.7, 0.6), quantize: true },
  { name: 'cubic 2x -> DynamicQuantizeLinear', shape: [1, 4, 12, 12], attrs: { mode: 'cubic' }, scales: sc(2, 2), quantize: true },
];

describe.skipIf(ort === undefined)('Resize bit-exact against onnxruntime-node', () => {
  for (const c of ORT_CASES) {
    for (const reference of [true, false]) {
      it(`${c.name} (${reference ? 'reference' : 'default variant'})`, async () => {
        const bytes = buildModel(c);
        const x = input(c);
        const want = await runOrt(c, bytes, x);
        const got = await runTinfer(bytes, c, x, reference);
        expect(got.data.length).toBe(want.length);
        want.forEach((w, k) => {
          const { maxUlp, differing } = compareBits(got.data[k]!, w);
          if (process.env.RESIZE_ORT_REPORT) console.log(`ULP\t${c.name}\t${reference ? 'ref' : 'default'}\t${got.variant}\tout${k}\tmax ${maxUlp}\tdiffering ${differing}/${w.length}`);
          expect(got.data[k]!.length, 'length').toBe(w.length);
          expect({ maxUlp, differing }, `output ${k} via ${got.variant}`).toEqual({ maxUlp: 0, differing: 0 });
        });
      });
    }
  }
});

export type { ResizeCase, TensorData };
