// tteqsat test stub: written from tenstorrent/tt-metal, not copied.
// Mirrors the device-side DataFormat enum (tensix_types.h on the kernel include path; values
// checked against tt_metal's host copy tt::DataFormat, search-index file id 12197800856).
// Device code sees it in the GLOBAL namespace (host code: tt::DataFormat).
#pragma once

#include <cstdint>

enum class DataFormat : uint8_t {
    Float32 = 0,
    Float16 = 1,
    Bfp8 = 2,
    Bfp4 = 3,
    Bfp2 = 11,
    Float16_b = 5,
    Bfp8_b = 6,
    Bfp4_b = 7,
    Bfp2_b = 15,
    Lf8 = 10,
    Fp8_e4m3 = 0x1A,
    Int8 = 14,
    Tf32 = 4,
    UInt8 = 30,
    UInt16 = 9,
    Int32 = 8,
    UInt32 = 24,
    RawUInt8 = 0xf0,
    RawUInt16 = 0xf1,
    RawUInt32 = 0xf2,
    Invalid = 0xff
};
