// TlsCertificate: PEM loading, fingerprints and ephemeral self-signed certificates (wolfCrypt).
#include <wolfssl/options.h>
// wolfSSL's headers need options.h first.
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/asn.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/ed25519.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/random.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "snow/core/status.h"
#include "snow/net/internal/certificate_names.h"
#include "snow/net/internal/tls_init.h"
#include "snow/net/tls.h"

namespace snow {
namespace net_internal {

namespace {
// Debian's wolfSSL keeps a per-thread cache of ECC fixed-point tables (FP_ECC with thread-local
// storage), which each thread must free itself before it exits. Shard threads belong to core,
// so a thread-local object does it for every thread that used wolfSSL.
struct EccCacheReleaser {
  ~EccCacheReleaser() { wc_ecc_fp_free(); }
};
}  // namespace

void EnsureWolfSslInitialized() {
  static std::once_flag once;
  std::call_once(once, [] { wolfSSL_Init(); });
  thread_local EccCacheReleaser releaser;
  (void)releaser;
}

absl::StatusOr<std::vector<std::string>> AlternativeNamesOfDer(const uint8_t* der, size_t length) {
  DecodedCert decoded;
  wc_InitDecodedCert(&decoded, der, static_cast<word32>(length), nullptr);
  const int rc = wc_ParseCert(&decoded, CERT_TYPE, NO_VERIFY, nullptr);
  std::vector<std::string> names;
  if (rc == 0) {
    for (const DNS_entry* e = decoded.altNames; e != nullptr; e = e->next) {
      names.emplace_back(e->name, static_cast<size_t>(e->len));
    }
  }
  wc_FreeDecodedCert(&decoded);
  if (rc != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("the certificate does not parse (wolfCrypt error ", rc, ")"));
  }
  return names;
}

}  // namespace net_internal

namespace net {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ErrnoToStatus(errno, absl::StrCat("open ", path));
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) return ErrnoToStatus(errno, absl::StrCat("read ", path));
  return std::move(contents).str();
}

absl::Status WolfCryptError(int code, std::string_view what) {
  char text[80];
  wc_ErrorString(code, text);
  return absl::InternalError(
      absl::StrCat(AbslView(what), ": wolfCrypt error ", code, " (", text, ")"));
}

absl::StatusOr<std::string> DerToPem(const std::vector<uint8_t>& der, int type) {
  int length = wc_DerToPem(der.data(), static_cast<word32>(der.size()), nullptr, 0, type);
  if (length <= 0) return WolfCryptError(length, "wc_DerToPem (size)");
  std::string pem(static_cast<size_t>(length), '\0');
  length = wc_DerToPem(der.data(), static_cast<word32>(der.size()),
                       reinterpret_cast<byte*>(pem.data()), static_cast<word32>(pem.size()), type);
  if (length <= 0) return WolfCryptError(length, "wc_DerToPem");
  pem.resize(static_cast<size_t>(length));
  return pem;
}

}  // namespace

std::string FingerprintToHex(const Sha256Fingerprint& fingerprint) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (uint8_t b : fingerprint) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

absl::StatusOr<Sha256Fingerprint> ParseFingerprint(std::string_view text) {
  Sha256Fingerprint out{};
  size_t digits = 0;
  for (char c : text) {
    if (c == ':') continue;
    int value;
    if (c >= '0' && c <= '9') {
      value = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      value = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      value = c - 'A' + 10;
    } else {
      digits = 65;  // reject below
      break;
    }
    if (digits >= 64) break;
    out[digits / 2] = static_cast<uint8_t>(out[digits / 2] << 4 | value);
    ++digits;
  }
  if (digits != 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("a SHA-256 fingerprint is 64 hex digits, got \"", AbslView(text), "\""));
  }
  return out;
}

absl::StatusOr<TlsCertificate> TlsCertificate::FromPemFiles(std::string certificate_path,
                                                            std::string private_key_path) {
  TlsCertificate out;
  SNOW_ASSIGN_OR_RETURN(out.certificate_pem, ReadFile(certificate_path));
  SNOW_ASSIGN_OR_RETURN(out.private_key_pem, ReadFile(private_key_path));
  // Fail here, naming the file, rather than at the first handshake.
  absl::StatusOr<Sha256Fingerprint> parsed = out.Fingerprint();
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(certificate_path, ": ", parsed.status().message()));
  }
  return out;
}

