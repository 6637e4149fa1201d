#pragma once
// Numbered schema migrations, embedded into the binary from store/migrations/NNN_*.sql.

#include <string_view>
#include <vector>

namespace berth::store {

struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

// Every migration in version order (generated at build time).
const std::vector<Migration>& embedded_migrations();

}  // namespace berth::store
