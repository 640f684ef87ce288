"""Busy cycles of a Tensix core's engines for one piece of work (an op tile, a DST pass, a section).

A Tensix core runs three threads: unpack (TRISC0 drives two unpackers, SrcA and SrcB, that work side by
side), math (TRISC1: FPU and SFPU instructions, issued in order, so they add up) and pack (TRISC2: the
packer, and SFPU work tt-metal's 2026 SDPA kernel issues from it, `exp_packthread_tile`). The SFPU is one
unit whichever thread drives it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Engines:
    """Cycles per engine. `sfpu` is the part of `math`, `pack_sfpu` the part of `pack`, spent on the SFPU;
    `unpack` is unpacker A (SrcA), `unpack_b` unpacker B (SrcB)."""

    unpack: float = 0.0
    math: float = 0.0
    pack: float = 0.0
    sfpu: float = 0.0
    unpack_b: float = 0.0
    pack_sfpu: float = 0.0

    def __add__(self, o: Engines) -> Engines:
        return Engines(self.unpack + o.unpack, self.math + o.math, self.pack + o.pack, self.sfpu + o.sfpu,
                       self.unpack_b + o.unpack_b, self.pack_sfpu + o.pack_sfpu)

    def scaled(self, k: float) -> Engines:
        return Engines(self.unpack * k, self.math * k, self.pack * k, self.sfpu * k, self.unpack_b * k,
                       self.pack_sfpu * k)

    @property
    def fpu(self) -> float:
        """Math-thread cycles on the FPU."""
        return self.math - self.sfpu

    @property
    def unpack_thread(self) -> float:
        """The two unpackers run side by side: the unpack thread is as busy as the busier one."""
        return max(self.unpack, self.unpack_b)

    @property
    def sfpu_unit(self) -> float:
        """The SFPU's own busy cycles, whichever thread issues its instructions."""
        return self.sfpu + self.pack_sfpu

    @property
    def total(self) -> float:
        """Thread busy cycles summed (what the work costs if nothing overlapped)."""
        return self.unpack_thread + self.math + self.pack

    @property
    def overlapped(self) -> float:
        """The busiest thread (or the SFPU, shared by math and pack): a pass's time when threads overlap."""
        return max(self.unpack_thread, self.math, self.pack, self.sfpu_unit)
