// Renders dumped fused programs (tools/fused_render/dump_programs.mjs) to CUDA C with
// backends/cuda/fused_codegen, three layouts each (layouts.h),
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
#include "layouts.h"

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
  std::string table;
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
    for (int variant = 0; variant < kHarnessVariants; variant++) {
      std::vector<int64_t> shape = harness_shape(P, variant);
      std::vector<std::vector<int64_t>> st = harness_strides(P, shape, variant);
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
      body = "\nnamespace ns_" + name + " {\ntypedef " + itype + " I;\n" + body +
             "#ifdef KZ_HOST_EMULATION\nvoid call(const long long* w) {\n  KzArgs_" + name +
             " a;\n  for (size_t i = 0; i < sizeof a.w / sizeof a.w[0]; i++) a.w[i] = w[i];\n  " + name +
             "(a);\n}\n#endif\n}\n";
      table += "  {" + std::to_string(n) + ", " + std::to_string(variant) + ", ns_" + name + "::call},\n";
      if (first) out << src.substr(0, p + marker.size()) << "\n";
      first = false;
      out << "// program " << n << " layout " << fz_layout_key(g) << "\n" << body;
      rendered++;
    }
    n++;
  }
  out << "#ifdef KZ_HOST_EMULATION\nKzEntry kz_entries[] = {\n" << table << "  {-1, -1, nullptr}};\n#endif\n";
  std::cout << "render: " << n << " programs, " << rendered << " kernels rendered, " << unsupported
            << " unsupported -> " << argv[2] << "\n";
  return 0;
}
