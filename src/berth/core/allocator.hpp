#pragma once
// How the server and the agent ask glibc's malloc to behave.

namespace berth {

// Keeps freed blocks of up to 1 MiB in the heap instead of returning them to the kernel.
//
// Port tunnels (core/port_tunnel.hpp) move data in frames of up to 256 KiB, each allocated
// when it arrives and freed once passed on. glibc's defaults (a dynamic mmap threshold,
// and trimming the heap's top past twice it) give most such blocks back to the kernel as they
// are freed and fault them in again, page by page, on the next allocation: in the preview
// benchmark (bench/preview_bench.cpp) that page-fault work was most of the proxy's CPU.
// Fixed thresholds keep up to 16 MiB of freed memory for reuse (a few streams' windows of
// 2 MiB each way; what a process held at its peak is bounded by its streams). Call once, first
// thing in main. A no-op where malloc is not glibc's (the sanitizers bring their own).
void tune_allocator();

}  // namespace berth
