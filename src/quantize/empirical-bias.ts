/**
 * Empirical bias correction (Nagel et al. 2019, §4.2, "empirical" variant): quantization shifts the mean of
 * each layer's output per channel, both from weight rounding and from the quantized activations it reads
 * (rounding noise pushed through clamps and ReLUs is not zero-mean). Global average pooling keeps exactly these
 * per-channel means and averages the rest away, so they dominate a classifier's error. The correction runs
 * the float model on the calibration inputs for the float means, then the QDQ model one node at a time over all
 * inputs: as soon as a Conv / Gemm with a bias has run, E[y_q - y_f] per output channel is measured, removed from
 * its outputs (what subtracting it from the bias does) and recorded, so every later layer is measured on already
 * corrected inputs. Correcting all layers at once instead over-corrects: a shift removed upstream also removes
 * part of every downstream shift, and through BN-folded weights that feedback has a gain above 1.
 */
import { encodeModel } from '../loader/index.js';
import type { TensorData } from '../dtype.js';
import type { Model, Node } from '../loader/model.js';
import { constantValues } from './graph-info.js';
import { InferenceSession, type Feeds } from '../session/session.js';
import { addChannelSums } from './bias-correction.js';

/** A weighted node with a bias: its output's name in the float model and in the quantized graph. */
export interface CorrectedLayer {
  floatName: string;
  quantizedName: string;
}

/** Per-channel means of `names` over the feeds, from a session that exposes them as extra outputs. */
export function channelMeans(model: Model, names: readonly string[], feeds: readonly Feeds[]): Map<string, Float64Array> {
  const present = new Set(model.graph.outputs.map((o) => o.name));
  const extra = names.filter((n) => !present.has(n)).map((name) => ({ name, type: { kind: 'unknown' as const } }));
  const observed: Model = { ...model, graph: { ...model.graph, outputs: [...model.graph.outputs, ...extra] } };
  const session = InferenceSession.createSync(encodeModel(observed), { optimize: false });
  const sums = new Map<string, { sum: Float64Array; count: number }>();
  for (const f of feeds) {
    const outs = session.runSync(f);
    for (const name of names) {
      const t = outs[name];
      if (!t || t.type !== 'float32') continue;
      let s = sums.get(name);
      if (!s) sums.set(name, (s = { sum: new Float64Array(t.dims[1] ?? 1), count: 0 }));
      s.count += addChannelSums(s.sum, t.data as Float32Array, t.dims);
    }
  }
  return new Map([...sums].map(([name, s]) => [name, s.sum.map((v) => v / s.count)]));
}

/** Weighted nodes with a bias, paired by order between the source graph and the plan's (folding keeps them). */
export function correctedLayers(sourceNodes: readonly Node[], planNodes: readonly Node[], hasBias: (n: Node) => boolean): CorrectedLayer[] {
  const weighted = (n: Node) => n.domain === '' && (n.opType === 'Conv' || n.opType === 'Gemm');
  const src = sourceNodes.filter(weighted);
  const dst = planNodes.filter(weighted);
  if (src.length !== dst.length) return [];
  const layers: CorrectedLayer[] = [];
  dst.forEach((n, i) => {
    if (hasBias(n)) layers.push({ floatName: src[i]!.outputs[0]!, quantizedName: n.outputs[0]! });
  });
  return layers;
}

/**
 * Runs `quantized` node by node over all feeds and returns the per-channel output shift of every layer (keyed by
 * its quantized output name), each measured after all upstream layers were corrected. Undefined when the graph
 * has nodes with subgraphs (their implicit inputs are not tracked here).
 */
export function sequentialShifts(
  quantized: Model,
  layers: readonly CorrectedLayer[],
  floatMeans: Map<string, Float64Array>,
  feeds: readonly Feeds[],
): Map<string, Float64Array> | undefined {
  const graph = quantized.graph;
  if (graph.nodes.some((n) => [...n.attributes.values()].some((a) => a.type === 'graph' || a.type === 'graphs'))) return undefined;
  const constants = constantValues(graph);
  const targets = new Map(layers.map((l) => [l.quantizedName, floatMeans.get(l.floatName)]));
  const lastUse = new Map<string, number>();
  graph.nodes.forEach((n, i) => n.inputs.forEach((name) => lastUse.set(name, i)));
  for (const o of graph.outputs) lastUse.set(o.name, Infinity);
  const values: Map<string, TensorData>[] = feeds.map((f) => new Map(Object.entries(f).map(([name, t]) => [name, { dtype: t.type, shape: [...t.dims], data: t.data } as TensorData])));
  const shifts = new Map<string, Float64Array>();
  graph.nodes.forEach((node, index) => {
    if (node.opType === 'Constant' && node.domain === '') return;
    const live = node.inputs.filter((name) => name !== '' && !constants.has(name));
    const single: Model = {
      ...quantized,
      graph: {
        name: node.name,
        nodes: [node],
        inputs: [...new Set(live)].map((name) => ({ name, type: { kind: 'unknown' as const } })),
        outputs: node.outputs.filter((o) => o !== '').map((name) => ({ name, type: { kind: 'unknown' as const } })),
        initializers: new Map(node.inputs.filter((name) => constants.has(name)).map((name) => [name, constants.get(name)!])),
        valueInfo: [],
      },
    };
    const session = InferenceSession.fromModel(single, { optimize: false });
    if (live.length === 0) {
      // A node of constants only (weight DequantizeLinear): computed once, then a constant for its readers.
      for (const [name, v] of session.runValues(new Map())) constants.set(name, v);
      return;
    }
    for (const v of values) {
      const outs = session.runValues(new Map(live.map((name) => [name, v.get(name)!])));
      for (const [name, t] of outs) v.set(name, t);
    }
    for (const out of node.outputs) {
      const want = targets.get(out);
      if (want) correctOutput(values, out, want, shifts);
    }
    for (const name of new Set(node.inputs)) if ((lastUse.get(name) ?? -1) <= index) for (const v of values) v.delete(name);
  });
  return shifts;
}

/** Measures the per-channel mean error of `name` across all feeds' values, removes it from them and records it. */
function correctOutput(values: Map<string, TensorData>[], name: string, want: Float64Array, shifts: Map<string, Float64Array>): void {
  const sum = new Float64Array(want.length);
  let count = 0;
  for (const v of values) {
    const t = v.get(name);
    if (!t || t.dtype !== 'float32' || (t.shape[1] ?? 1) !== want.length) return;
    count += addChannelSums(sum, t.data as Float32Array, t.shape);
  }
  if (count === 0) return;
  const shift = sum.map((s, c) => s / count - want[c]!);
  for (const v of values) {
    const t = v.get(name)!;
    const data = t.data as Float32Array;
    const channels = t.shape[1] ?? 1;
    const inner = t.shape.slice(2).reduce((a, b) => a * b, 1);
    for (let i = 0; i < data.length; i++) data[i]! -= shift[Math.floor(i / inner) % channels]!;
  }
  shifts.set(name, shift);
}
