// Runs independent evaluations of a search on a few threads. Each index is handled once and its
// result stored at its own index, so what a search computes does not depend on the thread count.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace proteus {

/// Runs fn(i) for i in [0, n) on `threads` threads (the caller's among them); the first exception
/// any call throws is rethrown after every thread stops.
template <typename Fn>
void ParallelFor(int64_t n, int threads, Fn fn) {
  std::atomic<int64_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto worker = [&] {
    for (int64_t i; (i = next.fetch_add(1)) < n;) {
      try {
        fn(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(failure_mutex);
        if (!failure) failure = std::current_exception();
        next = n;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads && t < n; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace proteus
