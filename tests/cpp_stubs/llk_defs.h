// tteqsat test stub: written from tenstorrent/tt-llk, not copied.
// Mirrors: tt-llk tt_llk_wormhole_b0/llk_lib/llk_defs.h @ 0563ac293941ca7fbe5c64f5817220f6a1049314
// (tt-metal vendors tt-llk under tt_metal/third_party/tt_llk). Only the enums the compute API
// signatures use. NOTE: PoolType, ReduceDim, BroadcastType, EltwiseBinaryType are UNSCOPED enums in
// namespace ckernel (so both PoolType::SUM and plain SUM name the enumerator); VectorMode and
// EltwiseBinaryReuseDestType are enum class.
#pragma once

#include <cstdint>

#include "tensix_types.h"

namespace ckernel {

enum class VectorMode : uint8_t {
    None = 0,
    R = 1,
    C = 2,
    RC = 4,
    RC_custom = 6,
    Invalid = 0xFF,
};

enum ReduceDim {
    REDUCE_ROW,
    REDUCE_COL,
    REDUCE_SCALAR,
};

enum PoolType {
    SUM,
    AVG,
    MAX,
    MIN,
};

enum DataCopyType {
    A2D,
    B2D,
};

enum EltwiseBinaryType {
    ELWMUL,
    ELWDIV,
    ELWADD,
    ELWSUB,
    ELWLESS,
};

enum class EltwiseBinaryReuseDestType {
    NONE = 0,
    DEST_TO_SRCA = 1,
    DEST_TO_SRCB = 2,
};

enum DstSync {
    SyncHalf = 0,
    SyncFull = 1,
};

enum BroadcastType {
    NONE = 0x0,
    COL = 0x1,
    ROW = 0x2,
    SCALAR = 0x3,
};

enum ReluType {
    NO_RELU,
    ZERO_RELU,
    MIN_THRESHOLD_RELU,
    MAX_THRESHOLD_RELU,
};

constexpr bool UnpackToDestEn = true;
constexpr bool UnpackToDestDis = false;

}  // namespace ckernel
