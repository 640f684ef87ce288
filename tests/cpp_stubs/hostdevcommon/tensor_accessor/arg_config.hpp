// tteqsat test stub: signatures written from tenstorrent/tt-metal (not copied); bodies are empty/trivial.
// Mirrors: tt_metal/hostdevcommon/api/hostdevcommon/tensor_accessor/arg_config.hpp @ 09056a7717020196fff378dd27fb11c3847a0af2
// SIMPLIFICATION: tt-metal's ArgsConfig is Flags<ArgConfig> from hostdevcommon/flags.hpp; here a
// minimal constexpr bit-set with the same test()/operator| surface.
#pragma once

#include <cstdint>

namespace tensor_accessor {

enum class ArgConfig : uint8_t {
    None = 0,
    Sharded = 1 << 0,
    IsDram = 1 << 1,
    RuntimeRank = 1 << 2,
    RuntimeNumBanks = 1 << 3,
    RuntimeTensorShape = 1 << 4,
    RuntimeShardShape = 1 << 5,
    RuntimeBankCoords = 1 << 6,
    Bound = 1 << 7,
    Runtime = RuntimeRank | RuntimeNumBanks | RuntimeTensorShape | RuntimeShardShape | RuntimeBankCoords
};

struct ArgsConfig {
    using Underlying = uint8_t;
    Underlying bits = 0;
    constexpr ArgsConfig() = default;
    constexpr explicit ArgsConfig(Underlying b) : bits(b) {}
    constexpr ArgsConfig(ArgConfig f) : bits(static_cast<Underlying>(f)) {}
    constexpr bool test(ArgConfig f) const { return (bits & static_cast<Underlying>(f)) != 0; }
    constexpr ArgsConfig operator|(ArgConfig f) const { return ArgsConfig(static_cast<Underlying>(bits | static_cast<Underlying>(f))); }
    constexpr Underlying raw() const { return bits; }
};

constexpr ArgsConfig operator|(ArgConfig a, ArgConfig b) noexcept { return ArgsConfig(a) | b; }

}  // namespace tensor_accessor
