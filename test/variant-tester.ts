/**
 * The generic variant tester, in the spirit of ncnn's test_layer and ggml's test-backend-ops: a case is one small
 * model (usually a single node) with its feeds. Each case runs
 *   1. on the js backend with every op type forced to its reference variant (`variants: { Op: 'reference' }`),
 *   2. on the default backend (wasm when the engine has SIMD), where prepare picks the fast variant,
 * and the outputs must agree within rtol (default 1e-4). The tester also checks which variant ran: `expectVariant`
 * must be a substring of the variant the profile names for the case's node (e.g. '__wasmsimd'), so a case that
 * silently took a JS path fails.
 *
 * Use it from any test file:
 *   checkVariants('Add', cases)   // describe block with one `it` per case
 */
import { describe, expect, it } from 'vitest';
import type { TensorData } from '../src/dtype.js';
import { InferenceSession, Tensor } from '../src/index.js';
import type { SessionOptions } from '../src/session/session.js';
import { WasmContext } from '../src/wasm/context.js';
import { expectClose } from './harness.js';
import type { ModelBuilder } from './onnx-builder.js';

export interface VariantCase {
  /** Shown in the test name: the shape pattern ('13ch 7x5 s2x1 pads 0,1,1,0', 'bcast [N,C,1,1]x[N,C,H,W]'). */
  name: string;
  /** The model; graph inputs are fed from `feeds` (initializers are constants, so packing at prepare is tested). */
  model: ModelBuilder;
  feeds: Record<string, TensorData>;
  /**
   * A substring the fast variant's name must contain on the wasm backend ('__wasmsimd' by default; '' skips the
   * check). Checked on the node named `node` (default: the first node of opType that ran).
   */
  expectVariant?: string;
  node?: string;
  rtol?: number;
  atol?: number;
  /** Op types to force to 'reference' in the reference run (default: just the family's op type). */
  referenceOps?: string[];
  /**
   * Variants forced in the fast run (SessionOptions.variants, e.g. `{ QLinearAdd: 'bcast' }`): tests a variant on
   * shapes where a more specialized one would win.
   */
  variants?: Record<string, string>;
  /** Also require that the checked node never fell back to JS in the fast run (its profile's jsFallbackCalls is 0). */
  noJsFallback?: boolean;
}

const hasWasm = WasmContext.create() !== undefined;
const SKIP = 'WebAssembly SIMD is not available in this engine: the wasm side of the variant tester is skipped';

function toTensors(feeds: Record<string, TensorData>): Record<string, Tensor> {
  return Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, new Tensor(t.dtype as 'float32', t.data as Float32Array, t.shape as number[])]));
}

async function runCase(c: VariantCase, options: SessionOptions): Promise<{ outputs: Record<string, Tensor>; session: InferenceSession }> {
  const session = await InferenceSession.create(c.model.toBytes(), { ...options, profile: true });
  const outputs = await session.run(toTensors(c.feeds));
  return { outputs, session };
}

/** Runs one case; returns the variant name the fast run used for the checked node. */
export async function compareWithReference(opType: string, c: VariantCase): Promise<string> {
  const forced = Object.fromEntries((c.referenceOps ?? [opType]).map((op) => [op, 'reference']));
  const ref = await runCase(c, { backend: 'js', variants: forced });
  const fast = await runCase(c, { backend: hasWasm ? 'wasm' : 'js', ...(hasWasm && c.variants !== undefined ? { variants: c.variants } : {}) });
  for (const [name, want] of Object.entries(ref.outputs)) {
    const got = fast.outputs[name];
    expect(got, `output ${name}`).toBeDefined();
    expect(got!.dims).toEqual(want.dims);
    const asData = (t: Tensor): TensorData => ({ dtype: t.type as TensorData['dtype'], shape: [...t.dims], data: t.data as Float32Array });
    expectClose(asData(got!), asData(want), c.rtol ?? 1e-4, c.atol ?? 1e-5);
  }
  const profile = fast.session.profile();
  const step = profile.find((p) => (c.node !== undefined ? p.node === c.node : p.opType === opType && p.calls > 0));
  const variant = step?.variant ?? '';
  if (hasWasm && (c.expectVariant ?? '__wasmsimd') !== '') {
    expect(variant, `variant of ${c.node ?? opType} in "${c.name}"`).toContain(c.expectVariant ?? '__wasmsimd');
    if (c.noJsFallback) expect(step?.jsFallbackCalls, `JS fallback calls of ${c.node ?? opType} in "${c.name}"`).toBe(0);
  }
  return variant;
}

/** A describe block for an op type: one test per case. */
export function checkVariants(opType: string, cases: VariantCase[]): void {
  describe(`${opType} variants against the reference`, () => {
    if (!hasWasm) console.warn(SKIP);
    for (const c of cases) it(c.name, async () => void (await compareWithReference(opType, c)));
  });
}
