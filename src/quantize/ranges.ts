/**
 * Range statistics of calibration activations and the clipping threshold each method picks from them.
 *   minmax:     the observed [min, max].
 *   percentile: |x| clipped at its p-th percentile (read from a histogram of |x|).
 *   entropy:    |x| clipped at the threshold T minimising KL(P || Q), where P is the histogram of |x| clipped
 *               at T (outliers folded into the last bin) and Q is P quantised to 128 levels and expanded back
 *               (TensorRT's INT8 calibration, Migacz 2017, "8-bit Inference with TensorRT").
 */

export type CalibrationMethod = 'minmax' | 'percentile' | 'entropy';

/** Running min/max of one tensor. */
export interface MinMax {
  min: number;
  max: number;
}

export function emptyMinMax(): MinMax {
  return { min: Infinity, max: -Infinity };
}

export function observeMinMax(r: MinMax, x: ArrayLike<number>): void {
  let lo = r.min;
  let hi = r.max;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  r.min = lo;
  r.max = hi;
}

/** A histogram of |x| over [0, absMax] with equal-width bins; absMax is fixed by a first min/max pass. */
export interface AbsHistogram {
  absMax: number;
  counts: Float64Array;
}

export const DEFAULT_HISTOGRAM_BINS = 2048;

export function emptyAbsHistogram(range: MinMax, bins = DEFAULT_HISTOGRAM_BINS): AbsHistogram {
  return { absMax: Math.max(Math.abs(range.min), Math.abs(range.max)), counts: new Float64Array(bins) };
}

export function observeAbsHistogram(h: AbsHistogram, x: ArrayLike<number>): void {
  const bins = h.counts.length;
  if (!(h.absMax > 0)) {
    h.counts[0]! += x.length;
    return;
  }
  const perUnit = bins / h.absMax;
  for (let i = 0; i < x.length; i++) {
    const b = Math.floor(Math.abs(x[i]!) * perUnit);
    h.counts[b < bins ? b : bins - 1]! += 1;
  }
}

/** The upper edge of the bin where the cumulative share of |x| first reaches `percentile` (0..100). */
export function percentileThreshold(h: AbsHistogram, percentile: number): number {
  const bins = h.counts.length;
  let total = 0;
  for (let i = 0; i < bins; i++) total += h.counts[i]!;
  if (total === 0 || !(h.absMax > 0)) return h.absMax;
  const target = (total * percentile) / 100;
  let sum = 0;
  for (let i = 0; i < bins; i++) {
    sum += h.counts[i]!;
    if (sum >= target) return ((i + 1) * h.absMax) / bins;
  }
  return h.absMax;
}

/**
 * KL(P || Q) = Σ p_i log(p_i / q_i) over bins where p_i > 0 (P and Q normalised to sum 1). Where Q is empty
 * but P is not (the folded-in tail landing on an empty level) Q is smoothed to a small epsilon, as
 * onnxruntime's calibrator does, so such a candidate is penalised rather than ruled out.
 */
const KL_EPSILON = 1e-4;

function klDivergence(p: Float64Array, q: Float64Array): number {
  let ps = 0;
  let qs = 0;
  for (let i = 0; i < p.length; i++) {
    ps += p[i]!;
    qs += q[i]!;
  }
  if (ps === 0 || qs === 0) return Infinity;
  let kl = 0;
  for (let i = 0; i < p.length; i++) {
    const pi = p[i]! / ps;
    if (pi === 0) continue;
    const qi = q[i]! / qs;
    kl += pi * Math.log(pi / (qi > 0 ? qi : KL_EPSILON));
  }
  return kl;
}

/**
 * For each candidate i (levels..bins bins kept): P = counts[0:i] with the tail folded into bin i-1;
 * Q merges P's bins into `levels` groups and spreads each group's mass evenly over its non-empty bins.
 * Returns the upper edge of the best candidate's last bin.
 */
export function entropyThreshold(h: AbsHistogram, levels = 128): number {
  const bins = h.counts.length;
  if (!(h.absMax > 0) || bins <= levels) return h.absMax;
  const binWidth = h.absMax / bins;
  // Exact zeros (half of every ReLU output) are represented exactly by the zero point; left in bin 0 their
  // spike would dominate KL and push the threshold far too low, so bin 0 is levelled to bin 1 (as NVIDIA's
  // pytorch-quantization entropy calibrator does).
  const counts = Float64Array.from(h.counts);
  counts[0] = counts[1]!;
  let bestKl = Infinity;
  let bestI = bins;
  const p = new Float64Array(bins);
  const q = new Float64Array(bins);
  let tail = 0;
  for (let i = levels; i < bins; i++) tail += counts[i]!;
  for (let i = levels; i <= bins; i++) {
    for (let j = 0; j < i; j++) p[j] = counts[j]!;
    p[i - 1]! += tail;
    if (i < bins) tail -= counts[i]!;
    spreadQuantised(counts, p, i, levels, q);
    const kl = klDivergence(p.subarray(0, i), q.subarray(0, i));
    if (kl < bestKl) {
      bestKl = kl;
      bestI = i;
    }
  }
  return bestI * binWidth;
}

/**
 * Q for the first i bins: each level's mass comes from the unclipped counts (the tail is what clipping loses),
 * spread evenly over the bins where P is non-empty.
 */
function spreadQuantised(counts: Float64Array, p: Float64Array, i: number, levels: number, q: Float64Array): void {
  const perLevel = i / levels;
  for (let l = 0; l < levels; l++) {
    const start = Math.floor(l * perLevel);
    const end = l === levels - 1 ? i : Math.floor((l + 1) * perLevel);
    let mass = 0;
    let nonEmpty = 0;
    for (let j = start; j < end; j++) {
      mass += counts[j]!;
      if (p[j]! > 0) nonEmpty++;
    }
    const share = nonEmpty > 0 ? mass / nonEmpty : 0;
    for (let j = start; j < end; j++) q[j] = p[j]! > 0 ? share : 0;
  }
}

/** The range a method keeps: [min, max] clipped to ±threshold. */
export function clipRange(range: MinMax, threshold: number): MinMax {
  return { min: Math.max(range.min, -threshold), max: Math.min(range.max, threshold) };
}