absl::StatusOr<Sha256Fingerprint> TlsCertificate::Fingerprint() const {
  net_internal::EnsureWolfSslInitialized();
  std::vector<uint8_t> der(certificate_pem.size());
  int length = wc_CertPemToDer(reinterpret_cast<const unsigned char*>(certificate_pem.data()),
                               static_cast<int>(certificate_pem.size()), der.data(),
                               static_cast<int>(der.size()), CERT_TYPE);
  if (length <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("the certificate PEM does not parse (wolfCrypt error ", length, ")"));
  }
  Sha256Fingerprint out;
  int rc = wc_Sha256Hash(der.data(), static_cast<word32>(length), out.data());
  if (rc != 0) return WolfCryptError(rc, "wc_Sha256Hash");
  return out;
}

namespace {

// DER length octets (X.690 8.1.3): short form below 128, else the long form.
void AppendDerLength(std::vector<uint8_t>& out, size_t length) {
  if (length < 128) {
    out.push_back(static_cast<uint8_t>(length));
    return;
  }
  uint8_t bytes[sizeof(size_t)];
  int n = 0;
  for (size_t l = length; l > 0; l >>= 8) bytes[n++] = static_cast<uint8_t>(l & 0xff);
  out.push_back(static_cast<uint8_t>(0x80 | n));
  while (n > 0) out.push_back(bytes[--n]);
}

// GeneralNames (RFC 5280 4.2.1.6) holding each URI as a uniformResourceIdentifier ([6]
// IMPLICIT IA5String): what wolfCrypt's Cert::altNames takes.
std::vector<uint8_t> UriGeneralNames(const std::vector<std::string>& uris) {
  std::vector<uint8_t> names;
  for (const std::string& uri : uris) {
    names.push_back(0x86);
    AppendDerLength(names, uri.size());
    names.insert(names.end(), uri.begin(), uri.end());
  }
  std::vector<uint8_t> out{0x30};
  AppendDerLength(out, names.size());
  out.insert(out.end(), names.begin(), names.end());
  return out;
}

absl::StatusOr<std::vector<uint8_t>> PemToDer(const std::string& pem, int type) {
  std::vector<uint8_t> der(pem.size());
  const auto* in = reinterpret_cast<const unsigned char*>(pem.data());
  int length = type == CERT_TYPE ? wc_CertPemToDer(in, static_cast<int>(pem.size()), der.data(),
                                                   static_cast<int>(der.size()), CERT_TYPE)
                                 : wc_KeyPemToDer(in, static_cast<int>(pem.size()), der.data(),
                                                  static_cast<int>(der.size()), nullptr);
  if (length <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(type == CERT_TYPE ? "the certificate" : "the private key",
                     " PEM does not parse (wolfCrypt error ", length, ")"));
  }
  der.resize(static_cast<size_t>(length));
  return der;
}

