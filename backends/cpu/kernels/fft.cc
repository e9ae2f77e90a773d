// fft: batched 1-d discrete Fourier transforms along the last dim of strided views.
//   params: mode (0 complex->complex, 1 real->complex, 2 complex->real), n, inverse (0|1), scale
//   c2c: complex64 [..., m] -> complex64 [..., n]       (rows cut or zero-padded to n)
//   r2c: float32   [..., m] -> complex64 [..., n/2+1]   (rows cut or zero-padded to n)
//   c2r: complex64 [..., m] -> float32   [..., n]       (rows cut or zero-padded to n/2+1, Hermitian)
// Every output element is multiplied by `scale` (the norm, chosen in TypeScript). Transforms are
// Stockham mixed-radix (4, 2, 3 and small odd primes) in float32 with twiddles computed in float64;
// lengths with a prime factor above kMaxRadix go through Bluestein's chirp-z on a power of two.
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <vector>
#include "kernels.h"
#include "../scratch.h"
#include "../strided.h"
#include "../thread_pool.h"

namespace kiln {
namespace {

struct cf {
  float re, im;
};
inline cf add(cf a, cf b) { return {a.re + b.re, a.im + b.im}; }
inline cf sub(cf a, cf b) { return {a.re - b.re, a.im - b.im}; }
inline cf mul(cf a, cf b) { return {a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re}; }
inline cf conj(cf a) { return {a.re, -a.im}; }

constexpr int kMaxRadix = 31;

struct Stage {
  int radix;
  int64_t m, s;         // this stage's sub-length is radix * m; s is the stride of its rows
  std::vector<cf> tw;   // tw[p * (radix - 1) + k - 1] = exp(-2 pi i p k / (radix * m))
  std::vector<cf> dft;  // generic radices: exp(-2 pi i j / radix), j < radix
};

struct Plan {
  int64_t n = 0;
  std::vector<Stage> stages;
  // Bluestein: x_k * chirp_k convolved with conj(chirp) through transforms of size M
  int64_t M = 0;
  std::shared_ptr<const Plan> sub;
  std::vector<cf> chirp, bhat;  // chirp_k = exp(-i pi k^2 / n); bhat = fft(conj chirp, circular) / M
};

cf expi(double angle) { return {(float)std::cos(angle), (float)std::sin(angle)}; }

std::vector<int> factor(int64_t n, bool* ok) {
  std::vector<int> f;
  while (n % 4 == 0) f.push_back(4), n /= 4;
  while (n % 2 == 0) f.push_back(2), n /= 2;
  for (int p = 3; p <= kMaxRadix && n > 1; p += 2)
    while (n % p == 0) f.push_back(p), n /= p;
  *ok = n == 1;
  return f;
}

std::shared_ptr<const Plan> get_plan(int64_t n);
void fft_forward(const Plan& P, cf* data, cf* work, cf* blue);

std::shared_ptr<const Plan> build_plan(int64_t n) {
  auto P = std::make_shared<Plan>();
  P->n = n;
  bool ok;
  std::vector<int> radices = factor(n, &ok);
  if (ok) {
    int64_t len = n, s = 1;
    for (int r : radices) {
      Stage st;
      st.radix = r;
      st.m = len / r;
      st.s = s;
      st.tw.resize((size_t)(st.m * (r - 1)));
      for (int64_t p = 0; p < st.m; p++)
        for (int k = 1; k < r; k++)
          st.tw[(size_t)(p * (r - 1) + k - 1)] = expi(-2.0 * M_PI * (double)((p * k) % len) / (double)len);
      if (r != 2 && r != 3 && r != 4) {
        st.dft.resize(r);
        for (int j = 0; j < r; j++) st.dft[j] = expi(-2.0 * M_PI * j / r);
      }
      P->stages.push_back(std::move(st));
      len /= r;
      s *= r;
    }
    return P;
  }
  int64_t M = 1;
  while (M < 2 * n - 1) M *= 2;
  P->M = M;
  P->sub = get_plan(M);
  P->chirp.resize((size_t)n);
  const unsigned __int128 two_n = 2 * (unsigned __int128)n;
  for (int64_t k = 0; k < n; k++) {  // k^2 mod 2n keeps the angle exact for large k
    auto q = (int64_t)(((unsigned __int128)k * (unsigned __int128)k) % two_n);
    P->chirp[(size_t)k] = expi(-M_PI * (double)q / (double)n);
  }
  std::vector<cf> b((size_t)M, cf{0, 0}), work((size_t)M);
  for (int64_t k = 0; k < n; k++) {
    b[(size_t)k] = conj(P->chirp[(size_t)k]);
    if (k) b[(size_t)(M - k)] = conj(P->chirp[(size_t)k]);
  }
  fft_forward(*P->sub, b.data(), work.data(), nullptr);
  for (auto& v : b) v = {v.re / (float)M, v.im / (float)M};
  P->bhat = std::move(b);
  return P;
}

std::shared_ptr<const Plan> get_plan(int64_t n) {
  static std::mutex mu;
  static std::map<int64_t, std::shared_ptr<const Plan>> cache;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(n);
    if (it != cache.end()) return it->second;
  }
  auto P = build_plan(n);  // outside the lock: Bluestein plans ask for their sub-plan
  std::lock_guard<std::mutex> lock(mu);
  if (cache.size() >= 64) cache.clear();  // plans in use stay alive through their shared_ptr
  cache.emplace(n, P);
  return P;
}

// One Stockham stage over p in [p0, p1): y[q + s (r p + k)] = tw(p, k) * sum_j x[q + s (p + j m)] w_r^{jk}
void run_stage(const Stage& st, const cf* x, cf* y, int64_t p0, int64_t p1) {
  const int r = st.radix;
  const int64_t m = st.m, s = st.s;
  const cf* tw = st.tw.data();
  for (int64_t p = p0; p < p1; p++) {
    const cf* w = tw + p * (r - 1);
    const cf* xp = x + s * p;
    cf* yp = y + s * r * p;
    if (r == 2) {
      for (int64_t q = 0; q < s; q++) {
        cf a0 = xp[q], a1 = xp[q + s * m];
        yp[q] = add(a0, a1);
        yp[q + s] = mul(sub(a0, a1), w[0]);
      }
    } else if (r == 4) {
      for (int64_t q = 0; q < s; q++) {
        cf a0 = xp[q], a1 = xp[q + s * m], a2 = xp[q + 2 * s * m], a3 = xp[q + 3 * s * m];
        cf t0 = add(a0, a2), t1 = sub(a0, a2), t2 = add(a1, a3), t3 = sub(a1, a3);
        cf mi_t3 = {t3.im, -t3.re};  // -i * t3
        yp[q] = add(t0, t2);
        yp[q + s] = mul(add(t1, mi_t3), w[0]);
        yp[q + 2 * s] = mul(sub(t0, t2), w[1]);
        yp[q + 3 * s] = mul(sub(t1, mi_t3), w[2]);
      }
    } else if (r == 3) {
      const float h = 0.86602540378443864676f;  // sqrt(3) / 2
      for (int64_t q = 0; q < s; q++) {
        cf a0 = xp[q], a1 = xp[q + s * m], a2 = xp[q + 2 * s * m];
        cf t = add(a1, a2), d = sub(a1, a2);
        cf c = {a0.re - 0.5f * t.re, a0.im - 0.5f * t.im};
        cf mid = {h * d.im, -h * d.re};  // -i (sqrt(3)/2) d
        yp[q] = add(a0, t);
        yp[q + s] = mul(add(c, mid), w[0]);
        yp[q + 2 * s] = mul(sub(c, mid), w[1]);
      }
    } else {
      cf a[kMaxRadix];
      for (int64_t q = 0; q < s; q++) {
        for (int j = 0; j < r; j++) a[j] = xp[q + j * s * m];
        for (int k = 0; k < r; k++) {
          cf acc = a[0];
          for (int j = 1; j < r; j++) acc = add(acc, mul(a[j], st.dft[(j * k) % r]));
          yp[q + k * s] = k ? mul(acc, w[k - 1]) : acc;
        }
      }
    }
  }
}

// Forward transform of data[0..n) in place; work holds n values (Bluestein: M, and blue M more).
void fft_forward(const Plan& P, cf* data, cf* work, cf* blue) {
  if (P.M) {
    const int64_t n = P.n, M = P.M;
    cf* a = blue;
    for (int64_t k = 0; k < n; k++) a[k] = mul(data[k], P.chirp[(size_t)k]);
    std::memset((void*)(a + n), 0, sizeof(cf) * (size_t)(M - n));
    fft_forward(*P.sub, a, work, nullptr);
    for (int64_t k = 0; k < M; k++) a[k] = conj(mul(a[k], P.bhat[(size_t)k]));
    fft_forward(*P.sub, a, work, nullptr);  // conj(fft(conj(.))) / M is the inverse (1/M is in bhat)
    for (int64_t k = 0; k < n; k++) data[k] = mul(conj(a[k]), P.chirp[(size_t)k]);
    return;
  }
  cf *x = data, *y = work;
  for (const Stage& st : P.stages) {
    // long rows spread one stage over the pool; inside a batched task this runs inline
    const int64_t grain = std::max<int64_t>(1, 16384 / (st.s * st.radix));
    parallel_for(st.m, grain, [&](int64_t p0, int64_t p1) { run_stage(st, x, y, p0, p1); });
    std::swap(x, y);
  }
  if (x != data) std::memcpy((void*)data, x, sizeof(cf) * (size_t)P.n);
}

}  // namespace

