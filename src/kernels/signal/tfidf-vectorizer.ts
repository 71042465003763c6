import type { Data, NumericArray } from '../../dtype.js';
import { attrFloats, attrInt, attrInts, attrString, attrStrings } from '../../graph/attributes.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import { kernelError, requireInput, type KernelDef, type PrepareContext } from '../kernel.js';

/** A trie over n-gram tokens: the node reached by tokens t1..tn holds that n-gram's output index, or -1. */
interface GramNode {
  index: number;
  next: Map<number | string, GramNode>;
}

const newNode = (): GramNode => ({ index: -1, next: new Map() });

/**
 * Builds the trie from the pool: ngram_counts[k] is where the (k+1)-grams start in the pool, and the j-th
 * n-gram of the pool (over all lengths, in pool order) counts into output ngram_indexes[j].
 */
function buildGramTrie(ctx: PrepareContext, pool: readonly (number | string)[], counts: number[], indexes: number[]): GramNode {
  const root = newNode();
  let j = 0;
  for (let k = 0; k < counts.length; k++) {
    const n = k + 1;
    const start = counts[k]!;
    const end = k + 1 < counts.length ? counts[k + 1]! : pool.length;
    if (start > end || end > pool.length || (end - start) % n !== 0) {
      throw kernelError(ctx, `ngram_counts [${counts}] do not split the pool of ${pool.length} into ${n}-grams`);
    }
    for (let at = start; at < end; at += n, j++) {
      let node = root;
      for (let t = 0; t < n; t++) {
        const token = pool[at + t]!;
        let child = node.next.get(token);
        if (child === undefined) node.next.set(token, (child = newNode()));
        node = child;
      }
      if (j >= indexes.length) throw kernelError(ctx, `ngram_indexes has ${indexes.length} entries, fewer than the pool's n-grams`);
      node.index = indexes[j]!;
    }
  }
  return root;
}

/**
 * TfIdfVectorizer (ONNX 9): X (C) or (N, C) of int32/int64/string tokens -> Y (size) or (N, size) float,
 * size = max(ngram_indexes) + 1. For every start position and skip distance d = 1..max_skip_count+1, the tokens
 * x[i], x[i+d], x[i+2d], ... are matched against the pool's n-grams of length min_gram_length..max_gram_length;
 * unigrams are counted only once (d = 1), as in onnxruntime. Y is the count (TF), the weight when the count
 * is positive (IDF), or count·weight (TFIDF); weights default to 1.
 */
export const tfIdfVectorizerKernel: KernelDef = {
  opType: 'TfIdfVectorizer',
  prepare(ctx) {
    const x = requireInput(ctx, 0);
    const isString = x.dtype === 'string';
    if (!isString && x.dtype !== 'int32' && x.dtype !== 'int64') {
      throw new UnsupportedError(`${nodeLabel(ctx.node)}: input of type ${x.dtype} is not supported (string, int32, int64)`);
    }
    if (x.shape.length !== 1 && x.shape.length !== 2) throw kernelError(ctx, `input must be (C) or (N, C), got shape [${x.shape}]`);
    const minGram = attrInt(ctx.node, 'min_gram_length', 1);
    const maxGram = attrInt(ctx.node, 'max_gram_length', 1);
    const maxSkip = attrInt(ctx.node, 'max_skip_count', 0);
    if (minGram < 1 || maxGram < minGram || maxSkip < 0) {
      throw kernelError(ctx, `need 1 ≤ min_gram_length ≤ max_gram_length and max_skip_count ≥ 0, got ${minGram}, ${maxGram}, ${maxSkip}`);
    }
    const mode = attrString(ctx.node, 'mode', 'TF');
    if (mode !== 'TF' && mode !== 'IDF' && mode !== 'TFIDF') throw kernelError(ctx, `mode must be TF, IDF or TFIDF, got '${mode}'`);
    const pool: (number | string)[] | undefined = isString ? attrStrings(ctx.node, 'pool_strings') : attrInts(ctx.node, 'pool_int64s');
    if (pool === undefined) throw kernelError(ctx, `${isString ? 'pool_strings' : 'pool_int64s'} is required for ${x.dtype} input`);
    const indexes = attrInts(ctx.node, 'ngram_indexes', []);
    const size = indexes.reduce((m, i) => Math.max(m, i + 1), 0);
    if (indexes.some((i) => i < 0)) throw kernelError(ctx, 'ngram_indexes must be non-negative');
    const weights = attrFloats(ctx.node, 'weights');
    if (weights !== undefined && weights.length < size) throw kernelError(ctx, `weights has ${weights.length} entries, need ${size}`);
    const root = buildGramTrie(ctx, pool, attrInts(ctx.node, 'ngram_counts', []), indexes);
    const rows = x.shape.length === 2 ? x.shape[0]! : 1;
    const rowLength = x.shape[x.shape.length - 1]!;
    const outShape = x.shape.length === 2 ? [rows, size] : [size];

    const tokenAt = (data: Data, i: number): number | string =>
      isString ? (data as string[])[i]! : Number((data as NumericArray | BigInt64Array)[i]!);

    return {
      outputs: [{ dtype: 'float32', shape: outShape }],
      run(inputs, outputs) {
        const data = inputs[0]!;
        const y = outputs[0] as NumericArray;
        y.fill(0);
        for (let r = 0; r < rows; r++) {
          const rowStart = r * rowLength;
          const rowEnd = rowStart + rowLength;
          let shortest = minGram;
          for (let d = 1; d <= maxSkip + 1; d++) {
            for (let start = rowStart; start + d * (shortest - 1) < rowEnd; start++) {
              let node: GramNode | undefined = root;
              for (let n = 1, at = start; n <= maxGram && at < rowEnd; n++, at += d) {
                node = node.next.get(tokenAt(data, at));
                if (node === undefined) break;
                if (n >= shortest && node.index >= 0) y[r * size + node.index] += 1;
              }
            }
            // A unigram has no gaps: count it at distance 1 only.
            if (shortest === 1) {
              shortest = 2;
              if (shortest > maxGram) break;
            }
          }
          for (let i = 0; i < size; i++) {
            const count = y[r * size + i]!;
            const w = weights === undefined ? 1 : weights[i]!;
            y[r * size + i] = mode === 'TF' ? count : mode === 'IDF' ? (count > 0 ? w : 0) : count * w;
          }
        }
      },
    };
  },
};
