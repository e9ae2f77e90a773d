// Renders fused programs to CUDA C (see fused_codegen.h). The op semantics mirror
// backends/cpu/kernels/elementwise_ops.h and reduce_ops.h line by line (the prelude below);
// constants are folded here with the CPU's own conversions (backends/common/dtype.h).
#include "fused_codegen.h"
#include "fused_prelude.h"
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <type_traits>
#include "../common/dtype.h"
#include "../common/ops.h"

namespace kiln {
namespace cuda {
namespace {

enum { kLoad = 0, kStore, kConst, kSplat, kUnary, kBinary, kWhere, kCast, kReduce, kAccGet, kSpill, kFill, kCodes };

const char* kUnaryNames[] = {
#define KZ_NAME(n) #n,
    KILN_UNARY_OPS(KZ_NAME)
#undef KZ_NAME
};
const char* kBinaryNames[] = {
#define KZ_NAME(n) #n,
    KILN_BINARY_OPS(KZ_NAME)
#undef KZ_NAME
};

// The C type of a compute dtype (and of the plain storage dtypes).
const char* ctype(int d) {
  switch (d) {
    case kBool: return "bool";
    case kUint8: return "unsigned char";
    case kUint16: return "unsigned short";
    case kUint32: return "unsigned int";
    case kUint64: return "unsigned long long";
    case kInt8: return "signed char";
    case kInt16: return "short";
    case kInt32: return "int";
    case kInt64: return "long long";
    case kFloat32: return "float";
    case kFloat64: return "double";
    default: return "float";  // float16 / bfloat16 compute in float32
  }
}
// The C type an operand of dtype d is read and written through.
const char* stype(int d) {
  if (d == kBool) return "unsigned char";
  if (d == kFloat16 || d == kBfloat16) return "unsigned short";
  return ctype(d);
}
bool is_sum_prod(int op) { return op == (int)ReduceOp::sum || op == (int)ReduceOp::prod; }
bool is_logic(int op) { return op == (int)ReduceOp::all || op == (int)ReduceOp::any; }
// The accumulator's C type (reduce_ops.h Acc::A): sums and products of floats in double, of
// integers in uint64 (wrapping as the narrow type), all/any in bool, max/min in the type.
const char* acc_ctype(int op, int t) {
  if (is_sum_prod(op)) return t == kFloat32 || t == kFloat64 ? "double" : "unsigned long long";
  if (is_logic(op)) return "bool";
  return ctype(t);
}

// A compute value as an exact literal of its C type.
std::string literal(int t, double v) {
  char buf[96];
  if (t == kBool) return v != 0 ? "true" : "false";
  if (t == kFloat32) {
    float f = (float)v;
    uint32_t u;
    std::memcpy(&u, &f, 4);
    std::snprintf(buf, sizeof buf, "__uint_as_float(0x%08xu)", (unsigned)u);
    return buf;
  }
  if (t == kFloat64) {
    uint64_t u;
    std::memcpy(&u, &v, 8);
    std::snprintf(buf, sizeof buf, "__longlong_as_double((long long)0x%016llxull)", (unsigned long long)u);
    return buf;
  }
  return "";
}

// The compute value of constant instruction I (its dtype's rounding applied, as fused.cc does).
std::string const_literal(const FzIns& I) {
  const int ct = compute_dtype(I.op);
  std::string out;
#define KZ_CV(T)                                                                                     \
  {                                                                                                  \
    auto v = to_compute(from_value<T>(I.imm));                                                       \
    using V = decltype(v);                                                                           \
    if constexpr (std::is_floating_point_v<V>) out = literal(ct, (double)v);                         \
    else if constexpr (std::is_same_v<V, bool>) out = v ? "true" : "false";                          \
    else {                                                                                           \
      char buf[64];                                                                                  \
      std::snprintf(buf, sizeof buf, "((%s)0x%llxull)", ctype(ct), (unsigned long long)(uint64_t)v); \
      out = buf;                                                                                     \
    }                                                                                                \
  }
  KILN_DISPATCH_ALL(I.op, KZ_CV)
#undef KZ_CV
  return out;
}

struct Reader {
  const double* w;
  size_t n, pos = 0;
  bool ok = true;
  int next() {
    if (pos >= n) {
      ok = false;
      return 0;
    }
    double v = w[pos++];
    if (!(v == std::floor(v)) || v < -1 || v > 1e9) ok = false;
    return ok ? (int)v : 0;
  }
};

}  // namespace

bool fz_parse(const double* words, size_t n, FzProgram& P, std::string* why) {
  Reader r{words, n};
  P = FzProgram();
  int version = r.next();
  if (version != 2) {
    if (why) *why = "unsupported program version";
    return false;
  }
  P.n_in = r.next();
  P.n_out = r.next();
  P.ndim = r.next();
  P.nred = r.next();
  int nb = r.next(), nr = r.next(), na = r.next(), np = r.next(), ns = r.next(), ni = r.next();
  if (!r.ok || P.n_in < 0 || P.n_out < 1 || P.ndim < 0 || P.ndim > kFzMaxDims || nb < 0 || nr < 0 || na < 0 || np < 1 ||
      ns < 0 || ni < 0) {
    if (why) *why = "malformed program header";
    return false;
  }
  for (int i = 0; i < P.n_in && r.ok; i++) P.in_dtype.push_back(r.next());
  for (int i = 0; i < P.n_out && r.ok; i++) P.out_dtype.push_back(r.next());
  for (int i = 0; i < P.n_out && r.ok; i++) P.out_kind.push_back(r.next());
  for (int i = 0; i < nb && r.ok; i++) P.breg.push_back(r.next());
  for (int i = 0; i < nr && r.ok; i++) P.rreg.push_back(r.next());
  for (int i = 0; i < na && r.ok; i++) {
    int op = r.next();
    int t = r.next();
    P.accs.emplace_back(op, t);
  }
  for (int i = 0; i < ns && r.ok; i++) P.spill.push_back(r.next());
  auto ins = [&]() {
    FzIns I;
    I.code = r.next();
    I.op = r.next();
    I.dst = r.next();
    I.a = r.next();
    I.b = r.next();
    I.c = r.next();
    if (r.pos < r.n) I.imm = r.w[r.pos++];
    else r.ok = false;
    return I;
  };
  for (int i = 0; i < ni && r.ok; i++) P.init.push_back(ins());
  for (int p = 0; p < np && r.ok; p++) {
    FzPhase ph;
    int c0 = r.next(), c1 = r.next(), c2 = r.next();
    for (int k = 0; k < c0 && r.ok; k++) ph.setup.push_back(ins());
    for (int k = 0; k < c1 && r.ok; k++) ph.body.push_back(ins());
    for (int k = 0; k < c2 && r.ok; k++) ph.finish.push_back(ins());
    P.phases.push_back(std::move(ph));
  }
  if (!r.ok || r.pos != n) {
    if (why) *why = "malformed program words";
    return false;
  }
  return true;
}

std::string fz_unsupported(const FzProgram& P) {
  std::vector<int> phase_of(P.accs.size(), -1);
  for (size_t p = 0; p < P.phases.size(); p++)
    for (const FzIns& I : P.phases[p].body) {
      if (I.code != kReduce) continue;
      if (I.dst < 0 || I.dst >= (int)P.accs.size()) return "an accumulator index out of range";
      if (phase_of[I.dst] >= 0 && phase_of[I.dst] != (int)p) return "an accumulator folded in two phases";
      phase_of[I.dst] = (int)p;
    }
  for (auto& a : P.accs)
    if (a.first < 0 || a.first > (int)ReduceOp::any) return "a reduce op other than sum/prod/max/min/all/any";
  for (int d : P.in_dtype)
    if (d == kComplex64 || d < 0 || d >= kNumDtypes) return "a complex64 operand";
  for (int d : P.out_dtype)
    if (d == kComplex64 || d < 0 || d >= kNumDtypes) return "a complex64 operand";
  return "";
}

FzGeom fz_geometry(const FzProgram& P, const int64_t* shape, const std::vector<const int64_t*>& strides) {
  FzGeom g;
  const size_t nops = strides.size();
  g.ostr.assign(nops, std::vector<int64_t>());
  g.istr.assign(nops, std::vector<int64_t>());
  const int nk = P.nred == 0 ? 0 : P.ndim - P.nred;  // elementwise: every dim is "inner"
  // merges dims [d0, d1) where every operand is contiguous across the pair (fused.cc merge_dims)
  auto merge = [&](int d0, int d1, int64_t* out_shape, std::vector<std::vector<int64_t>>& st) {
    int m = 0;
    for (int d = d0; d < d1; d++) {
      int64_t n = shape[d];
      if (n == 1) continue;
      bool mergeable = m > 0;
      for (size_t k = 0; k < nops && mergeable; k++) mergeable = st[k][m - 1] == strides[k][d] * n;
      if (mergeable) {
        out_shape[m - 1] *= n;
        for (size_t k = 0; k < nops; k++) st[k][m - 1] = strides[k][d];
      } else {
        out_shape[m] = n;
        for (size_t k = 0; k < nops; k++) st[k].push_back(strides[k][d]);
        m++;
      }
    }
    return m;
  };
  g.no = merge(0, nk, g.oshape, g.ostr);
  g.ni = merge(nk, P.ndim, g.ishape, g.istr);
  for (int d = 0; d < g.no; d++) g.rows *= g.oshape[d];
  for (int d = 0; d < g.ni; d++) g.inner *= g.ishape[d];
  const int64_t lim = (int64_t)1 << 30;
  bool small = g.rows < lim && g.inner < lim && g.rows * g.inner < lim;
  for (size_t k = 0; k < nops; k++) {
    bool flat = true, zero = true;
    int64_t expect = 1, extent = 0;
    for (int d = g.ni - 1; d >= 0; d--) {
      flat = flat && g.istr[k][d] == expect;
      zero = zero && g.istr[k][d] == 0;
      expect *= g.ishape[d];
      extent += std::llabs(g.istr[k][d]) * (g.ishape[d] - 1);
    }
    for (int d = 0; d < g.no; d++) extent += std::llabs(g.ostr[k][d]) * (g.oshape[d] - 1);
    g.kind.push_back(flat ? 'c' : zero ? 'z' : 's');
    small = small && extent < lim;
  }
  g.idx32 = small;
  return g;
}

std::string fz_layout_key(const FzGeom& g) {
  std::string k = std::to_string(g.no) + "." + std::to_string(g.ni) + ".";
  k.append(g.kind.begin(), g.kind.end());
  k += g.idx32 ? ".i32" : ".i64";
  return k;
}

FzArgSlots fz_arg_slots(int nops, int no, int ni) {
  FzArgSlots s;
  s.oshape = s.ptr + nops;
  s.ishape = s.oshape + no;
  s.ostr = s.ishape + ni;
  s.istr = s.ostr + nops * no;
  s.count = s.istr + nops * ni;
  return s;
}

int64_t fz_spill_bytes(const FzProgram& P, const FzGeom& g) { return (int64_t)P.spill.size() * g.rows * g.inner * 8; }

int fz_group(const FzGeom& g) {
  int G = 1;
  while (G < kFzBlock && G < g.inner) G <<= 1;
  return G;
}

std::vector<long long> fz_args(const FzProgram& P, const FzGeom& g, const std::vector<const void*>& ptrs, void* spill,
                               int group) {
  const int nops = P.nops();
  FzArgSlots s = fz_arg_slots(nops, g.no, g.ni);
  std::vector<long long> w(s.count, 0);
  w[s.rows] = g.rows;
  w[s.inner] = g.inner;
  w[s.group] = group;
  w[s.spill] = (long long)(uintptr_t)spill;
  for (int k = 0; k < nops; k++) w[s.ptr + k] = (long long)(uintptr_t)ptrs[k];
  for (int d = 0; d < g.no; d++) w[s.oshape + d] = g.oshape[d];
  for (int d = 0; d < g.ni; d++) w[s.ishape + d] = g.ishape[d];
  for (int k = 0; k < nops; k++) {
    for (int d = 0; d < g.no; d++) w[s.ostr + k * g.no + d] = g.ostr[k][d];
    for (int d = 0; d < g.ni; d++) w[s.istr + k * g.ni + d] = g.istr[k][d];
  }
  return w;
}

namespace {

struct Renderer {
  const FzProgram& P;
  const FzGeom& g;
  FzArgSlots s;
  std::ostringstream o;
  bool red;
  Renderer(const FzProgram& p, const FzGeom& geom) : P(p), g(geom), red(p.nred > 0) {
    s = fz_arg_slots(P.nops(), g.no, g.ni);
  }

