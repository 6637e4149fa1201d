#pragma once
// ChatService: the chats of a user. A chat lives in one organization (the one its templates
// come from) and holds the binding to its workspace. Thread-safe as the store is.

#include <optional>
#include <string>
#include <vector>

#include "berth/core/result.hpp"
#include "berth/store/store.hpp"
#include "berth/workspaces/authz.hpp"

namespace berth::workspaces {

class ChatService {
 public:
  explicit ChatService(store::Store& store) : store_(store), authz_(store) {}

  // A new chat; with a `key`, the caller's chat of that key (created on first use).
  // `organization` is a name or id; "" = the caller's default organization.
  Result<store::Chat> open(const Actor& actor, std::optional<std::string> key,
                           std::string_view organization, std::string_view title);
  // not_found for chats of other users (site admins see all).
  Result<store::Chat> get(const Actor& actor, std::string_view id);
  Result<std::vector<store::Chat>> list(const Actor& actor);
  // Binds the chat to an existing workspace the actor can reach (e.g. one with an external
  // agent the user started themselves). The workspace must be live and in the chat's
  // organization. The caller publishes events::topic::chat.
  Result<store::Chat> attach(const Actor& actor, std::string_view chat_id,
                             const store::Workspace& workspace, std::string_view build_id);

 private:
  Result<std::string> organization_for(const Actor& actor, std::string_view ref);

  store::Store& store_;
  Authorizer authz_;
};

}  // namespace berth::workspaces
