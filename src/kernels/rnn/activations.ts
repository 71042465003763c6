import type { PrepareContext } from '../kernel.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import type { Floats } from './common.js';

/** The activation functions the ONNX recurrent ops accept (names are matched case-insensitively). */
export type ActivationKind =
  | 'relu'
  | 'tanh'
  | 'sigmoid'
  | 'affine'
  | 'leakyrelu'
  | 'thresholdedrelu'
  | 'scaledtanh'
  | 'hardsigmoid'
  | 'elu'
  | 'softsign'
  | 'softplus';

export interface Activation {
  kind: ActivationKind;
  alpha: number;
  beta: number;
}

/**
 * Which of alpha/beta each function reads, and their defaults. The spec says the defaults are those of
 * the standalone ONNX operators (LeakyRelu 0.01, ThresholdedRelu 1, HardSigmoid 0.2/0.5, Elu 1,
 * Affine 1/0, ScaledTanh 1/1).
 */
const PARAMS: Readonly<Record<ActivationKind, { alpha?: number; beta?: number }>> = {
  relu: {},
  tanh: {},
  sigmoid: {},
  softsign: {},
  softplus: {},
  affine: { alpha: 1, beta: 0 },
  leakyrelu: { alpha: 0.01 },
  thresholdedrelu: { alpha: 1 },
  scaledtanh: { alpha: 1, beta: 1 },
  hardsigmoid: { alpha: 0.2, beta: 0.5 },
  elu: { alpha: 1 },
};

/**
 * Resolves the node's `activations` list into one list per direction (`perDirection` functions each).
 * activation_alpha/activation_beta are consumed in order, only by the functions that take that parameter
 * (as onnxruntime does); a missing value falls back to the operator default.
 */
export function parseActivations(
  ctx: PrepareContext,
  names: readonly string[] | undefined,
  defaults: readonly string[],
  alphas: readonly number[],
  betas: readonly number[],
  numDirections: number,
): Activation[][] {
  const perDirection = defaults.length;
  let list: readonly string[];
  if (names === undefined || names.length === 0) list = repeat(defaults, numDirections);
  else if (names.length === perDirection * numDirections) list = names;
  else if (names.length === perDirection) list = repeat(names, numDirections);
  else {
    throw new UnsupportedError(
      `${nodeLabel(ctx.node)}: expected ${perDirection * numDirections} activations, got ${names.length}`,
    );
  }
  let ai = 0;
  let bi = 0;
  const resolved = list.map((name): Activation => {
    const kind = name.toLowerCase() as ActivationKind;
    const params = Object.hasOwn(PARAMS, kind) ? PARAMS[kind] : undefined;
    if (params === undefined) {
      throw new UnsupportedError(`${nodeLabel(ctx.node)}: unsupported activation '${name}'`);
    }
    let alpha = 0;
    let beta = 0;
    if (params.alpha !== undefined) alpha = ai < alphas.length ? alphas[ai++]! : params.alpha;
    if (params.beta !== undefined) beta = bi < betas.length ? betas[bi++]! : params.beta;
    return { kind, alpha, beta };
  });
  const out: Activation[][] = [];
  for (let d = 0; d < numDirections; d++) out.push(resolved.slice(d * perDirection, (d + 1) * perDirection));
  return out;
}

function repeat(names: readonly string[], times: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < times; i++) out.push(...names);
  return out;
}

/** buf[off .. off+n) = act(buf[off .. off+n)); one switch per range keeps the inner loops monomorphic. */
export function activateInPlace(act: Activation, buf: Floats, off: number, n: number): void {
  const end = off + n;
  const { alpha, beta } = act;
  switch (act.kind) {
    case 'sigmoid':
      for (let i = off; i < end; i++) buf[i] = 1 / (1 + Math.exp(-buf[i]!));
      return;
    case 'tanh':
      for (let i = off; i < end; i++) buf[i] = Math.tanh(buf[i]!);
      return;
    case 'relu':
      for (let i = off; i < end; i++) if (!(buf[i]! > 0)) buf[i] = 0;
      return;
    case 'affine':
      for (let i = off; i < end; i++) buf[i] = alpha * buf[i]! + beta;
      return;
    case 'leakyrelu':
      for (let i = off; i < end; i++) if (buf[i]! < 0) buf[i] = alpha * buf[i]!;
      return;
    case 'thresholdedrelu':
      // ThresholdedRelu operator: y = x if x > alpha else 0.
      for (let i = off; i < end; i++) if (!(buf[i]! > alpha)) buf[i] = 0;
      return;
    case 'scaledtanh':
      for (let i = off; i < end; i++) buf[i] = alpha * Math.tanh(beta * buf[i]!);
      return;
    case 'hardsigmoid':
      for (let i = off; i < end; i++) buf[i] = Math.min(1, Math.max(0, alpha * buf[i]! + beta));
      return;
    case 'elu':
      for (let i = off; i < end; i++) if (buf[i]! < 0) buf[i] = alpha * Math.expm1(buf[i]!);
      return;
    case 'softsign':
      for (let i = off; i < end; i++) buf[i] = buf[i]! / (1 + Math.abs(buf[i]!));
      return;
    case 'softplus':
      // log(1 + e^x) = max(x, 0) + log1p(e^-|x|), which does not overflow for large x.
      for (let i = off; i < end; i++) {
        const x = buf[i]!;
        buf[i] = Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
      }
      return;
  }
}

/** Bounds buf[off .. off+n) to [-clip, clip] (the spec's cell clip, applied to activation inputs). */
export function clipInPlace(clip: number, buf: Floats, off: number, n: number): void {
  const end = off + n;
  for (let i = off; i < end; i++) {
    const x = buf[i]!;
    if (x > clip) buf[i] = clip;
    else if (x < -clip) buf[i] = -clip;
  }
}