  std::string reg(bool row, int i) { return (row ? "r" : "b") + std::to_string(i); }
  int reg_type(bool row, int i) { return row ? P.rreg.at(i) : P.breg.at(i); }
  int op_dtype(int k) { return k < P.n_in ? P.in_dtype[k] : P.out_dtype[k - P.n_in]; }
  std::string ptr(int k) { return "p" + std::to_string(k); }
  // the element offset of operand k at the current (row, f)
  std::string off(int k) {
    std::string in = g.kind[k] == 'c' ? "f" : g.kind[k] == 'z' ? "(I)0" : "o" + std::to_string(k);
    return red ? "(ro" + std::to_string(k) + " + " + in + ")" : in;
  }
  std::string load_expr(int dt, const std::string& e) {
    if (dt == kFloat16) return "kz_h2f(" + e + ")";
    if (dt == kBfloat16) return "kz_b2f(" + e + ")";
    if (dt == kBool) return "(" + e + " != 0)";
    return e;
  }
  std::string store_expr(int dt, const std::string& v) {
    if (dt == kFloat16) return "kz_f2h(" + v + ")";
    if (dt == kBfloat16) return "kz_f2b(" + v + ")";
    if (dt == kBool) return "(unsigned char)(" + v + ")";
    return v;
  }
  std::string spill_at(int slot) {
    return "((" + std::string(ctype(P.spill.at(slot))) + "*)(kz_spill + (unsigned long long)" + std::to_string(slot) +
           " * kz_spill_elems * 8ull))[row * inner + f]";
  }

