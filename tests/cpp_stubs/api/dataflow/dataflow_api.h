// tteqsat test stub: signatures written from tenstorrent/tt-metal (not copied); bodies are empty/trivial.
// Mirrors: tt_metal/hw/inc/api/dataflow/dataflow_api.h @ 003978d2a046f6ffbbb8180361e67cc4da32bd1e (whole file read).
// Everything is in the GLOBAL namespace, as in tt-metal. Dataflow-side CB calls take int32_t
// (compute-side ones take uint32_t). The *_tile NoC calls and the InterleavedAddrGen*-typed *_page
// overloads are [[deprecated]] in tt-metal and here: use noc_async_read_page / noc_async_write_page
// with a TensorAccessor. Not mirrored: noc_inline_dw_write*_with_state/_set_state, trid-with-state
// variants, RISC_POST_HEARTBEAT, rt_args::get, reset_noc_trid_barrier_counter.
// SIMPLIFICATIONS: functions tt-metal defines non-inline in this header (e.g. noc_async_read_barrier)
// are inline here; get_tile_size / get_tile_hw / get_tile_num_faces / get_dataformat are always declared
// (tt-metal: only when the generated chlkc_descriptors.h exists, i.e. in every real kernel build).
#pragma once

#include <cstdint>
#include <tuple>
#include <type_traits>
#include <utility>

#include "internal/dataflow/dataflow_api_addrgen.h"
#include "internal/risc_attribs.h"
#include "api/compile_time_args.h"
#include "api/tensor/tensor_accessor.h"
#include "tools/profiler/kernel_profiler.hpp"

// tt-metal: enum in core_config.h / hostdevcommon (TENSIX = 0 is the only value kernels here use).
enum class ProgrammableCoreType { TENSIX = 0, ACTIVE_ETH = 1, IDLE_ETH = 2, COUNT = 3 };

inline uint8_t get_absolute_logical_x() { return 0; }
inline uint8_t get_absolute_logical_y() { return 0; }
inline uint8_t get_relative_logical_x() { return 0; }
inline uint8_t get_relative_logical_y() { return 0; }

inline bool is_l1_address(uint64_t /*addr*/) { return true; }

// ---- runtime args ---------------------------------------------------------------------------------
static FORCE_INLINE uintptr_t get_arg_addr(int /*arg_idx*/) { return 0; }
static FORCE_INLINE uintptr_t get_common_arg_addr(int /*arg_idx*/) { return 0; }

template <typename T>
FORCE_INLINE T get_arg_val(int /*arg_idx*/) {
    static_assert("Error: only 4B args are supported" && sizeof(T) == 4);
    return T{};
}

template <typename T>
FORCE_INLINE T get_common_arg_val(int /*arg_idx*/) {
    static_assert("Error: only 4B args are supported" && sizeof(T) == 4);
    return T{};
}

// ---- circular buffers -----------------------------------------------------------------------------
FORCE_INLINE
void cb_push_back(const int32_t /*operand*/, const int32_t /*num_pages*/) {}

FORCE_INLINE
void cb_pop_front(int32_t /*operand*/, int32_t /*num_pages*/) {}

constexpr inline std::int32_t get_tile_size(const std::int32_t /*operand*/) { return 2048; }
constexpr inline uint32_t get_tile_hw(const std::int32_t /*operand*/) { return 1024; }
constexpr inline uint32_t get_tile_num_faces(const std::int32_t /*operand*/) { return 4; }
constexpr inline DataFormat get_dataformat(const std::int32_t /*operand*/) { return DataFormat::Float16_b; }

FORCE_INLINE
uint32_t get_write_ptr(uint32_t /*operand*/) { return 0; }

FORCE_INLINE
uint32_t get_read_ptr(uint32_t /*operand*/) { return 0; }

inline void wait_for_sync_register_value(uintptr_t /*addr*/, int32_t /*val*/) {}

FORCE_INLINE
bool cb_pages_reservable_at_back(int32_t /*operand*/, int32_t /*num_pages*/) { return true; }

