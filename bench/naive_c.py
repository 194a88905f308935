"""A naive streaming C featuriser for any spec, written the way a C programmer would by hand:
the comparison point for the generated C's per-push cost.

* one ring of ``max_length`` samples per signal, read with modulo indexing (``r[(s + k) % N]``);
* every feature recomputed from scratch on every evaluation of its window, in its own function
  with its own loops, calling the textbook helpers a hand-written library has (``range`` calls
  ``min`` and ``max``; ``std`` calls ``var`` which calls ``mean``; ``iqr`` calls ``percentile``
  twice and each sorts its own copy; ``mad`` calls ``median`` and sorts the deviations; every
  spectral feature tapers its own copy of the window and computes its own DFT bins; nothing is
  shared between features);
* textbook formulas, not featgen's exact operation order: slope from the normal equations,
  histogram bins from ``(int)((x - lo) / width)`` in one pass, percentiles at
  ``(n - 1) * q / 100`` interpolated as ``a + (b - a) * t``, skewness ``m3 / pow(m2, 1.5)``,
  Pearson ``sxy / sqrt(sxx * syy)``, the trapezoid rule as ``dt * sum((x[k-1] + x[k]) / 2)``,
  ``band_power`` picking bins by ``k * fs / L`` in double;
* libm where a C programmer would call it: ``sqrt``, ``pow``, ``log`` (spectral entropy,
  log_energy), ``atan2`` (the atan2 signal), ``qsort`` for every order statistic, ``cos`` and
  ``sin`` for the DFT. **Twiddles and tapers are tables built once at init with ``cos``/``sin``**
  (``cos(2 pi m / L)``, ``sin(2 pi m / L)``, ``0.5 - 0.5 cos(2 pi n / L)`` for each window length
  a spectral feature reads), indexed by ``(k n) % L``: the DFT itself is the direct O(L) sum per
  bin, no FFT. (Calling ``cos``/``sin`` per term inside the DFT would add ~2 libm calls per
  multiply-add and mostly measure libm.)
* filters: the Butterworth sections designed at init from the textbook bilinear transform with
  libm ``tan`` and ``sin`` (K = tan(pi fc / fs), a = 2 sin(pi (2i + 1) / (2 order))), run per
  sample as the same transposed direct form II recurrences, starting in the steady state of the
  first input (the spec's semantics); the band-pass is the high-pass then the low-pass, as featgen
  defines it.

Its values agree with featgen's to rounding only (libm vs featgen's correctly rounded tables and
portable log/atan2, summation order, formulas); the benchmark reports the max relative difference
per kind. It covers every feature kind (42) and signal kind (10) of featgen's vocabulary.
Generated, never committed: bench/run.py writes it to a temporary directory.
"""

from __future__ import annotations

from featurespec.schema import Spec

