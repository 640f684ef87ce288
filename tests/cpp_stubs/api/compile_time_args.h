// tteqsat test stub: signatures written from tenstorrent/tt-metal, not copied.
// Mirrors: tt_metal/hw/inc/api/compile_time_args.h (stored version with get_ct_arg<Idx>(),
//          search-index file id 67617578598; tt-metal main, 2026).
// As in tt-metal, get_compile_time_arg_val(N) is a MACRO expanding to get_ct_arg<N>(): N must be a
// constant expression. Simplification: without -DKERNEL_COMPILE_TIME_ARGS=... every index reads 0
// (tt-metal static_asserts Idx < number of args instead).
#pragma once

#include <array>
#include <cstdint>

#include "internal/risc_attribs.h"

template <class T, class... Ts>
FORCE_INLINE constexpr std::array<T, sizeof...(Ts)> make_array(Ts... values) {
    return {T(values)...};
}

#ifdef KERNEL_COMPILE_TIME_ARGS
constexpr auto kernel_compile_time_args = make_array<std::uint32_t>(KERNEL_COMPILE_TIME_ARGS);
template <uint32_t Idx>
constexpr uint32_t get_ct_arg() {
    static_assert(Idx < kernel_compile_time_args.size(), "Index out of range");
    return kernel_compile_time_args[Idx];
}
#else
template <uint32_t Idx>
constexpr uint32_t get_ct_arg() {
    return 0;
}
#endif

#define get_compile_time_arg_val(arg_idx) get_ct_arg<arg_idx>()