void check_fft(const Command& c) {
  const View &in = c.in(0), &out = c.out();
  const double mode = c.params[0], n = c.params[1], inv = c.params[2], scale = c.params[3];
  if (!(mode == 0 || mode == 1 || mode == 2)) fail("[fft] invalid mode ", mode, " (0 c2c, 1 r2c, 2 c2r)");
  if (!(n >= 1 && n <= 1099511627776.0 && n == std::floor(n))) fail("[fft] invalid length n = ", n);
  if (!(inv == 0 || inv == 1)) fail("[fft] inverse must be 0 or 1, got ", inv);
  if (!std::isfinite(scale)) fail("[fft] scale must be finite, got ", scale);
  if (in.ndim < 1 || in.ndim != out.ndim)
    fail("[fft] input and output need the same rank >= 1: ", in.describe(), " vs ", out.describe());
  for (int d = 0; d + 1 < in.ndim; d++)
    if (in.shape[d] != out.shape[d]) fail("[fft] batch dims differ: ", in.describe(), " vs ", out.describe());
  const int64_t N = (int64_t)n;
  const int want_in = mode == 1 ? kFloat32 : kComplex64, want_out = mode == 2 ? kFloat32 : kComplex64;
  expect_dtype(c, in, want_in, "input");
  expect_dtype(c, out, want_out, "output");
  const int64_t last = mode == 1 ? N / 2 + 1 : N;
  if (out.shape[out.ndim - 1] != last)
    fail("[fft] output rows must hold ", last, " values for n = ", N, ": ", out.describe());
}

