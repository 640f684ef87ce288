// tteqsat test stub: signatures written from tenstorrent/tt-metal (not copied); bodies are empty.
// Mirrors: tt_metal/hw/inc/api/compute/compute_kernel_hw_startup.h, the SrcOrder version
// (search-index file id 54507873839; tt-metal main 2026). Call exactly once, at the top of the kernel,
// before any other compute API call (MMIO writes: unsafe mid-kernel). Matmul kernels must use
// compute_kernel_hw_startup<SrcOrder::Reverse>(in0, in1, out).
#pragma once

#include "api/compute/common.h"
#include "api/compute/src_order.h"

namespace ckernel {

template <SrcOrder src_order = SrcOrder::Regular>
ALWI void compute_kernel_hw_startup(uint32_t /*icb0*/, uint32_t /*icb1*/, uint32_t /*ocb*/) {}

ALWI void compute_kernel_hw_startup(uint32_t icb0, uint32_t ocb) { compute_kernel_hw_startup(icb0, icb0, ocb); }

ALWI void enable_fp32_dest_acc() {}
ALWI void disable_fp32_dest_acc() {}

}  // namespace ckernel
