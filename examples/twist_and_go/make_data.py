#!/usr/bin/env python3
"""Labelled synthetic IMU recordings for Twist and Go (seeded, reproducible).

A physical model of a phone in a hand, sampled at 50 Hz:

* the phone's orientation is integrated from its body angular velocity (quaternions, 250 Hz
  internally); the accelerometer reads the specific force in the device frame (m/s^2, gravity
  included: a phone lying still reads +9.81 on z), the gyroscope the body rate (rad/s);
* device frame: x to the right of the screen, y along the long axis (towards the top), z out of
  the screen. The gesture is a **twist about the long axis (y)**: out and back, 60-140 degrees,
  0.35-1.0 s, at each subject's own speed and amplitude, sometimes while walking;
* negatives chosen to fool a naive ``|gyro_y| > threshold`` rule: walking with the phone in the
  hand (arm swing, step bounce), picking it up from a table, putting it in a pocket and taking
  it out, and turning the wrist while carrying it (a one-way turn about a tilted axis with a large
  long-axis component, returned seconds later);
* sensor noise, a per-recording bias on every axis, and sample-time jitter (each sample is taken
  at k/50 s plus a random offset, as phone sensor timestamps are).

Each recording is one CSV file (``s03_r01.csv``: acc_x..gyro_z, ``label`` = 1 during a twist and
0 otherwise, ``subject``) or, with ``--format npz``, one archive holding for every recording
``<rec>`` (n, 6) plus ``<rec>.label`` and ``<rec>.subject`` (featgen's NPZ convention).

    python examples/twist_and_go/make_data.py -o out/data            # 8 subjects x 4 x 60 s
    python examples/twist_and_go/make_data.py -o out/small --subjects 3 --recordings 2 --seconds 30
    python examples/twist_and_go/make_data.py -o out/neg --negatives-only --seed 1   # no twists

    python examples/twist_and_go/make_data.py -o out/raw --raw both   # the same motions as
                                        # Android and iOS sensor-event logs (docs/sensors.md)

``--negatives-only`` keeps the look-alike activities and drops the twists (every label 0): the
negative streams on which examples/twist_and_go/evaluate.py counts false openings per hour.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

RATE = 50.0  # Hz, the spec's sample rate
FINE = 250.0  # Hz, the simulation step
G = 9.80665
INPUTS = ("acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z")


# ---------------------------------------------------------------- rotations


def qmul(a, b):
    aw, ax, ay, az = a
    bw, bx, by, bz = b
    return (
        aw * bw - ax * bx - ay * by - az * bz,
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
    )


def qaxis(axis, angle):
    n = math.sqrt(sum(a * a for a in axis)) or 1.0
    s = math.sin(angle / 2) / n
    return (math.cos(angle / 2), axis[0] * s, axis[1] * s, axis[2] * s)


def to_device(q, v):
    """World vector v in the device frame (q rotates device -> world)."""
    w, x, y, z = q
    # R^T v with R from the unit quaternion
    r00, r01, r02 = 1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)
    r10, r11, r12 = 2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)
    r20, r21, r22 = 2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)
    return (
        r00 * v[0] + r10 * v[1] + r20 * v[2],
        r01 * v[0] + r11 * v[1] + r21 * v[2],
        r02 * v[0] + r12 * v[1] + r22 * v[2],
    )


# ---------------------------------------------------------------- activities
# Each returns (omega_body (n, 3) rad/s, accel_world (n, 3) m/s^2 without gravity, label (n,))
# on the fine grid, for its own duration.


def _t(seconds: float) -> np.ndarray:
    return np.arange(max(int(round(seconds * FINE)), 1)) / FINE


def _smooth_noise(rng, n: int, sigma: float, cutoff_hz: float) -> np.ndarray:
    """Band-limited noise: white noise through a one-pole low-pass, rescaled to ``sigma``."""
    a = math.exp(-2 * math.pi * cutoff_hz / FINE)
    kernel = (1 - a) * a ** np.arange(int(8 / (1 - a)) + 1)
    x = rng.normal(0, 1, size=(n + kernel.size, 3))
    y = np.stack([np.convolve(x[:, j], kernel, mode="valid")[:n] for j in range(3)], axis=1)
    return y / (y.std() + 1e-12) * sigma


def hold(rng, subject, seconds):
    t = _t(seconds)
    w = _smooth_noise(rng, t.size, subject["tremor"], 4.0)
    a = _smooth_noise(rng, t.size, 0.15, 3.0)
    return w, a, np.zeros(t.size, np.int8)


def twist(rng, subject, walking=False):
    """Out and back about the long axis: angle(t) = theta (1 - cos(2 pi t / T)) / 2."""
    T = float(np.clip(rng.normal(subject["twist_T"], 0.08), 0.35, 1.0))
    theta = math.radians(float(np.clip(rng.normal(subject["twist_deg"], 15), 60, 140)))
    sign = 1.0 if rng.random() < subject["right_handed"] else -1.0
    t = _t(T)
    rate = sign * theta * math.pi / T * np.sin(2 * math.pi * t / T)
    w = np.zeros((t.size, 3))
    w[:, 1] = rate
    wobble = rng.normal(0, 0.12, size=2)
    w[:, 0] = rate * wobble[0]
    w[:, 2] = rate * wobble[1]
    w += _smooth_noise(rng, t.size, subject["tremor"], 6.0)
    a = _smooth_noise(rng, t.size, 0.6, 4.0)
    if walking:
        w2, a2, _ = walk(rng, subject, T, in_hand=True, phase=rng.uniform(0, 6))
        w, a = w + 0.5 * w2, a + a2
    return w, a, np.ones(t.size, np.int8)


def wrist_turn(rng, subject, theta_deg=None, T=None):
    """One-way turn about a tilted axis with a large long-axis component (and its return is
    another call with the opposite angle): the twist's most convincing impostor."""
    T = T if T is not None else float(rng.uniform(0.7, 1.8))
    theta = math.radians(theta_deg if theta_deg is not None else float(rng.uniform(40, 110)))
    phi = math.radians(float(rng.uniform(10, 45)))
    axis = np.array([math.sin(phi), math.cos(phi), rng.normal(0, 0.2)])
    axis /= np.linalg.norm(axis)
    t = _t(T)
    rate = theta * math.pi / (2 * T) * np.sin(math.pi * t / T)
    w = rate[:, None] * axis[None, :] + _smooth_noise(rng, t.size, subject["tremor"], 4.0)
    a = _smooth_noise(rng, t.size, 0.3, 3.0)
    return w, a, np.zeros(t.size, np.int8)