// A fresh Ed25519 key and its certificate: self-signed (a CA) without `issuer`, else signed by
// the issuer's key.
absl::StatusOr<TlsCertificate> Generate(const TlsCertificate::GenerateOptions& options,
                                        const TlsCertificate* issuer) {
  net_internal::EnsureWolfSslInitialized();
  WC_RNG rng;
  int rc = wc_InitRng(&rng);
  if (rc != 0) return WolfCryptError(rc, "wc_InitRng");
  ed25519_key key;
  ed25519_key issuer_key;
  rc = wc_ed25519_init(&key);
  if (rc == 0) rc = wc_ed25519_init(&issuer_key);
  if (rc != 0) {
    wc_FreeRng(&rng);
    return WolfCryptError(rc, "wc_ed25519_init");
  }
  struct Cleanup {
    WC_RNG* rng;
    ed25519_key* key;
    ed25519_key* issuer_key;
    ~Cleanup() {
      wc_ed25519_free(key);
      wc_ed25519_free(issuer_key);
      wc_FreeRng(rng);
    }
  } cleanup{&rng, &key, &issuer_key};

  rc = wc_ed25519_make_key(&rng, ED25519_KEY_SIZE, &key);
  if (rc != 0) return WolfCryptError(rc, "wc_ed25519_make_key");

  // Cert holds 16 KiB of alternative names: too big for a shard's stack comfort.
  auto cert = std::make_unique<Cert>();
  rc = wc_InitCert(cert.get());
  if (rc != 0) return WolfCryptError(rc, "wc_InitCert");
  std::snprintf(cert->subject.commonName, sizeof(cert->subject.commonName), "%s",
                options.common_name.c_str());
  std::snprintf(cert->subject.org, sizeof(cert->subject.org), "%s", "Snow");
  cert->sigType = CTC_ED25519;
  cert->daysValid = options.days_valid;
  if (!options.uri_names.empty()) {
    const std::vector<uint8_t> names = UriGeneralNames(options.uri_names);
    if (names.size() > sizeof(cert->altNames)) {
      return absl::InvalidArgumentError("the certificate's alternative names are too long");
    }
    std::memcpy(cert->altNames, names.data(), names.size());
    cert->altNamesSz = static_cast<int>(names.size());
  }
  ed25519_key* signer = &key;
  if (issuer == nullptr) {
    cert->isCA = 1;  // usable as its own trust anchor (TlsVerify::kCa)
    cert->selfSigned = 1;
  } else {
    SNOW_ASSIGN_OR_RETURN(std::vector<uint8_t> issuer_der,
                          PemToDer(issuer->certificate_pem, CERT_TYPE));
    rc = wc_SetIssuerBuffer(cert.get(), issuer_der.data(), static_cast<int>(issuer_der.size()));
    if (rc != 0) return WolfCryptError(rc, "wc_SetIssuerBuffer");
    SNOW_ASSIGN_OR_RETURN(std::vector<uint8_t> issuer_key_der,
                          PemToDer(issuer->private_key_pem, PRIVATEKEY_TYPE));
    word32 index = 0;
    rc = wc_Ed25519PrivateKeyDecode(issuer_key_der.data(), &index, &issuer_key,
                                    static_cast<word32>(issuer_key_der.size()));
    std::memset(issuer_key_der.data(), 0, issuer_key_der.size());
    if (rc != 0) return WolfCryptError(rc, "the issuer's key is not an Ed25519 key");
    signer = &issuer_key;
  }
  // A random serial: two nodes' certificates must not share issuer + serial.
  cert->serialSz = 16;
  rc = wc_RNG_GenerateBlock(&rng, cert->serial, static_cast<word32>(cert->serialSz));
  if (rc != 0) return WolfCryptError(rc, "wc_RNG_GenerateBlock");
  cert->serial[0] &= 0x7f;  // positive
  cert->serial[0] |= 0x01;  // and minimal (no leading zero byte)

  std::vector<uint8_t> der(4096 + static_cast<size_t>(cert->altNamesSz));
  rc = wc_MakeCert_ex(cert.get(), der.data(), static_cast<word32>(der.size()), ED25519_TYPE, &key,
                      &rng);
  if (rc < 0) return WolfCryptError(rc, "wc_MakeCert_ex");
  int signed_length = wc_SignCert_ex(cert->bodySz, cert->sigType, der.data(),
                                     static_cast<word32>(der.size()), ED25519_TYPE, signer, &rng);
  if (signed_length < 0) return WolfCryptError(signed_length, "wc_SignCert_ex");
  der.resize(static_cast<size_t>(signed_length));

  std::vector<uint8_t> key_der(512);
  int key_length = wc_Ed25519KeyToDer(&key, key_der.data(), static_cast<word32>(key_der.size()));
  if (key_length < 0) return WolfCryptError(key_length, "wc_Ed25519KeyToDer");
  key_der.resize(static_cast<size_t>(key_length));

  TlsCertificate out;
  SNOW_ASSIGN_OR_RETURN(out.certificate_pem, DerToPem(der, CERT_TYPE));
  SNOW_ASSIGN_OR_RETURN(out.private_key_pem, DerToPem(key_der, PKCS8_PRIVATEKEY_TYPE));
  // The key material is secret: wipe the copies we made.
  std::memset(key_der.data(), 0, key_der.size());
  return out;
}

}  // namespace

absl::StatusOr<TlsCertificate> TlsCertificate::GenerateSelfSigned(GenerateOptions options) {
  return Generate(options, nullptr);
}

absl::StatusOr<TlsCertificate> TlsCertificate::GenerateSignedBy(const TlsCertificate& issuer,
                                                                GenerateOptions options) {
  return Generate(options, &issuer);
}

absl::StatusOr<std::vector<std::string>> TlsCertificate::AlternativeNames() const {
  net_internal::EnsureWolfSslInitialized();
  SNOW_ASSIGN_OR_RETURN(std::vector<uint8_t> der, PemToDer(certificate_pem, CERT_TYPE));
  return net_internal::AlternativeNamesOfDer(der.data(), der.size());
}

}  // namespace net
}  // namespace snow
