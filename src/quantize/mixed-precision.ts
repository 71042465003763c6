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

export interface MixedPrecisionResult {
  plan: QuantizationPlan;
  params: Map<string, QuantParams>;
  settings: WriterSettings;
  /** Candidates kept in float, most sensitive first. */
  kept: FloatCandidate[];
  /** Mean cosine on the probe inputs with everything quantized, and with `kept` in float. */
  probeCosineBefore: number;
  probeCosineAfter: number;
}

interface Variant {
  floatActivations: ReadonlySet<string>;
  floatWeights: ReadonlySet<string>;
}

/** The QDQ model with the given activations and weights left in float. */
export function writeMixedQdq(
  model: Model,
  activationType: ActivationType,
  params: Map<string, QuantParams>,
  settings: WriterSettings,
  variant: Variant,
): { plan: QuantizationPlan; params: Map<string, QuantParams>; settings: WriterSettings; model: Model } {
  const plan = planQuantization(model.graph, activationType, { unfold: variant.floatActivations });
  const kept = new Map([...params].filter(([name]) => !variant.floatActivations.has(name)));
  const mixedSettings: WriterSettings = { ...settings, floatWeights: new Set([...(settings.floatWeights ?? []), ...variant.floatWeights]) };
  return { plan, params: kept, settings: mixedSettings, model: writeQdq(model, plan, kept, mixedSettings) };
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

/** Mean cosine of a model's float outputs vs reference outputs, over the probe feeds. */
function meanCosine(model: Model, probes: readonly Feeds[], reference: Float32Array[][]): number {
  const session = InferenceSession.createSync(encodeModel(model));
  let sum = 0;
  let count = 0;
  probes.forEach((f, i) => {
    const got = floatOutputs(session.runSync(f), session.outputNames);
    got.forEach((g, k) => {
      sum += cosineSimilarity(reference[i]![k]!, g);
      count++;
    });
  });
  return count === 0 ? 1 : sum / count;
}

export function chooseFloatCandidates(
  model: Model,
  plan: QuantizationPlan,
  params: Map<string, QuantParams>,
  settings: WriterSettings,
  activationType: ActivationType,
  feeds: readonly Feeds[],
  options: MixedPrecisionOptions,
  onProgress?: (done: number, total: number) => void,
): MixedPrecisionResult {
  const probes = feeds.slice(0, Math.max(1, options.probes ?? 8));
  const floatSession = InferenceSession.createSync(encodeModel(model));
  const reference = probes.map((f) => floatOutputs(floatSession.runSync(f), floatSession.outputNames));
  const cosineOf = (v: Variant) => meanCosine(writeMixedQdq(model, activationType, params, settings, v).model, probes, reference);
  const floatActivations = new Set<string>();
  const floatWeights = new Set<string>();
  const before = cosineOf({ floatActivations, floatWeights });
  if (before >= options.targetCosine) return { plan, params, settings, kept: [], probeCosineBefore: before, probeCosineAfter: before };

  const activations = [...params.keys()];
  const weights = weightNames(plan);

  const allActivations = new Set(activations);
  const allWeights = new Set(weights);
  const total = activations.length + weights.length;
  const candidates: FloatCandidate[] = [];
  const only = (keep: string, from: ReadonlySet<string>) => new Set([...from].filter((n) => n !== keep));
  for (const name of activations) {
    candidates.push({ kind: 'activation', name, sensitivity: 1 - cosineOf({ floatActivations: only(name, allActivations), floatWeights: allWeights }) });
    onProgress?.(candidates.length, total);
  }
  for (const name of weights) {
    candidates.push({ kind: 'weight', name, sensitivity: 1 - cosineOf({ floatActivations: allActivations, floatWeights: only(name, allWeights) }) });
    onProgress?.(candidates.length, total);
  }
  candidates.sort((a, b) => b.sensitivity - a.sensitivity);

  const kept: FloatCandidate[] = [];
  let after = before;
  for (const c of candidates.slice(0, options.maxKept ?? 16)) {
    if (after >= options.targetCosine) break;
    (c.kind === 'activation' ? floatActivations : floatWeights).add(c.name);
    kept.push(c);
    after = cosineOf({ floatActivations, floatWeights });
  }
  const mixed = writeMixedQdq(model, activationType, params, settings, { floatActivations, floatWeights });
  return { plan: mixed.plan, params: mixed.params, settings: mixed.settings, kept, probeCosineBefore: before, probeCosineAfter: after };
}
