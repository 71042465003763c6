/**
 * Sensitivity-driven mixed precision: keeps the few activations and weights whose quantization costs the most
 * output accuracy in float, until the quantized model's mean output cosine on the calibration inputs reaches a
 * target.
 *
 * Sensitivity of a candidate (one activation, or one weight initializer) = 1 - mean cosine of the model in which
 * only that candidate is quantized. Candidates are kept in float in decreasing order of sensitivity, re-measuring
 * the fully quantized model after each step, until the target is met or `maxKept` are float. Measuring the whole
 * combination (rather than summing single losses) matters: losses combine roughly in quadrature, not additively.
 */
import { isFloat } from '../dtype.js';
import { encodeModel } from '../loader/index.js';
import type { Model } from '../loader/model.js';
import { InferenceSession, type Feeds } from '../session/session.js';
import type { Tensor } from '../session/tensor.js';
import { cosineSimilarity } from './compare.js';
import type { ActivationType, QuantParams } from './params.js';
import { isQuantizableNode, planQuantization, type QuantizationPlan } from './plan.js';
import { writeQdq, type WriterSettings } from './qdq.js';
import { weightSlots } from './weights.js';

export interface MixedPrecisionOptions {
  /** Mean output cosine (vs the float model, on the probe inputs) to reach. */
  targetCosine: number;
  /** At most this many candidates are kept in float (default 16). */
  maxKept?: number;
  /** How many calibration inputs the cosine is measured on (default 8). */
  probes?: number;
}

export interface FloatCandidate {
  kind: 'activation' | 'weight';
  /** The activation's value name, or the weight initializer's name. */
  name: string;
  /** 1 - mean cosine when only this candidate is quantized. */
  sensitivity: number;
}

/** Everything the QDQ writer needs for the fully quantized model; variants leave parts of it in float. */
export interface QdqBase {
  model: Model;
  activationType: ActivationType;
  /** Calibrated parameters of every activation. */
  params: Map<string, QuantParams>;
  settings: WriterSettings;
}

/** Which activations (value names) and weights (initializer names) stay in float. */
export interface FloatSet {
  floatActivations: ReadonlySet<string>;
  floatWeights: ReadonlySet<string>;
}

export interface MixedQdq {
  plan: QuantizationPlan;
  params: Map<string, QuantParams>;
  settings: WriterSettings;
  model: Model;
}

export interface MixedPrecisionResult extends MixedQdq {
  /** Candidates kept in float, most sensitive first. */
  kept: FloatCandidate[];
  /** Mean cosine on the probe inputs with everything quantized, and with `kept` in float. */
  probeCosineBefore: number;
  probeCosineAfter: number;
}

/** The QDQ model with the given activations and weights left in float (folded Relu/Clip put back for them). */
export function writeMixedQdq(base: QdqBase, variant: FloatSet): MixedQdq {
  const plan = planQuantization(base.model.graph, base.activationType, { unfold: variant.floatActivations });
  const params = new Map([...base.params].filter(([name]) => !variant.floatActivations.has(name)));
  const settings: WriterSettings = { ...base.settings, floatWeights: new Set([...(base.settings.floatWeights ?? []), ...variant.floatWeights]) };
  return { plan, params, settings, model: writeQdq(base.model, plan, params, settings) };
}

/** Weight initializers of the quantizable weighted nodes (each once). */
function weightNames(plan: QuantizationPlan): string[] {
  const names = new Set<string>();
  for (const n of plan.graph.nodes) {
    const slots = isQuantizableNode(n) ? weightSlots(n, plan.constants) : undefined;
    if (slots) names.add(n.inputs[slots.weight]!);
  }
  return [...names];
}

function floatOutputs(outs: Record<string, Tensor>, names: readonly string[]): Float32Array[] {
  return names.filter((n) => isFloat(outs[n]!.type)).map((n) => Float32Array.from(outs[n]!.data as ArrayLike<number>));
}

/** Mean cosine of a model's float outputs vs the float model's, over the probe feeds. */
function cosineMeter(model: Model, probes: readonly Feeds[]): (candidate: Model) => number {
  const floatSession = InferenceSession.createSync(encodeModel(model));
  const reference = probes.map((f) => floatOutputs(floatSession.runSync(f), floatSession.outputNames));
  return (candidate) => {
    const session = InferenceSession.createSync(encodeModel(candidate));
    let sum = 0;
    let count = 0;
    probes.forEach((f, i) => {
      floatOutputs(session.runSync(f), session.outputNames).forEach((got, k) => {
        sum += cosineSimilarity(reference[i]![k]!, got);
        count++;
      });
    });
    return count === 0 ? 1 : sum / count;
  };
}

/** Each activation's and each weight's sensitivity (1 - cosine with only it quantized), most sensitive first. */
function rankCandidates(base: QdqBase, weights: string[], cosineOf: (v: FloatSet) => number, onProgress?: (done: number, total: number) => void): FloatCandidate[] {
  const activations = [...base.params.keys()];
  const allActivations = new Set(activations);
  const allWeights = new Set(weights);
  const allBut = (name: string, from: ReadonlySet<string>) => new Set([...from].filter((n) => n !== name));
  const total = activations.length + weights.length;
  const candidates: FloatCandidate[] = [];
  for (const name of activations) {
    candidates.push({ kind: 'activation', name, sensitivity: 1 - cosineOf({ floatActivations: allBut(name, allActivations), floatWeights: allWeights }) });
    onProgress?.(candidates.length, total);
  }
  for (const name of weights) {
    candidates.push({ kind: 'weight', name, sensitivity: 1 - cosineOf({ floatActivations: allActivations, floatWeights: allBut(name, allWeights) }) });
    onProgress?.(candidates.length, total);
  }
  return candidates.sort((a, b) => b.sensitivity - a.sensitivity);
}

export function chooseFloatCandidates(
  base: QdqBase,
  plan: QuantizationPlan,
  feeds: readonly Feeds[],
  options: MixedPrecisionOptions,
  onProgress?: (done: number, total: number) => void,
): MixedPrecisionResult {
  const meter = cosineMeter(base.model, feeds.slice(0, Math.max(1, options.probes ?? 8)));
  const cosineOf = (v: FloatSet) => meter(writeMixedQdq(base, v).model);
  const floatActivations = new Set<string>();
  const floatWeights = new Set<string>();
  const before = cosineOf({ floatActivations, floatWeights });
  const kept: FloatCandidate[] = [];
  let after = before;
  if (before < options.targetCosine) {
    for (const c of rankCandidates(base, weightNames(plan), cosineOf, onProgress).slice(0, options.maxKept ?? 16)) {
      (c.kind === 'activation' ? floatActivations : floatWeights).add(c.name);
      kept.push(c);
      after = cosineOf({ floatActivations, floatWeights });
      if (after >= options.targetCosine) break;
    }
  }
  return { ...writeMixedQdq(base, { floatActivations, floatWeights }), kept, probeCosineBefore: before, probeCosineAfter: after };
}
