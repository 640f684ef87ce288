// tteqsat test stub: signatures written from tenstorrent/tt-metal (not copied); bodies are empty.
// Mirrors: tt_metal/hw/inc/api/compute/common.h @ 03e5f0e0d34ad07237a10b9e49eb3411525cc03b
// Same include set as tt-metal (reg_api, pack, reconfig_data_format, cb_api, compute_kernel_hw_startup),
// so a kernel that includes only common.h sees the same API surface as on hardware.
#pragma once

#include "api/compute/common_globals.h"
#include "api/compute/reg_api.h"
#include "api/compute/pack.h"
#include "api/compute/reconfig_data_format.h"
#include "api/compute/cb_api.h"
#include "api/compute/compute_kernel_hw_startup.h"

// Global namespace, as in tt-metal.
static FORCE_INLINE uint32_t get_arg_addr(int /*arg_idx*/) { return 0; }
static FORCE_INLINE uint32_t get_common_arg_addr(int /*arg_idx*/) { return 0; }

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

inline uint8_t get_absolute_logical_x() { return 0; }
inline uint8_t get_absolute_logical_y() { return 0; }
inline uint8_t get_relative_logical_x() { return 0; }
inline uint8_t get_relative_logical_y() { return 0; }
