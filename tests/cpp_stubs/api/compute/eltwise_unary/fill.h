// tteqsat test stub: signatures written from tenstorrent/tt-metal (not copied); bodies are empty.
// Mirrors: tt_metal/hw/inc/api/compute/eltwise_unary/fill.h @ 129d23481571ebac2361d2f4cda4d08fd2695741
// fill_tile takes a float VALUE; fill_tile_bitcast takes fp32 BITS; fill_tile_int<DataFormat> takes an integer.
#pragma once

#include "api/compute/common_globals.h"

namespace ckernel {

ALWI void fill_tile(uint32_t /*idst*/, float /*param0*/) {}

template <DataFormat DATA_FORMAT>
ALWI void fill_tile_int(uint32_t /*idst*/, uint32_t /*param0*/) {
    static_assert(
        DATA_FORMAT == DataFormat::Int32 || DATA_FORMAT == DataFormat::UInt32 || DATA_FORMAT == DataFormat::UInt16,
        "Unsupported data format for fill_tile_int. Supported: Int32, UInt32, UInt16");
}

ALWI void fill_tile_bitcast(uint32_t /*idst*/, uint32_t /*param0*/) {}

ALWI void fill_tile_init() {}

}  // namespace ckernel
