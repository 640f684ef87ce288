// tteqsat test stub: written from tenstorrent/tt-metal / tt-llk, not copied.
// Collects two ckernel definitions the compute API signatures need:
//   * ckernel::DstRoundingMode (tt-llk common header next to enum ThreadId, search-index id 58178401493;
//     used as the first template parameter of add/sub/rsub_binary_tile).
//   * ckernel::p_sfpu::kCONST_1_FP16B (bf16 bits of 1.0f, the default `scale` of exp_tile).
// SIMPLIFICATION: the real definitions live in several tt-llk headers (ckernel_defs.h and others);
// they are merged here under one file name. Values: DstRoundingMode as read; kCONST_1_FP16B = 0x3F80
// (bf16 1.0, as exp.h documents the default "0x3F80, 1.0f in FP16b").
#pragma once

#include <cstdint>

namespace ckernel {

enum class DstRoundingMode : std::uint8_t {
    Default = 0,
    NearestEven = 1,
};

namespace p_sfpu {
constexpr std::uint32_t kCONST_1_FP16B = 0x3F80;
}  // namespace p_sfpu

}  // namespace ckernel