def fidget(rng, subject):
    """Rocking the phone about its long axis a few times (2-4 Hz, 15-40 degrees): fast long-axis
    rates like a twist's, but several cycles instead of one out-and-back."""
    f = float(rng.uniform(2.0, 4.0))
    cycles = int(rng.integers(2, 5))
    theta = math.radians(float(rng.uniform(15, 40)))
    t = _t(cycles / f)
    w = np.zeros((t.size, 3))
    envelope = np.sin(math.pi * t * f / cycles)
    w[:, 1] = 2 * math.pi * f * theta * np.cos(2 * math.pi * f * t) * envelope
    w[:, 0] = w[:, 1] * rng.normal(0, 0.2)
    w += _smooth_noise(rng, t.size, subject["tremor"], 6.0)
    a = _smooth_noise(rng, t.size, 0.5, 5.0)
    return w, a, np.zeros(t.size, np.int8)


def walk(rng, subject, seconds, in_hand=True, phase=0.0):
    """Steps at the subject's cadence: vertical bounce, sway, and (in the hand) arm swing."""
    t = _t(seconds) + phase
    f = subject["cadence"] * float(rng.uniform(0.95, 1.05))
    a = np.zeros((t.size, 3))
    a[:, 2] = 2.2 * np.sin(2 * math.pi * f * t) + 0.7 * np.sin(4 * math.pi * f * t + 0.4)
    a[:, 0] = 0.8 * np.sin(math.pi * f * t)
    a[:, 1] = 0.6 * np.sin(2 * math.pi * f * t + 1.1)
    swing = subject["arm_swing"] if in_hand else 0.35
    w = np.zeros((t.size, 3))
    w[:, 0] = swing * np.sin(math.pi * f * t)
    w[:, 1] = 0.6 * swing * np.sin(math.pi * f * t + 0.8)  # the hand rolls at stride rate
    w[:, 2] = 0.4 * swing * np.sin(2 * math.pi * f * t + 0.3)
    w += _smooth_noise(rng, t.size, 0.08, 5.0)
    a += _smooth_noise(rng, t.size, 0.4, 6.0)
    return w, a, np.zeros(t.size, np.int8)


