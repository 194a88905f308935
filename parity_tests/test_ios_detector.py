"""iOS: the generated Swift package's one detector type refuses a tree model or a Core ML model
generated for another feature order (two builds' files mixed), end to end: its throwing
initialiser, and its Core ML check fed with the real .mlmodel's metadata. (The package's own
`swift test`, run by test_swift.py, covers the check function, the golden stream through the
detector and the accepted case.) The Core ML path is compiled out on Linux; it is type-checked
here against a minimal declaration of the Core ML API it uses."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from codegen.trees import coreml
from codegen.trees.build import coreml_path
from featgen.harness import prediction as mh

MAIN = """
do {
    let detector = try @DETECTOR@()
    print("ACCEPTED \\(detector.features.count)")
} catch let error as @DETECTOR@.VersionError {
    print("REFUSED \\(error)")
}
do {
    try @DETECTOR@.checkCoreMLMetadata([CommandLine.arguments[1]: CommandLine.arguments[2]])
    print("COREML ACCEPTED")
} catch let error as @DETECTOR@.VersionError {
    print("COREML REFUSED \\(error)")
}
"""


def _mlmodel_metadata(files: dict, name: str) -> dict[str, str]:
    model = coreml.proto().Model()
    model.ParseFromString(files[coreml_path(name)])
    return dict(model.description.metadata.userDefined)


def _library_sources(files: dict) -> dict[str, str]:
    return {
        Path(p).name: t
        for p, t in files.items()
        if p.startswith("ios/Sources/") and p.endswith(".swift")
    }


@pytest.mark.parametrize("mismatched", [False, True], ids=["own model", "mismatched model"])
def test_swift_detector_refuses_a_model_of_another_feature_order(
    example, swiftc, tmp_path, mismatched
):
    spec, files, _ = example
    sources = _library_sources(files)
    (model_file,) = [n for n in sources if n.endswith("Model.swift")]
    detector = next(n for n in sources if n.endswith("Detector.swift"))[: -len(".swift")]
    _, columns = mh.device_featuriser(files, spec.name)  # the model reads the device vector
    names = [spec.feature_names[c] for c in columns]
    order = hashlib.sha256("".join(f"{n}\n" for n in names).encode()).hexdigest()
    other = hashlib.sha256(b"another spec's feature order").hexdigest()
    constant = f'public static let featureOrderSHA256: String = "{order}"'
    assert constant in sources[model_file]
    key = "featgen.feature_order_sha256"
    coreml_order = _mlmodel_metadata(files, spec.name)[key]  # what the .mlmodel says
    assert coreml_order == order
    if mismatched:
        sources[model_file] = sources[model_file].replace(constant, constant.replace(order, other))
        coreml_order = other
    for name, text in sources.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "main.swift").write_text(MAIN.replace("@DETECTOR@", detector))
    exe = tmp_path / "probe"
    build = subprocess.run(
        [
            swiftc,
            "-Onone",
            "-module-name",
            "Probe",
            *sorted(str(tmp_path / n) for n in sources),
            str(tmp_path / "main.swift"),
            "-o",
            str(exe),
        ],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr
    said = (
        subprocess.run([str(exe), key, coreml_order], capture_output=True, text=True, timeout=120)
        .stdout.strip()
        .splitlines()
    )
    if not mismatched:
        assert said == [f"ACCEPTED {len(names)}", "COREML ACCEPTED"]  # the device vector
        return
    assert said[0].startswith("REFUSED ") and said[1].startswith("COREML REFUSED "), said
    for line in said:
        assert other in line and order in line and "another order" in line, said


# The declarations of Apple's Core ML that the generated Core ML file uses, with Apple's
# signatures (CoreML.framework, iOS 13 / macOS 10.15 SDK), so swiftc can type-check that file on
# Linux, where `canImport(CoreML)` is false and the file is otherwise compiled out.
COREML_INTERFACE = """
public struct MLModelMetadataKey: Hashable, RawRepresentable {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let creatorDefinedKey = MLModelMetadataKey(rawValue: "MLModelCreatorDefinedKey")
}
open class MLModelDescription {
    open var metadata: [MLModelMetadataKey: Any] { return [:] }
}
public protocol MLFeatureProvider {
    var featureNames: Set<String> { get }
    func featureValue(for featureName: String) -> MLFeatureValue?
}
open class MLFeatureValue {
    public init(double value: Double) {}
}
open class MLDictionaryFeatureProvider: MLFeatureProvider {
    public init(dictionary: [String: Any]) throws {}
    public var featureNames: Set<String> { return [] }
    public func featureValue(for featureName: String) -> MLFeatureValue? { return nil }
}
open class MLModel {
    open var modelDescription: MLModelDescription { return MLModelDescription() }
    open func prediction(from input: MLFeatureProvider) throws -> MLFeatureProvider { return input }
}
"""


def test_coreml_path_type_checks_against_the_core_ml_interface(example, swiftc, tmp_path):
    spec, files, _ = example
    interface = tmp_path / "interface"
    interface.mkdir()
    (interface / "CoreML.swift").write_text(COREML_INTERFACE)
    run = subprocess.run(
        [
            swiftc,
            "-emit-module",
            "-module-name",
            "CoreML",
            "-parse-as-library",
            str(interface / "CoreML.swift"),
            "-emit-module-path",
            str(interface / "CoreML.swiftmodule"),
        ],
        capture_output=True,
        text=True,
        cwd=interface,
    )
    assert run.returncode == 0, run.stderr
    sources = _library_sources(files)
    (coreml_file,) = [n for n in sources if n.endswith("CoreML.swift")]
    assert "#if canImport(CoreML)" in sources[coreml_file]
    for name, text in sources.items():
        (tmp_path / name).write_text(text)
    run = subprocess.run(
        [
            swiftc,
            "-typecheck",
            "-parse-as-library",
            "-warnings-as-errors",
            "-I",
            str(interface),
            "-module-name",
            "TwistAndGoFeatures",
            *sorted(str(tmp_path / n) for n in sources),
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    # the control: with the interface visible, the Core ML code is really compiled
    broken = sources[coreml_file].replace(
        "checkCoreMLMetadata(metadata)", "checkCoreMLMetadat(metadata)"
    )
    (tmp_path / coreml_file).write_text(broken)
    run = subprocess.run(
        [
            swiftc,
            "-typecheck",
            "-parse-as-library",
            "-I",
            str(interface),
            "-module-name",
            "TwistAndGoFeatures",
            *sorted(str(tmp_path / n) for n in sources),
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode != 0 and "checkCoreMLMetadat" in run.stderr
