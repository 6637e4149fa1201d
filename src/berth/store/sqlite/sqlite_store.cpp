// SqliteStore: opening, migrations, organizations, users, tokens, templates, site config.
// Workspaces, builds, jobs and agents are in sqlite_store_workspaces.cpp.
#include "berth/store/sqlite/sqlite_store.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "berth/core/clock.hpp"
#include "berth/core/ids.hpp"
#include "berth/store/migrations.hpp"
#include "berth/store/sqlite/rows.hpp"

namespace berth::store {

using sqlite::Transaction;

namespace {
// The shared helpers take the statement by reference; these call sites hand one over.
template <class T, class Read>
Result<T> one(Result<sqlite::Statement> q, Read read, std::string what) {
  return sqlite::one<T>(q, read, std::move(what));
}
}  // namespace

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path) {
  auto db = sqlite::Database::open(path);
  if (!db) return std::move(db).error();
  return open(std::unique_ptr<sql::Connection>(std::move(*db)));
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(std::unique_ptr<sql::Connection> db) {
  std::unique_ptr<SqliteStore> store(new SqliteStore(std::move(db)));
  if (auto s = store->migrate(); !s) return s.error();
  return store;
}

Status SqliteStore::migrate() {
  std::lock_guard lock(mu_);
  if (auto s = db_->exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY "
                         "KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)");
      !s) {
    return s;
  }
  for (const auto& m : embedded_migrations()) {
    auto tx = Transaction::begin(*db_);
    if (!tx) return tx.error();
    auto q = db_->prepare("SELECT 1 FROM schema_migrations WHERE version = $1");
    if (!q) return q.error();
    auto row = q->with(m.version).step();
    if (!row) return row.error();
    if (*row) continue;
    if (auto s = db_->exec(m.sql); !s) {
      return Error::internal(
          fmt::format("migration {} ({}) failed: {}", m.version, m.name, s.error().message));
    }
    auto ins = db_->prepare(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)");
    if (!ins) return ins.error();
    if (auto s = ins->with(m.version, m.name, now_ms()).run(); !s) return s;
    if (auto s = tx->commit(); !s) return s;
  }
  return {};
}

int SqliteStore::schema_version_for_testing() {
  std::lock_guard lock(mu_);
  auto q = db_->prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  if (!q || !q->step().has_value()) return -1;
  return q->int32(0);
}

// --- Organizations

namespace {
Organization read_org(const sqlite::Statement& s) {
  return {s.text(0), s.text(1), s.text(2), s.int64(3)};
}
User read_user(const sqlite::Statement& s) {
  return {s.text(0), s.text(1), s.text(2), s.boolean(3), s.boolean(4), s.int64(5), s.boolean(6)};
}
constexpr std::string_view kUserColumns =
    "id, username, email, site_admin, is_system, created_at, suspended";

}  // namespace

Result<Organization> SqliteStore::create_organization(std::string_view name,
                                                      std::string_view display_name) {
  std::lock_guard lock(mu_);
  Organization org{new_uuid(), std::string(name), std::string(display_name), now_ms()};
  auto q = db_->prepare(
      "INSERT INTO organizations (id, name, display_name, created_at) VALUES ($1, $2, $3, $4)");
  if (!q) return q.error();
  if (auto s = q->with(org.id, org.name, org.display_name, org.created_at).run(); !s) {
    if (s.error().code == ErrorCode::already_exists) {
      return Error::already_exists(fmt::format("organization \"{}\" already exists", name));
    }
    return s.error();
  }
  return org;
}

Result<Organization> SqliteStore::organization_by_name(std::string_view name) {
  std::lock_guard lock(mu_);
  auto q =
      db_->prepare("SELECT id, name, display_name, created_at FROM organizations WHERE name = $1");
  if (q) q->with(name);
  return one<Organization>(std::move(q), read_org,
                           fmt::format("organization \"{}\" not found", name));
}

