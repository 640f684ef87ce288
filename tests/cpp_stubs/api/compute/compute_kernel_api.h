// tteqsat test stub: signatures written from tenstorrent/tt-metal (not copied); bodies are empty.
// Mirrors: tt_metal/hw/inc/api/compute/compute_kernel_api.h @ 00b0fa3f57bf8c13af0f124a70a02b0bdbde8b90
// Only the first ~32 kB of the 54 kB file was read: sigmoid, silu, log, log_with_base, tanh (tanh_tile
// lives HERE, not in eltwise_unary/trigonometry.h), signbit, abs, sign, square, tiled_prod, power,
// power_iterative, exp2, heaviside, expm1. The topk_* and later functions are not mirrored.
#pragma once

#define ALWI inline __attribute__((always_inline))

#include "api/compute/common_globals.h"

namespace ckernel {

template <bool fast_and_approx = false>
ALWI void sigmoid_tile_init() {}
template <VectorMode vec_mode = VectorMode::RC, bool fast_and_approx = false>
ALWI void sigmoid_tile(uint32_t /*idst*/) {}

ALWI void silu_tile(uint32_t /*idst*/) {}
ALWI void silu_tile_init() {}

template <bool fast_and_approx = false>
ALWI void sigmoid_tile_init_pack() {}
template <VectorMode vec_mode = VectorMode::RC, bool fast_and_approx = false>
ALWI void sigmoid_tile_pack(uint32_t /*idst*/) {}

template <bool fast_and_approx = false>
ALWI void log_tile_init() {}
template <bool fast_and_approx = false>
ALWI void log_tile(uint32_t /*idst*/) {}

template <bool fast_and_approx = false>
ALWI void log_with_base_tile_init() {}
template <bool fast_and_approx = false>
ALWI void log_with_base_tile(uint32_t /*idst*/, uint32_t /*base_scale*/) {}

template <bool fast_and_approx = false>
ALWI void tanh_tile_init() {}
template <bool fast_and_approx = false>
ALWI void tanh_tile_init_pack() {}
template <bool fast_and_approx = false>
ALWI void tanh_tile(uint32_t /*idst*/) {}
template <bool fast_and_approx = false>
ALWI void tanh_tile_pack(uint32_t /*idst*/) {}

ALWI void signbit_tile_init() {}
ALWI void signbit_tile(uint32_t /*idst*/) {}
ALWI void signbit_tile_int32_init() {}
ALWI void signbit_tile_int32(uint32_t /*idst*/) {}

ALWI void abs_tile(uint32_t /*idst*/) {}
ALWI void abs_tile_init() {}
ALWI void abs_tile_int32(uint32_t /*idst*/) {}

ALWI void sign_tile(uint32_t /*idst*/) {}
ALWI void sign_tile_init() {}

ALWI void square_tile(uint32_t /*idst*/) {}
ALWI void square_tile_init() {}

ALWI void tiled_prod_tile(uint32_t /*idst*/) {}
ALWI void tiled_prod_tile_init() {}

// param0: the exponent as IEEE-754 float bits.
ALWI void power_tile(uint32_t /*idst*/, uint32_t /*param0*/) {}
ALWI void power_tile_init() {}
ALWI void power_iterative_tile(uint32_t /*idst*/, uint32_t /*param0*/) {}
ALWI void power_iterative_tile_init() {}

ALWI void exp2_tile(uint32_t /*idst*/) {}
ALWI void exp2_tile_init() {}

ALWI void heaviside_tile(uint32_t /*idst*/, uint32_t /*param0*/) {}
ALWI void heaviside_tile_init() {}

template <bool approx = false>
ALWI void expm1_tile(uint32_t /*idst*/) {}
template <bool approx = false>
ALWI void expm1_tile_init() {}

ALWI void silu_tile_pack(uint32_t /*idst*/) {}
ALWI void silu_tile_init_pack() {}

}  // namespace ckernel
