// tteqsat test stub: signatures written from tenstorrent/tt-metal (not copied); bodies are empty.
// Mirrors: tt_metal/hw/inc/api/compute/eltwise_unary/exp.h @ 16b81a9aef4f9f1b74ddb7574986f7ba7e9b01e7
//   exp_tile_init<approx, uint32_t scale (fp32 BITS, used when approx && scale_en), InputClamping>()
//   exp_tile<approx, scale_en, InputClamping, iterations>(idst, VectorMode, uint16_t scale (bf16 BITS))
// Passing an fp32 bit pattern (e.g. 0x3e000000u) as exp_tile's scale truncates it to its low 16 bits.
#pragma once

#include "api/compute/common_globals.h"

namespace ckernel {

enum class InputClamping : uint8_t {
    ClampToNegative = 1,
    None = 0,
};

template <bool approx = false, uint32_t scale = 0x3F800000, InputClamping input_clamping = InputClamping::ClampToNegative>
ALWI void exp_tile_init() {}

template <
    bool approx = false,
    bool scale_en = false,
    InputClamping input_clamping = InputClamping::ClampToNegative,
    int iterations = 8>
ALWI void exp_tile(
    uint32_t /*idst*/, VectorMode /*vector_mode*/ = VectorMode::RC, uint16_t /*scale*/ = p_sfpu::kCONST_1_FP16B) {}

template <bool approx = false, uint32_t scale = 0x3F800000, InputClamping input_clamping = InputClamping::ClampToNegative>
ALWI void exp_packthread_tile_init() {}

template <
    bool approx = false,
    bool scale_en = false,
    InputClamping input_clamping = InputClamping::ClampToNegative,
    int iterations = 8>
ALWI void exp_packthread_tile(
    uint32_t /*idst*/, VectorMode /*vector_mode*/ = VectorMode::RC, uint16_t /*scale*/ = p_sfpu::kCONST_1_FP16B) {}

}  // namespace ckernel
