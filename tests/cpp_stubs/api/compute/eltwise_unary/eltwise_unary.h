// tteqsat test stub: signatures written from tenstorrent/tt-metal (not copied); bodies are empty.
// Mirrors: tt_metal/hw/inc/api/compute/eltwise_unary/eltwise_unary.h @ 0112bb1e04b1728d8c295b5fddf0913f0540fb0d
// (Some newer copies add a leading template <bool is_fp32_dest_acc_en = DST_ACCUM_MODE> to both functions;
// plain calls resolve the same way.) Both are full hardware inits: use at most once, at the top of the kernel.
#pragma once

#include "api/compute/common.h"

namespace ckernel {

ALWI void unary_op_init_common(uint32_t /*icb*/, uint32_t /*ocb*/, uint32_t /*call_line*/ = __builtin_LINE()) {}

ALWI void init_sfpu(uint32_t icb, uint32_t ocb, uint32_t call_line = __builtin_LINE()) {
    unary_op_init_common(icb, ocb, call_line);
}

}  // namespace ckernel
