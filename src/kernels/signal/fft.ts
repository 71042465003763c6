/**
 * Complex discrete Fourier transforms of one length n, planned once:
 *   X[k] = Σ_j x[j] · e^(-2πi·jk/n)            (forward)
 *   x[j] = (1/n) Σ_k X[k] · e^(+2πi·jk/n)      (inverse, numpy.fft.ifft's normalisation)
 * Power-of-two lengths use an iterative radix-2 FFT; short other lengths a direct sum over a cos/sin table;
 * long other lengths Bluestein's chirp-z algorithm (a circular convolution done with a power-of-two FFT).
 * All arithmetic is float64. Work buffers belong to the plan, so transform() allocates nothing.
 */

/** Above this length a non-power-of-two transform uses Bluestein instead of the O(n²) sum. */
const DIRECT_MAX = 64;

export interface FftPlan {
  readonly n: number;
  /** Transforms (re, im) in place; both have length n. */
  transform(re: Float64Array, im: Float64Array, inverse: boolean): void;
}

export function isPowerOfTwo(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

export function planFft(n: number): FftPlan {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`FFT length must be a positive integer, got ${n}`);
  if (isPowerOfTwo(n)) return radix2Plan(n);
  if (n <= DIRECT_MAX) return directPlan(n);
  return bluesteinPlan(n);
}

/** The inverse as conj(F(conj(x))) / n, so every plan needs only a forward kernel. */
function withInverse(n: number, forward: (re: Float64Array, im: Float64Array) => void): FftPlan {
  return {
    n,
    transform(re, im, inverse) {
      if (!inverse) {
        forward(re, im);
        return;
      }
      for (let i = 0; i < n; i++) im[i] = -im[i]!;
      forward(re, im);
      const s = 1 / n;
      for (let i = 0; i < n; i++) {
        re[i] = re[i]! * s;
        im[i] = -im[i]! * s;
      }
    },
  };
}

function radix2Plan(n: number): FftPlan {
  const bitrev = new Uint32Array(n);
  let bits = 0;
  while (1 << bits < n) bits++;
  for (let i = 0; i < n; i++) {
    let r = 0;
    for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
    bitrev[i] = r;
  }
  // Twiddles e^(-2πi·k/n) for k < n/2, computed directly (no recurrence drift).
  const half = n >> 1;
  const cos = new Float64Array(half);
  const sin = new Float64Array(half);
  for (let k = 0; k < half; k++) {
    cos[k] = Math.cos((2 * Math.PI * k) / n);
    sin[k] = -Math.sin((2 * Math.PI * k) / n);
  }
  return withInverse(n, (re, im) => {
    for (let i = 0; i < n; i++) {
      const j = bitrev[i]!;
      if (j > i) {
        let t = re[i]!;
        re[i] = re[j]!;
        re[j] = t;
        t = im[i]!;
        im[i] = im[j]!;
        im[j] = t;
      }
    }
    for (let size = 2; size <= n; size <<= 1) {
      const halfSize = size >> 1;
      const step = n / size;
      for (let start = 0; start < n; start += size) {
        for (let k = 0; k < halfSize; k++) {
          const wr = cos[k * step]!;
          const wi = sin[k * step]!;
          const a = start + k;
          const b = a + halfSize;
          const xr = re[b]! * wr - im[b]! * wi;
          const xi = re[b]! * wi + im[b]! * wr;
          re[b] = re[a]! - xr;
          im[b] = im[a]! - xi;
          re[a] = re[a]! + xr;
          im[a] = im[a]! + xi;
        }
      }
    }
  });
}

