"""A native llama-cpp-python build (``-march=native`` minus what this machine refuses), once, in its own venv.

"Native" is what scikit-build-core builds by default (``GGML_NATIVE=ON``). A CPU may advertise instructions that
its process cannot execute: in this VM, AMX (``amx_tile``/``amx_int8``/``amx_bf16`` in ``/proc/cpuinfo``) dies
with SIGILL in a process that has not asked the kernel for it (``arch_prctl(ARCH_REQ_XCOMP_PERM)``), which is
how llama.cpp's CPU code runs it. ``refused_instruction_sets`` finds such sets generically: for every
set in a table that ``-march=native`` turns on, a tiny C probe executes one of its instructions in a child
process; the ones that die with SIGILL are left out of the build with ``-mno-<set>`` in CFLAGS/CXXFLAGS (explicit
``-mno-*`` flags win over ``-march=native`` in GCC and Clang, whatever their order).
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import platformdirs

# set -> (the compiler macro -march=native defines for it, the -mno flags that drop it, one instruction of it)
_AMX_CONFIG = """
static unsigned char cfg[64] __attribute__((aligned(64)));
cfg[0] = 1; for (int i = 0; i < 8; i++) { cfg[16 + 2 * i] = 64; cfg[48 + i] = 16; }
__asm__ volatile("ldtilecfg %0" :: "m"(cfg));
"""
PROBES: dict[str, tuple[str, list[str], str]] = {
    "avx512f": (
        "__AVX512F__",
        ["-mno-avx512f"],
        '__asm__ volatile("vpxord %%zmm0,%%zmm0,%%zmm0" ::: "xmm0");',
    ),
    "avx512vnni": (
        "__AVX512VNNI__",
        ["-mno-avx512vnni"],
        '__asm__ volatile("vpdpbusd %%zmm0,%%zmm0,%%zmm0" ::: "xmm0");',
    ),
    "avx512bf16": (
        "__AVX512BF16__",
        ["-mno-avx512bf16"],
        '__asm__ volatile("vdpbf16ps %%zmm0,%%zmm0,%%zmm0" ::: "xmm0");',
    ),
    "avx512fp16": (
        "__AVX512FP16__",
        ["-mno-avx512fp16"],
        '__asm__ volatile("vaddph %%zmm0,%%zmm0,%%zmm0" ::: "xmm0");',
    ),
    "avxvnni": (
        "__AVXVNNI__",
        ["-mno-avxvnni"],
        '__asm__ volatile("{vex} vpdpbusd %%ymm0,%%ymm0,%%ymm0" ::: "xmm0");',
    ),
    "amx-tile": (
        "__AMX_TILE__",
        ["-mno-amx-tile", "-mno-amx-int8", "-mno-amx-bf16"],
        _AMX_CONFIG + '__asm__ volatile("tilezero %%tmm0\\n tilerelease" ::: "memory");',
    ),
    "amx-int8": (
        "__AMX_INT8__",
        ["-mno-amx-int8"],
        _AMX_CONFIG + '__asm__ volatile("tdpbssd %%tmm0,%%tmm1,%%tmm2\\n tilerelease" ::: "memory");',
    ),
    "amx-bf16": (
        "__AMX_BF16__",
        ["-mno-amx-bf16"],
        _AMX_CONFIG + '__asm__ volatile("tdpbf16ps %%tmm0,%%tmm1,%%tmm2\\n tilerelease" ::: "memory");',
    ),
}
BUILD_MINUTES = "about 10 minutes on 2 cores"


def _compiler() -> str:
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not compiler:
        raise SystemExit("a native build needs a C compiler (cc, gcc or clang) on PATH")
    return compiler


def native_sets() -> list[str]:
    """The probed instruction sets that ``-march=native`` turns on here."""
    done = subprocess.run(
        [_compiler(), "-march=native", "-dM", "-E", "-"], input="", capture_output=True, text=True, check=True
    )
    return [name for name, (macro, _, _) in PROBES.items() if f"#define {macro} " in done.stdout]


def refused_instruction_sets() -> dict[str, list[str]]:
    """{set: -mno flags} for every set ``-march=native`` enables whose probe dies with SIGILL here."""
    refused: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in native_sets():
            _, flags, body = PROBES[name]
            source, binary = Path(tmp) / f"{name}.c", Path(tmp) / name
            source.write_text(f"int main(void) {{\n{body}\nreturn 0;\n}}\n")
            built = subprocess.run([_compiler(), "-O0", "-o", str(binary), str(source)], capture_output=True)
            if built.returncode != 0:
                continue  # the assembler does not know the instruction: the compiler will not emit it either
            if subprocess.run([str(binary)], capture_output=True).returncode == -signal.SIGILL:
                refused[name] = flags
    return refused


def native_flags(refused: dict[str, list[str]]) -> str:
    return " ".join(dict.fromkeys(flag for flags in refused.values() for flag in flags))


def native_python(version: str, refused: dict[str, list[str]], *, log: Path) -> Path:
    """The interpreter of a venv holding llama-cpp-python ``version`` built natively (minus ``refused``), built
    on first use under the user cache dir and reused afterwards."""
    flags = native_flags(refused)
    key = hashlib.sha256(f"{version} {flags} {sys.version}".encode()).hexdigest()[:10]
    venv = Path(platformdirs.user_cache_dir("echelon")) / "bench-native" / f"llama-cpp-python-{version}-{key}"
    python = venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    ready = venv / ".built"
    if ready.is_file():
        return python
    uv = (
        ["uv"] if shutil.which("uv") else ["python3", "-m", "uv"]
    )  # the README installs uv as a python3 module
    print(
        f"building a native llama-cpp-python {version} into {venv} (first run only: it compiles llama.cpp, "
        f"{BUILD_MINUTES}); output in {log}",
        flush=True,
    )
    env = {**os.environ, "CMAKE_ARGS": "-DGGML_NATIVE=ON", "CFLAGS": flags, "CXXFLAGS": flags}
    with log.open("w") as out:
        subprocess.run(
            [*uv, "venv", "--python", sys.executable, str(venv)], check=True, stdout=out, stderr=out
        )
        # --no-config: not the project's [tool.uv] (its portable settings); --no-cache: nor a cached build.
        command = [*uv, "pip", "install", "--no-config", "--no-cache", "--python", str(python)]
        out.write(f"CMAKE_ARGS=-DGGML_NATIVE=ON CFLAGS={shlex.quote(flags)} {shlex.join(command)}\n")
        out.flush()
        done = subprocess.run(
            [*command, f"llama-cpp-python=={version}"], env=env, cwd=venv, stdout=out, stderr=out
        )
    if done.returncode != 0:
        raise SystemExit(f"the native build failed; see {log}")
    ready.write_text(flags)
    return python
