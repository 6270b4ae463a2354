// File: net/socket_address.h
//
// SocketAddress: an IPv4 or IPv6 address and port, as the kernel's sockaddr. Parsing takes
// numeric addresses only (no DNS: resolving is a blocking call and belongs off the shards).
//
//   absl::StatusOr<SocketAddress> a = SocketAddress::Parse("127.0.0.1:0");   // any free port
//   absl::StatusOr<SocketAddress> b = SocketAddress::Parse("[::1]:4370");
//   std::string text = a->ToString();                                      // "127.0.0.1:0"
//
// A plain value: copyable, usable on any thread.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace snow::net {

class SocketAddress {
 public:
  // 0.0.0.0:0 (AF_INET, any address, any port).
  SocketAddress();

  // "a.b.c.d:port", "[v6]:port"; the port is required (0: the kernel picks one on bind).
  // kInvalidArgument otherwise.
  static absl::StatusOr<SocketAddress> Parse(std::string_view text);
  // 127.0.0.1:port.
  static SocketAddress Loopback(uint16_t port = 0);
  // From what accept/getsockname/getpeername returned; kInvalidArgument for other families.
  static absl::StatusOr<SocketAddress> FromSockaddr(const sockaddr* address, socklen_t length);

  int family() const { return storage_.ss_family; }
  uint16_t port() const;
  SocketAddress WithPort(uint16_t port) const;
  // "127.0.0.1:8080" or "[::1]:8080".
  std::string ToString() const;

  const sockaddr* sockaddr_ptr() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  socklen_t length() const { return length_; }

  friend bool operator==(const SocketAddress& a, const SocketAddress& b);

 private:
  sockaddr_storage storage_;
  socklen_t length_;
};

}  // namespace snow::net