FORCE_INLINE
void cb_reserve_back(int32_t /*operand*/, int32_t /*num_pages*/) {}

FORCE_INLINE
bool cb_pages_available_at_front(int32_t /*operand*/, int32_t /*num_pages*/) { return true; }

FORCE_INLINE
void cb_wait_front(int32_t /*operand*/, int32_t /*num_pages*/) {}

// ---- NoC reads ------------------------------------------------------------------------------------
template <bool enable_noc_tracing = true>
FORCE_INLINE void noc_async_read_one_packet(
    uint64_t /*src_noc_addr*/,
    uint32_t /*dst_local_l1_addr*/,
    uint32_t /*size*/,
    uint8_t /*noc*/ = noc_index,
    uint32_t /*read_req_vc*/ = NOC_UNICAST_WRITE_VC) {}

template <uint32_t max_page_size = NOC_MAX_BURST_SIZE + 1, bool enable_noc_tracing = true>
inline void noc_async_read(
    uint64_t /*src_noc_addr*/,
    uint32_t /*dst_local_l1_addr*/,
    uint32_t /*size*/,
    uint8_t /*noc*/ = noc_index,
    uint32_t /*read_req_vc*/ = NOC_UNICAST_WRITE_VC) {}

template <bool use_vc = false>
FORCE_INLINE void noc_async_read_one_packet_set_state(
    uint64_t /*src_noc_addr*/, uint32_t /*size*/, const uint32_t /*vc*/ = 0, uint8_t /*noc*/ = noc_index) {}

template <bool inc_num_issued = true, bool use_vc = false>
FORCE_INLINE void noc_async_read_one_packet_with_state(
    uint32_t /*src_local_l1_addr*/, uint32_t /*dst_local_l1_addr*/, const uint32_t /*vc*/ = 0,
    uint8_t /*noc*/ = noc_index) {}

FORCE_INLINE
void noc_async_read_set_state(uint64_t /*src_noc_addr*/, uint8_t /*noc*/ = noc_index) {}

template <bool inc_num_issued = true>
FORCE_INLINE void noc_async_read_with_state(
    uint32_t /*src_local_l1_addr*/, uint32_t /*dst_local_l1_addr*/, uint32_t /*size*/, uint8_t /*noc*/ = noc_index) {}

FORCE_INLINE
void noc_async_read_inc_num_issued(std::uint32_t /*num_issued_reads_inc*/, uint8_t /*noc*/ = noc_index) {}

// ---- NoC writes -----------------------------------------------------------------------------------
template <bool enable_noc_tracing = true, bool posted = false>
FORCE_INLINE void noc_async_write_one_packet(
    std::uint32_t /*src_local_l1_addr*/,
    std::uint64_t /*dst_noc_addr*/,
    std::uint32_t /*size*/,
    uint8_t /*noc*/ = noc_index,
    uint32_t /*vc*/ = NOC_UNICAST_WRITE_VC) {}

template <uint32_t max_page_size = NOC_MAX_BURST_SIZE + 1, bool enable_noc_tracing = true, bool posted = false>
inline void noc_async_write(
    uint32_t /*src_local_l1_addr*/,
    uint64_t /*dst_noc_addr*/,
    uint32_t /*size*/,
    uint8_t /*noc*/ = noc_index,
    uint32_t /*vc*/ = NOC_UNICAST_WRITE_VC) {}

template <bool enable_noc_tracing = true>
FORCE_INLINE void noc_async_write_multicast_one_packet(
    std::uint32_t /*src_local_l1_addr*/,
    std::uint64_t /*dst_noc_addr_multicast*/,
    std::uint32_t /*size*/,
    std::uint32_t /*num_dests*/,
    bool /*linked*/ = false,
    uint8_t /*noc*/ = noc_index) {}

