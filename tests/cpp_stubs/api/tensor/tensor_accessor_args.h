// tteqsat test stub: signatures written from tenstorrent/tt-metal (not copied); bodies are empty/trivial.
// Mirrors: tt_metal/hw/inc/api/tensor/tensor_accessor_args.h @ 06bd3735f7df2921d8195d732c14eba433e4a32d
// Compile-time-arg layout consumed by TensorAccessorArgs<CTA_OFFSET>:
//   CTA_OFFSET+0: ArgsConfig bits (Sharded=1, IsDram=2, Runtime*=4..64, Bound=128)
//   CTA_OFFSET+1: aligned page size (bytes)
//   sharded only: [rank][num_banks][tensor_shape x rank][shard_shape x rank][bank coords, 2 per word]
//   (each omitted when the matching Runtime* bit moves it to common runtime args at CRTA_OFFSET).
// Interleaved tensors therefore use exactly 2 compile-time args; next_compile_time_args_offset()
// gives the index after them. SIMPLIFICATION: tensor_accessor::UNKNOWN's value is assumed (max uint32).
#pragma once

#include <cstddef>
#include <cstdint>
#include <tuple>
#include <utility>

#include "hostdevcommon/tensor_accessor/arg_config.hpp"
#include "api/compile_time_args.h"

namespace tensor_accessor {
constexpr std::size_t UNKNOWN = static_cast<uint32_t>(-1);
}  // namespace tensor_accessor

template <typename T>
T get_common_arg_val(int arg_idx);

template <std::size_t CTA_OFFSET, std::size_t CRTA_OFFSET = tensor_accessor::UNKNOWN>
struct TensorAccessorArgs {
    static constexpr auto args_config = tensor_accessor::ArgsConfig(
        static_cast<tensor_accessor::ArgsConfig::Underlying>(get_compile_time_arg_val(CTA_OFFSET)));

    static constexpr bool is_sharded = args_config.test(tensor_accessor::ArgConfig::Sharded);
    static constexpr bool is_dram = args_config.test(tensor_accessor::ArgConfig::IsDram);
    static constexpr bool rank_is_crta = args_config.test(tensor_accessor::ArgConfig::RuntimeRank);
    static constexpr bool num_banks_is_crta = args_config.test(tensor_accessor::ArgConfig::RuntimeNumBanks);
    static constexpr bool tensor_shape_is_crta = args_config.test(tensor_accessor::ArgConfig::RuntimeTensorShape);
    static constexpr bool shard_shape_is_crta = args_config.test(tensor_accessor::ArgConfig::RuntimeShardShape);
    static constexpr bool bank_coords_is_crta = args_config.test(tensor_accessor::ArgConfig::RuntimeBankCoords);

    static constexpr uint32_t AlignedPageSizeCTAOffset = CTA_OFFSET + 1;
    static constexpr uint32_t AlignedPageSize = get_compile_time_arg_val(AlignedPageSizeCTAOffset);

    static constexpr uint32_t RankCTAOffset = CTA_OFFSET + 2;
    static constexpr uint32_t NumBanksCTAOffset = RankCTAOffset + (rank_is_crta ? 0 : 1);
    static constexpr uint32_t RankCT = [] {
        if constexpr (!is_sharded || rank_is_crta) {
            return 0u;
        } else {
            return get_compile_time_arg_val(RankCTAOffset);
        }
    }();
    static constexpr uint32_t NumBanksCT = [] {
        if constexpr (!is_sharded || num_banks_is_crta) {
            return 0u;
        } else {
            return get_compile_time_arg_val(NumBanksCTAOffset);
        }
    }();
    static constexpr uint32_t PhysicalNumBanksCT = (NumBanksCT + 1) / 2;
    static constexpr uint32_t TensorShapeCTAOffset = NumBanksCTAOffset + (num_banks_is_crta ? 0 : 1);
    static constexpr uint32_t ShardShapeCTAOffset = TensorShapeCTAOffset + (tensor_shape_is_crta ? 0 : RankCT);
    static constexpr uint32_t BankCoordsCTAOffset = ShardShapeCTAOffset + (shard_shape_is_crta ? 0 : RankCT);
    static constexpr uint32_t NumArgsCT =
        is_sharded ? (BankCoordsCTAOffset + (bank_coords_is_crta ? 0 : PhysicalNumBanksCT) - CTA_OFFSET) : 2;

private:
    uint32_t crta_offset_rt_;

public:
    constexpr TensorAccessorArgs() : crta_offset_rt_(0) {}
    constexpr explicit TensorAccessorArgs(uint32_t crta_offset) : crta_offset_rt_(crta_offset) {
        static_assert(CRTA_OFFSET == tensor_accessor::UNKNOWN, "Do not pass crta_offset when CRTA_OFFSET is known");
    }
    constexpr uint32_t crta_offset() const {
        if constexpr (CRTA_OFFSET != tensor_accessor::UNKNOWN) {
            return CRTA_OFFSET;
        } else {
            return crta_offset_rt_;
        }
    }
    static constexpr uint32_t get_aligned_page_size() { return AlignedPageSize; }
    static constexpr uint32_t num_compile_time_args() { return NumArgsCT; }
    static constexpr uint32_t next_compile_time_args_offset() { return CTA_OFFSET + num_compile_time_args(); }
    // SIMPLIFICATION: tt-metal computes this from the runtime rank / bank count when sharded.
    constexpr uint32_t num_common_runtime_args() const { return 0; }
    constexpr uint32_t next_common_runtime_args_offset() const { return crta_offset() + num_common_runtime_args(); }
};
