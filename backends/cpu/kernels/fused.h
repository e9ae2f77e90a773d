// Fused programs (DESIGN.md §2 "compile", §3 "fused programs"): a small typed SSA program that
// kn.compile builds for a region of elementwise ops and reductions, registered once with
// compileProgram and launched by the `fused` kernel with operand views that carry each input's
// index map (strides, zero strides for broadcasting).
//
// Program encoding (a Float64Array; every field an integer):
//   header   : version (2), n_inputs, n_outputs, ndim, nred, n_block_regs, n_row_regs, n_accs, n_phases,
//              n_spill_slots, n_init
//   inputs   : dtype per input
//   outputs  : dtype per output, then kind per output (0 = full: one element per iteration point,
//              1 = row: one element per row, its view has zero strides on the reduced dims)
//   registers: compute type per block register, then per row register (bool, the integer types,
//              float32 (also for float16/bfloat16 data) or float64)
//   accs     : (reduce op, compute type) per accumulator (sum, prod, max, min, all, any)
//   spills   : compute type per spill slot (a row's worth of an intermediate kept for later phases)
//   init     : n_init constant instructions (7 words each, see below) run once per task
//   phases   : per phase n_setup, n_body, n_finish, then those instructions, 7 words each:
//              code, op, dst, a, b, c, imm
// Every operand has the iteration shape (ndim dims); the last nred dims are reduced. A program
// with nred = 0 is elementwise and has one phase. For each row (a point of the kept dims) the
// phases run in order: `setup` fills block registers (row values), `body` runs over
// blocks of the row's reduced elements, `finish` runs once per row on row registers (reduction
// results, row outputs). Later phases see the row values earlier phases produced.
#pragma once
#include <cstdint>
#include <vector>
#include "../../common/command.h"

namespace kiln {

enum FusedCode : int32_t {
  kFzLoad = 0,    // body: block dst <- input a
  kFzStore = 1,   // body: output a <- block b (full output); finish: output a <- row b (row output)
  kFzConst = 2,   // setup/finish: dst <- imm as storage dtype op
  kFzSplat = 3,   // setup: block dst <- row a (every lane)
  kFzUnary = 4,   // dst <- unary op (a)
  kFzBinary = 5,  // dst <- binary op (a, b)
  kFzWhere = 6,   // dst <- a ? b : c
  kFzCast = 7,    // dst <- a cast to storage dtype op (dst has that dtype's compute type)
  kFzReduce = 8,  // body: accumulator dst folds block a
  kFzAccGet = 9,  // finish: row dst <- accumulator a
  kFzSpill = 10,  // body: spill slot dst <- block a (the row's values, for later phases)
  kFzFill = 11,   // body: block dst <- spill slot a
  kFzCodes
};

// Validates and registers a program; returns its handle (> 0). Throws kiln::Error.
int64_t fused_compile(const double* words, size_t n);
// Forgets a program (commands that still name it fail with an error).
void fused_release(int64_t handle);

// Allocates the buffers `allocs` describes ([count, then per buffer nbytes, npos, positions]),
// writes their ids into `words` at those positions, then parses and runs the command list.
// Returns the new ids; on failure every new buffer is released and the error rethrown.

void check_fused(const Command&);
// How many of a checked fused command's operands are inputs (its program's n_inputs).
int32_t fused_input_count(const Command&);
void run_fused(const Command&);

}  // namespace kiln
