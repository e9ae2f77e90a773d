// One place for the CPU's vector instruction sets: the compile-time switch (KILN_PORTABLE leaves
// every SIMD path out), the target attributes hot kernels are compiled with, the run-time probe
// and the level in use, and constants shared by several vector kernels (the exp polynomial).
//
// Levels: portable (plain C++), avx2 (AVX2 + FMA + F16C), avx512 (AVX-512 F/BW/VL/DQ on top of
// avx2; VNNI and BF16 are reported as features). The level in use is the highest the CPU has,
// lowered by KILN_NO_SIMD=1 (portable) or KILN_ISA=portable|avx2|avx512. A KILN_ISA above what the
// CPU has is clamped to the CPU's level; an unknown value is kept as an error that the addon
// throws when it loads (the kernels meanwhile run portable, the one level that is always safe).
#pragma once
#include <cstdio>
#include <cstdlib>
#include <cstring>

// nvcc (the CUDA kernels share the scalar elementwise ops) never sees the SIMD paths.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(KILN_PORTABLE) && !defined(__CUDACC__)
#define KILN_SIMD 1
#include <immintrin.h>
#define KILN_AVX2 __attribute__((target("avx2,fma,f16c")))
#define KILN_AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq")))
#define KILN_AVX512BF16 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))
#else
#define KILN_SIMD 0
#define KILN_AVX2
#define KILN_AVX512
#define KILN_AVX512BF16
#endif

namespace kiln {

enum class Isa : int { kPortable = 0, kAvx2 = 1, kAvx512 = 2 };

inline const char* isa_name(Isa l) {
  switch (l) {
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
    default: return "portable";
  }
}

struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
  bool avx512vnni = false, avx512bf16 = false;
};

struct IsaState {
  CpuFeatures cpu;             // what the processor reports
  Isa best = Isa::kPortable;   // the highest level this build can use on this CPU
  Isa level = Isa::kPortable;  // the level the kernels use
  char forced[48] = "";        // the switch that lowered `level` ("KILN_ISA=avx2", "KILN_NO_SIMD=1"), or ""
  char error[192] = "";        // set when KILN_ISA holds an unknown value
};

namespace simd_detail {

inline CpuFeatures probe_cpu() {
  CpuFeatures f;
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();  // may run before the CPU model constructor (static initialisers)
  f.avx2 = __builtin_cpu_supports("avx2");
  f.fma = __builtin_cpu_supports("fma");
  f.f16c = __builtin_cpu_supports("f16c");
  f.avx512f = __builtin_cpu_supports("avx512f");
  f.avx512bw = __builtin_cpu_supports("avx512bw");
  f.avx512vl = __builtin_cpu_supports("avx512vl");
  f.avx512dq = __builtin_cpu_supports("avx512dq");
  f.avx512vnni = __builtin_cpu_supports("avx512vnni");
  f.avx512bf16 = __builtin_cpu_supports("avx512bf16");
#endif
  return f;
}

// Case-insensitive comparison of an environment value (surrounding blanks ignored) with a name.
inline bool env_is(const char* v, const char* name) {
  while (*v == ' ' || *v == '\t') v++;
  size_t n = std::strlen(name);
  for (size_t i = 0; i < n; i++) {
    char c = v[i];
    if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
    if (c != name[i]) return false;
  }
  for (const char* t = v + n; *t; t++)
    if (*t != ' ' && *t != '\t') return false;
  return true;
}

inline bool env_blank(const char* v) {
  for (; *v; v++)
    if (*v != ' ' && *v != '\t') return false;
  return true;
}

inline IsaState probe() {
  IsaState s;
  s.cpu = probe_cpu();
#if KILN_SIMD
  const CpuFeatures& f = s.cpu;
  if (f.avx2 && f.fma && f.f16c) s.best = Isa::kAvx2;
  if (s.best == Isa::kAvx2 && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq) s.best = Isa::kAvx512;
#endif
  s.level = s.best;
  const char* isa = std::getenv("KILN_ISA");
  if (isa && !env_blank(isa)) {
    Isa want;
    if (env_is(isa, "portable")) want = Isa::kPortable;
    else if (env_is(isa, "avx2")) want = Isa::kAvx2;
    else if (env_is(isa, "avx512")) want = Isa::kAvx512;
    else {
      std::snprintf(s.error, sizeof s.error,
                    "[kiln] KILN_ISA='%.40s' is not a known level (expected portable, avx2 or avx512; unset it "
                    "for the best level this CPU has: %s)",
                    isa, isa_name(s.best));
      s.level = Isa::kPortable;
      return s;
    }
    if (want < s.level) s.level = want;  // above the CPU's level: clamped, never an illegal instruction
    std::snprintf(s.forced, sizeof s.forced, "KILN_ISA=%s", isa_name(want));
  }
  const char* off = std::getenv("KILN_NO_SIMD");
  if (off && off[0] == '1') {
    s.level = Isa::kPortable;
    std::snprintf(s.forced, sizeof s.forced, "KILN_NO_SIMD=1");
  }
  return s;
}

}  // namespace simd_detail

// Probed once, on first use (safe from static initialisers of any translation unit).
inline const IsaState& isa_state() {
  static const IsaState s = simd_detail::probe();
  return s;
}
inline Isa isa_level() {
  static const Isa l = isa_state().level;
  return l;
}
inline bool use_avx2() { return isa_level() >= Isa::kAvx2; }
inline bool use_avx512() { return isa_level() >= Isa::kAvx512; }
// AVX-512 BF16 (vdpbf16ps) is a feature of the avx512 level, not a level of its own.
inline bool use_avx512bf16() {
  static const bool on = use_avx512() && isa_state().cpu.avx512bf16;
  return on;
}

// exp(x) = 2^n e^r with n = round(x log2 e) and r = x - n ln2 (ln2 split in a high part exact in
// float and a low correction); e^r - 1 - r ~ r^2 (((((c0 r + c1) r + c2) r + c3) r + c4) r + c5)
// on |r| <= ln2/2 (Cephes' expf coefficients). Used by exp_ps/expm1 (elementwise_math.h) and by
// exp8 (fast_rows.h), which add the terms in different orders on purpose.
namespace expc {
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693359375f;
constexpr float kLn2Lo = -2.12194440e-4f;
constexpr float c0 = 1.9875691500e-4f;
constexpr float c1 = 1.3981999507e-3f;
constexpr float c2 = 8.3334519073e-3f;
constexpr float c3 = 4.1665795894e-2f;
constexpr float c4 = 1.6666665459e-1f;
constexpr float c5 = 5.0000001201e-1f;
}  // namespace expc

}  // namespace kiln