/** X[k] = Σ_j x[j]·w[(j·k) mod n] with w[m] = e^(-2πi·m/n); exact index reduction keeps the angles accurate. */
function directPlan(n: number): FftPlan {
  const cos = new Float64Array(n);
  const sin = new Float64Array(n);
  for (let m = 0; m < n; m++) {
    cos[m] = Math.cos((2 * Math.PI * m) / n);
    sin[m] = -Math.sin((2 * Math.PI * m) / n);
  }
  const outRe = new Float64Array(n);
  const outIm = new Float64Array(n);
  return withInverse(n, (re, im) => {
    for (let k = 0; k < n; k++) {
      let sr = 0;
      let si = 0;
      let m = 0;
      for (let j = 0; j < n; j++) {
        const wr = cos[m]!;
        const wi = sin[m]!;
        sr += re[j]! * wr - im[j]! * wi;
        si += re[j]! * wi + im[j]! * wr;
        m += k;
        if (m >= n) m -= n;
      }
      outRe[k] = sr;
      outIm[k] = si;
    }
    re.set(outRe);
    im.set(outIm);
  });
}

/**
 * Bluestein: jk = (j² + k² - (k-j)²)/2, so X[k] = c[k] · Σ_j (x[j]·c[j]) · conj(c[k-j]) with the chirp
 * c[m] = e^(-πi·m²/n). The sum is a linear convolution, done circularly at a power-of-two length M ≥ 2n-1.
 */
function bluesteinPlan(n: number): FftPlan {
  let m = 1;
  while (m < 2 * n - 1) m <<= 1;
  const inner = radix2Plan(m);
  const chirpRe = new Float64Array(n);
  const chirpIm = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    // j² mod 2n keeps the angle small and exact for large j.
    const q = (j * j) % (2 * n);
    chirpRe[j] = Math.cos((Math.PI * q) / n);
    chirpIm[j] = -Math.sin((Math.PI * q) / n);
  }
  // The filter conj(c[m]) laid out circularly (indices -n+1..n-1), transformed once.
  const filterRe = new Float64Array(m);
  const filterIm = new Float64Array(m);
  for (let j = 0; j < n; j++) {
    filterRe[j] = chirpRe[j]!;
    filterIm[j] = -chirpIm[j]!;
    if (j > 0) {
      filterRe[m - j] = chirpRe[j]!;
      filterIm[m - j] = -chirpIm[j]!;
    }
  }
  inner.transform(filterRe, filterIm, false);
  const workRe = new Float64Array(m);
  const workIm = new Float64Array(m);
  return withInverse(n, (re, im) => {
    workRe.fill(0);
    workIm.fill(0);
    for (let j = 0; j < n; j++) {
      workRe[j] = re[j]! * chirpRe[j]! - im[j]! * chirpIm[j]!;
      workIm[j] = re[j]! * chirpIm[j]! + im[j]! * chirpRe[j]!;
    }
    inner.transform(workRe, workIm, false);
    for (let i = 0; i < m; i++) {
      const r = workRe[i]! * filterRe[i]! - workIm[i]! * filterIm[i]!;
      workIm[i] = workRe[i]! * filterIm[i]! + workIm[i]! * filterRe[i]!;
      workRe[i] = r;
    }
    inner.transform(workRe, workIm, true);
    for (let k = 0; k < n; k++) {
      re[k] = workRe[k]! * chirpRe[k]! - workIm[k]! * chirpIm[k]!;
      im[k] = workRe[k]! * chirpIm[k]! + workIm[k]! * chirpRe[k]!;
    }
  });
}

/**
 * Two real signals for the price of one complex transform: with z = a + i·b and Z = F(z) (forward or inverse),
 * A[k] = (Z[k] + Z[n-k]*)/2 and B[k] = (Z[k] - Z[n-k]*)/(2i), because F of a real signal is Hermitian.
 * Reads Z from (re, im) and writes bin k as [Ar, Ai, Br, Bi] into `out`.
 */
export function splitRealPair(re: Float64Array, im: Float64Array, k: number, out: Float64Array): void {
  const m = k === 0 ? 0 : re.length - k;
  const zr = re[k]!;
  const zi = im[k]!;
  const mr = re[m]!;
  const mi = im[m]!;
  out[0] = (zr + mr) / 2;
  out[1] = (zi - mi) / 2;
  out[2] = (zi + mi) / 2;
  out[3] = (mr - zr) / 2;
}