  // One instruction; `row`: it runs on the row registers (a finish).
  void ins(const FzIns& I, bool row, const char* ind) {
    auto R = [&](int i) { return reg(row, i); };
    switch (I.code) {
      case kLoad:
        o << ind << R(I.dst) << " = " << load_expr(P.in_dtype[I.a], ptr(I.a) + "[" + off(I.a) + "]") << ";\n";
        break;
      case kStore: {
        int k = P.n_in + I.a;
        int dt = P.out_dtype[I.a];
        if (row)
          o << ind << "if (active && lane == 0) " << ptr(k) << "[ro" << k << "] = " << store_expr(dt, R(I.b)) << ";\n";
        else o << ind << ptr(k) << "[" << off(k) << "] = " << store_expr(dt, R(I.b)) << ";\n";
        break;
      }
      case kConst: o << ind << R(I.dst) << " = " << const_literal(I) << ";\n"; break;
      case kSplat: o << ind << reg(false, I.dst) << " = " << reg(true, I.a) << ";\n"; break;
      case kUnary: {
        int t = reg_type(row, I.a);
        o << ind << R(I.dst) << " = u_" << kUnaryNames[I.op] << "<" << ctype(t) << ">(" << R(I.a) << ");\n";
        break;
      }
      case kBinary: {
        int t = reg_type(row, I.a);
        o << ind << R(I.dst) << " = b_" << kBinaryNames[I.op] << "<" << ctype(t) << ">(" << R(I.a) << ", " << R(I.b)
          << ");\n";
        break;
      }
      case kWhere: o << ind << R(I.dst) << " = " << R(I.a) << " ? " << R(I.b) << " : " << R(I.c) << ";\n"; break;
      case kCast: {
        const char* from = ctype(reg_type(row, I.a));
        if (I.op == kFloat16) o << ind << R(I.dst) << " = kz_h2f(kz_to_h<" << from << ">(" << R(I.a) << "));\n";
        else if (I.op == kBfloat16) o << ind << R(I.dst) << " = kz_b2f(kz_to_b<" << from << ">(" << R(I.a) << "));\n";
        else o << ind << R(I.dst) << " = kz_cv<" << ctype(I.op) << ", " << from << ">(" << R(I.a) << ");\n";
        break;
      }
      case kReduce: {
        auto [op, t] = P.accs.at(I.dst);
        const char* A = acc_ctype(op, t);
        std::string x = R(I.a);
        if (is_logic(op)) x = "(" + x + " != (" + ctype(t) + ")0)";
        else if (is_sum_prod(op)) x = "(" + std::string(A) + ")" + x;
        o << ind << "kz_step<" << op << ", " << A << ">(acc" << I.dst << ", " << x << ");\n";
        break;
      }
      case kAccGet: {
        auto [op, t] = P.accs.at(I.a);
        o << ind << R(I.dst) << " = (" << (is_logic(op) ? "bool" : ctype(t)) << ")acc" << I.a << ";\n";
        break;
      }
      case kSpill: o << ind << spill_at(I.dst) << " = " << R(I.a) << ";\n"; break;
      case kFill: o << ind << R(I.dst) << " = " << spill_at(I.a) << ";\n"; break;
      default: o << ind << "/* unknown instruction */\n"; break;
    }
  }

