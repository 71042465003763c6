/**
 * NonMaxSuppression on many boxes (as torchvision's batched NMS emits it: every class's boxes shifted by
 * class · (max coordinate + 1) so classes never overlap), against a direct reading of the spec: per class, boxes
 * by descending score (ties by index), kept when their IoU with every kept box is <= iou_threshold.
 */
import { describe, expect, it } from 'vitest';
import { InferenceSession, Tensor } from '../src/index.js';
import { ModelBuilder } from './onnx-builder.js';
import { rng, tensor } from './harness.js';

type Box = [number, number, number, number];

function referenceIou(a: Box, b: Box): number {
  const [ay0, ax0, ay1, ax1] = [Math.min(a[0], a[2]), Math.min(a[1], a[3]), Math.max(a[0], a[2]), Math.max(a[1], a[3])];
  const [by0, bx0, by1, bx1] = [Math.min(b[0], b[2]), Math.min(b[1], b[3]), Math.max(b[0], b[2]), Math.max(b[1], b[3])];
  const areaA = (ay1 - ay0) * (ax1 - ax0);
  const areaB = (by1 - by0) * (bx1 - bx0);
  if (areaA <= 0 || areaB <= 0) return 0;
  const inter = Math.max(0, Math.min(ay1, by1) - Math.max(ay0, by0)) * Math.max(0, Math.min(ax1, bx1) - Math.max(ax0, bx0));
  return inter / (areaA + areaB - inter);
}

function reference(boxes: Box[][], scores: number[][][], maxPerClass: number, iouThreshold: number, scoreThreshold: number): number[] {
  const out: number[] = [];
  boxes.forEach((bb, b) => {
    scores[b]!.forEach((sc, c) => {
      const order = sc.map((s, i) => [s, i] as const).filter(([s]) => s > scoreThreshold).sort((p, q) => q[0] - p[0] || p[1] - q[1]);
      const kept: number[] = [];
      for (const [, i] of order) {
        if (kept.length >= maxPerClass) break;
        if (kept.every((k) => referenceIou(bb[k]!, bb[i]!) <= iouThreshold)) kept.push(i);
      }
      for (const i of kept) out.push(b, c, i);
    });
  });
  return out;
}

function nmsModel(B: number, S: number, C: number, boxes: Float32Array, scores: Float32Array, maxPerClass: number, iou: number, scoreThr: number): Uint8Array {
  const m = new ModelBuilder({ opset: 11 });
  const inputs = [
    m.initializer('boxes', tensor('float32', [B, S, 4], boxes)),
    m.initializer('scores', tensor('float32', [B, C, S], scores)),
    m.initializer('max', tensor('int64', [1], [BigInt(maxPerClass)])),
    m.initializer('iou', tensor('float32', [1], [iou])),
    m.initializer('thr', tensor('float32', [1], [scoreThr])),
  ];
  const [y] = m.node('NonMaxSuppression', inputs);
  m.output(y!);
  return m.toBytes();
}

describe.each(['wasm', 'js'] as const)('NonMaxSuppression with many boxes (%s)', (backend) => {
  it.each([
    { name: 'clustered boxes, 3 classes', B: 1, S: 400, C: 3, maxPerClass: 60, iou: 0.45, scoreThr: 0.2, shift: false },
    { name: 'batched-NMS layout (class offsets), 2 batches', B: 2, S: 600, C: 1, maxPerClass: 10000, iou: 0.5, scoreThr: 0, shift: true },
  ])('$name', ({ B, S, C, maxPerClass, iou, scoreThr, shift }) => {
    const r = rng(S + B);
    const boxes: Box[][] = [];
    const flat = new Float32Array(B * S * 4);
    for (let b = 0; b < B; b++) {
      boxes.push([]);
      for (let i = 0; i < S; i++) {
        // Boxes around 8 centres so many overlap; some given with swapped corners, a few empty.
        const centre = Math.floor(r() * 8) * 12;
        const y = centre + r() * 10, x = centre + r() * 10, h = i % 37 === 0 ? 0 : 3 + r() * 8, w = 3 + r() * 8;
        const off = shift ? (i % 5) * 200 : 0;
        const box: Box = i % 3 === 0 ? [y + h + off, x + w + off, y + off, x + off] : [y + off, x + off, y + h + off, x + w + off];
        for (let k = 0; k < 4; k++) box[k] = Math.fround(box[k]!);
        boxes[b]!.push(box);
        flat.set(box, (b * S + i) * 4);
      }
    }
    const scores: number[][][] = [];
    const flatScores = new Float32Array(B * C * S);
    for (let b = 0; b < B; b++) {
      scores.push([]);
      for (let c = 0; c < C; c++) {
        const row = Array.from({ length: S }, (_, i) => (i % 11 === 0 ? 0.5 : Math.fround(r())));
        scores[b]!.push(row);
        flatScores.set(row, (b * C + c) * S);
      }
    }
    const s = InferenceSession.createSync(nmsModel(B, S, C, flat, flatScores, maxPerClass, iou, scoreThr), { backend });
    const got = Array.from(s.runSync({})[s.outputNames[0]!]!.data as BigInt64Array, Number);
    const want = reference(boxes, scores, maxPerClass, Math.fround(iou), scoreThr);
    expect(want.length).toBeGreaterThan(30);
    expect(got).toEqual(want);
  });
});
