#pragma once
// `berth-agent egress-forward SOCKET PORT -- COMMAND...`: how code in a sandbox reaches its
// egress proxy. The sandbox's network has only lo, and the proxy is a Unix socket bound in
// (egress/proxy.hpp); this listens on 127.0.0.1:PORT, where HTTP_PROXY and HTTPS_PROXY point,
// and relays each connection to SOCKET. The relay runs as a daemon of the sandbox (its pid
// namespace ends it with the sandbox) and COMMAND replaces this process, keeping its pid.

namespace berth::agent {

// argv[first..] are SOCKET PORT -- COMMAND...; returns only on failure (the exit code), or
// -1 when the arguments are not that (the caller prints usage).
int run_egress_forward(int argc, char** argv, int first);

}  // namespace berth::agent
