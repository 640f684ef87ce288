// tteqsat test stub: signatures written from tenstorrent/tt-metal (not copied); bodies are empty.
// Mirrors: tt_metal/hw/inc/api/compute/transpose_wh.h @ 04b3405067aa1e0a4f142aad0f7d3937337f0e12
// A DEPRECATED compatibility header in tt-metal: every function is [[deprecated]] and forwards to transpose.h.
//   transpose_wh_init(icb, ocb)  -> compute_kernel_hw_startup(icb, ocb); transpose_init(icb);
//   transpose_wh_init_short(icb) -> transpose_init(icb);
//   transpose_wh_tile(...)       -> transpose_tile(...);
#pragma once

#include "api/compute/transpose.h"

namespace ckernel {

[[deprecated(
    "Use compute_kernel_hw_startup(icb, ocb) once at the top of the kernel, then transpose_init(icb). See "
    "api/compute/transpose.h.")]] ALWI void
transpose_wh_init(uint32_t /*icb*/, uint32_t /*ocb*/, uint32_t /*call_line*/ = __builtin_LINE()) {}

[[deprecated("Use transpose_init(icb). See api/compute/transpose.h.")]] ALWI void transpose_wh_init_short(
    uint32_t /*icb*/, uint32_t /*call_line*/ = __builtin_LINE()) {}

[[deprecated("Use transpose_tile(icb, itile, idst). See api/compute/transpose.h.")]] ALWI void transpose_wh_tile(
    uint32_t /*icb*/, uint32_t /*itile*/, uint32_t /*idst*/) {}

}  // namespace ckernel
