// tteqsat test stub: signatures written from tenstorrent/tt-mlir (not copied); bodies are empty.
// Mirrors: include/ttmlir/Target/TTKernel/LLKs/experimental_padding_llks.h at tt-mlir main
//          19c86fca45ae7c3d8f886c0401d8b40a40d2f294 (the commit docs/mlir-subset.md pins; search-index id
//          53982751596 is the same text). tt-mlir's TTKernelToCpp pastes this file into a compute kernel after
//          its headers and after its `float_to_bits` helper; a kernel that includes it by this path needs
//          tt-mlir's include/ directory on the include path.
// STUB-ONLY body: the real fill_arange_tile calls `float_to_bits(float)` from a template body with a
// non-dependent argument, so a kernel must declare float_to_bits before including the header. The check below
// keeps that requirement (a kernel without the helper fails to compile here as it would there).
#ifndef TTMLIR_TARGET_TTKERNEL_LLKS_EXPERIMENTAL_PADDING_LLKS_H
#define TTMLIR_TARGET_TTKERNEL_LLKS_EXPERIMENTAL_PADDING_LLKS_H

#include "api/compute/cb_api.h"

namespace experimental {

// 1.0 where row < validRows (write_row_mask_tile) / col < validCols (write_col_mask_tile), else 0.0, written
// into the CB page at its read pointer (unpack thread).
template <DataFormat df = DataFormat::Float32>
ALWI void write_row_mask_tile(uint32_t /*validRows*/, uint32_t /*cb_id*/) {
    static_assert(
        df == DataFormat::Float32 || df == DataFormat::Float16_b, "write_row_mask_tile: unsupported DataFormat");
}

template <DataFormat df = DataFormat::Float32>
ALWI void write_col_mask_tile(uint32_t /*validCols*/, uint32_t /*cb_id*/) {
    static_assert(
        df == DataFormat::Float32 || df == DataFormat::Float16_b, "write_col_mask_tile: unsupported DataFormat");
}

// element (i, j) = 32 * i + j in the CB's format, written into the page at the CB's read pointer (unpack thread);
// Float16_b keeps the top 16 bits of the fp32 value (truncation).
template <DataFormat df = DataFormat::Float32>
ALWI void fill_arange_tile(uint32_t /*cb_id*/) {
    static_assert(
        df == DataFormat::Float32 || df == DataFormat::Float16_b || df == DataFormat::Int32,
        "fill_arange_tile: unsupported DataFormat");
    [[maybe_unused]] const uint32_t bits = float_to_bits(0.0f);  // STUB-ONLY: needs the kernel's helper
}

}  // namespace experimental

#endif  // TTMLIR_TARGET_TTKERNEL_LLKS_EXPERIMENTAL_PADDING_LLKS_H
