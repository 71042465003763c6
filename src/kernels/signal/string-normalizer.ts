import { attrInt, attrString, attrStrings } from '../../graph/attributes.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import { kernelError, requireConstant, requireInput, type KernelDef } from '../kernel.js';

/**
 * StringNormalizer (ONNX 10): X (C) or (1, C) strings -> Y (C') or (1, C'): drops stopwords (compared
 * case-insensitively unless is_case_sensitive) and applies case_change_action LOWER | UPPER | NONE.
 * When every string is dropped the output is one empty string, (1) or (1, 1), as in onnxruntime.
 * The output length depends on the values, so the result is computed at plan time.
 * `locale` is accepted; case mapping uses the host's default (Unicode) rules.
 */
export const stringNormalizerKernel: KernelDef = {
  opType: 'StringNormalizer',
  prepare(ctx) {
    const x = requireInput(ctx, 0);
    if (x.dtype !== 'string') throw new UnsupportedError(`${nodeLabel(ctx.node)}: input must be string, got ${x.dtype}`);
    const twoDim = x.shape.length === 2;
    if (!(x.shape.length === 1 || (twoDim && x.shape[0] === 1))) {
      throw kernelError(ctx, `input must be (C) or (1, C), got shape [${x.shape}]`);
    }
    const action = attrString(ctx.node, 'case_change_action', 'NONE');
    if (action !== 'NONE' && action !== 'LOWER' && action !== 'UPPER') {
      throw kernelError(ctx, `case_change_action must be LOWER, UPPER or NONE, got '${action}'`);
    }
    const caseSensitive = attrInt(ctx.node, 'is_case_sensitive', 0) !== 0;
    const fold = (s: string): string => (caseSensitive ? s : s.toLowerCase());
    const stopwords = new Set(attrStrings(ctx.node, 'stopwords', []).map(fold));
    const input = requireConstant(ctx, 0).data as string[];
    const kept = input.filter((s) => !stopwords.has(fold(s)));
    const out = kept.map((s) => (action === 'LOWER' ? s.toLowerCase() : action === 'UPPER' ? s.toUpperCase() : s));
    if (out.length === 0) out.push('');
    const shape = twoDim ? [1, out.length] : [out.length];
    return { outputs: [{ dtype: 'string', shape }], constantOutputs: [{ dtype: 'string', shape, data: out }], run() {} };
  },
};
