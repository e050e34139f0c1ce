"""The CPU guard: a build that needs what the kernel does not enable stops with one line."""

from pathlib import Path

import pytest

from aflab.core.errors import UsageError
from aflab.models import engine
from aflab.models.cpu import built_features, check_cpu, kernel_flags, missing_features

# What llama-cpp-python 0.3.36 built with native detection printed on a machine whose CPUID
# advertises AMX and AVX-512 extensions that its kernel does not enable (issue 11).
NATIVE_INFO = (
    "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX_VNNI = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | "
    "BMI2 = 1 | AVX512 = 1 | AVX512_VBMI = 1 | AVX512_VNNI = 1 | AVX512_BF16 = 1 | "
    "AMX_INT8 = 1 | LLAMAFILE = 1 | OPENMP = 1 | REPACK = 1 | "
)
PORTABLE_INFO = (
    "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | "
    "LLAMAFILE = 1 | OPENMP = 1 | REPACK = 1 | "
)
# That machine's kernel: AVX-512 foundation and VNNI, but no VBMI, BF16 or AMX.
KERNEL_FLAGS = (
    "fpu vme de pse tsc msr pae mce cx8 apic sep pni ssse3 fma cx16 sse4_1 sse4_2 avx f16c "
    "avx2 bmi1 bmi2 avx512f avx512dq avx512cd avx512bw avx512vl avx512_vnni avx_vnni"
)


def cpuinfo(tmp_path: Path, flags: str = KERNEL_FLAGS) -> Path:
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: {flags}\n\n")
    return path


def test_built_features_reads_only_cpu_features() -> None:
    assert built_features(PORTABLE_INFO) == {"SSE3", "SSSE3", "AVX", "AVX2", "F16C", "FMA", "BMI2"}
    assert "LLAMAFILE" not in built_features(NATIVE_INFO)
    assert built_features("CPU : AVX2 = 0 | AMX_INT8 = 1 |") == {"AMX_INT8"}


def test_kernel_flags_x86_and_arm() -> None:
    assert "avx2" in kernel_flags(f"processor : 0\nflags : {KERNEL_FLAGS}\n")
    assert kernel_flags("processor : 0\nFeatures : fp asimd sve i8mm\n") == {
        "fp",
        "asimd",
        "sve",
        "i8mm",
    }
    assert kernel_flags("no flags here") == set()


def test_missing_features_in_system_info_order() -> None:
    flags = f"flags : {KERNEL_FLAGS}"
    assert missing_features(NATIVE_INFO, flags) == ["AVX512_VBMI", "AVX512_BF16", "AMX_INT8"]
    assert missing_features(PORTABLE_INFO, flags) == []
    assert missing_features(NATIVE_INFO, "") == []  # nothing to compare with


def test_mismatch_is_one_line_naming_feature_and_fix(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("platform.system", lambda: "Linux")
    with pytest.raises(UsageError) as error:
        check_cpu(NATIVE_INFO, "xllamacpp==1.2.3", cpuinfo(tmp_path))
    message = str(error.value)
    assert "\n" not in message
    assert "AMX_INT8 (cpuinfo flag amx_int8)" in message
    assert "AVX512_BF16 (cpuinfo flag avx512_bf16)" in message
    assert "AVX2 (" not in message and "AVX512_VNNI" not in message  # enabled ones
    assert "pip install --force-reinstall --no-cache-dir 'xllamacpp==1.2.3'" in message


def test_a_cpu_below_the_portable_baseline_needs_a_source_build(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr("platform.system", lambda: "Linux")
    with pytest.raises(UsageError, match=r"AVX2 \(cpuinfo flag avx2\).*build the engine"):
        check_cpu(PORTABLE_INFO, "xllamacpp==1.2.3", cpuinfo(tmp_path, "pni ssse3 avx f16c fma"))


def test_matching_or_unknown_cpu_passes(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("platform.system", lambda: "Linux")
    check_cpu(PORTABLE_INFO, "x==1", cpuinfo(tmp_path))
    check_cpu(NATIVE_INFO, "x==1", tmp_path / "absent")
    monkeypatch.setattr("platform.system", lambda: "Darwin")
    check_cpu(NATIVE_INFO, "x==1", cpuinfo(tmp_path))


def test_engine_checks_before_loading_anything(tmp_path: Path, monkeypatch) -> None:
    """With a faked engine build and kernel, starting the engine fails before the model loads."""
    pytest.importorskip("xllamacpp", reason="needs the 'embedded' extra")
    monkeypatch.setattr("platform.system", lambda: "Linux")
    monkeypatch.setattr(engine, "system_info", lambda: NATIVE_INFO)
    monkeypatch.setattr("aflab.models.cpu.CPUINFO", cpuinfo(tmp_path))
    model = tmp_path / "never-read.gguf"  # a load would fail with another message
    with pytest.raises(UsageError, match=r"AMX_INT8 .*it would crash on the first token"):
        engine.engine_for(model, 1)
    assert (str(model), 1) not in engine._engines