def rotate(rng, axis, degrees, seconds, lift=0.0, tremor=0.05):
    """A smooth one-way rotation about a body axis (pick-up, put-down, pocketing)."""
    t = _t(seconds)
    theta = math.radians(degrees)
    axis = np.asarray(axis, dtype=float) / np.linalg.norm(axis)
    rate = theta * math.pi / (2 * seconds) * np.sin(math.pi * t / seconds)
    w = rate[:, None] * axis[None, :] + _smooth_noise(rng, t.size, tremor, 5.0)
    a = _smooth_noise(rng, t.size, 0.5, 4.0)
    a[:, 2] += lift * np.sin(2 * math.pi * t / seconds)
    return w, a, np.zeros(t.size, np.int8)


def still(seconds):
    t = _t(seconds)
    return np.zeros((t.size, 3)), np.zeros((t.size, 3)), np.zeros(t.size, np.int8)


# ---------------------------------------------------------------- recordings


def make_subject(rng, index: int) -> dict:
    return {
        "index": index,
        "twist_T": float(rng.uniform(0.45, 0.8)),
        "twist_deg": float(rng.uniform(75, 120)),
        "right_handed": 0.9 if rng.random() < 0.8 else 0.1,
        "tremor": float(rng.uniform(0.02, 0.07)),
        "cadence": float(rng.uniform(1.6, 2.1)),
        "arm_swing": float(rng.uniform(1.2, 3.5)),
        "hold_pitch": float(rng.uniform(25, 65)),
    }


def scenario(rng, subject, seconds: float, twists: bool = True) -> list:
    """A plausible day-in-the-life sequence of activities, about ``seconds`` long; without
    ``twists``, only the negatives (the same activities in the same proportions to each other)."""
    parts = [
        still(rng.uniform(1.0, 3.0)),
        rotate(
            rng,
            (1, 0, 0),
            subject["hold_pitch"] + rng.uniform(-10, 10),
            rng.uniform(0.8, 1.4),
            lift=2.5,
        ),
    ]
    total = sum(p[0].shape[0] for p in parts) / FINE
    while total < seconds:
        r = rng.random() if twists else 0.40 + 0.60 * rng.random()
        if r < 0.30:
            chunk = [
                hold(rng, subject, rng.uniform(1.0, 3.0)),
                twist(rng, subject),
                hold(rng, subject, rng.uniform(1.0, 3.0)),
            ]
        elif r < 0.40:
            chunk = [
                walk(rng, subject, rng.uniform(2.0, 4.0)),
                twist(rng, subject, walking=True),
                walk(rng, subject, rng.uniform(1.0, 3.0)),
            ]
        elif r < 0.50:
            chunk = [
                hold(rng, subject, rng.uniform(0.5, 2.0)),
                fidget(rng, subject),
                hold(rng, subject, rng.uniform(0.5, 2.0)),
            ]
        elif r < 0.64:
            deg = float(rng.uniform(50, 140))
            T = float(rng.uniform(0.5, 1.5))
            chunk = [
                wrist_turn(rng, subject, deg, T),
                hold(rng, subject, rng.uniform(0.5, 3.0)),
                wrist_turn(rng, subject, -deg, T * rng.uniform(0.8, 1.3)),
            ]
        elif r < 0.78:
            chunk = [walk(rng, subject, rng.uniform(4.0, 12.0))]
        elif r < 0.89:
            axis = (rng.normal(1, 0.3), rng.normal(0.8, 0.3), rng.normal(0, 0.3))
            deg = float(rng.uniform(110, 170))
            chunk = [
                rotate(rng, axis, deg, rng.uniform(0.9, 1.6), lift=-3.0),
                walk(rng, subject, rng.uniform(4.0, 10.0), in_hand=False),
                rotate(rng, axis, -deg, rng.uniform(0.9, 1.6), lift=3.0),
            ]
        else:
            down = subject["hold_pitch"] + rng.uniform(-5, 5)
            chunk = [
                rotate(rng, (1, 0, 0), -down, rng.uniform(0.8, 1.3), lift=-2.5),
                still(rng.uniform(1.0, 4.0)),
                rotate(rng, (1, 0, 0), down, rng.uniform(0.8, 1.3), lift=2.5),
            ]
        parts += chunk
        total += sum(p[0].shape[0] for p in chunk) / FINE
    return parts


