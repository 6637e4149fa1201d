#pragma once
// Identifiers and secrets: random UUIDs for rows, random tokens for API and agent
// credentials, and the SHA-256 used to store those tokens hashed.

#include <optional>
#include <string>
#include <string_view>

namespace berth {

// A random (version 4) UUID in canonical lower-case text form.
std::string new_uuid();
// `bytes` random bytes as lower-case hex (2 * bytes characters).
std::string random_hex(std::size_t bytes);
// Lower-case hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);
// True when `text` looks like a canonical UUID.
bool looks_like_uuid(std::string_view text);

// Standard base64 (RFC 4648, with padding) decoded, or nullopt when `text` is not that
// (OpenSSL's decoder; its padding bytes are removed).
std::optional<std::string> base64_decode(std::string_view text);
std::string base64_encode(std::string_view bytes);
// Accepts the forms UUID parsers commonly do (canonical, "urn:uuid:...", "{...}", 32 hex
// digits; any case) and returns the canonical lower-case form, or nullopt.
std::optional<std::string> parse_uuid(std::string_view text);

}  // namespace berth