Result<Organization> SqliteStore::organization_by_id(std::string_view id) {
  std::lock_guard lock(mu_);
  auto q =
      db_->prepare("SELECT id, name, display_name, created_at FROM organizations WHERE id = $1");
  if (!q) return q.error();
  q->with(id);
  return one<Organization>(std::move(q), read_org, fmt::format("organization {} not found", id));
}

Result<std::vector<Organization>> SqliteStore::list_organizations() {
  std::lock_guard lock(mu_);
  auto q =
      db_->prepare("SELECT id, name, display_name, created_at FROM organizations ORDER BY name");
  if (!q) return q.error();
  std::vector<Organization> out;
  while (true) {
    auto row = q->step();
    if (!row) return row.error();
    if (!*row) break;
    out.push_back(read_org(*q));
  }
  return out;
}

// --- Users

Result<User> SqliteStore::create_user(std::string_view username, std::string_view email,
                                      bool site_admin, bool is_system) {
  std::lock_guard lock(mu_);
  User u{new_uuid(), std::string(username), std::string(email), site_admin, is_system, now_ms()};
  auto q = db_->prepare(
      "INSERT INTO users (id, username, email, site_admin, is_system, created_at) "
      "VALUES ($1, $2, $3, $4, $5, $6)");
  if (!q) return q.error();
  if (auto s = q->with(u.id, u.username, u.email, u.site_admin, u.is_system, u.created_at).run();
      !s) {
    if (s.error().code == ErrorCode::already_exists) {
      return Error::already_exists(fmt::format("user \"{}\" already exists", username));
    }
    return s.error();
  }
  return u;
}

Result<User> SqliteStore::user_by_id(std::string_view id) {
  std::lock_guard lock(mu_);
  static const std::string kSql = sqlite::sql("SELECT ", kUserColumns, " FROM users WHERE id = $1");
  auto q = db_->prepare(kSql);
  if (q) q->with(id);
  return one<User>(std::move(q), read_user, fmt::format("user {} not found", id));
}

Result<User> SqliteStore::user_by_username(std::string_view username) {
  std::lock_guard lock(mu_);
  static const std::string kSql =
      sqlite::sql("SELECT ", kUserColumns, " FROM users WHERE username = $1");
  auto q = db_->prepare(kSql);
  if (q) q->with(username);
  return one<User>(std::move(q), read_user, fmt::format("user \"{}\" not found", username));
}

// lower() folds ASCII in SQLite and in PostgreSQL alike; names are ASCII (core/names).
Result<std::vector<User>> SqliteStore::users_by_username_ignoring_case(std::string_view lowered) {
  std::lock_guard lock(mu_);
  static const std::string kSql =
      sqlite::sql("SELECT ", kUserColumns,
                  " FROM users WHERE lower(username) = $1 AND NOT is_system ORDER BY username "
                  "LIMIT 2");
  auto q = db_->prepare(kSql);
  if (q) q->with(lowered);
  return sqlite::all<User>(q, read_user);
}

Result<std::vector<User>> SqliteStore::list_users() {
  std::lock_guard lock(mu_);
  static const std::string kSql =
      sqlite::sql("SELECT ", kUserColumns, " FROM users WHERE NOT is_system ORDER BY username");
  auto q = db_->prepare(kSql);
  if (!q) return q.error();
  std::vector<User> out;
  while (true) {
    auto row = q->step();
    if (!row) return row.error();
    if (!*row) break;
    out.push_back(read_user(*q));
  }
  return out;
}

Status SqliteStore::set_member(std::string_view org_id, std::string_view user_id, OrgRole role) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare(
      "INSERT INTO organization_members (organization_id, user_id, role, created_at) "
      "VALUES ($1, $2, $3, $4) ON CONFLICT (organization_id, user_id) DO UPDATE SET role = $3");
  if (!q) return q.error();
  return q->with(org_id, user_id, to_string(role), now_ms()).run();
}

Result<std::optional<OrgRole>> SqliteStore::member_role(std::string_view org_id,
                                                        std::string_view user_id) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare(
      "SELECT role FROM organization_members WHERE organization_id = $1 AND user_id = $2");
  if (!q) return q.error();
  auto row = q->with(org_id, user_id).step();
  if (!row) return row.error();
  if (!*row) return std::optional<OrgRole>();
  return parse_org_role(q->text(0));
}

