/**
 * Range collection: runs the float model over the calibration feeds with every value of interest added as an
 * extra graph output (optimisation off, so names survive), and accumulates min/max, then (for percentile and
 * entropy) a histogram of |x| over [0, max|x|] in a second pass.
 */
import { isFloat } from '../dtype.js';
import { encodeModel } from '../loader/index.js';
import type { Model } from '../loader/model.js';
import { InferenceSession, type Feeds } from '../session/session.js';
import type { Tensor } from '../session/tensor.js';
import {
  clipRange,
  emptyAbsHistogram,
  emptyHistogram,
  emptyMinMax,
  entropyThreshold,
  mseRange,
  observeHistogram,
  observeAbsHistogram,
  observeMinMax,
  percentileThreshold,
  type AbsHistogram,
  type Histogram,
  type CalibrationMethod,
  type MinMax,
} from './ranges.js';
import { addChannelSums } from './bias-correction.js';

export interface CalibrationOptions {
  method: CalibrationMethod;
  /** For 'percentile': the share of |x| kept, in percent (default 99.99). */
  percentile?: number;
  /** Called after each model run: pass 1 collects min/max, pass 2 (percentile, entropy) histograms. */
  onProgress?: (done: number, total: number) => void;
  /** For 'mse': the activation grid the error is measured on (default uint8, asymmetric). */
  activationType?: 'uint8' | 'int8';
  /** Values whose per-channel (axis 1) means are wanted (inputs of weighted ops, for bias correction). */
  means?: ReadonlySet<string>;
  /** Called with every float value of `observe.names` on every run (e.g. to accumulate input Grams for GPTQ). */
  observe?: { names: ReadonlySet<string>; value: (name: string, data: Float32Array, dims: readonly number[]) => void };
}

export interface CalibrationStats {
  ranges: Map<string, MinMax>;
  /** Per-channel means of the values asked for in `means`. */
  means: Map<string, Float64Array>;
}

/** Runs the model with `names` as extra outputs; returns a function giving each run's values by name. */
function observingSession(model: Model, names: readonly string[]): InferenceSession {
  const graphInputs = new Set(model.graph.inputs.map((i) => i.name));
  const outputs = new Set(model.graph.outputs.map((o) => o.name));
  const extra = names.filter((n) => !graphInputs.has(n) && !outputs.has(n)).map((name) => ({ name, type: { kind: 'unknown' as const } }));
  const observed: Model = { ...model, graph: { ...model.graph, outputs: [...model.graph.outputs, ...extra] } };
  return InferenceSession.createSync(encodeModel(observed), { optimize: false });
}

/** The float values among `names` for one run (feeds for graph inputs, outputs for the rest). */
function floatValues(session: InferenceSession, feeds: Feeds, names: readonly string[]): Map<string, Tensor> {
  const outs: Record<string, Tensor> = session.runSync(feeds);
  const values = new Map<string, Tensor>();
  for (const name of names) {
    const t = feeds[name] ?? outs[name];
    if (t !== undefined && isFloat(t.type) && t.type !== 'float16' && t.type !== 'bfloat16') values.set(name, t);
  }
  return values;
}

/** Clipped [min, max] per float value in `names` (values that were never float, e.g. int64 shapes, are left out). */
export function collectRanges(model: Model, names: readonly string[], feeds: readonly Feeds[], options: CalibrationOptions): CalibrationStats {
  const wanted = options.means ?? new Set<string>();
  const observed = options.observe?.names ?? new Set<string>();
  const all = [...new Set([...names, ...wanted, ...observed])];
  const session = observingSession(model, all);
  const passes = options.method === 'minmax' ? 1 : 2;
  const total = feeds.length * passes;
  const ranges = new Map<string, MinMax>();
  const sums = new Map<string, { sum: Float64Array; count: number }>();
  const rangeNames = new Set(names);
  feeds.forEach((f, i) => {
    for (const [name, t] of floatValues(session, f, all)) {
      const data = t.data as Float32Array;
      if (rangeNames.has(name)) {
        let r = ranges.get(name);
        if (!r) ranges.set(name, (r = emptyMinMax()));
        observeMinMax(r, data);
      }
      if (wanted.has(name)) {
        let s = sums.get(name);
        if (!s) sums.set(name, (s = { sum: new Float64Array(t.dims[1] ?? 1), count: 0 }));
        s.count += addChannelSums(s.sum, data, t.dims);
      }
      if (observed.has(name)) options.observe!.value(name, data, t.dims);
    }
    options.onProgress?.(i + 1, total);
  });
  const means = new Map([...sums].map(([name, s]) => [name, s.sum.map((v) => v / s.count)]));
  if (options.method === 'minmax') return { ranges, means };
  if (options.method === 'mse') return { ranges: mseRanges(session, ranges, names, feeds, options), means };
  const histograms = new Map<string, AbsHistogram>();
  for (const [name, r] of ranges) histograms.set(name, emptyAbsHistogram(r));
  feeds.forEach((f, i) => {
    for (const [name, t] of floatValues(session, f, names)) observeAbsHistogram(histograms.get(name)!, t.data as Float32Array);
    options.onProgress?.(feeds.length + i + 1, total);
  });
  const clipped = new Map<string, MinMax>();
  for (const [name, r] of ranges) {
    const h = histograms.get(name)!;
    const threshold = options.method === 'percentile' ? percentileThreshold(h, options.percentile ?? 99.99) : entropyThreshold(h);
    clipped.set(name, clipRange(r, threshold));
  }
  return { ranges: clipped, means };
}

/** Second pass for 'mse': a signed histogram per value, then the range with the least expected error. */
function mseRanges(session: InferenceSession, ranges: Map<string, MinMax>, names: readonly string[], feeds: readonly Feeds[], options: CalibrationOptions): Map<string, MinMax> {
  const histograms = new Map<string, Histogram>();
  for (const [name, r] of ranges) histograms.set(name, emptyHistogram(r));
  feeds.forEach((f, i) => {
    for (const [name, t] of floatValues(session, f, names)) observeHistogram(histograms.get(name)!, t.data as Float32Array);
    options.onProgress?.(feeds.length + i + 1, feeds.length * 2);
  });
  const symmetric = options.activationType === 'int8';
  const result = new Map<string, MinMax>();
  for (const [name, h] of histograms) result.set(name, mseRange(h, 255, symmetric));
  return result;
}
