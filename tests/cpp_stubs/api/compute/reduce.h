// tteqsat test stub: signatures written from tenstorrent/tt-metal (not copied); bodies are empty.
// Mirrors: tt_metal/hw/inc/api/compute/reduce.h @ 0112bb1e04b1728d8c295b5fddf0913f0540fb0d
// As in tt-metal, the default template arguments name the macros REDUCE_OP and REDUCE_DIM: a kernel
// must #define both before including this header (tt-mlir emits the defines), even when every call
// passes explicit template arguments. reduce_init programs packer edge masks that stay active until
// reduce_uninit().
#pragma once

#include "api/compute/common.h"

namespace ckernel {

template <PoolType reduce_type = REDUCE_OP, ReduceDim reduce_dim = REDUCE_DIM, bool enforce_fp32_accumulation = false>
ALWI void reduce_init(
    uint32_t /*icb*/, uint32_t /*icb_scaler*/, uint32_t /*ocb*/, uint32_t /*call_line*/ = __builtin_LINE()) {}

template <bool enforce_fp32_accumulation = false>
ALWI void reduce_uninit(uint32_t /*icb*/ = 0) {}

template <PoolType reduce_type = REDUCE_OP, ReduceDim reduce_dim = REDUCE_DIM, bool enforce_fp32_accumulation = false>
ALWI void reduce_tile(
    uint32_t /*icb*/, uint32_t /*icb_scaler*/, uint32_t /*itile*/, uint32_t /*itile_scaler*/, uint32_t /*idst*/) {}

template <PoolType reduce_type = REDUCE_OP, ReduceDim reduce_dim = REDUCE_DIM, bool enforce_fp32_accumulation = false>
ALWI void reduce_tile_math(uint32_t /*idst*/, uint32_t /*num_faces*/ = 4) {}

}  // namespace ckernel
