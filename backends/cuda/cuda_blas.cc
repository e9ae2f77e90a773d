// matmul on the GPU through cuBLASLt: out[..., M, N] = A[..., M, K] @ B[..., K, N] on any strided
// views with the CPU kernel's semantics (backends/cpu/kernels/matmul.cc). cuBLASLt is column-major,
// so a row-major product is computed as O^T = B^T A^T; each operand is addressed through its
// strides as a layout (leading dimension) plus a transpose flag, and copied to contiguous scratch
// only when no layout fits (a negative or zero stride inside a matrix, an overlapping ld). Batch
// dims that collapse to one stride per operand become one strided-batched call; other batch dims
// loop on the host. float16/bfloat16 accumulate in float32; float32 computes in float32 (TF32 only
// with KILN_CUDA_TF32=1); float64 in float64. Integers run kernels/matmul_int.cu; complex64 stays
// on the CPU. The heuristic's algorithm is chosen once per problem shape and cached.
// Decode shapes (1..8 rows times a transposed weight, the Linear layer) take kernels/gemv.cu first.
#include <cublasLt.h>
#include <cuda_runtime.h>
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>
#include "backend.h"
#include "registry.h"
#include "kernels/gemv.h"
#include "kernels/matmul_int.h"

namespace kiln {
namespace cuda {
namespace {

constexpr uint64_t kMaxWorkspace = 32ull << 20;  // what cuBLAS recommends for Hopper

const char* status_name(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    default: return "CUBLAS_STATUS_UNKNOWN";
  }
}

// The cuBLASLt descriptors and algorithm of one problem shape (owned by the plan cache).
struct Plan {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, d = nullptr;
  cublasLtMatmulAlgo_t algo;
  size_t workspace = 0;
  ~Plan() {
    if (d) cublasLtMatrixLayoutDestroy(d);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (op) cublasLtMatmulDescDestroy(op);
  }
};
struct Preference {
  cublasLtMatmulPreference_t p = nullptr;
  ~Preference() {
    if (p) cublasLtMatmulPreferenceDestroy(p);
  }
};

// Per device (Context::blas): the handle and the plan made for each problem key.
struct BlasState {
  cublasLtHandle_t lt = nullptr;
  bool tf32 = false;
  std::mutex mu;
  std::unordered_map<std::string, std::unique_ptr<Plan>> plans;
  // one workspace of the largest size any algorithm is allowed, for every matmul of the device:
  // they run one after another on its stream, and a recorded CUDA graph keeps a valid address
  void* workspace = nullptr;
};

std::mutex init_mu;

std::string problem(const Command& c) {
  return "A " + c.in(0).describe() + " @ B " + c.in(1).describe() + " -> " + c.out().describe();
}

[[noreturn]] void blas_fail(const Command& c, const char* call, cublasStatus_t s) {
  fail("[matmul] ", call, " failed for ", problem(c), ": cuBLAS status ", status_name(s), " (", (int)s, ")");
}

BlasState& state(const Command& c, Context& ctx) {
  std::lock_guard<std::mutex> g(init_mu);
  if (!ctx.blas) {
    auto* s = new BlasState();
    cublasStatus_t st = cublasLtCreate(&s->lt);
    if (st != CUBLAS_STATUS_SUCCESS) {
      delete s;
      blas_fail(c, "cublasLtCreate", st);
    }
    const char* e = std::getenv("KILN_CUDA_TF32");
    s->tf32 = e && std::strcmp(e, "1") == 0;
    cudaError_t ce = cudaMalloc(&s->workspace, kMaxWorkspace);
    if (ce != cudaSuccess) {
      cudaGetLastError();
      cublasLtDestroy(s->lt);
      delete s;
      fail("[matmul] out of memory reserving cuBLASLt's ", kMaxWorkspace >> 20, " MiB workspace on cuda:", ctx.ordinal, " (",
           cudaGetErrorString(ce), ")");
    }
    ctx.blas = s;  // lives as long as the process (the device's handle)
  }
  return *static_cast<BlasState*>(ctx.blas);
}

// A logical R x C matrix whose (i, j) element sits at i*rs + j*cs, as a cuBLASLt column-major
// layout (rows x cols, leading dimension ld) read through op.
struct Operand {
  cublasOperation_t op;
  uint64_t rows, cols;
  int64_t ld;
};

bool express(int64_t R, int64_t C, int64_t rs, int64_t cs, Operand* o) {
  const int64_t r1 = std::max<int64_t>(R, 1), c1 = std::max<int64_t>(C, 1);
  if (R == 1 || rs == 1) {  // as stored: (i, j) at i + j*ld
    const int64_t ld = C == 1 ? r1 : cs;
    if (ld >= r1) {
      *o = {CUBLAS_OP_N, (uint64_t)R, (uint64_t)C, ld};
      return true;
    }
  }
  if (C == 1 || cs == 1) {  // transposed: a C x R layout, (i, j) at j + i*ld
    const int64_t ld = R == 1 ? c1 : rs;
    if (ld >= c1) {
      *o = {CUBLAS_OP_T, (uint64_t)C, (uint64_t)R, ld};
      return true;
    }
  }
  return false;
}

// The output is written as stored (cuBLASLt has no transpose for D).
bool express_out(int64_t R, int64_t C, int64_t rs, int64_t cs, Operand* o) {
  return express(R, C, rs, cs, o) && o->op == CUBLAS_OP_N;
}

// One operand as the glue addresses it: device base pointer and element strides of every dim.
struct Mat {
  char* base;
  int64_t strides[kMaxDims];
};

Mat mat_of(const View& v, Context& ctx) {
  Mat m;
  m.base = v.device_data(ctx.device);
  for (int d = 0; d < v.ndim; d++) m.strides[d] = v.strides[d];
  return m;
}

// Copies an input to contiguous scratch (row-major); batch dims it broadcasts (stride 0) stay
// broadcast, so a shared matrix is copied once.
Mat contiguous_copy(const Command& c, const View& v, Context& ctx) {
  View w = v;
  const int nd = v.ndim;
  w.size = 1;
  for (int d = 0; d < nd; d++) {
    if (d < nd - 2 && v.strides[d] == 0) w.shape[d] = 1;
    w.size *= w.shape[d];
  }
  const int64_t es = dtype_size(v.dtype);
  Mat m;
  m.base = static_cast<char*>(ctx.scratch(std::max<int64_t>(w.size, 1) * es));
  copy_to_contiguous(c, w, m.base, ctx);
  int64_t s = 1;
  for (int d = nd - 1; d >= 0; d--) {
    m.strides[d] = (d < nd - 2 && v.strides[d] == 0) ? 0 : s;
    s *= w.shape[d];
  }
  return m;
}

struct Types {
  cudaDataType_t data, scale;
  cublasComputeType_t compute;
};

Types types_of(int dtype, bool tf32) {
  switch (dtype) {
    case kFloat16: return {CUDA_R_16F, CUDA_R_32F, CUBLAS_COMPUTE_32F};
    case kBfloat16: return {CUDA_R_16BF, CUDA_R_32F, CUBLAS_COMPUTE_32F};
    case kFloat64: return {CUDA_R_64F, CUDA_R_64F, CUBLAS_COMPUTE_64F};
    default: return {CUDA_R_32F, CUDA_R_32F, tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F};
  }
}

// Largest power of two (<= 256) dividing every address a launch may see.
uint32_t alignment(const char* base, const std::vector<int64_t>& byte_steps) {
  uint64_t bits = (uint64_t)(uintptr_t)base | 256;
  for (int64_t s : byte_steps) bits |= (uint64_t)(s < 0 ? -s : s);
  return (uint32_t)(bits & (~bits + 1));
}

void run_matmul(const Command& c, Context& ctx) {
  const View& A = c.in(0);
  const View& B = c.in(1);
  const View& O = c.out();
  if (O.size == 0) return;
  const int dt = O.dtype;
  if (dt != kFloat16 && dt != kBfloat16 && dt != kFloat32 && dt != kFloat64) return matmul_int(c, ctx);
  const int nd = O.ndim;
  const int64_t M = O.shape[nd - 2], N = O.shape[nd - 1], K = A.shape[nd - 1];
  if (K == 0) return fill_zero_strided(c, O, ctx);
  if (gemv_matmul(c, ctx)) return;  // 1..8 rows times a transposed weight: kernels/gemv.cu
  const int64_t es = dtype_size(dt);

  // Inputs: as they are when a layout fits, else contiguous scratch.
  Operand oa, ob, od;
  Mat ma = mat_of(A, ctx), mb = mat_of(B, ctx), mo = mat_of(O, ctx);
  if (!express(M, K, ma.strides[nd - 2], ma.strides[nd - 1], &oa)) ma = contiguous_copy(c, A, ctx);
  if (!express(K, N, mb.strides[nd - 2], mb.strides[nd - 1], &ob)) mb = contiguous_copy(c, B, ctx);
  // Output: O^T = B^T A^T when rows of O are contiguous (the usual case), O = A B when its
  // columns are, else a contiguous scratch copied into O afterwards.
  char* scratch_out = nullptr;
  bool swapped = express_out(N, M, mo.strides[nd - 1], mo.strides[nd - 2], &od);
  if (!swapped && !express_out(M, N, mo.strides[nd - 2], mo.strides[nd - 1], &od)) {
    scratch_out = static_cast<char*>(ctx.scratch(O.size * es));
    mo.base = scratch_out;
    int64_t s = 1;
    for (int d = nd - 1; d >= 0; d--) {
      mo.strides[d] = s;
      s *= O.shape[d];
    }
    swapped = express_out(N, M, mo.strides[nd - 1], mo.strides[nd - 2], &od);
    if (!swapped) fail("[matmul] internal error: no cuBLASLt layout for the contiguous output of ", problem(c));
  }
  // cuBLASLt's A and B (first and second factor of the column-major product).
  Mat* f1 = swapped ? &mb : &ma;
  Mat* f2 = swapped ? &ma : &mb;
  const int64_t m = swapped ? N : M, n = swapped ? M : N;
  bool ok1, ok2;
  if (swapped) {
    ok1 = express(N, K, mb.strides[nd - 1], mb.strides[nd - 2], &oa);
    ok2 = express(K, M, ma.strides[nd - 1], ma.strides[nd - 2], &ob);
  } else {
    ok1 = express(M, K, ma.strides[nd - 2], ma.strides[nd - 1], &oa);
    ok2 = express(K, N, mb.strides[nd - 2], mb.strides[nd - 1], &ob);
  }
  if (!ok1 || !ok2) fail("[matmul] internal error: no cuBLASLt layout for ", problem(c));

  // Batch dims (size-1 dims dropped), collapsed where all three operands step evenly.
  struct BDim {
    int64_t n, s1, s2, so;
  };
  std::vector<BDim> bd;
  for (int d = 0; d < nd - 2; d++) {
    if (O.shape[d] == 1) continue;
    BDim x{O.shape[d], f1->strides[d], f2->strides[d], mo.strides[d]};
    if (!bd.empty()) {
      BDim& p = bd.back();
      if (p.s1 == x.s1 * x.n && p.s2 == x.s2 * x.n && p.so == x.so * x.n) {
        p = {p.n * x.n, x.s1, x.s2, x.so};
        continue;
      }
    }
    bd.push_back(x);
  }
  BDim inner{1, 0, 0, 0};
  if (!bd.empty()) {
    inner = bd.back();
    bd.pop_back();
  }
  if (inner.n > 0x7fffffffLL)
    fail("[matmul] ", inner.n, " batched products exceed cuBLASLt's batch count: ", problem(c));
  int64_t outer = 1;
  std::vector<int64_t> st1, st2, sto;
  for (const BDim& x : bd) {
    outer *= x.n;
    st1.push_back(x.s1 * es);
    st2.push_back(x.s2 * es);
    sto.push_back(x.so * es);
  }

  if (inner.n > 1) {  // every matrix of the strided batch starts as aligned as the first one
    st1.push_back(inner.s1 * es);
    st2.push_back(inner.s2 * es);
    sto.push_back(inner.so * es);
  }
  const uint32_t al1 = alignment(f1->base, st1), al2 = alignment(f2->base, st2), alo = alignment(mo.base, sto);

  BlasState& S = state(c, ctx);
  const Types t = types_of(dt, S.tf32);
  // The plan (descriptors and the heuristic's algorithm) for this problem: made once, then cached.
  const int64_t key_words[] = {dt,
                               (int64_t)t.compute,
                               (int64_t)oa.op,
                               (int64_t)ob.op,
                               (int64_t)oa.rows,
                               (int64_t)oa.cols,
                               oa.ld,
                               (int64_t)ob.rows,
                               (int64_t)ob.cols,
                               ob.ld,
                               m,
                               n,
                               od.ld,
                               inner.n,
                               inner.n > 1 ? inner.s1 : 0,
                               inner.n > 1 ? inner.s2 : 0,
                               inner.n > 1 ? inner.so : 0,
                               al1,
                               al2,
                               alo};
  const std::string key(reinterpret_cast<const char*>(key_words), sizeof(key_words));
  std::lock_guard<std::mutex> g(S.mu);  // held while the plan is in use (a full cache is cleared)
  auto it = S.plans.find(key);
  cublasStatus_t st;
#define KILN_LT(fn, ...)                                    \
  do {                                                      \
    st = fn(__VA_ARGS__);                                   \
    if (st != CUBLAS_STATUS_SUCCESS) blas_fail(c, #fn, st); \
  } while (0)
  if (it == S.plans.end()) {
    std::unique_ptr<Plan> ds(new Plan());
    KILN_LT(cublasLtMatmulDescCreate, &ds->op, t.compute, t.scale);
    KILN_LT(cublasLtMatmulDescSetAttribute, ds->op, CUBLASLT_MATMUL_DESC_TRANSA, &oa.op, sizeof(oa.op));
    KILN_LT(cublasLtMatmulDescSetAttribute, ds->op, CUBLASLT_MATMUL_DESC_TRANSB, &ob.op, sizeof(ob.op));
    KILN_LT(cublasLtMatrixLayoutCreate, &ds->a, t.data, oa.rows, oa.cols, oa.ld);
    KILN_LT(cublasLtMatrixLayoutCreate, &ds->b, t.data, ob.rows, ob.cols, ob.ld);
    KILN_LT(cublasLtMatrixLayoutCreate, &ds->d, t.data, (uint64_t)m, (uint64_t)n, od.ld);
    if (inner.n > 1) {
      const int32_t count = (int32_t)inner.n;
      const int64_t s1 = inner.s1, s2 = inner.s2, so = inner.so;
      KILN_LT(cublasLtMatrixLayoutSetAttribute, ds->a, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof(count));
      KILN_LT(cublasLtMatrixLayoutSetAttribute, ds->a, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &s1, sizeof(s1));
      KILN_LT(cublasLtMatrixLayoutSetAttribute, ds->b, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof(count));
      KILN_LT(cublasLtMatrixLayoutSetAttribute, ds->b, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &s2, sizeof(s2));
      KILN_LT(cublasLtMatrixLayoutSetAttribute, ds->d, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof(count));
      KILN_LT(cublasLtMatrixLayoutSetAttribute, ds->d, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &so, sizeof(so));
    }
    Preference pref;
    KILN_LT(cublasLtMatmulPreferenceCreate, &pref.p);
    const uint64_t ws = kMaxWorkspace;
    KILN_LT(cublasLtMatmulPreferenceSetAttribute, pref.p, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws));
    KILN_LT(cublasLtMatmulPreferenceSetAttribute, pref.p, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &al1,
            sizeof(al1));
    KILN_LT(cublasLtMatmulPreferenceSetAttribute, pref.p, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &al2,
            sizeof(al2));
    KILN_LT(cublasLtMatmulPreferenceSetAttribute, pref.p, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &alo,
            sizeof(alo));
    KILN_LT(cublasLtMatmulPreferenceSetAttribute, pref.p, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &alo,
            sizeof(alo));
    if (dt == kFloat16 || dt == kBfloat16) {
      // split-K partial sums stay float32 (no reduction in the output type), as the CPU accumulates
      const uint32_t schemes = CUBLASLT_REDUCTION_SCHEME_NONE | CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE;
      KILN_LT(cublasLtMatmulPreferenceSetAttribute, pref.p, CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK, &schemes,
              sizeof(schemes));
    }
    cublasLtMatmulHeuristicResult_t res[8];
    std::memset(res, 0, sizeof(res));
    int found = 0;
    KILN_LT(cublasLtMatmulAlgoGetHeuristic, S.lt, ds->op, ds->a, ds->b, ds->d, ds->d, pref.p, 8, res, &found);
    int pick = -1;
    for (int i = 0; i < found && pick < 0; i++)
      if (res[i].state == CUBLAS_STATUS_SUCCESS) pick = i;
    if (pick < 0) blas_fail(c, "cublasLtMatmulAlgoGetHeuristic (no algorithm)", CUBLAS_STATUS_NOT_SUPPORTED);
    ds->algo = res[pick].algo;
    ds->workspace = res[pick].workspaceSize;
    if (S.plans.size() >= 4096) S.plans.clear();  // e.g. a sequence length growing one step at a time
    it = S.plans.emplace(key, std::move(ds)).first;
  }
  const Plan& P = *it->second;
  void* workspace = P.workspace > 0 ? S.workspace : nullptr;  // P.workspace <= kMaxWorkspace (the preference)

  const float one_f = 1.0f, zero_f = 0.0f;
  const double one_d = 1.0, zero_d = 0.0;
  const void* alpha = dt == kFloat64 ? (const void*)&one_d : (const void*)&one_f;
  const void* beta = dt == kFloat64 ? (const void*)&zero_d : (const void*)&zero_f;
  for (int64_t ob_i = 0; ob_i < outer; ob_i++) {
    int64_t o1 = 0, o2 = 0, oo = 0, rest = ob_i;
    for (int d = (int)bd.size() - 1; d >= 0; d--) {
      const int64_t i = rest % bd[d].n;
      rest /= bd[d].n;
      o1 += i * bd[d].s1;
      o2 += i * bd[d].s2;
      oo += i * bd[d].so;
    }
    const char* p1 = f1->base + o1 * es;
    const char* p2 = f2->base + o2 * es;
    char* pd = mo.base + oo * es;
    KILN_LT(cublasLtMatmul, S.lt, P.op, alpha, p1, P.a, p2, P.b, beta, pd, P.d, pd, P.d, &P.algo, workspace,
            P.workspace, ctx.stream);
  }
#undef KILN_LT
  if (scratch_out) copy_from_contiguous(c, scratch_out, O, ctx);
}

bool supports_matmul(const Command& c) {
  switch (c.out().dtype) {
    case kFloat16:
    case kBfloat16:
    case kFloat32:
    case kFloat64:
    case kUint8:
    case kUint16:
    case kUint32:
    case kUint64:
    case kInt8:
    case kInt16:
    case kInt32:
    case kInt64: return true;
    default: return false;  // complex64 (and bool, which the core rejects) run on the CPU
  }
}

}  // namespace

KILN_CUDA_KERNEL("matmul", supports_matmul, run_matmul);

}  // namespace cuda
}  // namespace kiln
