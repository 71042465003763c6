import type { TensorData } from '../../dtype.js';
import { attrInt } from '../../graph/attributes.js';
import { kernelError, requireConstant, requireInput, type KernelDef, type PrepareContext } from '../kernel.js';
import { requireFloat } from '../reduce/common.js';

/**
 * Every box of batch b as (ymin, xmin, ymax, xmax) in 4 consecutive float64s, whatever corner order or centre
 * format it was given in, and its area (0 for an empty box).
 */
function cornersOf(bx: ArrayLike<number>, b: number, S: number, centerPointBox: boolean): { c: Float64Array; area: Float64Array } {
  const c = new Float64Array(S * 4);
  const area = new Float64Array(S);
  for (let i = 0; i < S; i++) {
    const o = (b * S + i) * 4;
    let y0: number, x0: number, y1: number, x1: number;
    if (centerPointBox) {
      // [x_center, y_center, width, height]
      const [xc, yc, w, h] = [bx[o]!, bx[o + 1]!, bx[o + 2]!, bx[o + 3]!];
      [y0, x0, y1, x1] = [yc - h / 2, xc - w / 2, yc + h / 2, xc + w / 2];
    } else {
      // [y1, x1, y2, x2], any diagonal pair of corners
      [y0, y1] = bx[o]! <= bx[o + 2]! ? [bx[o]!, bx[o + 2]!] : [bx[o + 2]!, bx[o]!];
      [x0, x1] = bx[o + 1]! <= bx[o + 3]! ? [bx[o + 1]!, bx[o + 3]!] : [bx[o + 3]!, bx[o + 1]!];
    }
    c.set([y0, x0, y1, x1], i * 4);
    area[i] = Math.max(0, (y1 - y0) * (x1 - x0));
  }
  return { c, area };
}

/**
 * The kept boxes of one class with positive area, ordered by ymin, for overlap queries: a box can only overlap
 * those with ymin in (its ymin − tallest kept height, its ymax), a narrow slice when boxes are spread out (as
 * torchvision's batched NMS spreads classes apart by offsetting their coordinates), instead of all kept boxes.
 */
class KeptIndex {
  private readonly ymin: Float64Array;
  private readonly box: Int32Array;
  private count = 0;
  private tallest = 0;

  constructor(capacity: number, private readonly c: Float64Array, private readonly area: Float64Array) {
    this.ymin = new Float64Array(capacity);
    this.box = new Int32Array(capacity);
  }

  clear(): void {
    this.count = 0;
    this.tallest = 0;
  }

  add(i: number): void {
    if (this.area[i]! <= 0) return; // IoU with an empty box is 0: it never suppresses
    const y0 = this.c[4 * i]!;
    const at = this.firstAtLeast(y0);
    this.ymin.copyWithin(at + 1, at, this.count);
    this.box.copyWithin(at + 1, at, this.count);
    this.ymin[at] = y0;
    this.box[at] = i;
    this.count++;
    this.tallest = Math.max(this.tallest, this.c[4 * i + 2]! - y0);
  }

  /** True when box i overlaps a kept box by IoU > threshold (IoU is 0 when either box has no area). */
  suppresses(i: number, threshold: number): boolean {
    const { c, area } = this;
    const areaI = area[i]!;
    if (areaI <= 0) return false;
    const [y0, x0, y1, x1] = [c[4 * i]!, c[4 * i + 1]!, c[4 * i + 2]!, c[4 * i + 3]!];
    // Lower end widened by a hair so rounding in (ymax − ymin) cannot drop a barely-overlapping box.
    const from = y0 - this.tallest;
    for (let n = this.firstAtLeast(from - 1e-6 * (Math.abs(from) + this.tallest)); n < this.count && this.ymin[n]! < y1; n++) {
      const k = this.box[n]!;
      const ih = Math.min(y1, c[4 * k + 2]!) - Math.max(y0, c[4 * k]!);
      if (ih <= 0) continue;
      const iw = Math.min(x1, c[4 * k + 3]!) - Math.max(x0, c[4 * k + 1]!);
      if (iw <= 0) continue;
      const inter = ih * iw;
      if (inter / (area[k]! + areaI - inter) > threshold) return true;
    }
    return false;
  }

  /** First position whose ymin >= v (binary search). */
  private firstAtLeast(v: number): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.ymin[mid]! < v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
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
  const kept = new Int32Array(S);
  for (let b = 0; b < B; b++) {
    const { c, area } = cornersOf(bx, b, S, centerPointBox);
    const index = new KeptIndex(S, c, area);
    for (let cls = 0; cls < C; cls++) {
      const s0 = (b * C + cls) * S;
      const order = Array.from({ length: S }, (_, i) => i)
        .filter((i) => !hasScoreThreshold || sc[s0 + i]! > scoreThreshold)
        .sort((i, j) => sc[s0 + j]! - sc[s0 + i]! || i - j);
      let keptCount = 0;
      index.clear();
      for (const i of order) {
        if (keptCount >= maxPerClass) break;
        // A negative threshold (outside the spec's [0, 1]) suppresses everything after the first box.
        if (iouThreshold < 0 ? keptCount > 0 : index.suppresses(i, iouThreshold)) continue;
        kept[keptCount++] = i;
        index.add(i);
      }
      for (let n = 0; n < keptCount; n++) selected.push(b, cls, kept[n]!);
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
