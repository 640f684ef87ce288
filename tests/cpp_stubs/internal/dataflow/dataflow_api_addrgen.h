// tteqsat test stub: signatures written from tenstorrent/tt-metal (not copied); bodies are empty/trivial.
// Mirrors: tt_metal/hw/inc/internal/dataflow/dataflow_api_addrgen.h @ 15905a6fe57c089fb46a6771b80916b601daa592
// plus the NoC globals it gets from dataflow_api_common.h. SIMPLIFICATIONS (values only matter on hardware):
// noc_index is a constexpr 0 here; NOC_UNICAST_WRITE_VC / NOC_MULTICAST_WRITE_VC / NOC_MAX_BURST_SIZE /
// L1_ALIGNMENT / DRAM_ALIGNMENT are placeholder constants (tt-metal: per-arch generated values).
#pragma once

#include <cstdint>
#include <type_traits>
#include <utility>

#include "internal/risc_attribs.h"
#include "tensix_types.h"

#ifndef NOC_UNICAST_WRITE_VC
#define NOC_UNICAST_WRITE_VC 1
#endif
#ifndef NOC_MULTICAST_WRITE_VC
#define NOC_MULTICAST_WRITE_VC 4
#endif
#ifndef NOC_MAX_BURST_SIZE
#define NOC_MAX_BURST_SIZE 8192
#endif
#ifndef L1_ALIGNMENT
#define L1_ALIGNMENT 16
#endif
#ifndef DRAM_ALIGNMENT
#define DRAM_ALIGNMENT 32
#endif

constexpr uint8_t noc_index = 0;

constexpr uint32_t align_power_of_2(uint32_t addr, uint32_t alignment) {
    return (addr + (alignment - 1)) & ~(alignment - 1);
}

namespace interleaved_addr_gen {
template <bool DRAM>
FORCE_INLINE constexpr uint32_t get_allocator_alignment() {
    return DRAM ? DRAM_ALIGNMENT : L1_ALIGNMENT;
}
}  // namespace interleaved_addr_gen

// Address-generator traits used by noc_async_read_page / noc_async_write_page.
template <typename, typename = void>
inline constexpr bool has_get_noc_addr_v = false;
template <typename T>
inline constexpr bool has_get_noc_addr_v<
    T,
    std::void_t<decltype(std::declval<T>().get_noc_addr(
        std::declval<uint32_t>(), std::declval<uint32_t>(), std::declval<uint8_t>()))>> = true;

template <typename, typename = void>
inline constexpr bool has_page_size_v = false;
template <typename T>
inline constexpr bool has_page_size_v<T, std::void_t<decltype(std::declval<T>().page_size)>> = true;

template <typename, typename = void>
inline constexpr bool has_get_aligned_page_size_v = false;
template <typename T>
inline constexpr bool has_get_aligned_page_size_v<T, std::void_t<decltype(std::declval<T>().get_aligned_page_size())>> =
    true;

template <typename, typename = void>
inline constexpr bool has_log_base_2_of_page_size_v = false;
template <typename T>
inline constexpr bool
    has_log_base_2_of_page_size_v<T, std::void_t<decltype(std::declval<T>().log_base_2_of_page_size)>> = true;

template <typename T>
inline constexpr bool has_required_addrgen_traits_v =
    has_get_noc_addr_v<T> and
    (has_get_aligned_page_size_v<T> or has_page_size_v<T> or has_log_base_2_of_page_size_v<T>);

FORCE_INLINE
uint64_t get_noc_multicast_addr(
    uint32_t /*noc_x_start*/,
    uint32_t /*noc_y_start*/,
    uint32_t /*noc_x_end*/,
    uint32_t /*noc_y_end*/,
    uint32_t /*addr*/,
    uint8_t /*noc*/ = noc_index) {
    return 0;
}

FORCE_INLINE
uint64_t get_noc_addr(uint32_t /*noc_x*/, uint32_t /*noc_y*/, uint32_t /*addr*/, uint8_t /*noc*/ = noc_index) { return 0; }

FORCE_INLINE
std::uint64_t get_noc_addr_helper(std::uint32_t /*noc_xy*/, std::uint32_t /*addr*/) { return 0; }

inline uint64_t get_dram_noc_addr(
    const uint32_t /*id*/, const uint32_t /*page_size*/, const uint32_t /*bank_base_address*/,
    const uint32_t /*offset*/ = 0, uint8_t /*noc*/ = noc_index) {
    return 0;
}

inline uint64_t get_l1_noc_addr(
    const uint32_t /*id*/, const uint32_t /*page_size*/, const uint32_t /*bank_base_address*/,
    const uint32_t /*offset*/ = 0, uint8_t /*noc*/ = noc_index) {
    return 0;
}