FUNCS = r"""
#define AT(k) r[(s + (k)) % RING]
#define MAXL RING
#define PI 3.14159265358979323846
#define EPS 2.220446049250313e-16
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
static double f_log_energy(const double *r, int s, int L, double floor_) { return log(floor_ + f_energy(r, s, L)); }
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
static double f_integral(const double *r, int s, int L, double fs) {
    double dt = 1.0 / fs, t = 0.0;
    for (int k = 1; k < L; ++k) t += (AT(k - 1) + AT(k)) / 2.0;
    return dt * t;
}
static double f_mean_abs_change(const double *r, int s, int L) {
    double t = 0.0; for (int k = 1; k < L; ++k) t += fabs(AT(k) - AT(k - 1)); return t / (L - 1);
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

/* ---- order statistics: qsort a copy ---- */
static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}
static void sorted_copy(const double *r, int s, int L, double *buf) {
    for (int k = 0; k < L; ++k) buf[k] = AT(k);
    qsort(buf, (size_t)L, sizeof(double), cmp_double);
}
static double median_sorted(const double *buf, int L) {
    return L % 2 ? buf[L / 2] : (buf[L / 2 - 1] + buf[L / 2]) / 2.0;
}
static double f_median(const double *r, int s, int L) {
    double buf[MAXL];
    sorted_copy(r, s, L, buf);
    return median_sorted(buf, L);
}
static double f_percentile(const double *r, int s, int L, double q, int nearest_rank) {
    double buf[MAXL];
    sorted_copy(r, s, L, buf);
    if (nearest_rank) {
        int i = (int)((L - 1) * q / 100.0 + 0.5);
        return buf[i < L ? i : L - 1];
    }
    double pos = (L - 1) * q / 100.0;
    int lo = (int)floor(pos);
    int hi = lo + 1 < L ? lo + 1 : L - 1;
    return buf[lo] + (buf[hi] - buf[lo]) * (pos - lo);
}
static double f_iqr(const double *r, int s, int L, int nearest_rank) {
    return f_percentile(r, s, L, 75.0, nearest_rank) - f_percentile(r, s, L, 25.0, nearest_rank);
}
static double f_mad(const double *r, int s, int L, double scale) {
    double med = f_median(r, s, L), dev[MAXL];
    for (int k = 0; k < L; ++k) dev[k] = fabs(AT(k) - med);
    qsort(dev, (size_t)L, sizeof(double), cmp_double);
    return median_sorted(dev, L) * scale;
}

/* ---- moments ---- */
static double central_moment(const double *r, int s, int L, double m, int p) {
    double t = 0.0;
    for (int k = 0; k < L; ++k) {
        double d = AT(k) - m, v = d * d;
        if (p == 3) v *= d; else if (p == 4) v *= v;
        t += v;
    }
    return t / L;
}
static double f_skewness(const double *r, int s, int L, int bias, double zero_variance) {
    double m = f_mean(r, s, L);
    double m2 = central_moment(r, s, L, m, 2), m3 = central_moment(r, s, L, m, 3);
    if (m2 <= (EPS * m) * (EPS * m)) return zero_variance;
    double g1 = m3 / pow(m2, 1.5);
    if (!bias) g1 *= sqrt((double)L * (L - 1)) / (L - 2);
    return g1;
}
static double f_kurtosis(const double *r, int s, int L, int bias, int fisher, double zero_variance) {
    double m = f_mean(r, s, L);
    double m2 = central_moment(r, s, L, m, 2), m4 = central_moment(r, s, L, m, 4);
    if (m2 <= (EPS * m) * (EPS * m)) return zero_variance;
    double g2 = m4 / (m2 * m2) - 3.0;
    if (!bias) g2 = ((L + 1) * g2 + 6.0) * (L - 1) / ((double)(L - 2) * (L - 3));
    return fisher ? g2 : g2 + 3.0;
}
static double f_autocorrelation(const double *r, int s, int L, int lag, double zero_variance) {
    double m = f_mean(r, s, L), num = 0.0, den = 0.0;
    for (int k = 0; k < L; ++k) { double d = AT(k) - m; den += d * d; }
    if (den / L <= (EPS * m) * (EPS * m)) return zero_variance;
    for (int k = 0; k + lag < L; ++k) num += (AT(k) - m) * (AT(k + lag) - m);
    return num / den;
}

/* ---- shape: peaks (scipy.signal.find_peaks' plateau rule, first sample of a plateau) ---- */
static void peaks(const double *r, int s, int L, int use_height, double height, int *count, int *last) {
    int n = 0, at = -1, i = 1;
    while (i < L - 1) {
        if (AT(i - 1) < AT(i)) {
            int j = i;
            while (j + 1 < L - 1 && AT(j + 1) == AT(i)) ++j;
            if (AT(j + 1) < AT(i) && (!use_height || AT(i) >= height)) { ++n; at = i; }
            i = j + 1;
        } else {
            ++i;
        }
    }
    *count = n; *last = at;
}
static double f_peak_count(const double *r, int s, int L, int use_height, double height) {
    int n, at; peaks(r, s, L, use_height, height, &n, &at); return n;
}
static double f_last_peak_index(const double *r, int s, int L, int use_height, double height) {
    int n, at; peaks(r, s, L, use_height, height, &n, &at); return at;
}

/* ---- two signals (x and y rings share the start s) ---- */
static double f_covariance(const double *r, const double *r2, int s, int L, int ddof) {
    double mx = f_mean(r, s, L), my = f_mean(r2, s, L), t = 0.0;
    for (int k = 0; k < L; ++k) t += (AT(k) - mx) * (r2[(s + k) % RING] - my);
    return t / (L - ddof);
}
static double f_correlation(const double *r, const double *r2, int s, int L, double zero_variance) {
    double mx = f_mean(r, s, L), my = f_mean(r2, s, L), sxy = 0.0, sxx = 0.0, syy = 0.0;
    for (int k = 0; k < L; ++k) {
        double dx = AT(k) - mx, dy = r2[(s + k) % RING] - my;
        sxy += dx * dy; sxx += dx * dx; syy += dy * dy;
    }
    if (sxx / L <= (EPS * mx) * (EPS * mx) || syy / L <= (EPS * my) * (EPS * my)) return zero_variance;
    double c = sxy / sqrt(sxx * syy);
    return c > 1.0 ? 1.0 : (c < -1.0 ? -1.0 : c);
}

/* ---- spectra: direct DFT per bin, twiddle and Hann tables built at init with cos/sin ---- */
typedef struct { int L; double cos_[MAXL], sin_[MAXL], hann[MAXL]; } dft_tables;
static void dft_tables_init(dft_tables *t, int L) {
    t->L = L;
    for (int m = 0; m < L; ++m) {
        t->cos_[m] = cos(2.0 * PI * m / L);
        t->sin_[m] = sin(2.0 * PI * m / L);
        t->hann[m] = L == 1 ? 1.0 : 0.5 - 0.5 * cos(2.0 * PI * m / L);
    }
}
static void taper_copy(const double *r, int s, int L, const dft_tables *t, int hann, double *xs) {
    for (int n = 0; n < L; ++n) xs[n] = hann ? AT(n) * t->hann[n] : AT(n);
}
static double dft_power(const double *xs, int L, int k, const dft_tables *t) {
    double re = 0.0, im = 0.0;
    for (int n = 0; n < L; ++n) {
        int m = (k * n) % L;
        re += xs[n] * t->cos_[m];
        im -= xs[n] * t->sin_[m];
    }
    return re * re + im * im;
}
static void f_dft(const double *r, int s, int L, const dft_tables *t, int hann, const int *bins,
                  int nbins, int magnitude, double *dst) {
    double xs[MAXL];
    taper_copy(r, s, L, t, hann, xs);
    for (int i = 0; i < nbins; ++i) {
        double p = dft_power(xs, L, bins[i], t);
        dst[i] = magnitude ? sqrt(p) : p;
    }
}
static double f_band_power(const double *r, int s, int L, const dft_tables *t, int hann, double fs,
                           double lo, double hi) {
    double xs[MAXL], total = 0.0;
    taper_copy(r, s, L, t, hann, xs);
    for (int k = 0; k <= L / 2; ++k) {
        double f = k * fs / L;
        if (f >= lo && f <= hi) total += dft_power(xs, L, k, t);
    }
    return total;
}
static void spectrum(const double *r, int s, int L, const dft_tables *t, int hann, int first,
                     int magnitude, double *w) {
    double xs[MAXL];
    taper_copy(r, s, L, t, hann, xs);
    for (int k = first; k <= L / 2; ++k) {
        double p = dft_power(xs, L, k, t);
        w[k] = magnitude ? sqrt(p) : p;
    }
}
static double f_dominant_frequency(const double *r, int s, int L, const dft_tables *t, int hann,
                                   double fs, int include_dc) {
    double w[MAXL / 2 + 1];
    int first = include_dc ? 0 : 1, best = first;
    spectrum(r, s, L, t, hann, first, 0, w);
    for (int k = first + 1; k <= L / 2; ++k) if (w[k] > w[best]) best = k;
    return w[best] == 0.0 ? 0.0 : best * fs / L;
}
static double f_spectral_centroid(const double *r, int s, int L, const dft_tables *t, int hann,
                                  double fs, int include_dc, int magnitude) {
    double w[MAXL / 2 + 1], num = 0.0, den = 0.0;
    int first = include_dc ? 0 : 1;
    spectrum(r, s, L, t, hann, first, magnitude, w);
    for (int k = first; k <= L / 2; ++k) { num += k * fs / L * w[k]; den += w[k]; }
    return den == 0.0 ? 0.0 : num / den;
}
static double f_spectral_entropy(const double *r, int s, int L, const dft_tables *t, int hann,
                                 int include_dc, int magnitude, int normalize) {
    double w[MAXL / 2 + 1], total = 0.0, h = 0.0;
    int first = include_dc ? 0 : 1;
    spectrum(r, s, L, t, hann, first, magnitude, w);
    for (int k = first; k <= L / 2; ++k) total += w[k];
    if (total == 0.0) return 0.0;
    for (int k = first; k <= L / 2; ++k) { double p = w[k] / total; if (p > 0.0) h -= p * log(p); }
    return normalize ? h / log((double)(L / 2 + 1 - first)) : h;
}

/* ---- Butterworth filters: bilinear transform at init, transposed direct form II ---- */
typedef naive_biquad biquad;
typedef naive_filter filter;
static void butter_add(filter *f, int high, int order, double fc, double fs) {
    double K = tan(PI * fc / fs);
    for (int i = 0; i < order / 2 + order % 2; ++i) {
        biquad *q = &f->q[f->n++];
        if (i < order / 2) {
            double a = 2.0 * sin(PI * (2 * i + 1) / (2.0 * order));
            double norm = 1.0 / (1.0 + a * K + K * K);
            q->b0 = high ? norm : K * K * norm;
            q->b1 = high ? -2.0 * q->b0 : 2.0 * q->b0;
            q->b2 = q->b0;
            q->a1 = 2.0 * (K * K - 1.0) * norm;
            q->a2 = (1.0 - a * K + K * K) * norm;
            q->second_order = 1;
        } else {
            q->b0 = high ? 1.0 / (1.0 + K) : K / (1.0 + K);
            q->b1 = high ? -q->b0 : q->b0;
            q->b2 = 0.0;
            q->a1 = (K - 1.0) / (K + 1.0);
            q->a2 = 0.0;
            q->second_order = 0;
        }
        q->gain = (q->b0 + q->b1 + q->b2) / (1.0 + q->a1 + q->a2);
    }
}
static double filter_step(filter *f, double u, int first) {
    for (int i = 0; i < f->n; ++i) {
        const biquad *q = &f->q[i];
        if (first) {   /* steady state for a constant input u */
            double y0 = q->gain * u;
            if (q->second_order) { f->s2[i] = q->b2 * u - q->a2 * y0; f->s1[i] = (q->b1 * u - q->a1 * y0) + f->s2[i]; }
            else f->s1[i] = q->b1 * u - q->a1 * y0;
        }
        double y = q->b0 * u + f->s1[i];
        if (q->second_order) { f->s1[i] = (q->b1 * u - q->a1 * y) + f->s2[i]; f->s2[i] = q->b2 * u - q->a2 * y; }
        else f->s1[i] = q->b1 * u - q->a1 * y;
        u = y;
    }
    return u;
}
"""

