"""iOS: the generated Swift package's one detector type refuses a tree model generated for
another feature order (two builds' files mixed), end to end through its throwing initialiser.
(The package's own `swift test`, run by test_swift.py, covers the check function, the golden
stream through the detector and the accepted case.)"""
from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

MAIN = """
do {
    let detector = try @DETECTOR@()
    print("ACCEPTED \\(detector.features.count)")
} catch let error as @DETECTOR@.VersionError {
    print("REFUSED \\(error)")
}
"""


@pytest.mark.parametrize("mismatched", [False, True], ids=["own model", "mismatched model"])
def test_swift_detector_refuses_a_model_of_another_feature_order(example, swiftc, tmp_path,
                                                                   mismatched):
    spec, files, _ = example
    sources = {Path(p).name: t for p, t in files.items()
               if p.startswith("ios/Sources/") and p.endswith(".swift")}
    (model_file,) = [n for n in sources if n.endswith("Model.swift")]
    detector = next(n for n in sources if n.endswith("Detector.swift"))[:-len(".swift")]
    order = hashlib.sha256("".join(f"{n}\n" for n in spec.feature_names).encode()).hexdigest()
    other = hashlib.sha256(b"another spec's feature order").hexdigest()
    constant = f'public static let featureOrderSHA256: String = "{order}"'
    assert constant in sources[model_file]
    if mismatched:
        sources[model_file] = sources[model_file].replace(constant, constant.replace(order, other))
    for name, text in sources.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "main.swift").write_text(MAIN.replace("@DETECTOR@", detector))
    exe = tmp_path / "probe"
    build = subprocess.run([swiftc, "-Onone", "-module-name", "Probe",
                            *sorted(str(tmp_path / n) for n in sources), str(tmp_path / "main.swift"),
                            "-o", str(exe)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    said = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120).stdout.strip()
    if not mismatched:
        assert said == f"ACCEPTED {len(spec.feature_names)}"
        return
    assert said.startswith("REFUSED "), said
    assert other in said and order in said and "another order" in said, said
