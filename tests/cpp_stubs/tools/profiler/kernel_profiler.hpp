// tteqsat test stub: written from tenstorrent/tt-metal, not copied.
// Mirrors: tt_metal/tools/profiler/kernel_profiler.hpp (only the zone macros kernels use).
// With profiling disabled tt-metal also expands these to nothing.
#pragma once

#define DeviceZoneScopedN(name)
#define DeviceZoneScopedMainN(name)
#define DeviceZoneScopedMainChildN(name)
#define DeviceTimestampedData(name, data)
