"""A naive streaming C featuriser for any spec, written the way a C programmer would by hand:
the comparison point for the generated C's per-push cost.

* one ring of ``max_length`` samples per signal, read with modulo indexing (``r[(s + k) % N]``);
* every feature recomputed from scratch on every evaluation of its window, in its own function
  with its own loops (``range`` calls ``min`` and ``max``, ``std`` calls ``var`` which calls
  ``mean``; nothing is shared between features);
* textbook formulas, not featgen's exact operation order (slope from the normal equations,
  histogram bins from ``(int)((x - lo) / width)`` in one pass), so its values agree with featgen
  to rounding only; the benchmark reports the max relative difference as a sanity check.

It supports every feature and signal kind of featgen's vocabulary used by the specs here
(all 22 features, all 6 signal kinds). Generated, never committed: bench/run.py writes it to a
temporary directory.
"""
from __future__ import annotations

from featurespec.schema import Spec

FUNCS = r"""
#define AT(k) r[(s + (k)) % RING]
static double f_sum(const double *r, int s, int L) { double t = 0.0; for (int k = 0; k < L; ++k) t += AT(k); return t; }
static double f_mean(const double *r, int s, int L) { return f_sum(r, s, L) / L; }
static double f_var(const double *r, int s, int L, int ddof) {
    double m = f_mean(r, s, L), t = 0.0;
    for (int k = 0; k < L; ++k) { double d = AT(k) - m; t += d * d; }
    return t / (L - ddof);
}
static double f_std(const double *r, int s, int L, int ddof) { return sqrt(f_var(r, s, L, ddof)); }
static double f_min(const double *r, int s, int L) { double b = AT(0); for (int k = 1; k < L; ++k) if (AT(k) < b) b = AT(k); return b; }
static double f_max(const double *r, int s, int L) { double b = AT(0); for (int k = 1; k < L; ++k) if (AT(k) > b) b = AT(k); return b; }
static double f_range(const double *r, int s, int L) { return f_max(r, s, L) - f_min(r, s, L); }
static double f_argmin(const double *r, int s, int L) { int a = 0; for (int k = 1; k < L; ++k) if (AT(k) < AT(a)) a = k; return a; }
static double f_argmax(const double *r, int s, int L) { int a = 0; for (int k = 1; k < L; ++k) if (AT(k) > AT(a)) a = k; return a; }
static double f_first(const double *r, int s, int L) { (void)L; return AT(0); }
static double f_last(const double *r, int s, int L) { return AT(L - 1); }
static double f_delta(const double *r, int s, int L) { return AT(L - 1) - AT(0); }
static double f_energy(const double *r, int s, int L) { double t = 0.0; for (int k = 0; k < L; ++k) t += AT(k) * AT(k); return t; }
static double f_rms(const double *r, int s, int L) { return sqrt(f_energy(r, s, L) / L); }
static double f_mean_abs(const double *r, int s, int L) { double t = 0.0; for (int k = 0; k < L; ++k) t += fabs(AT(k)); return t / L; }
static double crossings(const double *r, int s, int L, double level) {
    int n = 0, last = 0;
    for (int k = 0; k < L; ++k) {
        double d = AT(k) - level;
        int sg = d > 0 ? 1 : (d < 0 ? -1 : 0);
        if (sg != 0) { if (last != 0 && sg != last) ++n; last = sg; }
    }
    return n;
}
static double f_zero_crossings(const double *r, int s, int L) { return crossings(r, s, L, 0.0); }
static double f_mean_crossings(const double *r, int s, int L) { return crossings(r, s, L, f_mean(r, s, L)); }
static double f_slope(const double *r, int s, int L) {
    double sk = 0, skk = 0, sx = 0, skx = 0;
    for (int k = 0; k < L; ++k) { sk += k; skk += (double)k * k; sx += AT(k); skx += k * AT(k); }
    return (L * skx - sk * sx) / (L * skk - sk * sk);
}
static double f_count_above(const double *r, int s, int L, double th) { int n = 0; for (int k = 0; k < L; ++k) n += AT(k) > th; return n; }
static double f_longest_run_above(const double *r, int s, int L, double th) {
    int best = 0, run = 0; for (int k = 0; k < L; ++k) { run = AT(k) > th ? run + 1 : 0; if (run > best) best = run; } return best;
}
static double f_longest_run_below(const double *r, int s, int L, double th) {
    int best = 0, run = 0; for (int k = 0; k < L; ++k) { run = AT(k) < th ? run + 1 : 0; if (run > best) best = run; } return best;
}
static void f_histogram(const double *r, int s, int L, int bins, double lo, double hi, int normalize, double *dst) {
    double width = (hi - lo) / bins;
    for (int b = 0; b < bins; ++b) dst[b] = 0.0;
    for (int k = 0; k < L; ++k) {
        double x = AT(k);
        if (x < lo || x > hi) continue;
        int b = (int)((x - lo) / width);
        if (b >= bins) b = bins - 1;
        dst[b] += 1.0;
    }
    if (normalize) for (int b = 0; b < bins; ++b) dst[b] /= L;
}
"""

ONE_ARG = {"sum", "mean", "min", "max", "range", "argmin", "argmax", "first", "last", "delta",
           "energy", "rms", "mean_abs", "zero_crossings", "mean_crossings", "slope"}
