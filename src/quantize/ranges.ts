/**
 * Range statistics of calibration activations and the clipping threshold each method picks from them.
 *   minmax:     the observed [min, max].
 *   percentile: |x| clipped at its p-th percentile (read from a histogram of |x|).
 *   entropy:    |x| clipped at the threshold T minimising KL(P || Q), where P is the histogram of |x| clipped
 *               at T (outliers folded into the last bin) and Q is P quantised to 128 levels and expanded back
 *               (TensorRT's INT8 calibration, Migacz 2017, "8-bit Inference with TensorRT").
 *   mse:        [t·min, t·max] with the shrink factor t in (0, 1] minimising the expected quantisation error
 *               E[(x - dq(q(x)))²] over a signed histogram: values inside the range cost step²/12 (uniform
 *               rounding error), values outside cost their squared distance to the clamp. Heavy-tailed tensors
 *               (linear bottlenecks, residual sums) trade a few clipped outliers for a finer step everywhere else.
 */

export type CalibrationMethod = 'minmax' | 'percentile' | 'entropy' | 'mse';

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

/** A histogram of x over [min, max] with equal-width bins (min and max fixed by a first min/max pass). */
export interface Histogram {
  min: number;
  max: number;
  counts: Float64Array;
}

export function emptyHistogram(range: MinMax, bins = DEFAULT_HISTOGRAM_BINS): Histogram {
  return { min: Math.min(range.min, 0), max: Math.max(range.max, 0), counts: new Float64Array(bins) };
}

export function observeHistogram(h: Histogram, x: ArrayLike<number>): void {
  const bins = h.counts.length;
  const width = h.max - h.min;
  if (!(width > 0)) {
    h.counts[0]! += x.length;
    return;
  }
  const perUnit = bins / width;
  for (let i = 0; i < x.length; i++) {
    const b = Math.floor((x[i]! - h.min) * perUnit);
    h.counts[b < 0 ? 0 : b < bins ? b : bins - 1]! += 1;
  }
}

/**
 * Expected squared quantisation error of the histogram's values (each taken at its bin centre) for the range
 * [lo, hi] split into `levels` steps; `symmetric` widens the range to ±max(|lo|, |hi|) (int8 activations).
 */
export function quantizationMse(h: Histogram, lo: number, hi: number, levels: number, symmetric: boolean): number {
  if (symmetric) {
    const a = Math.max(-lo, hi);
    lo = -a;
    hi = a;
  }
  const step = (hi - lo) / levels;
  const inside = (step * step) / 12;
  const bins = h.counts.length;
  const width = (h.max - h.min) / bins;
  let sum = 0;
  for (let b = 0; b < bins; b++) {
    const n = h.counts[b]!;
    if (n === 0) continue;
    const x = h.min + (b + 0.5) * width;
    const d = x < lo ? lo - x : x > hi ? x - hi : 0;
    sum += n * (d > 0 ? d * d : inside);
  }
  return sum;
}

/**
 * The range with the least expected error: each end is a fraction k / candidates (k = 1..candidates) of the
 * observed one. The two ends are searched in turn (coordinate descent, a few sweeps), so a one-sided outlier
 * shrinks only its own side; symmetric (int8) ranges have one end, max(|min|, |max|).
 */
export function mseRange(h: Histogram, levels = 255, symmetric = false, candidates = 256): MinMax {
  if (!(h.max - h.min > 0)) return { min: h.min, max: h.max };
  const best = (cost: (t: number) => number): number => {
    let bestCost = Infinity;
    let bestT = 1;
    for (let k = candidates; k >= 1; k--) {
      const c = cost(k / candidates);
      if (c < bestCost) {
        bestCost = c;
        bestT = k / candidates;
      }
    }
    return bestT;
  };
  if (symmetric) {
    const a = Math.max(-h.min, h.max);
    const t = best((t) => quantizationMse(h, -t * a, t * a, levels, true));
    return { min: Math.max(h.min, -t * a), max: Math.min(h.max, t * a) };
  }
  let lo = h.min;
  let hi = h.max;
  for (let sweep = 0; sweep < 3; sweep++) {
    if (h.max > 0) hi = best((t) => quantizationMse(h, lo, t * h.max, levels, false)) * h.max;
    if (h.min < 0) lo = best((t) => quantizationMse(h, t * h.min, hi, levels, false)) * h.min;
  }
  return { min: lo, max: hi };
}