// num_dests does NOT count the sender (loopback variant below does).
template <uint32_t max_page_size = NOC_MAX_BURST_SIZE + 1>
inline void noc_async_write_multicast(
    uint32_t /*src_local_l1_addr*/,
    uint64_t /*dst_noc_addr_multicast*/,
    uint32_t /*size*/,
    uint32_t /*num_dests*/,
    bool /*linked*/ = false,
    uint8_t /*noc*/ = noc_index,
    uint8_t /*vc*/ = NOC_MULTICAST_WRITE_VC) {}

template <bool posted = false>
FORCE_INLINE void noc_async_write_one_packet_set_state(
    uint64_t /*dst_noc_addr*/, uint32_t /*size*/, uint8_t /*noc*/ = noc_index, uint8_t /*vc*/ = NOC_UNICAST_WRITE_VC) {}

template <bool posted = false>
FORCE_INLINE void noc_async_write_one_packet_with_state(
    uint32_t /*src_local_l1_addr*/, uint32_t /*dst_local_l1_addr*/, uint8_t /*noc*/ = noc_index) {}

// ---- page-addressed reads/writes through an address generator ---------------------------------------
template <typename AddrGen, bool enable_noc_tracing = true>
FORCE_INLINE void noc_async_read_page(
    const uint32_t /*id*/,
    const AddrGen& /*addrgen*/,
    uint32_t /*dst_local_l1_addr*/,
    uint32_t /*offset*/ = 0,
    uint8_t /*noc*/ = noc_index) {
    static_assert(
        has_required_addrgen_traits_v<AddrGen>,
        "AddrGen must have get_noc_addr() and either get_aligned_page_size(), page_size, or log_base_2_of_page_size");
}

template <bool DRAM>
[[deprecated("Use <typename AddrGen> noc_async_read_page instead.")]]
FORCE_INLINE void noc_async_read_tile(
    const uint32_t /*id*/,
    const InterleavedAddrGen<DRAM>& /*addrgen*/,
    uint32_t /*dst_local_l1_addr*/,
    uint32_t /*offset*/ = 0,
    uint8_t /*noc*/ = noc_index) {}

template <typename DSpec>
[[deprecated("Use <typename AddrGen> noc_async_read_page instead.")]]
FORCE_INLINE void noc_async_read_tile(
    const uint32_t /*id*/,
    const TensorAccessor<DSpec>& /*addrgen*/,
    uint32_t /*dst_local_l1_addr*/,
    uint32_t /*offset*/ = 0,
    uint8_t /*noc*/ = noc_index) {}

template <bool DRAM>
[[deprecated("Use <typename AddrGen> noc_async_read_page instead.")]]
FORCE_INLINE void noc_async_read_page(
    const uint32_t /*id*/,
    const InterleavedAddrGen<DRAM>& /*addrgen*/,
    uint32_t /*dst_local_l1_addr*/,
    uint32_t /*offset*/ = 0,
    uint8_t /*noc*/ = noc_index) {}

template <bool DRAM, uint32_t tile_hw>
[[deprecated("Use <typename AddrGen> noc_async_read_page instead.")]]
FORCE_INLINE void noc_async_read_tile(
    const uint32_t /*id*/,
    const InterleavedAddrGenFast<DRAM, tile_hw>& /*addrgen*/,
    uint32_t /*dst_local_l1_addr*/,
    uint32_t /*offset*/ = 0,
    uint8_t /*noc*/ = noc_index) {}

template <bool DRAM>
[[deprecated("Use <typename AddrGen> noc_async_read_page instead.")]]
FORCE_INLINE void noc_async_read_page(
    const uint32_t /*id*/,
    const InterleavedPow2AddrGenFast<DRAM>& /*addrgen*/,
    uint32_t /*dst_local_l1_addr*/,
    uint32_t /*offset*/ = 0,
    uint8_t /*noc*/ = noc_index) {}

// size == 0 means "the accessor's page size".
template <typename AddrGen, bool enable_noc_tracing = true, bool posted = false>
FORCE_INLINE void noc_async_write_page(
    const uint32_t /*id*/,
    const AddrGen& /*addrgen*/,
    uint32_t /*src_local_l1_addr*/,
    uint32_t /*size*/ = 0,
    uint32_t /*offset*/ = 0,
    uint8_t /*noc*/ = noc_index) {
    static_assert(
        has_required_addrgen_traits_v<AddrGen>,
        "AddrGen must have get_noc_addr() and either get_aligned_page_size(), page_size, or log_base_2_of_page_size");
}

