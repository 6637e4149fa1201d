#include "berth/core/result.hpp"

namespace berth {

std::string_view to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_argument:
      return "invalid_argument";
    case ErrorCode::not_found:
      return "not_found";
    case ErrorCode::already_exists:
      return "already_exists";
    case ErrorCode::failed_precondition:
      return "failed_precondition";
    case ErrorCode::permission_denied:
      return "permission_denied";
    case ErrorCode::unauthenticated:
      return "unauthenticated";
    case ErrorCode::resource_exhausted:
      return "resource_exhausted";
    case ErrorCode::unavailable:
      return "unavailable";
    case ErrorCode::deadline_exceeded:
      return "deadline_exceeded";
    case ErrorCode::cancelled:
      return "cancelled";
    case ErrorCode::internal:
      return "internal";
  }
  return "internal";
}

namespace {
Error make(ErrorCode code, std::string message, std::string detail, SourceLocation where) {
  Error e;
  e.code = code;
  e.message = std::move(message);
  e.detail = std::move(detail);
  e.where = where;
  return e;
}
}  // namespace

Error Error::invalid_argument(std::string m, std::string d, SourceLocation w) {
  return make(ErrorCode::invalid_argument, std::move(m), std::move(d), w);
}
Error Error::not_found(std::string m, std::string d, SourceLocation w) {
  return make(ErrorCode::not_found, std::move(m), std::move(d), w);
}
Error Error::already_exists(std::string m, std::string d, SourceLocation w) {
  return make(ErrorCode::already_exists, std::move(m), std::move(d), w);
}
Error Error::failed_precondition(std::string m, std::string d, SourceLocation w) {
  return make(ErrorCode::failed_precondition, std::move(m), std::move(d), w);
}
Error Error::permission_denied(std::string m, std::string d, SourceLocation w) {
  return make(ErrorCode::permission_denied, std::move(m), std::move(d), w);
}
Error Error::unauthenticated(std::string m, std::string d, SourceLocation w) {
  return make(ErrorCode::unauthenticated, std::move(m), std::move(d), w);
}
Error Error::resource_exhausted(std::string m, std::string d, SourceLocation w) {
  return make(ErrorCode::resource_exhausted, std::move(m), std::move(d), w);
}
Error Error::unavailable(std::string m, std::string d, SourceLocation w) {
  return make(ErrorCode::unavailable, std::move(m), std::move(d), w);
}
Error Error::deadline_exceeded(std::string m, std::string d, SourceLocation w) {
  return make(ErrorCode::deadline_exceeded, std::move(m), std::move(d), w);
}
Error Error::internal(std::string m, std::string d, SourceLocation w) {
  return make(ErrorCode::internal, std::move(m), std::move(d), w);
}

Error& Error::with_validation(std::string field, std::string detail) {
  validations.push_back({std::move(field), std::move(detail)});
  return *this;
}

}  // namespace berth