def motion(
    rng, subject, seconds: float, twists: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The true motion on the 250 Hz simulation grid: (times (n,) s, specific force and body rate
    in the device frame (n, 6) in m/s^2 and rad/s, Android's axes, labels (n,))."""
    parts = scenario(rng, subject, seconds, twists)
    omega = np.concatenate([p[0] for p in parts])
    accel = np.concatenate([p[1] for p in parts])
    label = np.concatenate([p[2] for p in parts])
    n = omega.shape[0]
    dt = 1.0 / FINE
    q = qaxis((0, 0, 1), rng.uniform(0, 2 * math.pi))  # lying flat, any heading
    gravity = (0.0, 0.0, G)
    rows = []
    for a, (wx, wy, wz) in zip(accel.tolist(), omega.tolist()):
        rows.append(to_device(q, (a[0] + gravity[0], a[1] + gravity[1], a[2] + gravity[2])))
        rate = math.sqrt(wx * wx + wy * wy + wz * wz)
        if rate > 0:
            q = qmul(q, qaxis((wx, wy, wz), rate * dt))
            norm = math.sqrt(sum(c * c for c in q))
            q = tuple(c / norm for c in q)
    return np.arange(n) / FINE, np.concatenate([np.array(rows), omega], axis=1), label


def simulate(rng, subject, seconds: float, twists: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(samples (n, 6) at 50 Hz with jittered sample times, labels (n,))."""
    fine_t, sensors, label = motion(rng, subject, seconds, twists)
    n = fine_t.size
    count = int((fine_t[-1] - 0.01) * RATE)
    times = np.arange(count) / RATE + np.clip(rng.normal(0, 0.002, count), -0.006, 0.006)
    times = np.clip(times, 0, fine_t[-1])
    samples = np.stack([np.interp(times, fine_t, sensors[:, j]) for j in range(6)], axis=1)
    labels = label[np.clip(np.rint(times * FINE).astype(int), 0, n - 1)]
    bias = np.concatenate([rng.normal(0, 0.08, 3), rng.normal(0, 0.01, 3)])
    noise = np.concatenate(
        [rng.normal(0, 0.04, (count, 3)), rng.normal(0, 0.008, (count, 3))], axis=1
    )
    return samples + bias + noise, labels.astype(np.int8)


# ---------------------------------------------------------------- raw sensor events

ACC_HZ = 100.0  # accelerometer events per second (the phone's own rate, not the spec's)
GYRO_HZ = 200.0  # gyroscope: its own clock, its own rate
SENSORS = ("accelerometer", "gyroscope")  # the spec's sensors: names
RAW_COLUMNS = ("sensor", "x", "y", "z", "label", "subject", "platform")


def raw_session(rng, subject, seconds: float, twists: bool = True) -> dict[str, np.ndarray]:
    """One motion as a phone's sensors report it, before any resampling: accelerometer and
    gyroscope events at their own rates and phases (timestamp jitter, about 1 % dropped), each the
    true motion at the event's own time plus bias and noise, in true units and Android's axes
    (m/s^2 with gravity, rad/s), on a since-boot clock in integer ns, merged in time order.
    The motion is the one ``simulate`` samples for the same rng state."""
    fine_t, sensors, label = motion(rng, subject, seconds, twists)
    boot_ns = int(rng.integers(10**10, 10**13))  # the phone has been up 10 s to 2.8 h
    bias = np.concatenate([rng.normal(0, 0.08, 3), rng.normal(0, 0.01, 3)])
    parts = []
    for k, (hz, sigma) in enumerate(((ACC_HZ, 0.04), (GYRO_HZ, 0.008))):
        period = 1.0 / hz
        count = int((fine_t[-1] - 0.01) * hz)
        t = (
            np.arange(count) * period
            + rng.uniform(0, period)
            + np.clip(rng.normal(0, 0.05 * period, count), -0.3 * period, 0.3 * period)
        )
        t = t[(rng.random(count) >= 0.01) & (t <= fine_t[-1])]
        cols = slice(3 * k, 3 * k + 3)
        values = (
            np.stack(
                [np.interp(t, fine_t, sensors[:, j]) for j in range(cols.start, cols.stop)], axis=1
            )
            + bias[cols]
            + rng.normal(0, sigma, (t.size, 3))
        )
        labels = label[np.clip(np.rint(t * FINE).astype(int), 0, fine_t.size - 1)]
        parts.append(
            (boot_ns + np.rint(t * 1e9).astype(np.int64), np.full(t.size, k), values, labels)
        )
    t_ns = np.concatenate([p[0] for p in parts])
    order = np.argsort(t_ns, kind="stable")  # arrival order: by time, accelerometer
    return {
        "t_ns": t_ns[order],  # first on a tie
        "sensor": np.concatenate([p[1] for p in parts])[order],
        "values": np.concatenate([p[2] for p in parts])[order],
        "label": np.concatenate([p[3] for p in parts])[order].astype(np.int8),
    }


def raw_rows(session: dict, platform: str) -> tuple[list[str], list[list[str]]]:
    """The session as the platform's app would log it (docs/sensors.md, "Raw logs"):

    * android: ``t_ns`` (SensorEvent.timestamp), m/s^2 and rad/s as ``float`` (SensorEvent.values
      is a float[]; written as its shortest decimal, like ``Float.toString``);
    * ios: ``t_s`` (CMLogItem.timestamp, seconds as a double), acceleration in g with Core
      Motion's sign (lying face up reads z = -1), rotation rate in rad/s, doubles, exact repr.
    """
    rows = []
    for t, k, v, lab in zip(
        session["t_ns"].tolist(),
        session["sensor"].tolist(),
        session["values"],
        session["label"].tolist(),
    ):
        if platform == "android":
            time = str(t)
            xyz = [str(np.float32(c)) for c in v]
        else:
            time = repr(t / 1e9)
            xyz = [repr(float(-c / G)) if k == 0 else repr(float(c)) for c in v]
        rows.append([time, SENSORS[k], *xyz, str(lab)])
    return ["t_ns" if platform == "android" else "t_s"], rows


def generate_raw(
    subjects: int = 8,
    recordings: int = 4,
    seconds: float = 60.0,
    seed: int = 20261125,
    twists: bool = True,
) -> dict[str, tuple[dict, int]]:
    """{recording name: (raw_session, subject)}: the motions ``generate`` samples, as events."""
    out = {}
    for s in range(subjects):
        subject = make_subject(np.random.default_rng([seed, s]), s)
        for r in range(recordings):
            rng = np.random.default_rng([seed, s, r + 1])
            out[f"s{s:02d}_r{r:02d}"] = (raw_session(rng, subject, seconds, twists), s)
    return out


def write_raw(data: dict, out: Path, platforms: tuple[str, ...]) -> list[Path]:
    """``<recording>.<platform>.csv`` per recording and platform: the same motion and events."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, (session, subject) in data.items():
        for platform in platforms:
            time, rows = raw_rows(session, platform)
            path = out / f"{name}.{platform}.csv"
            lines = [",".join((*time, *RAW_COLUMNS))]
            lines += [",".join((*row, str(subject), platform)) for row in rows]
            path.write_text("\n".join(lines) + "\n")
            paths.append(path)
    return paths


def generate(
    subjects: int = 8,
    recordings: int = 4,
    seconds: float = 60.0,
    seed: int = 20261125,
    twists: bool = True,
) -> dict[str, tuple[np.ndarray, np.ndarray, int]]:
    """{recording name: (samples, labels, subject)}; the same arguments give the same data.
    ``twists=False``: negative streams only (every label 0), for false openings per hour."""
    out = {}
    for s in range(subjects):
        subject = make_subject(np.random.default_rng([seed, s]), s)
        for r in range(recordings):
            rng = np.random.default_rng([seed, s, r + 1])
            samples, labels = simulate(rng, subject, seconds, twists)
            out[f"s{s:02d}_r{r:02d}"] = (samples, labels, s)
    return out


def write(data: dict, out: Path, fmt: str = "csv") -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    if fmt == "npz":
        arrays = {}
        for name, (samples, labels, subject) in data.items():
            arrays[name] = samples
            arrays[f"{name}.label"] = labels
            arrays[f"{name}.subject"] = np.full(labels.shape, subject, dtype=np.int64)
        path = out / "twist_and_go.npz"
        np.savez_compressed(path, **arrays)
        return [path]
    paths = []
    for name, (samples, labels, subject) in data.items():
        path = out / f"{name}.csv"
        lines = [",".join((*INPUTS, "label", "subject"))]
        for row, label in zip(samples, labels):
            lines.append(",".join(f"{v:.6f}" for v in row) + f",{int(label)},{subject}")
        path.write_text("\n".join(lines) + "\n")
        paths.append(path)
    return paths


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", required=True, type=Path, help="output directory")
    parser.add_argument("--subjects", type=int, default=8)
    parser.add_argument("--recordings", type=int, default=4, help="per subject")
    parser.add_argument("--seconds", type=float, default=60.0, help="per recording")
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--format", choices=("csv", "npz"), default="csv")
    parser.add_argument(
        "--negatives-only",
        action="store_true",
        help="no twists: only the look-alike activities (label 0 throughout)",
    )
    parser.add_argument(
        "--raw",
        choices=("android", "ios", "both"),
        help="write raw sensor-event logs (t_ns|t_s, sensor, x, y, z, ...) of the "
        "same motions instead of 50 Hz recordings: the input of the spec's "
        "sensors: block (docs/sensors.md)",
    )
    args = parser.parse_args(argv)
    if args.raw:
        raw = generate_raw(
            args.subjects, args.recordings, args.seconds, args.seed, twists=not args.negatives_only
        )
        platforms = ("android", "ios") if args.raw == "both" else (args.raw,)
        paths = write_raw(raw, args.output, platforms)
        events = sum(len(v[0]["t_ns"]) for v in raw.values())
        print(
            f"wrote {len(paths)} raw log(s) ({events} events each platform) to "
            f"{', '.join(map(str, paths[:2]))}{' ...' if len(paths) > 2 else ''}"
        )
        return
    data = generate(
        args.subjects, args.recordings, args.seconds, args.seed, twists=not args.negatives_only
    )
    paths = write(data, args.output, args.format)
    samples = np.concatenate([d[0] for d in data.values()])
    labels = np.concatenate([d[1] for d in data.values()])
    naive = np.abs(samples[:, 4]) > 2.5
    hit = (naive & (labels == 1)).sum()
    print(
        f"wrote {len(data)} recordings ({samples.shape[0]} samples, "
        f"{100 * labels.mean():.1f}% twist) to {', '.join(map(str, paths[:2]))}"
        f"{' ...' if len(paths) > 2 else ''}"
    )
    print(
        f"naive rule |gyro_y| > 2.5 rad/s: precision {hit / max(naive.sum(), 1):.2f}, "
        f"recall {hit / max(labels.sum(), 1):.2f} (per sample)"
    )


if __name__ == "__main__":
    main()
