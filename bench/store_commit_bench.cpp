// Commit latency of the SQLite store as Berth configures it (WAL, synchronous=FULL): one
// single-row transaction per call, the shape of most writes on the create -> ready path.
//
//   cmake --preset release && cmake --build --preset release && build/berth_bench_store_commit [N]
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <vector>

#include <fmt/format.h>

#include "berth/core/ids.hpp"
#include "berth/store/sqlite/sqlite_store.hpp"

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  const int n = argc > 1 ? std::atoi(argv[1]) : 2000;
  fs::path dir = fs::temp_directory_path() / ("berth-commit-" + berth::random_hex(4));
  fs::create_directories(dir);
  auto store = berth::store::SqliteStore::open((dir / "berth.db").string());
  if (!store) {
    std::cerr << store.error().message << "\n";
    return 1;
  }
  std::vector<double> ms;
  ms.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    auto start = std::chrono::steady_clock::now();
    auto s = (*store)->set_config("agents_workspace_ttl", std::to_string(i % 2 ? 2 : 3) + "h");
    auto end = std::chrono::steady_clock::now();
    if (!s) {
      std::cerr << s.error().message << "\n";
      return 1;
    }
    ms.push_back(std::chrono::duration<double, std::milli>(end - start).count());
  }
  std::sort(ms.begin(), ms.end());
  auto pct = [&](double p) {
    return ms[std::min(ms.size() - 1, static_cast<std::size_t>(p / 100.0 * ms.size()))];
  };
  std::cout << fmt::format(
      "| commits | p50 ms | p95 ms | p99 ms | max ms |\n|---|---|---|---|---|\n");
  std::cout << fmt::format("| {} | {:.3f} | {:.3f} | {:.3f} | {:.3f} |\n", n, pct(50), pct(95),
                           pct(99), ms.back());
  store->reset();
  fs::remove_all(dir);
  return 0;
}