void run_fft(const Command& c) {
  const View &in = c.in(0), &out = c.out();
  const int mode = (int)c.params[0];
  const int64_t n = (int64_t)c.params[1];
  const bool inv = c.params[2] != 0;
  const float scale = (float)c.params[3];
  if (out.size == 0) return;
  auto P = get_plan(n);
  const int64_t m_in = in.shape[in.ndim - 1], s_in = in.strides[in.ndim - 1];
  const int64_t m_out = out.shape[out.ndim - 1], s_out = out.strides[out.ndim - 1];
  const int64_t rows = out.size / m_out;
  const int64_t need = 2 * n + (P->M ? 3 * P->M : 0);
  parallel_for(rows, std::max<int64_t>(1, 65536 / n), [&](int64_t r0, int64_t r1) {
    thread_local Scratch scratch;
    cf* buf = scratch.get<cf>(need);
    cf *data = buf, *work = buf + n, *blue = P->M ? buf + n + 2 * P->M : nullptr;
    for (int64_t r = r0; r < r1; r++) {
      const int64_t io = row_offset(in, r), oo = row_offset(out, r);
      if (mode == 1) {
        const float* src = reinterpret_cast<const float*>(in.buf->data) + io;
        const int64_t k_in = std::min(m_in, n);
        for (int64_t k = 0; k < k_in; k++) data[k] = {src[k * s_in], 0.0f};
        for (int64_t k = k_in; k < n; k++) data[k] = {0.0f, 0.0f};
      } else {
        const cf* src = reinterpret_cast<const cf*>(in.buf->data) + io;
        const int64_t avail = mode == 2 ? n / 2 + 1 : n, k_in = std::min(m_in, avail);
        for (int64_t k = 0; k < k_in; k++) data[k] = src[k * s_in];
        for (int64_t k = k_in; k < avail; k++) data[k] = {0.0f, 0.0f};
        if (mode == 2)  // the Hermitian half that a real signal's spectrum implies
          for (int64_t k = avail; k < n; k++) data[k] = conj(data[n - k]);
      }
      // inverse = conj(forward(conj(x))): the conjugations fold into loading and storing
      const bool flip = inv || mode == 2;
      if (flip)
        for (int64_t k = 0; k < n; k++) data[k].im = -data[k].im;
      fft_forward(*P, data, work, blue);
      if (mode == 2) {
        float* dst = reinterpret_cast<float*>(out.buf->data) + oo;
        for (int64_t k = 0; k < n; k++) dst[k * s_out] = data[k].re * scale;
      } else {
        cf* dst = reinterpret_cast<cf*>(out.buf->data) + oo;
        const float sim = flip ? -scale : scale;
        for (int64_t k = 0; k < m_out; k++) dst[k * s_out] = {data[k].re * scale, data[k].im * sim};
      }
    }
  });
}

}  // namespace kiln
