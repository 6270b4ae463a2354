// File: net/internal/tls_init.h
//
// wolfSSL's process-wide initialisation, done once (thread-safe) by whatever needs it first.
#pragma once

namespace snow::net_internal {

void EnsureWolfSslInitialized();

}  // namespace snow::net_internal
