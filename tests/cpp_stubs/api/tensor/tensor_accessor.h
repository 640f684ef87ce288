// tteqsat test stub: signatures written from tenstorrent/tt-metal (not copied); bodies are empty/trivial.
// Mirrors: tt_metal/hw/inc/api/tensor/tensor_accessor.h @ 00b0fa3f57bf8c13af0f124a70a02b0bdbde8b90
// SIMPLIFICATION: tt-metal's DSpec is tensor_accessor::DistributionSpec<RankCT, NumBanksCT,
// TensorShapeWrapper, ShardShapeWrapper, BankCoordsWrapper, IsInterleaved, IsDram>; here it is reduced to
// DistributionSpec<IsInterleaved, IsDram>. As in tt-metal, the interleaved specialization derives from
// InterleavedAddrGen<IsDram>, and CTAD maps TensorAccessor(args, addr[, page_size]) to the right one.
// Not mirrored: pages()/shard_pages()/strided_* iterators, binding tokens, dspec(), locality queries.
// Usage:  constexpr auto a = TensorAccessorArgs<0>();  const auto s = TensorAccessor(a, base_addr, page_bytes);
#pragma once

#include <cstddef>
#include <cstdint>

#include "api/tensor/tensor_accessor_args.h"
#include "api/compile_time_args.h"
#include "internal/dataflow/dataflow_api_addrgen.h"

template <typename T>
T get_arg_val(int arg_idx);

namespace tensor_accessor {
template <bool IsInterleaved, bool IsDram>
struct DistributionSpec {
    static constexpr bool is_interleaved = IsInterleaved;
    static constexpr bool is_dram = IsDram;
    static constexpr bool is_static = true;
};
}  // namespace tensor_accessor

// tt-metal declares get_aligned_page_size() with a const-qualified return type; keep it, and keep
// -Wextra (-Wignored-qualifiers) quiet about it.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-qualifiers"

// Sharded accessor.
template <typename DSpecT>
struct TensorAccessor {
    using DSpec = DSpecT;
    static constexpr bool is_dram = DSpec::is_dram;

    template <std::size_t CTA_OFFSET, std::size_t CRTA_OFFSET>
    TensorAccessor(
        const TensorAccessorArgs<CTA_OFFSET, CRTA_OFFSET>& /*args*/,
        const size_t bank_base_address_in,
        const uint32_t page_size_in = TensorAccessorArgs<CTA_OFFSET, CRTA_OFFSET>::AlignedPageSize) :
        bank_base_address(static_cast<uint32_t>(bank_base_address_in)), aligned_page_size(page_size_in) {}

    FORCE_INLINE
    const uint32_t get_aligned_page_size() const { return aligned_page_size; }

    FORCE_INLINE
    std::uint64_t get_noc_addr(const uint32_t /*page_id*/, const uint32_t /*offset*/ = 0, uint8_t /*noc*/ = noc_index) const {
        return 0;
    }

    FORCE_INLINE
    std::uint64_t get_shard_noc_addr(
        const uint32_t /*shard_id*/, const uint32_t /*offset*/ = 0, uint8_t /*noc*/ = noc_index) const {
        return 0;
    }

    FORCE_INLINE
    constexpr uint32_t get_bank_base_address() const { return bank_base_address; }

private:
    const uint32_t bank_base_address = 0;
    const uint32_t aligned_page_size = 0;
};

// Interleaved accessor (DRAM or L1).
template <bool IsDram>
struct TensorAccessor<tensor_accessor::DistributionSpec<true, IsDram>> : public InterleavedAddrGen<IsDram> {
    using DSpec = tensor_accessor::DistributionSpec<true, IsDram>;

    template <std::size_t CTA_OFFSET, std::size_t CRTA_OFFSET>
    TensorAccessor(
        const TensorAccessorArgs<CTA_OFFSET, CRTA_OFFSET>& /*args*/,
        const uint32_t bank_base_address_in,
        const uint32_t page_size_in = TensorAccessorArgs<CTA_OFFSET, CRTA_OFFSET>::AlignedPageSize) :
        InterleavedAddrGen<IsDram>{bank_base_address_in, page_size_in}, aligned_page_size(page_size_in) {}

    FORCE_INLINE
    const uint32_t get_aligned_page_size() const { return aligned_page_size; }

    FORCE_INLINE
    constexpr uint32_t get_bank_base_address() const { return this->bank_base_address; }

private:
    const uint32_t aligned_page_size = 0;
};

#pragma GCC diagnostic pop

template <std::size_t CTA_OFFSET, std::size_t CRTA_OFFSET>
TensorAccessor(const TensorAccessorArgs<CTA_OFFSET, CRTA_OFFSET>& args, size_t)
    -> TensorAccessor<tensor_accessor::DistributionSpec<
        !TensorAccessorArgs<CTA_OFFSET, CRTA_OFFSET>::is_sharded,
        TensorAccessorArgs<CTA_OFFSET, CRTA_OFFSET>::is_dram>>;

template <std::size_t CTA_OFFSET, std::size_t CRTA_OFFSET>
TensorAccessor(const TensorAccessorArgs<CTA_OFFSET, CRTA_OFFSET>& args, size_t, uint32_t)
    -> TensorAccessor<tensor_accessor::DistributionSpec<
        !TensorAccessorArgs<CTA_OFFSET, CRTA_OFFSET>::is_sharded,
        TensorAccessorArgs<CTA_OFFSET, CRTA_OFFSET>::is_dram>>;
