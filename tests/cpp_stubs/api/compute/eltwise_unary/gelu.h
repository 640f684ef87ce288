// tteqsat test stub: signatures written from tenstorrent/tt-metal (not copied); bodies are empty.
// Mirrors: tt_metal/hw/inc/api/compute/eltwise_unary/gelu.h @ 01c8afed5a09a5fdd7c3ddbe0167f81b9607feb3
// Note the DEFAULT is the fast approximation (fast_and_approx = true).
#pragma once

#include "api/compute/common_globals.h"

namespace ckernel {

template <bool fast_and_approx = true>
ALWI void gelu_tile_init() {}
template <bool fast_and_approx = true>
ALWI void gelu_tile(uint32_t /*idst*/) {}
template <bool fast_and_approx = true>
ALWI void gelu_tile_init_pack() {}
template <bool fast_and_approx = true>
ALWI void gelu_tile_pack(uint32_t /*idst*/) {}

ALWI void gelu_tanh_tile_init() {}
ALWI void gelu_tanh_tile_init_pack() {}
ALWI void gelu_tanh_tile(uint32_t /*idst*/) {}
ALWI void gelu_tanh_tile_pack(uint32_t /*idst*/) {}

template <bool fast_and_approx = false>
ALWI void gelu_derivative_tile_init() {}
template <bool fast_and_approx = false>
ALWI void gelu_derivative_tile(uint32_t /*idst*/) {}

}  // namespace ckernel