Result<std::vector<Member>> SqliteStore::list_members(std::string_view org_id) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare(
      "SELECT u.id, u.username, u.email, u.site_admin, u.is_system, u.created_at, u.suspended, "
      "m.role FROM organization_members m JOIN users u ON u.id = m.user_id "
      "WHERE m.organization_id = $1 AND NOT u.is_system ORDER BY u.username");
  if (q) q->with(org_id);
  return sqlite::all<Member>(q, [](const sqlite::Statement& s) {
    return Member{read_user(s), parse_org_role(s.text(7)).value_or(OrgRole::member)};
  });
}

// --- Tokens

Result<ApiToken> SqliteStore::create_api_token(std::string_view user_id, std::string_view name,
                                               std::string_view token_id,
                                               std::string_view secret_hash,
                                               std::optional<UnixMillis> expires_at,
                                               const TokenScope& scope) {
  std::lock_guard lock(mu_);
  ApiToken t{
      std::string(token_id), std::string(user_id), std::string(name), now_ms(), expires_at, scope};
  auto q = db_->prepare(
      "INSERT INTO api_tokens (id, user_id, name, hashed_secret, created_at, expires_at, "
      "organization_id, read_only) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)");
  if (!q) return q.error();
  if (auto s = q->with(t.id, t.user_id, t.name, secret_hash, t.created_at, t.expires_at,
                       scope.organization_id, scope.read_only)
                   .run();
      !s) {
    return s.error();
  }
  return t;
}

Result<TokenOwner> SqliteStore::user_for_token(std::string_view token_id,
                                               std::string_view secret_hash, UnixMillis now) {
  std::lock_guard lock(mu_);
  return token_owner_locked(token_id, secret_hash, now);
}

Result<TokenOwner> SqliteStore::token_owner(std::string_view token_id, UnixMillis now) {
  std::lock_guard lock(mu_);
  return token_owner_locked(token_id, std::nullopt, now);
}

Result<TokenOwner> SqliteStore::token_owner_locked(std::string_view token_id,
                                                   std::optional<std::string_view> secret_hash,
                                                   UnixMillis now) {
  auto q = db_->prepare(
      "SELECT u.id, u.username, u.email, u.site_admin, u.is_system, u.created_at, "
      "t.hashed_secret, t.expires_at, t.organization_id, t.read_only, u.suspended "
      "FROM api_tokens t JOIN users u ON u.id = t.user_id "
      "WHERE t.id = $1");
  if (!q) return q.error();
  auto row = q->with(token_id).step();
  if (!row) return row.error();
  const auto invalid = [] {
    return Error::unauthenticated("invalid API token",
                                  "create a token with `berth tokens create` and pass it with "
                                  "--token or BERTH_TOKEN");
  };
  if (!*row) return invalid();
  if (secret_hash && q->text(6) != *secret_hash) return invalid();
  if (auto exp = q->opt_int64(7); exp && *exp <= now) {
    return Error::unauthenticated("API token expired",
                                  "create a new one with `berth tokens create`");
  }
  if (q->boolean(10)) {
    return Error::unauthenticated(fmt::format("user {} is suspended", q->text(1)),
                                  "ask a site admin to unsuspend the account");
  }
  return TokenOwner{read_user(*q), {q->opt_text(8), q->boolean(9)}};
}

// --- Templates

Result<Template> SqliteStore::template_locked(std::string_view id) {
  static const std::string kSql = sqlite::sql("SELECT ", sqlite::kTemplateColumns,
                                              " FROM templates WHERE id = $1 AND NOT deleted");
  auto q = db_->prepare(kSql);
  if (q) q->with(id);
  return one<Template>(
      std::move(q), [](const auto& s) { return sqlite::read_template(s); },
      fmt::format("template {} not found", id));
}