ONE_ARG = {
    "sum",
    "mean",
    "min",
    "max",
    "range",
    "argmin",
    "argmax",
    "first",
    "last",
    "delta",
    "energy",
    "rms",
    "mean_abs",
    "zero_crossings",
    "mean_crossings",
    "slope",
    "median",
    "mean_abs_change",
}
THRESHOLD = {"count_above", "longest_run_above", "longest_run_below"}
SPECTRAL = {
    "dft_magnitude",
    "dft_power",
    "band_power",
    "dominant_frequency",
    "spectral_centroid",
    "spectral_entropy",
}
FILTERS = {"lowpass", "highpass", "bandpass"}


def _lit(x: float) -> str:
    return float(x).hex() if float(x) != int(x) else f"{float(x)!r}"


def _feature_call(spec: Spec, f, sig_index: dict, column: int, dft: dict) -> str:
    """One statement filling the feature's column(s) st->features[column...]."""
    L = spec.window(f.window).length
    r = f"st->ring[{sig_index[f.signals[0]]}]"
    args = f"{r}, (st->head + RING - {L}) % RING, {L}"
    dst = f"st->features[{column}]"
    k = f.kind
    p = dict(f.params)
    fs = _lit(spec.sample_rate_hz)
    if k in ONE_ARG:
        return f"{dst} = f_{k}({args});"
    if k in ("var", "std"):
        return f"{dst} = f_{k}({args}, {int(p['ddof'])});"
    if k in THRESHOLD:
        return f"{dst} = f_{k}({args}, {_lit(p['threshold'])});"
    if k == "histogram":
        lo, hi = p["range"]
        return (
            f"f_histogram({args}, {int(p['bins'])}, {_lit(lo)}, {_lit(hi)}, "
            f"{int(bool(p['normalize']))}, &{dst});"
        )
    if k == "integral":
        return f"{dst} = f_integral({args}, {fs});"
    if k == "log_energy":
        return f"{dst} = f_log_energy({args}, {_lit(p['floor'])});"
    if k == "percentile":
        return (
            f"{dst} = f_percentile({args}, {_lit(p['q'])}, {int(p['method'] == 'nearest_rank')});"
        )
    if k == "iqr":
        return f"{dst} = f_iqr({args}, {int(p['method'] == 'nearest_rank')});"
    if k == "mad":
        return f"{dst} = f_mad({args}, {_lit(p['scale'])});"
    if k == "skewness":
        return f"{dst} = f_skewness({args}, {int(bool(p['bias']))}, {_lit(p['zero_variance'])});"
    if k == "kurtosis":
        return (
            f"{dst} = f_kurtosis({args}, {int(bool(p['bias']))}, {int(bool(p['fisher']))}, "
            f"{_lit(p['zero_variance'])});"
        )
    if k == "autocorrelation":
        return f"{dst} = f_autocorrelation({args}, {int(p['lag'])}, {_lit(p['zero_variance'])});"
    if k in ("peak_count", "last_peak_index"):
        h = p["height"]
        return f"{dst} = f_{k}({args}, {int(h is not None)}, {_lit(h if h is not None else 0)});"
    if k in ("covariance", "correlation"):
        r2 = f"st->ring[{sig_index[f.signals[1]]}]"
        args2 = f"{r}, {r2}, (st->head + RING - {L}) % RING, {L}"
        extra = int(p["ddof"]) if k == "covariance" else _lit(p["zero_variance"])
        return f"{dst} = f_{k}({args2}, {extra});"
    if k in SPECTRAL:
        tab = f"&dft_{L}"
        dft.setdefault(L, tab)
        hann = int(p["taper"] == "hann")
        if k in ("dft_magnitude", "dft_power"):
            bins = ", ".join(str(int(b)) for b in p["bins"])
            return (
                f"{{ static const int bins[] = {{{bins}}}; f_dft({args}, {tab}, {hann}, bins, "
                f"{len(p['bins'])}, {int(k == 'dft_magnitude')}, &{dst}); }}"
            )
        if k == "band_power":
            lo, hi = p["band"]
            return f"{dst} = f_band_power({args}, {tab}, {hann}, {fs}, {_lit(lo)}, {_lit(hi)});"
        dc = int(bool(p["include_dc"]))
        if k == "dominant_frequency":
            return f"{dst} = f_dominant_frequency({args}, {tab}, {hann}, {fs}, {dc});"
        mag = int(p["spectrum"] == "magnitude")
        if k == "spectral_centroid":
            return f"{dst} = f_spectral_centroid({args}, {tab}, {hann}, {fs}, {dc}, {mag});"
        return (
            f"{dst} = f_spectral_entropy({args}, {tab}, {hann}, {dc}, {mag}, "
            f"{int(bool(p['normalize']))});"
        )
    raise NotImplementedError(f"naive C: feature kind {k}")


