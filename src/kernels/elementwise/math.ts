/** Scalar math that JavaScript's Math lacks. */

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/**
 * The error function, accurate to ~1e-13 absolute and good relative accuracy near 0.
 * |x| < 3: Maclaurin series erf(x) = 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1)) (A&S 7.1.5);
 * its terms peak near 3^18/9! ~ 1e3, so cancellation costs at most ~3 digits of float64.
 * |x| >= 3: 1 - erfc(x) with the Chebyshev-fitted erfc of Numerical Recipes (6.2), fractional error
 * < 1.2e-7 on erfc <= 2.2e-5, i.e. < 3e-12 on erf.
 */
export function erf(x: number): number {
  if (x !== x) return NaN;
  const a = Math.abs(x);
  if (a < 3) {
    const x2 = x * x;
    let term = x; // (-1)^n x^(2n+1) / n!
    let sum = x;
    for (let n = 1; n < 60; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return TWO_OVER_SQRT_PI * sum;
  }
  const t = 1 / (1 + 0.5 * a);
  const erfc =
    t *
    Math.exp(
      -a * a -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x > 0 ? 1 - erfc : erfc - 1;
}
