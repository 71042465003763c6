import type { TensorData } from '../../dtype.js';
import { attrInt } from '../../graph/attributes.js';
import { kernelError, requireConstant, requireInput, type KernelDef, type PrepareContext } from '../kernel.js';
import { requireFloat } from '../reduce/common.js';

/** Box i of a batch as (ymin, xmin, ymax, xmax), whatever corner order or centre format it was given in. */
function corners(b: ArrayLike<number>, o: number, centerPointBox: boolean): [number, number, number, number] {
  if (centerPointBox) {
    // [x_center, y_center, width, height]
    const [xc, yc, w, h] = [b[o]!, b[o + 1]!, b[o + 2]!, b[o + 3]!];
    return [yc - h / 2, xc - w / 2, yc + h / 2, xc + w / 2];
  }
  // [y1, x1, y2, x2], any diagonal pair of corners
  const [y1, x1, y2, x2] = [b[o]!, b[o + 1]!, b[o + 2]!, b[o + 3]!];
  return [Math.min(y1, y2), Math.min(x1, x2), Math.max(y1, y2), Math.max(x1, x2)];
}

/** Intersection over union; 0 when either box has no area. */
function iou(a: [number, number, number, number], b: [number, number, number, number]): number {
  const areaA = (a[2] - a[0]) * (a[3] - a[1]);
  const areaB = (b[2] - b[0]) * (b[3] - b[1]);
  if (areaA <= 0 || areaB <= 0) return 0;
  const ih = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const iw = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (ih <= 0 || iw <= 0) return 0;
  const inter = ih * iw;
  return inter / (areaA + areaB - inter);
}

function optionalScalar(ctx: PrepareContext, i: number, fallback: number): number {
  if (ctx.inputs[i] === undefined) return fallback;
  const t = requireConstant(ctx, i);
  return t.data.length === 0 ? fallback : Number(t.data[0]);
}

/** Greedy per-class selection: highest score first, dropping boxes whose IoU with a kept box exceeds the threshold. */
function selectBoxes(ctx: PrepareContext, boxes: TensorData, scores: TensorData): number[] {
  const [B, S] = [boxes.shape[0]!, boxes.shape[1]!];
  const C = scores.shape[1]!;
  const maxPerClass = optionalScalar(ctx, 2, 0);
  const iouThreshold = optionalScalar(ctx, 3, 0);
  const hasScoreThreshold = ctx.inputs[4] !== undefined;
  const scoreThreshold = optionalScalar(ctx, 4, -Infinity);
  const centerPointBox = attrInt(ctx.node, 'center_point_box', 0) !== 0;
  const bx = boxes.data as Float32Array;
  const sc = scores.data as Float32Array;
  const selected: number[] = [];
  for (let b = 0; b < B; b++) {
    const boxList = Array.from({ length: S }, (_, i) => corners(bx, (b * S + i) * 4, centerPointBox));
    for (let c = 0; c < C; c++) {
      const s0 = (b * C + c) * S;
      const order = Array.from({ length: S }, (_, i) => i)
        .filter((i) => !hasScoreThreshold || sc[s0 + i]! > scoreThreshold)
        .sort((i, j) => sc[s0 + j]! - sc[s0 + i]! || i - j);
      const kept: number[] = [];
      for (const i of order) {
        if (kept.length >= maxPerClass) break;
        if (kept.every((k) => iou(boxList[k]!, boxList[i]!) <= iouThreshold)) kept.push(i);
      }
      for (const i of kept) selected.push(b, c, i);
    }
  }
  return selected;
}

/**
 * NonMaxSuppression (ONNX 10, 11). The number of selected boxes depends on the values of every input,
 * so prepare needs them all (the runtime evaluates this node eagerly) and computes the selection there.
 */
export const nonMaxSuppressionKernel: KernelDef = {
  opType: 'NonMaxSuppression',
  prepare(ctx) {
    // boxes (B, S, 4), scores (B, C, S), max_per_class?, iou_threshold?, score_threshold? -> int64 (n, 3)
    const boxesT = requireInput(ctx, 0);
    const scoresT = requireInput(ctx, 1);
    requireFloat(ctx, boxesT.dtype, 'boxes');
    requireFloat(ctx, scoresT.dtype, 'scores');
    if (boxesT.shape.length !== 3 || boxesT.shape[2] !== 4) throw kernelError(ctx, `boxes shape [${boxesT.shape}] should be [B, S, 4]`);
    const [B, S] = [boxesT.shape[0]!, boxesT.shape[1]!];
    if (scoresT.shape.length !== 3 || scoresT.shape[0] !== B || scoresT.shape[2] !== S) {
      throw kernelError(ctx, `scores shape [${scoresT.shape}] should be [${B}, C, ${S}]`);
    }
    const selected = selectBoxes(ctx, requireConstant(ctx, 0), requireConstant(ctx, 1));
    const result = BigInt64Array.from(selected, (v) => BigInt(v));
    return {
      outputs: [{ dtype: 'int64', shape: [selected.length / 3, 3] }],
      run(_inputs, outputs) {
        (outputs[0] as BigInt64Array).set(result);
      },
    };
  },
};
