// Single-operator models for micro-benchmarks, generated in code with seeded random weights.
import { encodeModel } from '../dist/loader/index.js';

function random(n, seed) {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 4294967296 - 0.5;
  }
  return out;
}

const tensor = (shape, seed) => ({ dtype: 'float32', shape, data: random(shape.reduce((a, b) => a * b, 1), seed) });
const ints = (value) => ({ type: 'ints', value });

function model(nodes, inputs, [output, outShape], initializers) {
  return encodeModel({
    irVersion: 8,
    opsets: new Map([['', 13]]),
    producerName: 'tinfer-bench',
    producerVersion: '',
    domain: '',
    modelVersion: 1,
    docString: '',
    metadata: new Map(),
    functions: [],
    graph: {
      name: 'micro',
      nodes,
      inputs: inputs.map(([name, shape]) => ({ name, type: { kind: 'tensor', dtype: 'float32', shape } })),
      outputs: [{ name: output, type: { kind: 'tensor', dtype: 'float32', shape: outShape } }],
      initializers: new Map(initializers),
      valueInfo: [],
    },
  });
}

/** MatMul M×K · K×N with a constant B. */
export function gemmCase(M, N, K) {
  const bytes = model(
    [{ name: 'mm', opType: 'MatMul', domain: '', inputs: ['a', 'b'], outputs: ['y'], attributes: new Map() }],
    [['a', [M, K]]],
    ['y', [M, N]],
    [['b', tensor([K, N], 2)]],
  );
  return { bytes, inputs: [tensor([M, K], 1)], flops: 2 * M * N * K };
}

/** Conv cin→cout, k×k, on an h×h image with "same" padding, stride s, groups g, with bias. */
export function convCase(cin, cout, k, h, stride = 1, group = 1) {
  const p = (k - 1) >> 1;
  const attributes = new Map([
    ['kernel_shape', ints([k, k])],
    ['pads', ints([p, p, p, p])],
    ['strides', ints([stride, stride])],
    ['group', { type: 'int', value: group }],
  ]);
  const ho = Math.floor((h + 2 * p - k) / stride) + 1;
  const bytes = model(
    [{ name: 'conv', opType: 'Conv', domain: '', inputs: ['x', 'w', 'b'], outputs: ['y'], attributes }],
    [['x', [1, cin, h, h]]],
    ['y', [1, cout, ho, ho]],
    [
      ['w', tensor([cout, cin / group, k, k], 3)],
      ['b', tensor([cout], 4)],
    ],
  );
  return { bytes, inputs: [tensor([1, cin, h, h], 5)], flops: 2 * cout * (cin / group) * k * k * ho * ho };
}

export const microModels = {
  gemm_512: () => gemmCase(512, 512, 512),
  gemm_1024x1024x256: () => gemmCase(1024, 1024, 256),
  conv3x3_64_56: () => convCase(64, 64, 3, 56),
  conv1x1_256_14: () => convCase(256, 256, 1, 14),
  dwconv3x3_144_56: () => convCase(144, 144, 3, 56, 1, 144),
};