Result<PushedTemplate> SqliteStore::push_template_version(const NewTemplateVersion& v) {
  std::lock_guard lock(mu_);
  auto tx = Transaction::begin(*db_);
  if (!tx) return tx.error();
  UnixMillis now = now_ms();
  PushedTemplate out;

  std::string template_id;
  {
    auto find = db_->prepare(
        "SELECT id FROM templates WHERE organization_id = $1 AND name = $2 AND NOT deleted");
    if (!find) return find.error();
    auto row = find->with(v.organization_id, v.name).step();
    if (!row) return row.error();
    if (*row) {
      template_id = find->text(0);
    } else {
      template_id = new_uuid();
      out.created = true;
    }
  }

  if (out.created) {
    auto ins = db_->prepare(
        "INSERT INTO templates (id, organization_id, name, display_name, description, isolation, "
        "agents_allowed, created_by, created_at, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)");
    if (!ins) return ins.error();
    if (auto s = ins->with(template_id, v.organization_id, v.name, v.display_name, v.description,
                           v.isolation, v.agents_allowed, v.created_by, now)
                     .run();
        !s) {
      return s.error();
    }
  }
  int number = 1;
  {
    auto q = db_->prepare(
        "SELECT COALESCE(MAX(number), 0) + 1 FROM template_versions WHERE template_id = $1");
    if (!q) return q.error();
    if (auto r = q->with(template_id).step(); !r) return r.error();
    number = q->int32(0);
  }
  TemplateVersion ver{new_uuid(), template_id,          number, v.source, v.spec,
                      v.readme,   v.has_external_agent, now};
  {
    auto ins = db_->prepare(
        "INSERT INTO template_versions (id, template_id, number, source, spec, readme, "
        "has_external_agent, created_by, created_at, provisioner_tags) VALUES ($1, $2, $3, $4, "
        "$5, $6, $7, $8, $9, $10)");
    if (!ins) return ins.error();
    if (auto s = ins->with(ver.id, ver.template_id, ver.number, ver.source, ver.spec, ver.readme,
                           ver.has_external_agent, v.created_by, now, v.provisioner_tags)
                     .run();
        !s) {
      return s.error();
    }
  }
  int position = 0;
  for (const auto& p : v.presets) {
    auto ins = db_->prepare(
        "INSERT INTO template_version_presets (id, template_version_id, name, description, "
        "is_default, parameters, desired_instances) VALUES ($1, $2, $3, $4, $5, $6, $7)");
    if (!ins) return ins.error();
    // Ids sort in template order (the position prefix), so listing needs no extra column.
    std::string id = new_uuid();
    id.replace(0, 4, fmt::format("{:04x}", position++));
    if (auto s = ins->with(id, ver.id, p.name, p.description, p.is_default, p.parameters,
                           p.desired_instances)
                     .run();
        !s) {
      return s.error();
    }
  }
  {
    auto upd = db_->prepare(
        "UPDATE templates SET active_version_id = $2, display_name = $3, description = $4, "
        "isolation = $5, agents_allowed = $6, updated_at = $7 WHERE id = $1");
    if (!upd) return upd.error();
    if (auto s = upd->with(template_id, ver.id, v.display_name, v.description, v.isolation,
                           v.agents_allowed, now)
                     .run();
        !s) {
      return s.error();
    }
  }
  auto t = template_locked(template_id);
  if (!t) return t.error();
  if (auto s = tx->commit(); !s) return s.error();
  out.tmpl = std::move(*t);
  out.version = std::move(ver);
  return out;
}

Result<Template> SqliteStore::template_by_id(std::string_view id) {
  std::lock_guard lock(mu_);
  return template_locked(id);
}

Result<Template> SqliteStore::template_by_name(std::string_view org_id, std::string_view name) {
  std::lock_guard lock(mu_);
  static const std::string kSql = sqlite::sql("SELECT ", sqlite::kTemplateColumns,
                                              " FROM templates WHERE organization_id = $1 AND "
                                              "name = $2 AND NOT deleted");
  auto q = db_->prepare(kSql);
  if (q) q->with(org_id, name);
  return one<Template>(
      std::move(q), [](const auto& s) { return sqlite::read_template(s); },
      fmt::format("template \"{}\" not found", name));
}

