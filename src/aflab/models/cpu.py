"""Refuse to load a model when the engine was built for CPU features the kernel does not enable.

A llama.cpp built with native CPU detection reads CPUID, which can advertise features (AMX,
some AVX-512 extensions) that the kernel has not enabled; the first decode then dies with
SIGSEGV. llama.cpp's system-info string says what the build uses; ``/proc/cpuinfo`` says what
the kernel enables. Comparing the two turns a crash into one line.
"""

from __future__ import annotations

import platform
import re
from pathlib import Path

from aflab.core.errors import UsageError

# llama.cpp system-info name -> the flag /proc/cpuinfo shows when the kernel enables it.
CPUINFO_FLAG = {
    "SSE3": "pni",
    "SSSE3": "ssse3",
    "AVX": "avx",
    "AVX2": "avx2",
    "AVX_VNNI": "avx_vnni",
    "F16C": "f16c",
    "FMA": "fma",
    "BMI2": "bmi2",
    "AVX512": "avx512f",
    "AVX512_VBMI": "avx512vbmi",
    "AVX512_VNNI": "avx512_vnni",
    "AVX512_BF16": "avx512_bf16",
    "AMX_INT8": "amx_int8",
    "SVE": "sve",
    "SME": "sme",
    "DOTPROD": "asimddp",
    "MATMUL_INT8": "i8mm",
}
# What the prebuilt portable wheel needs; a CPU without one of these needs a source build.
PORTABLE_BASELINE = frozenset({"SSE3", "SSSE3", "AVX", "AVX2", "F16C", "FMA", "BMI2"})
_ENABLED = re.compile(r"\b([A-Z0-9_]+) = 1\b")
CPUINFO = Path("/proc/cpuinfo")


def built_features(system_info: str) -> set[str]:
    """The CPU features named ``NAME = 1`` in the CPU part(s) of a llama.cpp system-info string."""
    features: set[str] = set()
    for part in system_info.split("|"):
        for name in _ENABLED.findall(part):
            if name in CPUINFO_FLAG:
                features.add(name)
    return features


def kernel_flags(cpuinfo: str) -> set[str]:
    """The flags of the first processor in ``/proc/cpuinfo`` (``flags`` on x86, ``Features`` on
    Arm)."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return set()


def missing_features(system_info: str, cpuinfo: str) -> list[str]:
    """Features the build uses that the kernel does not enable, in system-info order."""
    flags = kernel_flags(cpuinfo)
    if not flags:  # nothing to compare with: assume the build fits
        return []
    return sorted(
        (f for f in built_features(system_info) if CPUINFO_FLAG[f] not in flags),
        key=system_info.find,
    )


def check_cpu(system_info: str, engine: str, cpuinfo_path: Path | None = None) -> None:
    """Raise a one-line :class:`UsageError` when the build needs a feature the kernel lacks.

    Args:
        system_info: the engine's ``get_system_info()`` string.
        engine: the engine's pip requirement (``xllamacpp==VERSION``), for the fix command.
        cpuinfo_path: where the kernel lists the enabled features (Linux only; default
            ``CPUINFO``).
    """
    cpuinfo_path = cpuinfo_path or CPUINFO
    if platform.system() != "Linux" or not cpuinfo_path.is_file():
        return
    missing = missing_features(system_info, cpuinfo_path.read_text(errors="replace"))
    if not missing:
        return
    named = ", ".join(f"{f} (cpuinfo flag {CPUINFO_FLAG[f]})" for f in missing)
    if PORTABLE_BASELINE.isdisjoint(missing):
        fix = f"pip install --force-reinstall --no-cache-dir '{engine}'"
        why = "reinstall the prebuilt portable wheel"
    else:
        fix = "CMAKE_ARGS='-DGGML_NATIVE=OFF -DGGML_AVX2=OFF' pip install --no-binary :all: " + (
            f"--no-cache-dir '{engine}'"
        )
        why = "this CPU lacks what the prebuilt wheel needs; build the engine from source"
    raise UsageError(
        f"the embedded engine was built for CPU features this machine's kernel does not "
        f"enable: {named}; it would crash on the first token. Fix: {why}: {fix}"
    )