  // operands a body reads or writes at (row, f)
  std::vector<char> body_operands(const FzPhase& ph) {
    std::vector<char> used(P.nops(), 0);
    for (const FzIns& I : ph.body) {
      if (I.code == kLoad) used[I.a] = 1;
      if (I.code == kStore) used[P.n_in + I.a] = 1;
    }
    return used;
  }
  // the strided operands' inner offsets of flat inner index f
  void inner_offsets(const FzPhase& ph, const char* ind) {
    std::vector<char> used = body_operands(ph);
    std::vector<int> ks;
    for (int k = 0; k < P.nops(); k++)
      if (used[k] && g.kind[k] == 's') ks.push_back(k);
    if (ks.empty()) return;
    for (int k : ks) o << ind << "I o" << k << " = 0;\n";
    o << ind << "{\n" << ind << "  I t = f, i;\n";
    for (int d = g.ni - 1; d >= 0; d--) {
      if (d > 0) o << ind << "  { const I q = t / is" << d << "; i = t - q * is" << d << "; t = q; }\n";
      else o << ind << "  i = t;\n";
      for (int k : ks) o << ind << "  o" << k << " += i * (I)A.w[" << s.istr + k * g.ni + d << "];\n";
    }
    o << ind << "}\n";
  }

  void body_loop(const FzPhase& ph, const char* head, const char* ind) {
    if (ph.body.empty()) return;
    o << head;
    std::string in = std::string(ind) + "  ";
    inner_offsets(ph, in.c_str());
    for (const FzIns& I : ph.body) ins(I, false, in.c_str());
    o << ind << "}\n";
  }