THRESHOLD = {"count_above", "longest_run_above", "longest_run_below"}


def _lit(x: float) -> str:
    return float(x).hex() if float(x) != int(x) else f"{float(x)!r}"


def generate(spec: Spec, prefix: str) -> tuple[str, str]:
    """(header, source) of ``<prefix>_init`` / ``<prefix>_push`` with the generated C's API."""
    P = prefix.upper()
    sig_index = {s.name: i for i, s in enumerate(spec.signals)}
    n_in, n_sig = len(spec.inputs), len(spec.signals)
    n_feat = len(spec.feature_names)
    ring = spec.max_length
    header = f"""/* Naive hand-style featuriser for {spec.name} (bench only; see bench/naive_c.py). */
#ifndef {P}_H
#define {P}_H
#define {P}_N_INPUTS {n_in}
#define {P}_N_FEATURES {n_feat}
#define {P}_EMITTED 1
#define {P}_RING {ring}
typedef struct {prefix}_state {{
    double ring[{n_sig}][{P}_RING];
    double prev[{n_sig}];
    double features[{P}_N_FEATURES];
    int head;
    long count;
    int started;
}} {prefix}_state;
void {prefix}_init({prefix}_state *st);
int {prefix}_push({prefix}_state *st, const double sample[{P}_N_INPUTS], double out[{P}_N_FEATURES]);
#endif
"""
    lines = [f'#include "{prefix}.h"', "#include <math.h>", "#include <string.h>",
             f"#define RING {P}_RING", FUNCS,
             f"void {prefix}_init({prefix}_state *st) {{ memset(st, 0, sizeof *st); }}",
             f"int {prefix}_push({prefix}_state *st, const double sample[{P}_N_INPUTS], "
             f"double out[{P}_N_FEATURES]) {{",
             f"    for (int i = 0; i < {n_in}; ++i) if (!isfinite(sample[i])) return -1;",
             f"    double v[{n_sig}];"]
    for i, s in enumerate(spec.signals):
        src = [sig_index[x] for x in s.sources]
        if s.kind == "input":
            expr = f"sample[{spec.inputs.index(s.name)}]"
        elif s.kind == "magnitude":
            expr = "sqrt(" + " + ".join(f"v[{j}] * v[{j}]" for j in src) + ")"
        elif s.kind == "diff":
            expr = f"st->started ? v[{src[0]}] - st->prev[{src[0]}] : 0.0"
        elif s.kind == "ema":
            a = s.param("alpha")
            expr = (f"st->started ? {_lit(a)} * v[{src[0]}] + (1.0 - {_lit(a)}) * st->prev[{i}]"
                    f" : v[{src[0]}]")
        elif s.kind == "scale":
            expr = f"v[{src[0]}] * {_lit(s.param('factor'))} + {_lit(s.param('offset'))}"
        elif s.kind == "sum":
            expr = " + ".join(f"v[{j}]" for j in src)
        elif s.kind == "difference":
            expr = f"v[{src[0]}] - v[{src[1]}]"
        else:
            raise NotImplementedError(f"naive C: signal kind {s.kind}")
        lines.append(f"    v[{i}] = {expr};  /* {s.name} */")
    lines += [f"    for (int i = 0; i < {n_sig}; ++i) {{ st->ring[i][st->head] = v[i]; "
              "st->prev[i] = v[i]; }",
              "    st->started = 1;",
              "    st->head = (st->head + 1) % RING;",
              "    st->count += 1;",
              "    if (st->count < RING) return 0;",
              "    long since = st->count - RING;",
              "    int emitted = 0;"]
    column = 0
    by_window: dict[str, list[str]] = {w.name: [] for w in spec.windows}
    for f in spec.features:
        w = spec.window(f.window)
        L = w.length
        r = f"st->ring[{sig_index[f.signals[0]]}]"
        call_args = f"{r}, (st->head + RING - {L}) % RING, {L}"
        if f.kind in ONE_ARG:
            by_window[w.name].append(f"st->features[{column}] = f_{f.kind}({call_args});")
        elif f.kind in ("var", "std"):
            by_window[w.name].append(
                f"st->features[{column}] = f_{f.kind}({call_args}, {int(f.param('ddof'))});")
        elif f.kind in THRESHOLD:
            by_window[w.name].append(f"st->features[{column}] = f_{f.kind}({call_args}, "
                                     f"{_lit(f.param('threshold'))});")
        elif f.kind == "histogram":
            lo, hi = f.param("range")
            by_window[w.name].append(
                f"f_histogram({call_args}, {int(f.param('bins'))}, {_lit(lo)}, {_lit(hi)}, "
                f"{int(bool(f.param('normalize')))}, &st->features[{column}]);")
        else:
            raise NotImplementedError(f"naive C: feature kind {f.kind}")
        column += len(f.outputs)
    assert column == n_feat
    for w in spec.windows:
        lines.append(f"    if (since % {w.hop} == 0) {{  /* window {w.name} */")
        lines += ["        " + x for x in by_window[w.name]]
        lines += ["        emitted = 1;", "    }"]
    lines += ["    if (!emitted) return 0;",
              "    memcpy(out, st->features, sizeof st->features);",
              "    return 1;", "}", ""]
    return header, "\n".join(lines)
