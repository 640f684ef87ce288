// tteqsat test stub: signatures written from tenstorrent/tt-metal (not copied); bodies are empty.
// Mirrors: tt_metal/hw/inc/api/compute/common_globals.h @ 050f24fa811f4f26798a78feaac8a319912f5f10
// The real header pulls in the generated/LLK headers (chlkc_list.h, ckernel.h, ...); here they are
// replaced by the small stubs llk_defs.h / tensix_types.h / ckernel_defs.h / api/compile_time_args.h.
// STUB-ONLY: `using namespace ckernel;` lets kernels call the API unqualified, as they do in a real
// TRISC build (tt-metal kernels and tt-mlir's emitted C++ call e.g. tile_regs_acquire() unqualified).
#pragma once

#define ALWI inline __attribute__((always_inline))

#include <cstddef>  // ::size_t (tt-mlir emits size_t loop counters; real builds get it transitively)
#include <cstdint>

#include "internal/risc_attribs.h"
#include "api/compile_time_args.h"
#include "tensix_types.h"
#include "llk_defs.h"
#include "ckernel_defs.h"

// Generated per kernel by tt-metal's JIT build (fp32_dest_acc_en of the ComputeConfig).
#ifndef DST_ACCUM_MODE
#define DST_ACCUM_MODE false
#endif

using namespace ckernel;