  std::string render() {
    o << fz_prelude();
    o << "\ntypedef " << (g.idx32 ? "int" : "long long") << " I;\n";
    o << "struct KzArgs {\n  long long w[" << (s.count > 0 ? s.count : 1) << "];\n};\n";
    o << "// layout class " << fz_layout_key(g) << "\n";
    o << "extern \"C\" __global__ void __launch_bounds__(" << kFzBlock << ") kiln_fused(const KzArgs A) {\n";
    o << "  const I rows = (I)A.w[" << s.rows << "], inner = (I)A.w[" << s.inner << "];\n";
    o << "  (void)rows;\n";
    for (int d = 0; d < g.ni; d++)
      o << "  const I is" << d << " = (I)A.w[" << s.ishape + d << "];\n  (void)is" << d << ";\n";
    for (int d = 0; d < g.no; d++)
      o << "  const I os" << d << " = (I)A.w[" << s.oshape + d << "];\n  (void)os" << d << ";\n";
    // no __restrict__: a donated output may share an input's memory (same element, same thread)
    for (int k = 0; k < P.nops(); k++) {
      bool in = k < P.n_in;
      o << "  " << (in ? "const " : "") << stype(op_dtype(k)) << "* " << ptr(k) << " = (" << (in ? "const " : "")
        << stype(op_dtype(k)) << "*)A.w[" << s.ptr + k << "];\n";
    }
    if (!P.spill.empty())
      o << "  char* kz_spill = (char*)A.w[" << s.spill << "];\n"
        << "  const unsigned long long kz_spill_elems = (unsigned long long)rows * (unsigned long long)inner;\n";
    for (size_t i = 0; i < P.breg.size(); i++) o << "  " << ctype(P.breg[i]) << " b" << i << " = 0;\n";
    for (size_t i = 0; i < P.rreg.size(); i++) o << "  " << ctype(P.rreg[i]) << " r" << i << " = 0;\n";
    for (const FzIns& I : P.init) ins(I, false, "  ");
    if (!red) {
      const FzPhase& ph = P.phases.at(0);
      for (const FzIns& I : ph.setup) ins(I, false, "  ");
      body_loop(ph,
                "  for (I f = (I)blockIdx.x * (I)blockDim.x + (I)threadIdx.x; f < inner; f += (I)gridDim.x * "
                "(I)blockDim.x) {\n",
                "  ");
      o << "}\n";
      return o.str();
    }
    o << "  __shared__ kz_u64 kz_sh[" << kFzBlock << "];\n";
    o << "  const int tid = threadIdx.x, G = (int)A.w[" << s.group << "], lane = tid & (G - 1);\n";
    o << "  const I rpb = (I)(blockDim.x / G);\n";
    for (size_t a = 0; a < P.accs.size(); a++)
      o << "  " << acc_ctype(P.accs[a].first, P.accs[a].second) << " acc" << a << ";\n";
    o << "  for (I rbase = (I)blockIdx.x * rpb; rbase < rows; rbase += (I)gridDim.x * rpb) {\n";
    o << "    const I row = rbase + (I)(tid / G);\n    const bool active = row < rows;\n";
    for (int k = 0; k < P.nops(); k++) {
      o << "    I ro" << k << " = 0;\n";
      if (g.no == 0) continue;
      o << "    {\n      I t = row, i;\n";
      for (int d = g.no - 1; d >= 0; d--) {
        if (d > 0) o << "      { const I q = t / os" << d << "; i = t - q * os" << d << "; t = q; }\n";
        else o << "      i = t;\n";
        o << "      ro" << k << " += i * (I)A.w[" << s.ostr + k * g.no + d << "];\n";
      }
      o << "    }\n";
    }
    for (size_t a = 0; a < P.accs.size(); a++) {
      auto [op, t] = P.accs[a];
      o << "    acc" << a << " = kz_identity<" << op << ", " << acc_ctype(op, t) << ">();\n";
    }
    for (size_t p = 0; p < P.phases.size(); p++) {
      const FzPhase& ph = P.phases[p];
      o << "    // phase " << p << "\n";
      for (const FzIns& I : ph.setup) ins(I, false, "    ");
      body_loop(ph, "    if (active) for (I f = (I)lane; f < inner; f += (I)G) {\n", "    ");
      std::vector<char> done(P.accs.size(), 0);
      for (const FzIns& I : ph.body) {
        if (I.code != kReduce || done[I.dst]) continue;
        done[I.dst] = 1;
        auto [op, t] = P.accs[I.dst];
        o << "    acc" << I.dst << " = kz_group_reduce<" << op << ", " << acc_ctype(op, t) << ">(acc" << I.dst
          << ", kz_sh, tid, lane, G);\n";
      }
      for (const FzIns& I : ph.finish) ins(I, true, "    ");
    }
    o << "  }\n}\n";
    return o.str();
  }
};

}  // namespace

std::string fz_render(const FzProgram& P, const FzGeom& g) { return Renderer(P, g).render(); }

}  // namespace cuda
}  // namespace kiln
