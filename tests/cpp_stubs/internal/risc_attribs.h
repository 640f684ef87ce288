// tteqsat test stub: signatures written from tenstorrent/tt-metal, not copied; bodies are empty.
// Mirrors: tt_metal/hw/inc/internal/risc_attribs.h (macros only; FORCE_INLINE as defined in
//          tt_metal/hw/inc/api/compile_time_args.h's fallback, id 10713893165 in the search index).
// tt_l1_ptr / tt_reg_ptr are RISC-V address-space attributes in tt-metal; they expand to nothing here.
#pragma once

#ifndef FORCE_INLINE
#define FORCE_INLINE inline __attribute__((always_inline))
#endif
#ifndef tt_l1_ptr
#define tt_l1_ptr
#endif
#ifndef tt_reg_ptr
#define tt_reg_ptr
#endif