def generate(spec: Spec, prefix: str) -> tuple[str, str]:
    """(header, source) of ``<prefix>_init`` / ``<prefix>_push`` with the generated C's API."""
    P = prefix.upper()
    sig_index = {s.name: i for i, s in enumerate(spec.signals)}
    n_in, n_sig = len(spec.inputs), len(spec.signals)
    n_feat = len(spec.feature_names)
    ring = spec.max_length
    fs = spec.sample_rate_hz
    filters = [s for s in spec.signals if s.kind in FILTERS]
    filter_index = {s.name: i for i, s in enumerate(filters)}
    filter_struct = f"    naive_filter filt[{len(filters)}];\n" if filters else ""
    header = f"""/* Naive hand-style featuriser for {spec.name} (bench only; see bench/naive_c.py). */
#ifndef {P}_H
#define {P}_H
#define {P}_N_INPUTS {n_in}
#define {P}_N_FEATURES {n_feat}
#define {P}_EMITTED 1
#define {P}_RING {ring}
typedef struct {{ double b0, b1, b2, a1, a2, gain; int second_order; }} naive_biquad;
typedef struct {{ int n; naive_biquad q[8]; double s1[8], s2[8]; }} naive_filter;  /* <= 8 sections */
typedef struct {prefix}_state {{
    double ring[{n_sig}][{P}_RING];
    double prev[{n_sig}];
{filter_struct}    double features[{P}_N_FEATURES];
    int head;
    long count;
    int started;
}} {prefix}_state;
void {prefix}_init({prefix}_state *st);
int {prefix}_push({prefix}_state *st, const double sample[{P}_N_INPUTS], double out[{P}_N_FEATURES]);
#endif
"""
    column = 0
    dft: dict[int, str] = {}
    by_window: dict[str, list[str]] = {w.name: [] for w in spec.windows}
    for f in spec.features:
        by_window[f.window].append(_feature_call(spec, f, sig_index, column, dft))
        column += len(f.outputs)
    assert column == n_feat

    lines = [
        f'#include "{prefix}.h"',
        "#include <math.h>",
        "#include <stdlib.h>",
        "#include <string.h>",
        f"#define RING {P}_RING",
        FUNCS,
    ]
    lines += [f"static dft_tables dft_{L};" for L in sorted(dft)]
    init = [f"void {prefix}_init({prefix}_state *st) {{", "    memset(st, 0, sizeof *st);"]
    init += [f"    dft_tables_init(&dft_{L}, {L});" for L in sorted(dft)]
    for i, s in enumerate(filters):
        fp = f"&st->filt[{i}]"
        order = int(s.param("order"))
        if s.kind == "bandpass":
            lo, hi = s.param("band")
            init += [
                f"    butter_add({fp}, 1, {order}, {_lit(lo)}, {_lit(fs)});",
                f"    butter_add({fp}, 0, {order}, {_lit(hi)}, {_lit(fs)});",
            ]
        else:
            init.append(
                f"    butter_add({fp}, {int(s.kind == 'highpass')}, {order}, "
                f"{_lit(s.param('cutoff'))}, {_lit(fs)});"
            )
    lines += init + ["}"]
    lines += [
        f"int {prefix}_push({prefix}_state *st, const double sample[{P}_N_INPUTS], "
        f"double out[{P}_N_FEATURES]) {{",
        f"    for (int i = 0; i < {n_in}; ++i) if (!isfinite(sample[i])) return -1;",
        f"    double v[{n_sig}];",
    ]
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
            expr = (
                f"st->started ? {_lit(a)} * v[{src[0]}] + (1.0 - {_lit(a)}) * st->prev[{i}]"
                f" : v[{src[0]}]"
            )
        elif s.kind == "scale":
            expr = f"v[{src[0]}] * {_lit(s.param('factor'))} + {_lit(s.param('offset'))}"
        elif s.kind == "sum":
            expr = " + ".join(f"v[{j}]" for j in src)
        elif s.kind == "difference":
            expr = f"v[{src[0]}] - v[{src[1]}]"
        elif s.kind == "atan2":
            expr = f"atan2(v[{src[0]}], v[{src[1]}])"
        elif s.kind in FILTERS:
            expr = f"filter_step(&st->filt[{filter_index[s.name]}], v[{src[0]}], !st->started)"
        else:
            raise NotImplementedError(f"naive C: signal kind {s.kind}")
        lines.append(f"    v[{i}] = {expr};  /* {s.name} */")
    lines += [
        f"    for (int i = 0; i < {n_sig}; ++i) {{ st->ring[i][st->head] = v[i]; "
        "st->prev[i] = v[i]; }",
        "    st->started = 1;",
        "    st->head = (st->head + 1) % RING;",
        "    st->count += 1;",
        "    if (st->count < RING) return 0;",
        "    long since = st->count - RING;",
        "    int emitted = 0;",
    ]
    for w in spec.windows:
        lines.append(f"    if (since % {w.hop} == 0) {{  /* window {w.name} */")
        lines += ["        " + x for x in by_window[w.name]]
        lines += ["        emitted = 1;", "    }"]
    lines += [
        "    if (!emitted) return 0;",
        "    memcpy(out, st->features, sizeof st->features);",
        "    return 1;",
        "}",
        "",
    ]
    return header, "\n".join(lines)
