// tteqsat test stub: signatures written from tenstorrent/tt-metal (not copied); bodies are empty.
// Mirrors: tt_metal/hw/inc/api/compute/src_order.h (search-index file id 55994284228; tt-metal main,
// after PR #46346 / #50570). Older copies define SrcOrder inside compute_kernel_hw_startup.h.
#pragma once

#include <cstdint>

namespace ckernel {

enum class SrcOrder : uint8_t {
    Regular = 0,  // icb0 -> SrcA, icb1 -> SrcB (every op except matmul)
    Reverse = 1,  // icb0 -> SrcB, icb1 -> SrcA (matmul)
};

}  // namespace ckernel
