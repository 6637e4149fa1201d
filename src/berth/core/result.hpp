#pragma once
// Errors as values: Error carries a closed ErrorCode plus the user-facing text, and
// Result<T> holds either a T or an Error (the shape of std::expected, which GCC 12 lacks).

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>
#include <version>
#if defined(__cpp_lib_source_location)
#include <source_location>
#endif

namespace berth {

// Where an Error was made. SourceLocation where the standard library has it (GCC);
// clang 14 with libstdc++ 12 lacks it, so tools built on clang (clang-tidy) get a stand-in.
#if defined(__cpp_lib_source_location)
using SourceLocation = std::source_location;
#else
struct SourceLocation {
  static constexpr SourceLocation current() noexcept { return {}; }
  constexpr const char* file_name() const noexcept { return ""; }
  constexpr unsigned line() const noexcept { return 0; }
};
#endif

// The closed set of failure kinds. Transports map them to HTTP statuses and JSON-RPC codes;
// nothing below the transports looks at anything but this enum.
enum class ErrorCode {
  invalid_argument,
  not_found,
  already_exists,
  failed_precondition,
  permission_denied,
  unauthenticated,
  resource_exhausted,
  unavailable,
  deadline_exceeded,
  cancelled,
  internal,
};

std::string_view to_string(ErrorCode code);

// One field-level problem in a request, as the REST API reports it.
struct Validation {
  std::string field;
  std::string detail;
};

// What went wrong, in words a user can act on. `message` says what is wrong, `detail` adds
// context (often what to do instead), `validations` names the fields at fault.
struct Error {
  ErrorCode code = ErrorCode::internal;
  std::string message;
  std::string detail;
  std::vector<Validation> validations;
  SourceLocation where = SourceLocation::current();

  static Error invalid_argument(std::string message, std::string detail = {},
                                SourceLocation where = SourceLocation::current());
  static Error not_found(std::string message, std::string detail = {},
                         SourceLocation where = SourceLocation::current());
  static Error already_exists(std::string message, std::string detail = {},
                              SourceLocation where = SourceLocation::current());
  static Error failed_precondition(std::string message, std::string detail = {},
                                   SourceLocation where = SourceLocation::current());
  static Error permission_denied(std::string message, std::string detail = {},
                                 SourceLocation where = SourceLocation::current());
  static Error unauthenticated(std::string message, std::string detail = {},
                               SourceLocation where = SourceLocation::current());
  static Error resource_exhausted(std::string message, std::string detail = {},
                                  SourceLocation where = SourceLocation::current());
  static Error unavailable(std::string message, std::string detail = {},
                           SourceLocation where = SourceLocation::current());
  static Error deadline_exceeded(std::string message, std::string detail = {},
                                 SourceLocation where = SourceLocation::current());
  static Error internal(std::string message, std::string detail = {},
                        SourceLocation where = SourceLocation::current());

  Error& with_validation(std::string field, std::string detail);
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & {
    assert(has_value() && "Result::value() on an error; check has_value() first");
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(has_value() && "Result::value() on an error; check has_value() first");
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(has_value() && "Result::value() on an error; check has_value() first");
    return std::get<0>(std::move(v_));
  }
  const Error& error() const& {
    assert(!has_value() && "Result::error() on a value");
    return std::get<1>(v_);
  }
  Error&& error() && {
    assert(!has_value() && "Result::error() on a value");
    return std::get<1>(std::move(v_));
  }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const& {
    assert(!ok_ && "Result<void>::error() on success");
    return error_;
  }
  Error&& error() && { return std::move(error_); }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace berth