Result<std::vector<Template>> SqliteStore::list_templates(const std::vector<std::string>& org_ids) {
  std::lock_guard lock(mu_);
  static const std::string kSql = sqlite::sql(
      "SELECT ", sqlite::kTemplateColumns, " FROM templates WHERE NOT deleted ORDER BY name, id");
  auto q = db_->prepare(kSql);
  if (!q) return q.error();
  std::vector<Template> out;
  while (true) {
    auto row = q->step();
    if (!row) return row.error();
    if (!*row) break;
    Template t = sqlite::read_template(*q);
    if (org_ids.empty() ||
        std::find(org_ids.begin(), org_ids.end(), t.organization_id) != org_ids.end()) {
      out.push_back(std::move(t));
    }
  }
  return out;
}

Result<TemplateVersion> SqliteStore::template_version_by_id(std::string_view id) {
  std::lock_guard lock(mu_);
  static const std::string kSql = sqlite::sql("SELECT ", sqlite::kTemplateVersionColumns,
                                              " FROM template_versions WHERE id = $1");
  auto q = db_->prepare(kSql);
  if (q) q->with(id);
  return one<TemplateVersion>(std::move(q), sqlite::read_template_version,
                              fmt::format("template version {} not found", id));
}

Result<std::vector<TemplateVersionEntry>> SqliteStore::template_versions(
    std::string_view template_id) {
  std::lock_guard lock(mu_);
  static const std::string kSql = sqlite::sql(
      "SELECT v.id, v.template_id, v.number, v.source, v.spec, v.readme, v.has_external_agent, "
      "v.created_at, COALESCE(u.username, '') FROM template_versions v "
      "LEFT JOIN users u ON u.id = v.created_by WHERE v.template_id = $1 ORDER BY v.number DESC");
  auto q = db_->prepare(kSql);
  if (q) q->with(template_id);
  return sqlite::all<TemplateVersionEntry>(q, [](const sqlite::Statement& s) {
    return TemplateVersionEntry{sqlite::read_template_version(s), s.text(8)};
  });
}

namespace {
constexpr std::string_view kPresetColumns =
    "id, template_version_id, name, description, is_default, parameters, desired_instances";
Preset read_preset(const sqlite::Statement& s) {
  return {s.text(0), s.text(1), s.text(2), s.text(3), s.boolean(4), s.text(5), s.int32(6)};
}
}  // namespace

Result<std::vector<Preset>> SqliteStore::presets_for_version(std::string_view version_id) {
  std::lock_guard lock(mu_);
  static const std::string kSql =
      sqlite::sql("SELECT ", kPresetColumns,
                  " FROM template_version_presets WHERE template_version_id = $1 ", "ORDER BY id");
  auto q = db_->prepare(kSql);
  if (q) q->with(version_id);
  return sqlite::all<Preset>(q, read_preset);
}

Result<Preset> SqliteStore::preset_by_id(std::string_view id) {
  std::lock_guard lock(mu_);
  static const std::string kSql =
      sqlite::sql("SELECT ", kPresetColumns, " FROM template_version_presets WHERE id = $1");
  auto q = db_->prepare(kSql);
  if (q) q->with(id);
  return sqlite::one<Preset>(q, read_preset, fmt::format("preset {} not found", id));
}

// --- Site configuration

Status SqliteStore::set_config(std::string_view key, std::string_view value) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare(
      "INSERT INTO site_config (key, value, updated_at) VALUES ($1, $2, $3) "
      "ON CONFLICT (key) DO UPDATE SET value = $2, updated_at = $3");
  if (!q) return q.error();
  return q->with(key, value, now_ms()).run();
}

Result<std::optional<std::string>> SqliteStore::config(std::string_view key) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare("SELECT value FROM site_config WHERE key = $1");
  if (!q) return q.error();
  auto row = q->with(key).step();
  if (!row) return row.error();
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(q->text(0));
}

}  // namespace berth::store
