// AdminService: quota budgets per organization and user, and usage.
#include <fmt/format.h>

#include "berth/workspaces/admin_service.hpp"

namespace berth::workspaces {

namespace {
constexpr std::int64_t kMaxBudget = 1'000'000'000;
}  // namespace

Status AdminService::set_quota(const Actor& actor, std::string_view org_ref,
                               std::string_view username, std::optional<std::int64_t> budget) {
  auto org = organization(org_ref);
  if (!org) return org.error();
  if (auto s = authz_.require_org_admin(actor, org->id, "set quotas"); !s) return s;
  if (budget && (*budget < 0 || *budget > kMaxBudget)) {
    return Error::invalid_argument(
               fmt::format("a budget must be between 0 and {} credits", kMaxBudget),
               "pass a whole number of credits, or none to remove the quota")
        .with_validation("budget", "out of range");
  }
  std::string subject(store::kEveryMember);
  if (!username.empty()) {
    auto user = store_.user_by_username(username);
    if (!user) {
      return Error::not_found(fmt::format("user \"{}\" not found", username),
                              "check the name with `berth users list`");
    }
    auto role = store_.member_role(org->id, user->id);
    if (!role) return role.error();
    if (!role->has_value()) {
      return Error::invalid_argument(
          fmt::format("user {} is not a member of organization {}", username, org->name),
          "add them to the organization first");
    }
    subject = user->id;
  }
  return store_.set_quota_allowance(org->id, subject, budget);
}

Result<std::vector<store::QuotaAllowance>> AdminService::quotas(const Actor& actor,
                                                                std::string_view org_ref) {
  auto org = organization(org_ref);
  if (!org) return org.error();
  if (auto s = authz_.require_org_admin(actor, org->id, "list quotas"); !s) return s.error();
  return store_.quota_allowances(org->id);
}

Result<store::QuotaUsage> AdminService::quota_usage(const Actor& actor, std::string_view org_ref,
                                                    std::string_view username) {
  auto org = organization(org_ref);
  if (!org) return org.error();
  store::User user = actor.user;
  if (!username.empty() && username != actor.user.username) {
    if (auto s = authz_.require_org_admin(actor, org->id, "see other members' quotas"); !s) {
      return s.error();
    }
    auto u = store_.user_by_username(username);
    if (!u) return Error::not_found(fmt::format("user \"{}\" not found", username));
    user = *u;
  } else if (!authz_.is_member(actor, org->id)) {
    return Error::not_found(fmt::format("organization \"{}\" not found", org_ref),
                            "list organizations with `berth orgs list`");
  }
  return store_.quota_usage(user.id, org->id);
}

}  // namespace berth::workspaces
