// tteqsat test stub: signatures written from tenstorrent/tt-metal (not copied); bodies are empty.
// Mirrors: tt_metal/hw/inc/api/compute/eltwise_binary_sfpu.h @ 1387d4d630a4aa8babcec8a063941facbda8497b (WH/BH)
// Operands are DST slots: op(idst0, idst1) -> odst.
#pragma once

#include "api/compute/common_globals.h"

namespace ckernel {

template <bool is_fp32_dest_acc_en = DST_ACCUM_MODE>
ALWI void div_binary_tile(uint32_t /*idst0*/, uint32_t /*idst1*/, uint32_t /*odst*/) {}

template <bool is_fp32_dest_acc_en = DST_ACCUM_MODE>
ALWI void mul_binary_tile(uint32_t /*idst0*/, uint32_t /*idst1*/, uint32_t /*odst*/) {}

template <
    ckernel::DstRoundingMode dst_rounding_mode = ckernel::DstRoundingMode::Default,
    bool is_fp32_dest_acc_en = DST_ACCUM_MODE>
ALWI void add_binary_tile(uint32_t /*idst0*/, uint32_t /*idst1*/, uint32_t /*odst*/) {}

template <
    ckernel::DstRoundingMode dst_rounding_mode = ckernel::DstRoundingMode::Default,
    bool is_fp32_dest_acc_en = DST_ACCUM_MODE>
ALWI void sub_binary_tile(uint32_t /*idst0*/, uint32_t /*idst1*/, uint32_t /*odst*/) {}

template <bool is_fp32_dest_acc_en = DST_ACCUM_MODE>
ALWI void div_no_nan_binary_tile(uint32_t /*idst0*/, uint32_t /*idst1*/, uint32_t /*odst*/) {}

template <
    ckernel::DstRoundingMode dst_rounding_mode = ckernel::DstRoundingMode::Default,
    bool is_fp32_dest_acc_en = DST_ACCUM_MODE>
ALWI void rsub_binary_tile(uint32_t /*idst0*/, uint32_t /*idst1*/, uint32_t /*odst*/) {}

template <bool is_fp32_dest_acc_en = DST_ACCUM_MODE>
ALWI void power_binary_tile(uint32_t /*idst0*/, uint32_t /*idst1*/, uint32_t /*odst*/) {}

ALWI void eq_binary_tile(uint32_t /*idst0*/, uint32_t /*idst1*/, uint32_t /*odst*/) {}
ALWI void ne_binary_tile(uint32_t /*idst0*/, uint32_t /*idst1*/, uint32_t /*odst*/) {}
ALWI void lt_binary_tile(uint32_t /*idst0*/, uint32_t /*idst1*/, uint32_t /*odst*/) {}
ALWI void gt_binary_tile(uint32_t /*idst0*/, uint32_t /*idst1*/, uint32_t /*odst*/) {}
ALWI void le_binary_tile(uint32_t /*idst0*/, uint32_t /*idst1*/, uint32_t /*odst*/) {}
ALWI void ge_binary_tile(uint32_t /*idst0*/, uint32_t /*idst1*/, uint32_t /*odst*/) {}

ALWI void div_binary_tile_init() {}
ALWI void mul_binary_tile_init() {}
ALWI void add_binary_tile_init() {}
ALWI void sub_binary_tile_init() {}
ALWI void rsub_binary_tile_init() {}
ALWI void power_binary_tile_init() {}
ALWI void eq_binary_tile_init() {}
ALWI void ne_binary_tile_init() {}
ALWI void lt_binary_tile_init() {}
ALWI void gt_binary_tile_init() {}
ALWI void le_binary_tile_init() {}
ALWI void ge_binary_tile_init() {}

}  // namespace ckernel
