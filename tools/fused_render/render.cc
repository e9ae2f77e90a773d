// Renders dumped fused programs (tools/fused_render/dump_programs.mjs) to CUDA C with
// backends/cuda/fused_codegen, two layouts each (all contiguous; transposed / broadcast inputs),
// into one .cu file that `nvcc -c` checks. See tools/fused_render/README.md.
//   render <programs.txt> <out.cu>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>
#include "../../backends/cuda/fused_codegen.h"

using namespace kiln::cuda;

static std::string replace_all(std::string s, const std::string& a, const std::string& b) {
  for (size_t p = s.find(a); p != std::string::npos; p = s.find(a, p + b.size())) s.replace(p, a.size(), b);
  return s;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: render <programs.txt> <out.cu>\n";
    return 2;
  }
  std::ifstream in(argv[1]);
  std::ofstream out(argv[2]);
  std::string line, marker = "// ---- end of prelude ----";
  int n = 0, unsupported = 0, rendered = 0;
  bool first = true;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::vector<double> w;
    std::stringstream ss(line);
    std::string tok;
    while (std::getline(ss, tok, ',')) w.push_back(std::strtod(tok.c_str(), nullptr));
    FzProgram P;
    std::string why;
    if (!fz_parse(w.data(), w.size(), P, &why)) {
      std::cerr << "program " << n << ": parse failed: " << why << "\n";
      return 1;
    }
    std::string u = fz_unsupported(P);
    if (!u.empty()) {
      std::cout << "program " << n << ": unsupported on the GPU: " << u << "\n";
      unsupported++;
      n++;
      continue;
    }
    const int nops = P.nops(), nk = P.nred ? P.ndim - P.nred : 0;
    std::vector<int64_t> shape(P.ndim);
    for (int d = 0; d < P.ndim; d++) shape[d] = 3 + d;
    for (int variant = 0; variant < 2; variant++) {
      std::vector<std::vector<int64_t>> st(nops, std::vector<int64_t>(P.ndim, 0));
      for (int k = 0; k < nops; k++) {
        bool row_out = k >= P.n_in && P.out_kind[k - P.n_in] == 1;
        int64_t s = 1;
        for (int d = P.ndim - 1; d >= 0; d--) {
          if (row_out && d >= nk) continue;  // zero strides on the reduced dims
          st[k][d] = s;
          s *= shape[d];
        }
        if (variant == 1 && k == 0 && P.n_in > 0) {  // column-major first input
          s = 1;
          for (int d = 0; d < P.ndim; d++) st[k][d] = s, s *= shape[d];
        }
        if (variant == 1 && k == 1 && k < P.n_in && P.ndim > 0) st[k][0] = 0;  // broadcast along dim 0
      }
      std::vector<const int64_t*> sp;
      for (auto& v : st) sp.push_back(v.data());
      FzGeom g = fz_geometry(P, shape.data(), sp);
      std::string src = fz_render(P, g);
      std::string name = "kiln_fused_" + std::to_string(n) + "_" + std::to_string(variant);
      src = replace_all(src, "kiln_fused(", name + "(");
      src = replace_all(src, "struct KzArgs", "struct KzArgs_" + name);
      src = replace_all(src, "const KzArgs A", "const KzArgs_" + name + " A");
      src = replace_all(src, "typedef int I;", "");
      src = replace_all(src, "typedef long long I;", "");
      // one prelude for the whole file; I is a per-kernel type
      size_t p = src.find(marker);
      std::string body = src.substr(p + marker.size());
      std::string itype = g.idx32 ? "int" : "long long";
      body = "\nnamespace ns_" + name + " {\ntypedef " + itype + " I;\n" + body + "}\n";
      if (first) out << src.substr(0, p + marker.size()) << "\n";
      first = false;
      out << "// program " << n << " layout " << fz_layout_key(g) << "\n" << body;
      rendered++;
    }
    n++;
  }
  std::cout << "render: " << n << " programs, " << rendered << " kernels rendered, " << unsupported
            << " unsupported -> " << argv[2] << "\n";
  return 0;
}
