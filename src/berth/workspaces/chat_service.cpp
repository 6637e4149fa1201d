#include "berth/workspaces/chat_service.hpp"

#include <fmt/format.h>

#include "berth/core/ids.hpp"
#include "berth/core/names.hpp"
#include "berth/workspaces/admin_service.hpp"

namespace berth::workspaces {

namespace {
constexpr std::size_t kMaxChatKey = 128;
}  // namespace

Result<std::string> ChatService::organization_for(const Actor& actor, std::string_view ref) {
  if (!ref.empty()) {
    auto org =
        looks_like_uuid(ref) ? store_.organization_by_id(ref) : store_.organization_by_name(ref);
    if (!org || !authz_.is_member(actor, org->id) || !actor.in_scope(org->id)) {
      return Error::not_found(fmt::format("organization \"{}\" not found", ref),
                              "list yours with `berth orgs list`");
    }
    return org->id;
  }
  // A token scoped to one organization works there; otherwise the default organization if
  // the user is in it, else the first of theirs.
  if (actor.scope.organization_id) {
    if (!authz_.is_member(actor, *actor.scope.organization_id)) {
      return Error::permission_denied("this token's organization no longer has you as a member",
                                      "use another token");
    }
    return *actor.scope.organization_id;
  }
  auto orgs = store_.list_organizations();
  if (!orgs) return orgs.error();
  std::optional<std::string> first;
  for (const auto& o : *orgs) {
    if (!authz_.is_member(actor, o.id)) continue;
    if (o.name == kDefaultOrganization) return o.id;
    if (!first) first = o.id;
  }
  if (!first) {
    return Error::failed_precondition("you are not a member of any organization",
                                      "ask an admin to add you to one");
  }
  return *first;
}

Result<store::Chat> ChatService::open(const Actor& actor, std::optional<std::string> key,
                                      std::string_view organization, std::string_view title) {
  if (key && (key->empty() || key->size() > kMaxChatKey)) {
    return Error::invalid_argument(fmt::format("chat key must be 1-{} characters", kMaxChatKey))
        .with_validation("key", "must be 1-128 characters");
  }
  auto org = organization_for(actor, organization);
  if (!org) return org.error();
  if (key) return store_.chat_for_key(*org, actor.user.id, *key);
  return store_.create_chat(*org, actor.user.id, std::nullopt, title);
}

Result<store::Chat> ChatService::get(const Actor& actor, std::string_view id) {
  auto chat = store_.chat_by_id(id);
  if (!chat || (chat->owner_id != actor.user.id && !actor.user.site_admin) ||
      !actor.in_scope(chat->organization_id)) {
    return Error::not_found(fmt::format("chat {} not found", id),
                            "list your chats with GET /api/v1/chats");
  }
  return chat;
}

Result<store::Chat> ChatService::attach(const Actor& actor, std::string_view chat_id,
                                        const store::Workspace& workspace,
                                        std::string_view build_id) {
  auto chat = get(actor, chat_id);
  if (!chat) return chat.error();
  if (workspace.deleted) {
    return Error::failed_precondition(fmt::format("workspace {} was deleted", workspace.name),
                                      "attach a live workspace");
  }
  if (workspace.organization_id != chat->organization_id) {
    return Error::invalid_argument(
               fmt::format("workspace {}/{} is in another organization than this chat",
                           workspace.owner_name, workspace.name),
               "attach a workspace of the chat's organization, or open a chat there")
        .with_validation("workspace", "is in another organization");
  }
  return store_.set_chat_binding(chat->id, workspace.id, std::string(build_id), std::nullopt);
}

Result<std::vector<store::Chat>> ChatService::list(const Actor& actor) {
  auto all = store_.list_chats(actor.user.id);
  if (!all) return all;
  std::erase_if(*all, [&](const store::Chat& c) { return !actor.in_scope(c.organization_id); });
  return all;
}

}  // namespace berth::workspaces