template <bool DRAM>
[[deprecated("Use <typename AddrGen> noc_async_write_page instead.")]]
FORCE_INLINE void noc_async_write_page(
    const uint32_t /*id*/,
    const InterleavedAddrGen<DRAM>& /*addrgen*/,
    uint32_t /*src_local_l1_addr*/,
    const uint32_t /*write_size_bytes*/,
    const uint32_t /*offset*/ = 0,
    uint8_t /*noc*/ = noc_index) {}

template <bool DRAM>
[[deprecated("Use <typename AddrGen> noc_async_write_page instead.")]]
FORCE_INLINE void noc_async_write_tile(
    const uint32_t /*id*/, const InterleavedAddrGen<DRAM>& /*addrgen*/, uint32_t /*src_local_l1_addr*/,
    uint8_t /*noc*/ = noc_index) {}

template <bool DRAM, uint32_t tile_hw>
[[deprecated("Use <typename AddrGen> noc_async_write_page instead.")]]
FORCE_INLINE void noc_async_write_tile(
    const uint32_t /*id*/,
    const InterleavedAddrGenFast<DRAM, tile_hw>& /*addrgen*/,
    uint32_t /*src_local_l1_addr*/,
    uint8_t /*noc*/ = noc_index) {}

template <typename DSpec>
[[deprecated("Use <typename AddrGen> noc_async_write_page instead.")]]
FORCE_INLINE void noc_async_write_tile(
    const uint32_t /*id*/, const TensorAccessor<DSpec>& /*addrgen*/, uint32_t /*src_local_l1_addr*/,
    uint8_t /*noc*/ = noc_index) {}

template <bool DRAM>
[[deprecated("Use <typename AddrGen> noc_async_write_page instead.")]]
FORCE_INLINE void noc_async_write_page(
    const uint32_t /*id*/,
    const InterleavedPow2AddrGenFast<DRAM>& /*addrgen*/,
    uint32_t /*src_local_l1_addr*/,
    const uint32_t /*write_size_bytes*/,
    const uint32_t /*offset*/ = 0,
    uint8_t /*noc*/ = noc_index) {}

template <typename DSpec>
FORCE_INLINE void noc_async_read_shard(
    const uint32_t /*shard_id*/, const TensorAccessor<DSpec>& /*s*/, std::uint32_t /*dst_local_l1_addr*/,
    uint8_t /*noc*/ = noc_index) {}

template <typename DSpec, bool posted = false>
FORCE_INLINE void noc_async_write_shard(
    const uint32_t /*shard_id*/, const TensorAccessor<DSpec>& /*s*/, std::uint32_t /*src_local_l1_addr*/,
    uint8_t /*noc*/ = noc_index) {}

// ---- semaphores and multicast ---------------------------------------------------------------------
template <ProgrammableCoreType type = ProgrammableCoreType::TENSIX>
FORCE_INLINE uintptr_t get_semaphore(uint32_t /*semaphore_id*/) { return 0; }

inline void noc_semaphore_set_remote(
    std::uint32_t /*src_local_l1_addr*/, std::uint64_t /*dst_noc_addr*/, uint8_t /*noc*/ = noc_index) {}

inline void noc_semaphore_set_multicast(
    uint32_t /*src_local_l1_addr*/,
    uint64_t /*dst_noc_addr_multicast*/,
    uint32_t /*num_dests*/,
    bool /*linked*/ = false,
    uint8_t /*noc*/ = noc_index,
    uint8_t /*vc*/ = NOC_MULTICAST_WRITE_VC) {}

inline void noc_semaphore_set_multicast_loopback_src(
    uint32_t /*src_local_l1_addr*/,
    uint64_t /*dst_noc_addr_multicast*/,
    uint32_t /*num_dests*/,
    bool /*linked*/ = false,
    uint8_t /*noc*/ = noc_index) {}

