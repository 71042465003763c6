#!/usr/bin/env node
// Writes the VAD example's test signal: node examples/vad/make-wav.mjs [out.wav]  (default examples/vad/sample.wav)
// 16 kHz mono, 4 s: faint noise, with two tone bursts standing in for speech at 0.5-1.5 s and 2.2-3.0 s.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rng } from '../lib/model-builder.mjs';
import { encodeWav } from './wav.mjs';

export const DEFAULT_WAV = join(dirname(fileURLToPath(import.meta.url)), 'sample.wav');
export const SAMPLE_RATE = 16000;
/** Where the bursts are, in seconds (the test checks the detected segments against these). */
export const BURSTS = [[0.5, 1.5], [2.2, 3.0]];

export function makeSignal(seconds = 4) {
  const random = rng(7);
  const x = new Float32Array(seconds * SAMPLE_RATE);
  for (let i = 0; i < x.length; i++) {
    const t = i / SAMPLE_RATE;
    let v = (random() * 2 - 1) * 0.002;
    if (BURSTS.some(([a, b]) => t >= a && t < b)) v += 0.4 * Math.sin(2 * Math.PI * 220 * t) + 0.2 * Math.sin(2 * Math.PI * 660 * t);
    x[i] = v;
  }
  return x;
}

export function writeWav(path = DEFAULT_WAV) {
  writeFileSync(path, encodeWav(makeSignal(), SAMPLE_RATE));
  return path;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(`wrote ${writeWav(process.argv[2])}`);
