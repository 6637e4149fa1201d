#pragma once
// TLS for every HTTP hop that crosses machines: the server's certificate (--tls-cert,
// --tls-key) and the clients' verification of it (the system's CAs, plus --ca-file for a
// private CA). Asio's OpenSSL contexts; no Beast here.

#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>

#include "berth/core/result.hpp"

namespace berth::net {

using TlsContext = std::shared_ptr<boost::asio::ssl::context>;

// A server context from PEM files (the certificate file may hold the chain). Errors name the
// file and what is wrong with it.
Result<TlsContext> server_tls_context(const std::string& cert_file, const std::string& key_file);

// A client context that verifies the server's certificate chain against the system's CAs and,
// when `ca_file` is set, the CAs in it. The host name is checked per connection
// (verify_host_name).
Result<TlsContext> client_tls_context(const std::string& ca_file);

// Sets SNI and host name verification on a client stream's native handle. Returns false when
// OpenSSL refuses the name.
bool verify_host_name(SSL* ssl, const std::string& host);

// The CA file a client process uses: BERTH_CA_FILE from the environment, "" when unset.
std::string ca_file_from_environment();

}  // namespace berth::net