inline void noc_async_write_multicast_loopback_src(
    std::uint32_t /*src_local_l1_addr*/,
    std::uint64_t /*dst_noc_addr_multicast*/,
    std::uint32_t /*size*/,
    std::uint32_t /*num_dests*/,
    bool /*linked*/ = false,
    uint8_t /*noc*/ = noc_index) {}

// ---- barriers ---------------------------------------------------------------------------------------
inline void noc_async_read_barrier(uint8_t /*noc*/ = noc_index) {}

FORCE_INLINE
void noc_async_write_barrier(uint8_t /*noc*/ = noc_index) {}

FORCE_INLINE
void noc_async_writes_flushed(uint8_t /*noc*/ = noc_index) {}

FORCE_INLINE
void noc_async_posted_writes_flushed(uint8_t /*noc*/ = noc_index) {}

FORCE_INLINE
void noc_async_atomic_barrier(uint8_t /*noc_idx*/ = noc_index) {}

FORCE_INLINE
void noc_async_full_barrier(uint8_t /*noc_idx*/ = noc_index) {}

// Local semaphore access takes a pointer into L1:
//   auto* sem = reinterpret_cast<volatile tt_l1_ptr uint32_t*>(get_semaphore(id));
FORCE_INLINE
void noc_semaphore_wait(volatile tt_l1_ptr uint32_t* /*sem_addr*/, uint32_t /*val*/) {}

FORCE_INLINE
void noc_semaphore_wait_min(volatile tt_l1_ptr uint32_t* /*sem_addr*/, uint32_t /*val*/) {}

FORCE_INLINE
void noc_semaphore_set(volatile tt_l1_ptr uint32_t* sem_addr, uint32_t val) { (*sem_addr) = val; }

// SIMPLIFICATION: InlineWriteDst is declared in tt-metal's NoC headers; only the enumerator names are mirrored.
enum class InlineWriteDst : uint8_t { DEFAULT = 0, L1 = 1, REG = 2 };

template <InlineWriteDst dst_type = InlineWriteDst::DEFAULT, bool posted = false, bool flush = true>
FORCE_INLINE void noc_inline_dw_write(
    uint64_t /*addr*/,
    uint32_t /*val*/,
    uint8_t /*be*/ = 0xF,
    uint8_t /*noc*/ = noc_index,
    uint8_t /*vc*/ = NOC_UNICAST_WRITE_VC,
    uint32_t /*customized_src_addr*/ = 0) {}

template <bool posted = false>
FORCE_INLINE void noc_semaphore_inc(
    uint64_t /*addr*/, uint32_t /*incr*/, uint8_t /*noc_id*/ = noc_index, uint8_t /*vc*/ = NOC_UNICAST_WRITE_VC) {}

template <bool posted = false>
FORCE_INLINE void noc_semaphore_inc_multicast(
    uint64_t /*addr*/, uint32_t /*incr*/, uint32_t /*num_dests*/, uint8_t /*noc_id*/ = noc_index,
    uint8_t /*vc*/ = NOC_MULTICAST_WRITE_VC) {}

// ---- transaction ids ------------------------------------------------------------------------------
FORCE_INLINE
void noc_async_read_set_trid(uint32_t /*trid*/ = 0, uint8_t /*noc*/ = noc_index) {}

FORCE_INLINE
void noc_async_write_set_trid(uint32_t /*trid*/ = 0, uint8_t /*noc*/ = noc_index) {}

FORCE_INLINE
void noc_async_read_barrier_with_trid(uint32_t /*trid*/, uint8_t /*noc*/ = noc_index) {}

FORCE_INLINE
void noc_async_write_barrier_with_trid(uint32_t /*trid*/, uint8_t /*noc*/ = noc_index) {}

FORCE_INLINE
void noc_async_write_flushed_with_trid(uint32_t /*trid*/, uint8_t /*noc*/ = noc_index) {}
