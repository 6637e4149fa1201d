#include "berth/http/preview_head.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace berth::http {

namespace {

constexpr std::string_view kSandboxPolicy =
    "Content-Security-Policy: sandbox allow-scripts allow-forms allow-popups allow-modals "
    "allow-downloads allow-popups-to-escape-sandbox allow-pointer-lock allow-presentation";

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool server_cookie_name(std::string_view name) { return lower(trim(name)).starts_with("berth"); }

}  // namespace

std::optional<std::size_t> response_head_end(std::string_view bytes) {
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] != '\n') continue;
    if (i + 1 < bytes.size() && bytes[i + 1] == '\n') return i + 2;
    if (i + 2 < bytes.size() && bytes[i + 1] == '\r' && bytes[i + 2] == '\n') return i + 3;
  }
  return std::nullopt;
}

Result<std::string> rewrite_response_head(std::string_view head, const HeadRewrite& rewrite) {
  std::vector<std::string_view> lines;
  while (!head.empty()) {
    auto nl = head.find('\n');
    std::string_view line = head.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    // A bare CR splits lines for some readers and not others: a header could hide in it.
    if (line.find_first_of(std::string_view("\r\0", 2)) != std::string_view::npos) {
      return Error::invalid_argument("the app's answer head holds a bare CR or a NUL byte");
    }
    lines.push_back(line);
    head = nl == std::string_view::npos ? std::string_view() : head.substr(nl + 1);
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  if (lines.empty() || !lines.front().starts_with("HTTP/")) {
    return Error::invalid_argument("the app's answer does not start with an HTTP status line");
  }
  std::string out(lines.front());
  out += "\r\n";
  if (rewrite.sandbox) {
    out += kSandboxPolicy;
    out += "\r\n";
  }
  if (!rewrite.set_cookie.empty()) out += fmt::format("Set-Cookie: {}\r\n", rewrite.set_cookie);
  bool dropping = false;
  bool app_cors = false;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    if (line.empty()) continue;
    if (line.front() == ' ' || line.front() == '\t') {  // obs-fold: part of the line above
      if (!dropping) {
        out += line;
        out += "\r\n";
      }
      continue;
    }
    dropping = false;
    auto colon = line.find(':');
    if (colon != std::string_view::npos &&
        lower(trim(line.substr(0, colon))) == "access-control-allow-origin") {
      app_cors = true;
    }
    if (colon != std::string_view::npos && lower(trim(line.substr(0, colon))) == "set-cookie") {
      std::string_view value = trim(line.substr(colon + 1));
      std::string_view name = value.substr(0, value.find('='));
      if (server_cookie_name(name)) {
        dropping = true;
        continue;
      }
    }
    out += line;
    out += "\r\n";
  }
  if (rewrite.allow_any_origin && !app_cors) out += "Access-Control-Allow-Origin: *\r\n";
  out += "\r\n";
  return out;
}

std::string strip_server_cookies(std::string_view header) {
  std::string out;
  while (!header.empty()) {
    auto semi = header.find(';');
    std::string_view pair = trim(header.substr(0, semi));
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    if (pair.empty()) continue;
    std::string_view name = pair.substr(0, pair.find('='));
    if (server_cookie_name(name)) continue;
    if (!out.empty()) out += "; ";
    out += pair;
  }
  return out;
}

std::string strip_token_param(std::string_view query) {
  std::string out;
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    if (pair.substr(0, pair.find('=')) == kPreviewTokenParam) continue;
    if (!out.empty()) out += '&';
    out += pair;
  }
  return out;
}

std::string sign_grant(std::string_view token_hash, std::string_view workspace_id, int port,
                       std::int64_t expires_at_ms) {
  std::string message = fmt::format("berth-preview|{}|{}|{}", workspace_id, port, expires_at_ms);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), token_hash.data(), static_cast<int>(token_hash.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &mac_len);
  std::string hex;
  for (unsigned int i = 0; i < mac_len; ++i) hex += fmt::format("{:02x}", mac[i]);
  return fmt::format("{}.{}", expires_at_ms, hex);
}

bool grant_valid(std::string_view grant, std::string_view token_hash, std::string_view workspace_id,
                 int port, std::int64_t now_ms) {
  auto dot = grant.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot > 19) return false;
  std::int64_t expires = 0;
  auto [end, ec] = std::from_chars(grant.data(), grant.data() + dot, expires);
  if (ec != std::errc() || end != grant.data() + dot || expires < now_ms) return false;
  std::string expected = sign_grant(token_hash, workspace_id, port, expires);
  return expected.size() == grant.size() &&
         CRYPTO_memcmp(expected.data(), grant.data(), grant.size()) == 0;
}

}  // namespace berth::http
