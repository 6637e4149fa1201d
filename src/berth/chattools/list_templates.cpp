// list_templates: which templates a chat may create workspaces from (spec section 3.5).
#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "berth/chattools/arguments.hpp"
#include "berth/chattools/tools.hpp"

namespace berth::chattools {

namespace msg {
constexpr const char* kDescription =
    "List the templates this chat can create workspaces from. Use it before create_workspace "
    "to find a template_id, and read_template to see a template's parameters and presets. "
    "Optional: query (matches name, display name and description), page (10 per page).";
constexpr const char* kBadPage = "page must be a whole number >= 1; pass one, or leave it out";
constexpr const char* kBadQuery = "query must be a string; pass words to look for, or leave it out";
}  // namespace msg

namespace {

constexpr std::size_t kPageSize = 10;
constexpr std::size_t kDescriptionLimit = 240;  // characters shown per template

std::string truncate(const std::string& s, std::size_t limit) {
  if (s.size() <= limit) return s;
  std::size_t cut = limit;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // UTF-8 boundary
  return s.substr(0, cut) + "…";
}

// Every word of the query appears in the template's name, display name or description.
bool matches(const store::Template& t, const std::string& query) {
  std::string hay = lower(t.name + " " + t.display_name + " " + t.description);
  std::string q = lower(query);
  for (char& c : q) {
    if (c == '-' || c == '_') c = ' ';
  }
  std::string flat = hay;
  for (char& c : flat) {
    if (c == '-' || c == '_') c = ' ';
  }
  std::size_t start = 0;
  while (start < q.size()) {
    auto end = q.find(' ', start);
    std::string word = q.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!word.empty() && flat.find(word) == std::string::npos) return false;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return true;
}

}  // namespace

Tool make_list_templates_tool(TemplateToolsOptions o) {
  Tool t;
  t.name = "list_templates";
  t.title = "List templates";
  t.description = msg::kDescription;
  t.annotations = {.read_only = true, .idempotent = true};
  t.input_schema = {
      {"type", "object"},
      {"properties",
       {{"query", {{"type", "string"}, {"description", "Words to look for"}}},
        {"page", {{"type", "integer"}, {"minimum", 1}, {"description", "Page, from 1"}}}}},
      {"additionalProperties", false}};
  t.output_schema = {{"type", "object"},
                     {"properties",
                      {{"templates", {{"type", "array"}, {"items", {{"type", "object"}}}}},
                       {"count", {{"type", "integer"}}},
                       {"page", {{"type", "integer"}}},
                       {"total_pages", {{"type", "integer"}}},
                       {"total_count", {{"type", "integer"}}},
                       {"error", {{"type", "string"}}}}}};
  t.handler = [o](ToolContext& ctx, json args) -> boost::asio::awaitable<ToolResult> {
    std::string query;
    if (args.contains("query") && !args["query"].is_null()) {
      if (!args["query"].is_string()) co_return ToolResult::text_error(msg::kBadQuery);
      query = args["query"].get<std::string>();
    }
    std::int64_t page = 1;
    if (args.contains("page") && !args["page"].is_null()) {
      if (!args["page"].is_number_integer()) co_return ToolResult::text_error(msg::kBadPage);
      page = std::max<std::int64_t>(1, args["page"].get<std::int64_t>());
    }
    auto all = o.admin->list_templates(ctx.actor);
    if (!all) co_return ToolResult::from_error(all.error());
    std::vector<store::Template> allowed;
    for (auto& tmpl : *all) {
      if (!tmpl.agents_allowed) continue;
      if (!ctx.organization_id.empty() && tmpl.organization_id != ctx.organization_id) continue;
      if (!query.empty() && !matches(tmpl, query)) continue;
      allowed.push_back(std::move(tmpl));
    }
    // Rank by how many people use a template (unique workspace owners), then by name.
    std::map<std::string, std::set<std::string>> owners;
    if (auto ws = o.store->list_workspaces(std::nullopt); ws) {
      for (const auto& w : *ws) owners[w.template_id].insert(w.owner_id);
    }
    std::stable_sort(allowed.begin(), allowed.end(), [&](const auto& a, const auto& b) {
      return owners[a.id].size() > owners[b.id].size();
    });
    const std::size_t total = allowed.size();
    const std::size_t pages = std::max<std::size_t>(1, (total + kPageSize - 1) / kPageSize);
    const std::size_t first = std::min(total, static_cast<std::size_t>(page - 1) * kPageSize);
    const std::size_t last = std::min(total, first + kPageSize);
    json items = json::array();
    for (std::size_t i = first; i < last; ++i) {
      const auto& tmpl = allowed[i];
      json item = {{"id", tmpl.id}, {"name", tmpl.name}, {"organization_id", tmpl.organization_id}};
      if (!tmpl.display_name.empty()) item["display_name"] = tmpl.display_name;
      if (!tmpl.description.empty())
        item["description"] = truncate(tmpl.description, kDescriptionLimit);
      if (auto n = owners[tmpl.id].size()) item["active_developers"] = n;
      items.push_back(std::move(item));
    }
    co_return ToolResult::success({{"templates", items},
                                   {"count", items.size()},
                                   {"page", page},
                                   {"total_pages", pages},
                                   {"total_count", total}});
  };
  return t;
}

}  // namespace berth::chattools
