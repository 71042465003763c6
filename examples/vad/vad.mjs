#!/usr/bin/env node
// Voice activity detection with tinfer:
//   node examples/vad/vad.mjs [audio.wav] [--model silero_vad.onnx] [--threshold 0.5]
// Reads a 16-bit PCM WAV (16 or 8 kHz), runs a Silero-VAD-style model over 512-sample chunks (256 at 8 kHz) with
// its state carried from chunk to chunk, and prints speech segments. Without --model it uses a small built-in model
// that responds to loud frames; without a WAV it writes and uses the sample signal (make-wav.mjs).
import { existsSync, readFileSync } from 'node:fs';
import { InferenceSession, Tensor } from '../../dist/index.js';
import { builtinVadBytes } from './builtin-vad.mjs';
import { DEFAULT_WAV, writeWav } from './make-wav.mjs';
import { decodeWav } from './wav.mjs';

function parseArgs(argv) {
  const args = { wav: undefined, model: undefined, threshold: 0.5 };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--model') args.model = argv[++i];
    else if (argv[i] === '--threshold') args.threshold = Number(argv[++i]);
    else if (argv[i] === '-h' || argv[i] === '--help') args.help = true;
    else args.wav = argv[i];
  }
  return args;
}

/** Speech probability per chunk, as Silero's OnnxWrapper feeds it: [context | chunk], state carried. */
async function chunkProbabilities(session, samples, sampleRate) {
  const chunk = sampleRate === 16000 ? 512 : 256;
  const contextSize = sampleRate === 16000 ? 64 : 32;
  let state = new Tensor('float32', new Float32Array(2 * 128), [2, 1, 128]);
  const sr = new Tensor('int64', BigInt64Array.of(BigInt(sampleRate)), []);
  const window = new Float32Array(contextSize + chunk); // [context | chunk]; the last chunk is zero-padded
  const probs = [];
  for (let start = 0; start < samples.length; start += chunk) {
    window.copyWithin(0, chunk, chunk + contextSize); // context = the previous window's last samples
    window.fill(0, contextSize);
    window.set(samples.subarray(start, Math.min(start + chunk, samples.length)), contextSize);
    const out = await session.run({ input: new Tensor('float32', window.slice(), [1, window.length]), state, sr });
    probs.push(out.output.data[0]);
    state = out.stateN;
  }
  return { probs, chunk };
}

/**
 * Hysteresis over chunk probabilities (as Silero's get_speech_timestamps): speech starts at p >= threshold and ends
 * once p < threshold - 0.15 for at least minSilenceMs; segments shorter than minSpeechMs are dropped, the rest padded.
 */
export function speechSegments(probs, chunk, sampleRate, { threshold = 0.5, minSilenceMs = 100, minSpeechMs = 250, padMs = 30 } = {}) {
  const negThreshold = Math.max(threshold - 0.15, 0.01);
  const ms = (v) => (v * sampleRate) / 1000;
  const total = probs.length * chunk;
  const segments = [];
  let start = -1;
  let tempEnd = -1;
  const close = (end) => {
    if (end - start >= ms(minSpeechMs)) segments.push([Math.max(0, start - ms(padMs)), Math.min(total, end + ms(padMs))]);
    start = -1;
    tempEnd = -1;
  };
  probs.forEach((p, i) => {
    const t = i * chunk;
    if (p >= threshold) {
      tempEnd = -1;
      if (start < 0) start = t;
    } else if (p < negThreshold && start >= 0) {
      if (tempEnd < 0) tempEnd = t;
      if (t + chunk - tempEnd >= ms(minSilenceMs)) close(tempEnd);
    }
  });
  if (start >= 0) close(total);
  return segments.map(([a, b]) => [a / sampleRate, b / sampleRate]);
}

const args = parseArgs(process.argv.slice(2));
if (args.help) {
  console.log('usage: node examples/vad/vad.mjs [audio.wav] [--model silero_vad.onnx] [--threshold 0.5]');
  process.exit(0);
}
let wavPath = args.wav;
if (!wavPath) {
  wavPath = existsSync(DEFAULT_WAV) ? DEFAULT_WAV : writeWav();
  console.log(`audio: ${wavPath} (generated sample: tone bursts in faint noise)`);
} else {
  console.log(`audio: ${wavPath}`);
}
const wav = decodeWav(new Uint8Array(readFileSync(wavPath)));
if (wav.sampleRate !== 16000 && wav.sampleRate !== 8000) {
  console.error(`vad: the model expects 16000 or 8000 Hz audio, got ${wav.sampleRate} Hz (resample it first)`);
  process.exit(2);
}
const session = await InferenceSession.create(args.model ?? builtinVadBytes());
console.log(args.model ? `model: ${args.model}` : 'model: built-in energy + LSTM detector with hand-set weights (pass --model for Silero VAD)');

const t0 = performance.now();
const { probs, chunk } = await chunkProbabilities(session, wav.samples, wav.sampleRate);
const ms = performance.now() - t0;
console.log(`${(wav.samples.length / wav.sampleRate).toFixed(2)} s at ${wav.sampleRate} Hz, ${probs.length} chunks of ${chunk}, ${ms.toFixed(0)} ms`);
const segments = speechSegments(probs, chunk, wav.sampleRate, { threshold: args.threshold });
if (segments.length === 0) console.log('no speech found');
for (const [a, b] of segments) console.log(`speech ${a.toFixed(2)}s - ${b.toFixed(2)}s`);
