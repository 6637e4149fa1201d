#pragma once
// PostgreSQL for tests: one throwaway cluster per build directory (scripts/test-postgres.sh),
// started by the first test that needs it (other test processes find it running; ctest's
// `postgres.stop` ends it), and a fresh database per test.

#include <string>

namespace berth::testing {

// The URL of a new, empty database in the test cluster. Fails the calling test (and returns
// "") when the cluster cannot be started.
std::string create_test_database();

}  // namespace berth::testing