FORCE_INLINE
std::uint64_t get_noc_addr(std::uint32_t /*addr*/, uint8_t /*noc*/ = noc_index) { return 0; }

template <bool DRAM>
struct InterleavedAddrGen {
    static constexpr bool is_dram = DRAM;
    uint32_t bank_base_address;
    const uint32_t page_size;
    const uint32_t aligned_page_size = align_power_of_2(page_size, interleaved_addr_gen::get_allocator_alignment<DRAM>());

    FORCE_INLINE
    std::uint64_t get_noc_addr(const uint32_t /*id*/, const uintptr_t /*offset*/ = 0, uint8_t /*noc*/ = noc_index) const {
        return 0;
    }
};

template <bool DRAM>
struct InterleavedPow2AddrGen {
    static constexpr bool is_dram = DRAM;
    const uint32_t bank_base_address;
    const uint32_t log_base_2_of_page_size;

    FORCE_INLINE
    std::uint64_t get_noc_addr(const uint32_t /*id*/, const uint32_t /*offset*/ = 0, uint8_t /*noc*/ = noc_index) const {
        return 0;
    }
};

template <bool DRAM, uint32_t tile_hw = 1024>
struct InterleavedAddrGenFast {
    static constexpr bool is_dram = DRAM;
    uint32_t bank_base_address;
    uint32_t page_size;
    DataFormat data_format;

    FORCE_INLINE
    std::uint64_t get_noc_addr(const uint32_t /*id*/, const uint32_t /*offset*/ = 0, uint8_t /*noc*/ = noc_index) const {
        return 0;
    }
};

template <bool DRAM>
struct InterleavedPow2AddrGenFast {
    static constexpr bool is_dram = DRAM;
    uint32_t bank_base_address;
    const uint32_t log_base_2_of_page_size;

    FORCE_INLINE
    std::uint64_t get_noc_addr(const uint32_t /*id*/, const uint32_t /*offset*/ = 0, uint8_t /*noc*/ = noc_index) const {
        return 0;
    }
};

// Generic form. As in tt-metal, the trailing SFINAE parameter only admits AddrGens whose get_noc_addr()
// is callable with NO arguments, so with the accessors above (all need a page id) this overload never
// participates; prefer addrgen.get_noc_addr(id) or noc_async_read_page / noc_async_write_page.
template <typename AddrGen>
FORCE_INLINE uint64_t get_noc_addr(
    const uint32_t id,
    const AddrGen& addrgen,
    uint32_t offset = 0,
    uint8_t noc = noc_index,
    decltype(addrgen.get_noc_addr())* /*resolver*/ = nullptr) {
    static_assert(has_get_noc_addr_v<AddrGen>, "AddrGen must have get_noc_addr() method");
    return addrgen.get_noc_addr(id, offset, noc);
}

template <bool DRAM>
[[deprecated("Use <typename AddrGen> get_noc_addr instead.")]]
FORCE_INLINE uint64_t
get_noc_addr(const uint32_t /*id*/, const InterleavedAddrGen<DRAM>& /*addrgen*/, uint32_t /*offset*/ = 0, uint8_t /*noc*/ = noc_index) {
    return 0;
}

template <bool DRAM>
[[deprecated("Use <typename AddrGen> get_noc_addr instead.")]]
FORCE_INLINE uint64_t get_noc_addr(
    const uint32_t /*id*/, const InterleavedPow2AddrGen<DRAM>& /*addrgen*/, uint32_t /*offset*/ = 0, uint8_t /*noc*/ = noc_index) {
    return 0;
}

template <bool DRAM, uint32_t tile_hw>
[[deprecated("Use <typename AddrGen> get_noc_addr instead.")]]
FORCE_INLINE uint64_t get_noc_addr(
    const uint32_t /*id*/,
    const InterleavedAddrGenFast<DRAM, tile_hw>& /*addrgen*/,
    uint32_t /*offset*/ = 0,
    uint8_t /*noc*/ = noc_index) {
    return 0;
}

template <bool DRAM>
[[deprecated("Use <typename AddrGen> get_noc_addr instead.")]]
FORCE_INLINE uint64_t get_noc_addr(
    const uint32_t /*id*/, const InterleavedPow2AddrGenFast<DRAM>& /*addrgen*/, uint32_t /*offset*/ = 0, uint8_t /*noc*/ = noc_index) {
    return 0;
}

template <bool DRAM>
FORCE_INLINE uint64_t
get_noc_addr_from_bank_id(uint32_t /*bank_id*/, uint32_t /*bank_address_offset*/, uint8_t /*noc*/ = noc_index) {
    return 0;
}
