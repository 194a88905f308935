"""Issue #7: exact incremental min/max (argmin/argmax/range) on the device, measured against the
generated C (``python3 -m bench.incremental [--quick]``; ``run_rows(res, work)`` for bench/run.py).

The generated C recomputes each window's features from its contiguous copy in the doubled ring
when the window is due; since #9 one fused loop per window does the min/max selects together
with the other per-sample work. This module builds, from the current generator's C of the
example's device featuriser (``examples/twist_and_go/spec.yaml``, what the phone runs), three
variants by rewriting the generated text, and times them against it in the same run:

* ``incremental``: every min/max/argmin/argmax/range of a window's samples comes from a per-push
  van Herk/Gil-Werman structure kept in the state (per signal, window length and direction):
  the extreme of the current block of L pushes so far (one select per push), the suffix
  extremes of the previous block (recomputed once per L pushes, one fused loop for all the
  structures of that length), and at evaluation ``pre < suf[c+1] ? pre : suf[c+1]``. It is exact:
  the sequential rule ``x < best ? x : best`` keeps the first of equal values (-0.0 before +0.0,
  the first index for argmin/argmax), so the suffix scan keeps the earlier on ties (``<=``) and
  the combination prefers the suffix (earlier) on ties; a NaN makes the sequential result
  depend on where it sits (``w[0]`` NaN gives NaN, a later NaN is skipped), so a derived signal
  counts the NaNs among its last L samples and a window holding one runs the original loop (the
  inputs are finite: ``push`` rejects the rest). Checked bit for bit against the generated C on
  the timed recording and on the parity suite's hostile recording (ties, signed zeros, huge,
  tiny, subnormal and rejected samples) with an extra stretch whose magnitudes overflow to inf.
* ``ceiling_minmax``: the min/max selects simply deleted (wrong values): what the generated C
  would cost if an incremental scheme's upkeep were free, the most any scheme can save;
* ``ceiling_all``: also the per-sample work of every other family whose sliding value is
  order-free (count_above, histogram, longest runs, zero crossings): the most that exact
  incremental updates of all such families could save.

Rows ``device.incremental.*``: ns per push (process CPU time, interleaved rounds, median),
callgrind instructions per push (exact), ``sizeof(state)``; ratios are generated C / variant
(> 1: the variant is cheaper; for the state < 1: it is bigger).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np

from . import cbench, specs
from .common import Results, Row

SECTION = "2 on-device cost"
ROW_IDS = (
    "device.incremental.minmax.push",
    "device.incremental.minmax.callgrind",
    "device.incremental.minmax.state",
    "device.incremental.ceiling_minmax.push",
    "device.incremental.ceiling_minmax.callgrind",
    "device.incremental.ceiling_all.push",
    "device.incremental.ceiling_all.callgrind",
)

_SELECT = re.compile(
    r"^\s+(best2?_f\d+) = \(\(w_(\w+)\[k\w*\] ([<>]) \1\) \? "
    r"w_\2\[k\w*\] : \1\);\n",
    re.M,
)
_SELECT_AT = re.compile(
    r"^\s+(best_at_f\d+) = \(\(w_(\w+)\[k\w*\] ([<>]) (best_f\d+)\) \? "
    r"\(double\)\(k\w*\) : \1\);\n",
    re.M,
)
_DECL = re.compile(r"^(\s+)double (best2?_f\d+|best_at_f\d+) = ([^;]+);$", re.M)
_ANY_SELECT = re.compile(r"^\s+best(2|_at)?_f\d+ = \(\(w_\w+\[k\w*\] [<>] best\w*\) \? .*\n", re.M)


def incremental_variant(c_src: str, h_src: str, prefix: str) -> tuple[str, str, int]:
    """The generated C and header with every window-sample min/max select replaced by a per-push
    block structure (see the module docstring); returns (c, h, structures)."""
    P = prefix.upper()
    R = int(re.search(rf"#define {P}_RING_LENGTH (\d+)", h_src).group(1))
    inputs = set(re.findall(r"^    const double s_(\w+) = sample\[\d+\];$", c_src, re.M))
    ext: dict[str, dict] = {}
    nan: set[tuple[str, int]] = set()
    chunks = re.split(r"(?=^/\* Window \w+: \d+ samples)", c_src, flags=re.M)
    out = [chunks[0]]
    for ch in chunks[1:]:
        L = int(re.match(r"/\* Window \w+: (\d+) samples", ch).group(1))
        end = ch.index("\n}\n") + 3
        body, rest = ch[:end], ch[end:]
        names = {
            m.group(1): (m.group(2), "min" if m.group(3) == "<" else "max", False)
            for m in _SELECT.finditer(body)
        }
        names.update(
            {
                m.group(1): (m.group(2), "min" if m.group(3) == "<" else "max", True)
                for m in _SELECT_AT.finditer(body)
            }
        )
        if not names:
            out.append(ch)
            continue
        body = _SELECT_AT.sub("", _SELECT.sub("", body))
        code = [
            f"        const int c_{L} = (st->blk_{L} == 0) ? {L - 1} : st->blk_{L} - 1; "
            f"/* the newest sample's place in its block */"
        ]

        def declare(m: re.Match) -> str:
            var = m.group(2)
            if var not in names:
                return m.group(0)
            sig, d, at = names[var]
            if m.group(3) != ("0.0" if at else f"w_{sig}[0]"):
                raise RuntimeError(f"unexpected start of {var}: {m.group(3)}")
            X = f"x{d}_{sig}_{L}"
            e = ext.setdefault(X, dict(sig=sig, L=L, dir=d, at=False))
            e["at"] |= at
            op = "<" if d == "min" else ">"
            pick = f"(st->{X}_pre {op} st->{X}_suf[c_{L} + 1])"
            if at:
                slot = (
                    f"((c_{L} == {L - 1}) ? st->{X}_preat : ({pick} ? st->{X}_preat : "
                    f"st->{X}_sufat[c_{L} + 1]))"
                )
                fast = f"(double)(({slot} + {2 * R} - start) % {R})"
                slow = (
                    f"{{ double b = w_{sig}[0]; {var} = 0.0; for (int k = 1; k < {L}; ++k) {{ "
                    f"{var} = ((w_{sig}[k] {op} b) ? (double)(k) : {var}); "
                    f"b = ((w_{sig}[k] {op} b) ? w_{sig}[k] : b); }} }}"
                )
            else:
                fast = (
                    f"(c_{L} == {L - 1}) ? st->{X}_pre : ({pick} ? st->{X}_pre : "
                    f"st->{X}_suf[c_{L} + 1])"
                )
                slow = (
                    f"{{ {var} = w_{sig}[0]; for (int k = 1; k < {L}; ++k) {{ "
                    f"{var} = ((w_{sig}[k] {op} {var}) ? w_{sig}[k] : {var}); }} }}"
                )
            if sig in inputs:
                code.append(f"        {var} = {fast};")
            else:
                nan.add((sig, L))
                code.append(
                    f"        if (st->nan_{sig}_{L} == 0) {{ {var} = {fast}; }} else {slow}"
                )
            return f"{m.group(1)}double {var};"

        body = _DECL.sub(declare, body)
        last = list(re.finditer(r"^\s+double (best2?_f\d+|best_at_f\d+);$", body, re.M))[-1]
        out.append(body[: last.end()] + "\n" + "\n".join(code) + body[last.end() :] + rest)
    if not ext:
        raise RuntimeError("no min/max select found in the generated C")
    c = "".join(out)
    if _ANY_SELECT.search(c):
        raise RuntimeError("a min/max select of an unexpected form is left")
    lengths = sorted({e["L"] for e in ext.values()})
    fields = [
        f"    int blk_{L}; /* pushes since the current {L}-push block began */" for L in lengths
    ]
    fields += [
        f"    int nan_{s}_{L}; /* NaNs among the last {L} samples of {s} */" for s, L in sorted(nan)
    ]
    for X, e in ext.items():
        fields.append(
            f"    double {X}_suf[{e['L']}]; /* {e['dir']} of the previous block from "
            f"each place on */"
        )
        fields.append(f"    double {X}_pre; /* {e['dir']} of the current block so far */")
        if e["at"]:
            fields += [
                f"    int {X}_sufat[{e['L']}]; /* their ring slots */",
                f"    int {X}_preat;",
            ]
    anchor = "    int pos; /* ring slot"
    if anchor not in h_src:
        raise RuntimeError("no state field 'pos' in the header")
    h = h_src.replace(anchor, "\n".join(fields) + "\n" + anchor)
    # NaN counts: before the ring writes (with L == ring length the leaving sample's slot is the
    # one being written)
    counts = [
        f"    {{ const int old = (st->pos >= {L}) ? st->pos - {L} : st->pos + {R - L}; "
        f"st->nan_{s}_{L} += (s_{s} != s_{s}) - "
        f"(st->ring_{s}[old] != st->ring_{s}[old]); }}"
        for s, L in sorted(nan)
    ]
    # codegen/streaming.py's ring write: `slot` is the slot this sample goes to, taken from
    # st->pos just before pos advances; the counts go before it, the block update after the
    # last ring write (both reading the slot this sample fills).
    first = re.search(r"^    const int slot = st->pos;", c, re.M)
    if first is None:
        raise RuntimeError("no 'slot' line in push")
    c = c[: first.start()] + "".join(x + "\n" for x in counts) + c[first.start() :]
    upd = ["    {", "        const int p = slot;"]
    upd += [f"        const int c_{L} = st->blk_{L};" for L in lengths]
    for X, e in ext.items():
        sig, L, op = e["sig"], e["L"], "<" if e["dir"] == "min" else ">"
        at0 = f" st->{X}_preat = p;" if e["at"] else ""
        at1 = f" st->{X}_preat = (x {op} st->{X}_pre) ? p : st->{X}_preat;" if e["at"] else ""
        upd += [
            f"        {{ /* {X} */",
            f"            const double x = st->ring_{sig}[p];",
            f"            if (c_{L} == 0) {{ st->{X}_pre = x;{at0} }}",
            f"            else {{{at1} st->{X}_pre = (x {op} st->{X}_pre) ? x : st->{X}_pre; }}",
            "        }",
        ]
    for L in lengths:
        mine = [(X, e) for X, e in ext.items() if e["L"] == L]
        upd.append(f"        if (c_{L} == {L - 1}) {{ /* block complete: its suffix extremes */")
        for X, e in mine:
            upd += [
                f"            const double *b_{X} = st->ring_{e['sig']} + p + {R - L + 1};",
                f"            double s_{X} = b_{X}[{L - 1}];",
                f"            st->{X}_suf[{L - 1}] = s_{X};",
            ]
            if e["at"]:
                upd.append(f"            int sa_{X} = p; st->{X}_sufat[{L - 1}] = p;")
        upd.append(f"            for (int j = {L - 2}; j >= 0; --j) {{")
        for X, e in mine:
            ope = "<=" if e["dir"] == "min" else ">="
            if e["at"]:
                upd += [
                    f"                sa_{X} = (b_{X}[j] {ope} s_{X}) ? "
                    f"((p + {R - L + 1} + j) % {R}) : sa_{X};",
                    f"                st->{X}_sufat[j] = sa_{X};",
                ]
            upd += [
                f"                s_{X} = (b_{X}[j] {ope} s_{X}) ? b_{X}[j] : s_{X};",
                f"                st->{X}_suf[j] = s_{X};",
            ]
        upd += ["            }", "        }"]
    upd += [f"        st->blk_{L} = (c_{L} + 1 == {L}) ? 0 : c_{L} + 1;" for L in lengths]
    upd.append("    }")
    writes = list(re.finditer(rf"^    st->ring_\w+\[slot \+ {P}_RING_LENGTH\] = .*\n", c, re.M))
    if not writes:
        raise RuntimeError("no ring write in push")
    last = writes[-1].end()
    c = c[:last] + "\n".join(upd) + "\n" + c[last:]
    return c, h, len(ext)


def ceiling_variants(c_src: str) -> tuple[str, str]:
    """(min/max selects deleted, every order-free family's per-sample work deleted): NOT
    bit-identical, the cost floor of incremental schemes whose upkeep were free."""
    minmax, n = _ANY_SELECT.subn("", c_src)
    if not n:
        raise RuntimeError("no min/max select found")
    every, k = re.subn(r"^\s+(count\d*|run|longest)_f\d+ = .*\n", "", minmax, flags=re.M)
    for f in set(re.findall(r"double sign_(f\d+) = \(\(\(w_\w+\[k\w*\] - 0\.0\)", every)):
        every, j = re.subn(
            rf"^\s+(double sign|crossings|last_sign)_{f} = .*\n", "", every, flags=re.M
        )
        k += j
    if not k:
        raise RuntimeError("no count/run/crossing work found")
    return minmax, every


def _hostile(n: int, n_inputs: int) -> np.ndarray:
    from featgen.harness.recordings import edge_case_recording

    x = edge_case_recording(n, n_inputs, seed=20261125, nonfinite=True)
    x[n // 3 : n // 3 + n // 20] *= 1e300  # magnitudes and differences overflow to inf
    return x


def _example_device():
    """The example's device featuriser: its plan (``Bundle.device``) and its C source and
    header by file name (the C target's roles), read from the build, not scraped."""
    from codegen.build import generate
    from featurespec import load_spec

    bundle = generate(load_spec(specs.EXAMPLE))
    sources = {}
    for role in ("device_source", "device_header"):
        text = bundle.text("C", role)
        sources[Path(bundle.role("C", role)).name] = (
            text if isinstance(text, str) else text.decode()
        )
    return bundle.device, sources


def _median_by_windows_due(per_push: np.ndarray, device) -> dict:
    """Median wall ns of one push (clock_gettime around each, ~25 ns of it the clock) by the
    windows evaluated on it (the plan's windows and warm-up; every push accepted)."""
    max_len = device.warmup
    windows = [(w.name, w.hop) for w in device.windows]
    groups: dict[str, list[float]] = {}
    for i, ns in enumerate(per_push):
        if i < max_len - 1:
            key = "filling"
        else:
            key = "+".join(w for w, hop in windows if (i - max_len + 1) % int(hop) == 0)
        groups.setdefault(key, []).append(float(ns))
    out = {k: float(np.median(v)) for k, v in groups.items()}
    due = {k: len(v) for k, v in groups.items() if k != "filling"}
    # the mean push from the medians: robust to a neighbour's bursts, unlike the loop's mean
    out["mean_of_medians"] = sum(out[k] * c for k, c in due.items()) / sum(due.values())
    return out


def measure(work: Path, quick: bool) -> dict:
    device, sources = _example_device()
    name = device.name
    c_name, h_name = f"{name}_features.c", f"{name}_features.h"
    P = name.upper()
    n_features = device.n_features
    inc_c, inc_h, n_struct = incremental_variant(sources[c_name], sources[h_name], name)
    ceil_mm, ceil_all = ceiling_variants(sources[c_name])
    texts = {
        "generated": (sources[c_name], sources[h_name]),
        "incremental": (inc_c, inc_h),
        "ceiling_minmax": (ceil_mm, sources[h_name]),
        "ceiling_all": (ceil_all, sources[h_name]),
    }
    benches = {
        t: cbench.CBench(
            work / t, {c_name: c, h_name: h}, h_name, name, f"{name}_state", P, n_features
        )
        for t, (c, h) in texts.items()
    }
    n = 5_000 if quick else 100_000
    rounds, reps = (1, 1) if quick else (5, 3)
    samples = specs.recording(n, 6, seed=11)
    hostile = _hostile(3_000 if quick else 20_000, 6)
    paths = {t: b.write_samples(samples) for t, b in benches.items()}
    identical = {}
    for tag, rec in (("recording", samples), ("hostile", hostile)):
        ref = benches["generated"].dump(benches["generated"].write_samples(rec, f"{tag}.bin"))
        got = benches["incremental"].dump(benches["incremental"].write_samples(rec, f"{tag}.bin"))
        identical[tag] = bool(
            ref.shape == got.shape and (ref.view(np.int64) == got.view(np.int64)).all()
        )
    loops = {t: [] for t in benches}
    info = {}
    for _ in range(rounds):  # interleaved: the neighbours load all alike
        for t, b in benches.items():
            info[t] = b.loop(paths[t], reps)
            loops[t] += info[t]["loop_ns"]
    by_due = {t: _median_by_windows_due(benches[t].perpush(paths[t]), device) for t in benches}
    cg = samples[: 2_000 if quick else 20_000]
    ir = {}
    for t, b in benches.items():
        total, pushes = b.callgrind(b.write_samples(cg, "cg.bin"))
        ir[t] = total / pushes
    return {
        "name": name,
        "n": n,
        "structures": n_struct,
        "identical": identical,
        "ns": {t: float(np.median(v)) / n for t, v in loops.items()},
        "repeats": {t: [x / n for x in v] for t, v in loops.items()},
        "ns_emitted": {t: float(np.median(v)) / info[t]["emitted"] for t, v in loops.items()},
        "ir": ir,
        "state": {t: info[t]["sizeof_state"] for t in benches},
        "pushes_cg": len(cg),
        "by_due": by_due,
    }


def run_rows(res: Results, work: Path) -> None:
    """The ``device.incremental.*`` rows; every row becomes an error row if the run fails."""
    try:
        m = measure(Path(work) / "incremental", res.quick)
        if not all(m["identical"].values()):
            raise RuntimeError(
                f"incremental C is not bit-identical to the generated C: {m['identical']}"
            )
    except Exception as exc:  # noqa: BLE001 - reported as error rows
        for rid in ROW_IDS:
            res.error(rid, SECTION, rid, exc)
        return
    res.checks["incremental_bit_identical"] = m["identical"]
    ns, ir, st = m["ns"], m["ir"], m["state"]
    base = "generated C (device featuriser)"
    common = {
        "featuriser": m["name"],
        "pushes": m["n"],
        "generated_ns_per_push": ns["generated"],
        "generated_ns_per_emitted": m["ns_emitted"]["generated"],
        "generated_ir_per_push": ir["generated"],
        "callgrind_pushes": m["pushes_cg"],
    }
    res.add(
        Row(
            "device.incremental.minmax.push",
            SECTION,
            f"exact incremental min/max/argmin/argmax/range ({m['structures']} per-push "
            f"block structures), {m['name']}",
            ns["incremental"],
            "ns/push",
            peer=base,
            ratio=ns["generated"] / ns["incremental"],
            params={
                **common,
                "ns_per_emitted": m["ns_emitted"]["incremental"],
                "bit_identical": m["identical"],
                "median_ns_by_windows_due": {
                    t: m["by_due"][t] for t in ("generated", "incremental")
                },
            },
            repeats=m["repeats"]["incremental"],
            note=f"generated C {ns['generated']:,.0f} ns/push in the same run; one push by "
            f"windows due (median), generated -> incremental: "
            + ", ".join(
                f"{k} {g:,.0f} -> {m['by_due']['incremental'][k]:,.0f}"
                for k, g in m["by_due"]["generated"].items()
            )
            + f" ns; bit-identical to it on the recording and the hostile one: "
            f"{m['identical']}",
        )
    )
    res.add(
        Row(
            "device.incremental.minmax.callgrind",
            SECTION,
            "  exact incremental min/max: instructions per push",
            ir["incremental"],
            "Ir/push",
            peer=base,
            ratio=ir["generated"] / ir["incremental"],
            params=common,
            note=f"generated C {ir['generated']:,.0f} Ir/push",
        )
    )
    res.add(
        Row(
            "device.incremental.minmax.state",
            SECTION,
            "  exact incremental min/max: sizeof(state)",
            st["incremental"],
            "bytes",
            peer=base,
            ratio=st["generated"] / st["incremental"],
            params={"generated_bytes": st["generated"]},
            note=f"+{st['incremental'] - st['generated']:,} B: one double per sample of the "
            "window per structure (suffix extremes), int slots for argmin/argmax",
        )
    )
    for tag, what in (
        (
            "ceiling_minmax",
            "min/max selects deleted (not exact): the most any incremental min/max can save",
        ),
        (
            "ceiling_all",
            "all order-free families' per-sample work deleted (not "
            "exact): the most exact incremental updates can save",
        ),
    ):
        g, c = m["by_due"]["generated"], m["by_due"][tag]
        res.add(
            Row(
                f"device.incremental.{tag}.push",
                SECTION,
                f"  ceiling: {what}",
                ns[tag],
                "ns/push",
                peer=base,
                ratio=ns["generated"] / ns[tag],
                params={**common, "median_ns_by_windows_due": c},
                repeats=m["repeats"][tag],
                note="one push by windows due (median), generated -> this: "
                + ", ".join(f"{k} {v:,.0f} -> {c[k]:,.0f}" for k, v in g.items())
                + " ns",
            )
        )
        res.add(
            Row(
                f"device.incremental.{tag}.callgrind",
                SECTION,
                f"  ceiling: {tag.split('_')[1]} families, instructions per push",
                ir[tag],
                "Ir/push",
                peer=base,
                ratio=ir["generated"] / ir[tag],
                params=common,
            )
        )


def main(argv: list[str] | None = None) -> int:
    import argparse
    import tempfile

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--keep", type=Path, help="keep the built variants here")
    args = ap.parse_args(argv)
    res = Results(quick=args.quick)
    with tempfile.TemporaryDirectory(prefix="featgen-incr-") as tmp:
        run_rows(res, args.keep or Path(tmp))
    for r in res.rows:
        ratio = f"  x{r.ratio:.3f} vs {r.peer}" if r.ratio is not None else ""
        value = f"{r.value:,.1f} {r.unit}" if r.value is not None else r.status
        print(f"{r.id:45s} {value:>18s}{ratio}  {r.note}")
    print("checks:", res.checks)
    return 1 if any(r.status == "error" for r in res.rows) else 0


if __name__ == "__main__":
    sys.exit(main())
