// tteqsat test stub: signatures written from tenstorrent/tt-metal (not copied); bodies are empty.
// Mirrors: tt_metal/hw/inc/api/compute/matmul.h @ 01c8afed5a09a5fdd7c3ddbe0167f81b9607feb3
// (after tt-metal PR #50570, merged 2026-07-28, "remove legacy matmul init API (mm_init family)").
// mm_init, mm_init_short, mm_init_short_with_dt, mm_block_init, mm_block_init_short(_with_dt) are
// GONE and deliberately not declared here: calling them must fail to compile. New model:
//   compute_kernel_hw_startup<SrcOrder::Reverse>(in0, in1, out);   // once, top of kernel
//   matmul_init(in0, in1, transpose);  / matmul_block_init(in0, in1, transpose, ct, rt, kt);
// The Blackhole-only helper matmul_block_math_dynamic_throttle is not mirrored.
#pragma once

#include "api/compute/common.h"

#ifndef MM_THROTTLE
#define MM_THROTTLE 0
#endif

namespace ckernel {

ALWI void matmul_init(
    uint32_t /*in0_cb_id*/, uint32_t /*in1_cb_id*/, const uint32_t /*transpose*/ = 0,
    uint32_t /*call_line*/ = __builtin_LINE()) {}

ALWI void matmul_tiles(
    uint32_t /*in0_cb_id*/, uint32_t /*in1_cb_id*/, uint32_t /*in0_tile_index*/, uint32_t /*in1_tile_index*/,
    uint32_t /*idst*/) {}

ALWI void matmul_block_init(
    uint32_t /*in0_cb_id*/,
    uint32_t /*in1_cb_id*/,
    const uint32_t /*transpose*/ = 0,
    uint32_t /*ct_dim*/ = 1,
    uint32_t /*rt_dim*/ = 1,
    uint32_t /*kt_dim*/ = 1,
    uint32_t /*call_line*/ = __builtin_LINE()) {}

ALWI void matmul_block(
    uint32_t /*in0_cb_id*/,
    uint32_t /*in1_cb_id*/,
    uint32_t /*in0_tile_index*/,
    uint32_t /*in1_tile_index*/,
    uint32_t /*idst*/,
    const uint32_t /*transpose*/,
    uint32_t /*ct_dim*/,
    uint32_t /*rt_dim*/,
    uint32_t /*kt_dim*/,
    uint32_t /*call_line*/ = __builtin_LINE()) {}

}  // namespace ckernel
