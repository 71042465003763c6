/**
 * Linear Resize over two or three axes, as segmentation heads use it (logits [N, K, h, w] up to the image size),
 * against a direct n-linear reference (every output from its own input coordinates, no separable passes). The
 * kernel may run its passes in any order (cheapest first), which must not change the result beyond rounding.
 */
import { describe, expect, it } from 'vitest';
import { InferenceSession, Tensor } from '../src/index.js';
import { ModelBuilder } from './onnx-builder.js';
import { rng, tensor } from './harness.js';

type Coord = 'half_pixel' | 'align_corners' | 'asymmetric' | 'pytorch_half_pixel';

function sourceCoordinate(mode: Coord, j: number, inLen: number, outLen: number): number {
  const scale = outLen / inLen;
  switch (mode) {
    case 'half_pixel':
      return (j + 0.5) / scale - 0.5;
    case 'pytorch_half_pixel':
      return outLen > 1 ? (j + 0.5) / scale - 0.5 : 0;
    case 'align_corners':
      return outLen === 1 ? 0 : (j * (inLen - 1)) / (outLen - 1);
    case 'asymmetric':
      return j / scale;
  }
}

/** Per axis: the two clamped input indices and their weights for output j. */
function taps(mode: Coord, j: number, inLen: number, outLen: number): [number, number, number, number] {
  if (inLen === outLen) return [j, j, 1, 0];
  const x = Math.min(Math.max(sourceCoordinate(mode, j, inLen, outLen), 0), inLen - 1);
  const x0 = Math.floor(x);
  const x1 = Math.min(x0 + 1, inLen - 1);
  return [x0, x1, 1 - (x - x0), x - x0];
}

function reference(x: Float32Array, inShape: number[], outShape: number[], mode: Coord): Float32Array {
  const rank = inShape.length;
  const out = new Float32Array(outShape.reduce((a, b) => a * b, 1));
  const inStrides = inShape.map((_, d) => inShape.slice(d + 1).reduce((a, b) => a * b, 1));
  const pos = new Array<number>(rank).fill(0);
  for (let o = 0; o < out.length; o++) {
    let rem = o;
    for (let d = rank - 1; d >= 0; d--) {
      pos[d] = rem % outShape[d]!;
      rem = Math.floor(rem / outShape[d]!);
    }
    const t = pos.map((p, d) => taps(mode, p, inShape[d]!, outShape[d]!));
    let acc = 0;
    for (let corner = 0; corner < 1 << rank; corner++) {
      let weight = 1;
      let offset = 0;
      for (let d = 0; d < rank; d++) {
        const hi = (corner >> d) & 1;
        weight *= hi ? t[d]![3] : t[d]![2];
        offset += (hi ? t[d]![1] : t[d]![0]) * inStrides[d]!;
      }
      if (weight !== 0) acc += weight * x[offset]!;
    }
    out[o] = acc;
  }
  return out;
}

function resizeModel(inShape: number[], outShape: number[], mode: Coord): Uint8Array {
  const b = new ModelBuilder({ opset: 13 });
  const x = b.input('x', 'float32', inShape);
  const sizes = b.initializer('sizes', tensor('int64', [outShape.length], outShape.map(BigInt)));
  const [y] = b.node('Resize', [x, '', '', sizes], { mode: 'linear', coordinate_transformation_mode: mode });
  b.output(y!);
  return b.toBytes();
}

const CASES: { name: string; inShape: number[]; outShape: number[] }[] = [
  { name: 'segmentation-style 8x upsample of both spatial axes', inShape: [1, 5, 4, 6], outShape: [1, 5, 32, 48] },
  { name: 'up along H, down along W', inShape: [2, 3, 5, 17], outShape: [2, 3, 11, 6] },
  { name: 'three axes (C, H, W)', inShape: [1, 4, 3, 5], outShape: [1, 7, 9, 4] },
  { name: 'last axis only', inShape: [2, 3, 9], outShape: [2, 3, 20] },
];

describe.each(['wasm', 'js'] as const)('linear Resize over several axes (%s)', (backend) => {
  describe.each(['half_pixel', 'align_corners', 'asymmetric', 'pytorch_half_pixel'] as const)('%s', (mode) => {
    it.each(CASES)('$name', ({ inShape, outShape }) => {
      const r = rng(inShape.length * 31 + outShape[2]!);
      const x = Float32Array.from({ length: inShape.reduce((a, b) => a * b, 1) }, () => r() * 4 - 2);
      const s = InferenceSession.createSync(resizeModel(inShape, outShape, mode), { backend });
      const out = s.runSync({ x: new Tensor('float32', x, inShape) })[s.outputNames[0]!]!;
      expect([...out.dims]).toEqual(outShape);
      const want = reference(x, inShape, outShape, mode);
      const got = out.data as Float32Array;
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
      // The kernel takes scale = out / in in float32 and float32 coordinates (onnxruntime's arithmetic), the
      // reference doubles: a coordinate differs by ~1e-7 relative.
      expect(worst).toBeLessThan(1e-5);
    });
  });
});
