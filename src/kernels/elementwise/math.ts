/**
 * Scalar math that JavaScript's Math lacks: erf, erfc and the exact GELU, as fixed-degree
 * polynomials (no loops, no divisions) since Gelu/Erf run once per activation in transformer models.
 *
 * The polynomials are least-squares fits with relative weighting to erf evaluated with 40-digit
 * arithmetic (mpmath), checked on a dense grid:
 *  - |x| <= 1: erf(x) = x · P(x²), degree 10 in x², relative error < 4e-15.
 *  - x >= 1: erfc(x) = e^(-x²) · Q(1/x), where Q(t) = erfc(x) e^(x²) ~ t/√π (1 - t²/2 + ...) is smooth
 *    in t = 1/x (A&S 7.1.23); one piece per range [1,2), [2,4), [4,8), [8,28), relative error
 *    < 7e-12 on erfc. Beyond 28 erfc underflows float64 (e^-784), so it is 0.
 */

/** erf(x) / x for |x| <= 1, as a polynomial in u = x². */
function erfOverX(u: number): number {
  return ((((((((((9.426849773953839e-09) * u - 1.5186069218797726e-07) * u + 1.6309643224160508e-06) * u - 1.4913194197302415e-05) * u + 0.00012054673175582176) * u - 0.0008548304457684786) * u + 0.005223977142820149) * u - 0.026866170584848165) * u + 0.11283791670570209) * u - 0.3761263890317428) * u + 1.128379167095512;
}

/** erfc(x) e^(x²) for x >= 1, as piecewise polynomials in t = 1/x. */
function erfcScaled(x: number): number {
  const t = 1 / x;
  if (x < 2) return ((((((((((((0.005482024571489567) * t - 0.04042999822592519) * t + 0.12315058224369742) * t - 0.18286872835280177) * t + 0.08190409875593323) * t + 0.15062228814393636) * t - 0.22802695311213583) * t - 0.039482838672136145) * t + 0.4106972426695462) * t - 0.45432674212296204) * t + 0.04214051044934306) * t + 0.5583677732052348) * t + 0.0003543166031105896;
  if (x < 4) return ((((((((((-0.00101250845485949) * t + 0.1917814704099905) * t - 0.8463449391413331) * t + 1.6750988569288248) * t - 1.874186812083235) * t + 1.1630755713847702) * t - 0.1925075464439973) * t - 0.24829746302793404) * t - 0.0038827330793846926) * t + 0.5644544416937802) * t - 8.158710063155272e-06;
  if (x < 8) return ((((((((((-0.13101109165242644) * t + 0.0774969320416926) * t + 0.2936436459560652) * t - 0.011317343114045508) * t - 0.6410345100754384) * t + 0.6186941994024299) * t - 0.036763292632803604) * t - 0.2776445856362685) * t - 0.00033969424226170004) * t + 0.5642045164231609) * t - 2.8889231193374165e-07;
  return (((((((-0.42172981549108185) * t - 0.21319183160099753) * t + 0.45734652737515086) * t - 0.003200452910949791) * t - 0.28191150679192406) * t - 6.324922715097948e-06) * t + 0.5641897042095952) * t - 9.761806085695213e-10;
}

/** erfc(x) for x >= 1 (0 once it underflows). */
function erfcAtLeast1(x: number): number {
  return x < 28 ? Math.exp(-x * x) * erfcScaled(x) : 0;
}

/** The error function; relative error < 1e-11 everywhere (|x| >= 6 gives ±1 exactly, as erfc(6) < 2^-55). */
export function erf(x: number): number {
  const a = Math.abs(x);
  if (a <= 1) return x * erfOverX(x * x);
  if (a >= 6) return x > 0 ? 1 : -1;
  if (x !== x) return NaN;
  const c = erfcAtLeast1(a);
  return x > 0 ? 1 - c : c - 1;
}

/** The complementary error function 1 - erf(x), without cancellation for large x. */
export function erfc(x: number): number {
  if (x >= 1) return erfcAtLeast1(x);
  if (x > -1) return 1 - x * erfOverX(x * x);
  if (x !== x) return NaN;
  return 2 - erfcAtLeast1(-x);
}

/**
 * Exact GELU: x/2 · (1 + erf(x/√2)) (ONNX Gelu, approximate='none'). For x < 0 this is x/2 · erfc(|x|/√2),
 * computed directly so that the far-negative tail keeps its relative precision instead of cancelling.
 */
export function gelu(x: number): number {
  const z = x * Math.SQRT1_2;
  if (z >= -1 && z <= 1) return 0.5 * x * (1 + z * erfOverX(z * z));
  if (z > 0) return z >= 6 ? x : 0.5 * x * (2 - erfcAtLeast1(z));
  if (z < 0) return 0.5 * x * erfcAtLeast1(-z);
  return NaN;
}
