#pragma once
// What `berth server` and `berth provisioner` share as they start: their data directory (the
// lock that makes one process at a time its user, its permissions, the provisioner identity
// of the host) and the egress flags both take.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "berth/core/result.hpp"
#include "berth/egress/policy.hpp"

namespace berth::cli {

// Takes DIR/berth.lock for this process (writing its pid there). failed_precondition, naming
// the other process, when one already holds it. `what` names this kind of process.
Result<int> lock_data_dir(const std::filesystem::path& dir, std::string_view what);

// Makes `dir` absolute, creates it, takes its lock (held until the process exits), and makes
// it 0711 (sandboxes pass through to their own workspace, list nothing) with DIR/logs 0700.
Result<std::filesystem::path> open_data_dir(const std::string& dir, std::string_view what);

// The address ranges of --egress-allow-net, or an error naming the bad one.
Result<std::vector<egress::Cidr>> parse_egress_allow_nets(const std::vector<std::string>& texts);

// The stable identity of this data directory's provisioner (the host its workspaces live on):
// made once, kept in `file`.
Result<std::string> host_identity(const std::filesystem::path& file);

}  // namespace berth::cli
