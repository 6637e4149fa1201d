#pragma once
// What `berth server` and `berth provisioner` keep in their data directories: the lock that
// makes one process at a time its user, and the provisioner identity of the host.

#include <filesystem>
#include <string>
#include <string_view>

#include "berth/core/result.hpp"

namespace berth::cli {

// Takes DIR/berth.lock for this process (writing its pid there). failed_precondition, naming
// the other process, when one already holds it. `what` names this kind of process.
Result<int> lock_data_dir(const std::filesystem::path& dir, std::string_view what);

// The stable identity of this data directory's provisioner (the host its workspaces live on):
// made once, kept in `file`.
Result<std::string> host_identity(const std::filesystem::path& file);

}  // namespace berth::cli
