// File: net/internal/certificate_names.h
//
// The subject alternative names of a DER certificate, as text (DNS names, URIs, ...), read with
// wolfCrypt's own parser: Debian's wolfSSL will not make a WOLFSSL_X509 of an Ed25519
// certificate from bytes (wolfSSL_X509_d2i fails), though TLS verifies one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace snow::net_internal {

absl::StatusOr<std::vector<std::string>> AlternativeNamesOfDer(const uint8_t* der, size_t length);

}  // namespace snow::net_internal
