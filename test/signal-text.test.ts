import { describe, expect, it } from 'vitest';
import type { TensorData } from '../src/dtype.js';
import { GraphError, UnsupportedError } from '../src/errors.js';
import { expectClose, runKernel, tensor } from './harness.js';

const strings = (shape: number[], data: string[]): TensorData => ({ dtype: 'string', shape, data });

describe('StringNormalizer', () => {
  const x = strings([4], ['Monday', 'tuesday', 'MONDAY', 'Wed']);

  it('drops stopwords case-insensitively by default and upper-cases the rest', () => {
    const [y] = runKernel('StringNormalizer', [x], { stopwords: ['monday'], case_change_action: 'UPPER' });
    expect(y!.shape).toEqual([2]);
    expect(y!.data).toEqual(['TUESDAY', 'WED']);
  });

  it('is_case_sensitive keeps stopwords that differ in case; LOWER lower-cases', () => {
    const [y] = runKernel('StringNormalizer', [x], { stopwords: ['monday'], is_case_sensitive: 1, case_change_action: 'LOWER' });
    expect(y!.data).toEqual(['monday', 'tuesday', 'monday', 'wed']);
  });

  it('keeps the (1, C) layout and yields one empty string when everything is dropped', () => {
    const [y] = runKernel('StringNormalizer', [strings([1, 2], ['a', 'b'])], { stopwords: ['a'] });
    expect(y!.shape).toEqual([1, 1]);
    expect(y!.data).toEqual(['b']);
    const [empty] = runKernel('StringNormalizer', [strings([2], ['a', 'A'])], { stopwords: ['a'] });
    expect(empty!.shape).toEqual([1]);
    expect(empty!.data).toEqual(['']);
  });

  it('rejects non-string input and a bad case_change_action', () => {
    expect(() => runKernel('StringNormalizer', [tensor('int32', [1], [1])])).toThrow(UnsupportedError);
    expect(() => runKernel('StringNormalizer', [x], { case_change_action: 'TITLE' })).toThrow(GraphError);
  });
});

describe('TfIdfVectorizer', () => {
  // Pool: unigrams 1, 3 (outputs 0, 1); bigrams (1,2), (2,1), (1,3) (outputs 2, 3, 4).
  const pool = { ngram_counts: [0, 2], ngram_indexes: [0, 1, 2, 3, 4], pool_int64s: [1, 3, 1, 2, 2, 1, 1, 3] };
  const x = tensor('int32', [5], [1, 2, 1, 2, 3]);

  it('TF, adjacent tokens only: unigram and bigram counts counted by hand', () => {
    // 1 occurs twice, 3 once; (1,2) at 0-1 and 2-3, (2,1) at 1-2, (1,3) never adjacent.
    const [y] = runKernel('TfIdfVectorizer', [x], { ...pool, min_gram_length: 1, max_gram_length: 2, max_skip_count: 0, mode: 'TF' });
    expectClose(y!, tensor('float32', [5], [2, 1, 2, 1, 0]), 0, 0);
  });

  it('max_skip_count 1 also pairs tokens two apart, without counting unigrams twice', () => {
    // Distance 2 pairs: (1,1), (2,2), (1,3) -> (1,3) once more.
    const [y] = runKernel('TfIdfVectorizer', [x], { ...pool, min_gram_length: 1, max_gram_length: 2, max_skip_count: 1, mode: 'TF' });
    expectClose(y!, tensor('float32', [5], [2, 1, 2, 1, 1]), 0, 0);
  });

  it('min_gram_length 2 skips unigrams; IDF gives the weight where the count is positive, TFIDF count·weight', () => {
    const attrs = { ...pool, min_gram_length: 2, max_gram_length: 2, max_skip_count: 0, weights: [0.5, 0.5, 0.25, 2, 4] };
    const [idf] = runKernel('TfIdfVectorizer', [x], { ...attrs, mode: 'IDF' });
    expectClose(idf!, tensor('float32', [5], [0, 0, 0.25, 2, 0]), 0, 0);
    const [tfidf] = runKernel('TfIdfVectorizer', [x], { ...attrs, mode: 'TFIDF' });
    expectClose(tfidf!, tensor('float32', [5], [0, 0, 0.5, 2, 0]), 0, 0);
  });

  it('batched int64 rows and string tokens', () => {
    const batch = tensor('int64', [2, 3], [1, 2, 1, 3, 3, 1]);
    const [y] = runKernel('TfIdfVectorizer', [batch], { ...pool, min_gram_length: 1, max_gram_length: 2, mode: 'TF' });
    expectClose(y!, tensor('float32', [2, 5], [2, 0, 1, 1, 0, 1, 2, 0, 0, 0]), 0, 0);
    const words = strings([4], ['the', 'cat', 'the', 'dog']);
    const attrs = { ngram_counts: [0, 1], ngram_indexes: [1, 0], pool_strings: ['the', 'the', 'cat'], max_gram_length: 2, mode: 'TF' };
    const [w] = runKernel('TfIdfVectorizer', [words], attrs);
    expectClose(w!, tensor('float32', [2], [1, 2]), 0, 0);
  });

  it('rejects float input and a pool that does not match the input type', () => {
    expect(() => runKernel('TfIdfVectorizer', [tensor('float32', [2], [1, 2])], pool)).toThrow(UnsupportedError);
    expect(() => runKernel('TfIdfVectorizer', [strings([1], ['a'])], pool)).toThrow(/pool_strings/);
  });
});
