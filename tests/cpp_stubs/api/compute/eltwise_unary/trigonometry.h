// tteqsat test stub: signatures written from tenstorrent/tt-metal (not copied); bodies are empty.
// Mirrors: tt_metal/hw/inc/api/compute/eltwise_unary/trigonometry.h @ 040a27c125587553626a7e57baa42571c8af91fa
// NOTE: no tanh_tile here -- tanh_tile / tanh_tile_init are declared in api/compute/compute_kernel_api.h.
#pragma once

#include "api/compute/common_globals.h"

namespace ckernel {

ALWI void sin_tile_init() {}
ALWI void sin_tile(uint32_t /*idst*/) {}
ALWI void cos_tile_init() {}
ALWI void cos_tile(uint32_t /*idst*/) {}
ALWI void acosh_tile_init() {}
ALWI void acosh_tile(uint32_t /*idst*/) {}
ALWI void tan_tile_init() {}
ALWI void tan_tile(uint32_t /*idst*/) {}
ALWI void asinh_tile_init() {}
ALWI void asinh_tile(uint32_t /*idst*/) {}
ALWI void atanh_tile_init() {}
ALWI void atanh_tile(uint32_t /*idst*/) {}
ALWI void asin_tile(uint32_t /*idst*/) {}
ALWI void asin_tile_init() {}
ALWI void atan_tile(uint32_t /*idst*/) {}
ALWI void atan_tile_init() {}
ALWI void acos_tile(uint32_t /*idst*/) {}
ALWI void acos_tile_init() {}
ALWI void cosh_tile_init() {}
ALWI void cosh_tile(uint32_t /*idst*/) {}
ALWI void sinh_tile_init() {}
ALWI void sinh_tile(uint32_t /*idst*/) {}

}  // namespace ckernel
