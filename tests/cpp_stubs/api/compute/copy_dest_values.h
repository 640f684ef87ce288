// tteqsat test stub: signatures written from tenstorrent/tt-metal (not copied); bodies are empty.
// Mirrors: tt_metal/hw/inc/api/compute/copy_dest_values.h @ 01c8afed5a09a5fdd7c3ddbe0167f81b9607feb3
// DST[idst_out] <- DST[idst_in]. The non-template overload is [[deprecated]] in tt-metal.
#pragma once

#include "api/compute/common_globals.h"

namespace ckernel {

template <DataFormat DATA_FORMAT>
ALWI void copy_dest_values(uint32_t /*idst_in*/, uint32_t /*idst_out*/) {}

[[deprecated("Use copy_dest_values<DataFormat> instead")]]
ALWI void copy_dest_values(uint32_t /*idst_in*/, uint32_t /*idst_out*/) {}

ALWI void copy_dest_values_init() {}

}  // namespace ckernel
