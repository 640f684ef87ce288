// tteqsat test stub: signatures written from tenstorrent/tt-metal (not copied); bodies are empty.
// Mirrors: tt_metal/hw/inc/api/compute/eltwise_unary/comp.h @ 0792c8bdcb4ca2a22b980c7537f1c5d261f34231
//          (search-index id 54533865944; the non-Quasar declarations).
// Only the comparisons with zero: each writes 1.0 / 0.0 in place in DST[idst]; *_int32 / *_uint16 / *_uint32
// read integer DST data. The comparisons with a scalar (unary_ne_tile(idst, param0), ...) are not declared.
#pragma once

#include "api/compute/common_globals.h"

namespace ckernel {

ALWI void gtz_tile(uint32_t /*idst*/) {}
ALWI void gtz_tile_init() {}
ALWI void nez_tile(uint32_t /*idst*/) {}
ALWI void nez_tile_init() {}
ALWI void gez_tile(uint32_t /*idst*/) {}
ALWI void gez_tile_init() {}
ALWI void ltz_tile(uint32_t /*idst*/) {}
ALWI void ltz_tile_init() {}
ALWI void eqz_tile(uint32_t /*idst*/) {}
ALWI void eqz_tile_init() {}
ALWI void lez_tile(uint32_t /*idst*/) {}
ALWI void lez_tile_init() {}

ALWI void gtz_tile_int32(uint32_t /*idst*/) {}
ALWI void nez_tile_int32(uint32_t /*idst*/) {}
ALWI void gez_tile_int32(uint32_t /*idst*/) {}
ALWI void ltz_tile_int32(uint32_t /*idst*/) {}
ALWI void eqz_tile_int32(uint32_t /*idst*/) {}
ALWI void eqz_tile_uint16(uint32_t /*idst*/) {}
ALWI void eqz_tile_uint32(uint32_t /*idst*/) {}
ALWI void lez_tile_int32(uint32_t /*idst*/) {}
ALWI void nez_tile_uint16(uint32_t /*idst*/) {}
ALWI void nez_tile_uint32(uint32_t /*idst*/) {}

}  // namespace ckernel
