// The default model of the VAD example: a hand-weighted stand-in for Silero VAD (v5) with the same interface,
//   inputs  input float32 [1, N] (a chunk, with Silero's 64-sample context in front), state float32 [2, 1, 128],
//           sr int64 scalar;
//   outputs output float32 [1, 1] (speech probability), stateN float32 [2, 1, 128].
// Graph: If(sr == 16000) picks the energy feature (both branches compute mean(x²) here; Silero switches its front end)
// -> z = (ln(energy + 1e-10) + 9.2) / 2, i.e. positive above about -40 dBFS -> LSTM (hidden 128, state = [h; c])
// -> Sigmoid(6 · h[0]). Only LSTM unit 0 has weights: input gate and output gate saturated open (bias 10), forget
// gate 0.5 (bias 0), candidate tanh(2z). So c ← c/2 + tanh(2z) settles at ±2 within a few chunks and the
// probability is σ(±6·tanh 2) ≈ 0.997 / 0.003, with one or two chunks of smoothing at each edge.
import { GraphBuilder, encode } from '../lib/model-builder.mjs';

const HIDDEN = 128;

function energyBranch(name) {
  const b = new GraphBuilder(name);
  b.node('Mul', ['input', 'input'], [`${name}_sq`]);
  b.node('ReduceMean', [`${name}_sq`], [`${name}_energy`], { axes: [1], keepdims: 1 });
  b.output(`${name}_energy`, 'float32', [1, 1]);
  return b;
}

export function builtinVadBytes() {
  const g = new GraphBuilder('builtin_vad');
  g.input('input', 'float32', [1, 'N']);
  g.input('state', 'float32', [2, 1, HIDDEN]);
  g.input('sr', 'int64', []);
  g.initializer('sr16k', 'int64', [], [16000]);
  g.initializer('eps', 'float32', [], [1e-10]);
  g.initializer('offset', 'float32', [], [9.2]);
  g.initializer('half', 'float32', [], [0.5]);
  g.initializer('seq_shape', 'int64', [3], [1, 1, 1]);
  g.initializer('h_shape', 'int64', [2], [1, HIDDEN]);

  // LSTM weights, gate rows in ONNX order i, o, f, c (hidden_size rows each).
  const W = new Float32Array(4 * HIDDEN);
  W[3 * HIDDEN] = 2; // candidate of unit 0: tanh(2z)
  const B = new Float32Array(8 * HIDDEN);
  B[0] = 10; // input gate of unit 0 open
  B[HIDDEN] = 10; // output gate of unit 0 open
  g.initializer('W', 'float32', [1, 4 * HIDDEN, 1], W);
  g.initializer('R', 'float32', [1, 4 * HIDDEN, HIDDEN], new Float32Array(4 * HIDDEN * HIDDEN));
  g.initializer('B', 'float32', [1, 8 * HIDDEN], B);
  const head = new Float32Array(HIDDEN);
  head[0] = 6;
  g.initializer('head', 'float32', [HIDDEN, 1], head);

  g.node('Equal', ['sr', 'sr16k'], ['is16k']);
  g.node('If', ['is16k'], ['energy'], { then_branch: energyBranch('at16k'), else_branch: energyBranch('at8k') });
  g.node('Add', ['energy', 'eps'], ['energy_eps']);
  g.node('Log', ['energy_eps'], ['log_energy']);
  g.node('Add', ['log_energy', 'offset'], ['shifted']);
  g.node('Mul', ['shifted', 'half'], ['z']);
  g.node('Reshape', ['z', 'seq_shape'], ['x_seq']);
  g.node('Split', ['state'], ['h0', 'c0'], { axis: 0 });
  g.node('LSTM', ['x_seq', 'W', 'R', 'B', '', 'h0', 'c0'], ['Y', 'h1', 'c1'], { hidden_size: HIDDEN });
  g.node('Concat', ['h1', 'c1'], ['stateN'], { axis: 0 });
  g.node('Reshape', ['h1', 'h_shape'], ['h_flat']);
  g.node('MatMul', ['h_flat', 'head'], ['logit']);
  g.node('Sigmoid', ['logit'], ['output']);
  g.output('output', 'float32', [1, 1]);
  g.output('stateN', 'float32', [2, 1, HIDDEN]);
  return encode(g, { docString: 'tinfer example: energy + LSTM voice activity detector with hand-set weights' });
}
