#include "berth/core/allocator.hpp"

#include <cstdlib>  // defines __GLIBC__ on glibc, before the test below

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace berth {

void tune_allocator() {
#if defined(__GLIBC__)
  constexpr int kMmapThreshold = 1 << 20;   // larger blocks get their own mapping
  constexpr int kTrimThreshold = 16 << 20;  // free memory the heap's top keeps
  ::mallopt(M_MMAP_THRESHOLD, kMmapThreshold);
  ::mallopt(M_TRIM_THRESHOLD, kTrimThreshold);
#endif
}

}  // namespace berth
