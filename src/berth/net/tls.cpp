#include "berth/net/tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cstdlib>

#include <fmt/format.h>
#include <boost/asio/ip/address.hpp>

namespace berth::net {

namespace ssl = boost::asio::ssl;

namespace {

std::string openssl_reason(const boost::system::error_code& ec) {
  std::string why = ec.message();
  if (unsigned long e = ::ERR_peek_last_error(); e != 0) {
    char buf[256];
    ::ERR_error_string_n(e, buf, sizeof buf);
    why = buf;
  }
  ::ERR_clear_error();
  return why;
}

}  // namespace

Result<TlsContext> server_tls_context(const std::string& cert_file, const std::string& key_file) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::single_dh_use);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(cert_file, ec);
  if (ec) {
    return Error::invalid_argument(
        fmt::format("cannot load the TLS certificate {}: {}", cert_file, openssl_reason(ec)),
        "pass a PEM certificate (with its chain) to --tls-cert");
  }
  ctx->use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec && openssl_reason(ec).find("mismatch") != std::string::npos) {
    return Error::invalid_argument(
        fmt::format("the TLS key {} does not belong to the certificate {}", key_file, cert_file),
        "pass the key the certificate was issued for");
  }
  if (ec) {
    return Error::invalid_argument(
        fmt::format("cannot load the TLS key {}: {}", key_file, openssl_reason(ec)),
        "pass the certificate's PEM private key to --tls-key");
  }
  if (::SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    ::ERR_clear_error();
    return Error::invalid_argument(
        fmt::format("the TLS key {} does not belong to the certificate {}", key_file, cert_file),
        "pass the key the certificate was issued for");
  }
  return ctx;
}

Result<TlsContext> client_tls_context(const std::string& ca_file) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  boost::system::error_code ec;
  ctx->set_default_verify_paths(ec);
  ec.clear();  // a host without a CA bundle may still verify against --ca-file
  if (!ca_file.empty()) {
    ctx->load_verify_file(ca_file, ec);
    if (ec) {
      return Error::invalid_argument(
          fmt::format("cannot load the CA file {}: {}", ca_file, openssl_reason(ec)),
          "pass a PEM file of CA certificates (--ca-file or BERTH_CA_FILE)");
    }
  }
  ctx->set_verify_mode(ssl::verify_peer);
  return ctx;
}

bool verify_host_name(SSL* ssl, const std::string& host) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  if (ec) {
    // SNI only for names (RFC 6066 forbids addresses).
    if (::SSL_set_tlsext_host_name(ssl, host.c_str()) != 1) return false;
    return ::SSL_set1_host(ssl, host.c_str()) == 1;
  }
  X509_VERIFY_PARAM* param = ::SSL_get0_param(ssl);
  return ::X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1;
}

std::string ca_file_from_environment() {
  const char* v = std::getenv("BERTH_CA_FILE");
  return v ? v : "";
}

}  // namespace berth::net
