// File: net/internal/tls_init.h
//
// wolfSSL's process-wide initialisation, done once (thread-safe) by whatever needs it first;
// also arranges for the calling thread's wolfSSL caches to be freed when it exits. Call it on
// every thread before it uses wolfSSL.
#pragma once

namespace snow::net_internal {

void EnsureWolfSslInitialized();

}  // namespace snow::net_internal
