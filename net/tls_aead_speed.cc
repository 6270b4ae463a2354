#include "snow/net/tls_aead_speed.h"

#include <wolfssl/options.h>
// wolfSSL's headers need options.h first.
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/chacha20_poly1305.h>

#include <chrono>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"

namespace snow::net {

absl::StatusOr<double> MeasureAeadBytesPerSecond(TlsAead aead, size_t total_bytes,
                                                 size_t record_bytes) {
  if (record_bytes == 0 || record_bytes > 16384) {
    return absl::InvalidArgumentError(
        absl::StrCat("a TLS record holds 1 to 16384 bytes, not ", record_bytes));
  }
  std::vector<uint8_t> in(record_bytes, 0x5a);
  std::vector<uint8_t> out(record_bytes);
  uint8_t key[32] = {1, 2, 3};
  uint8_t nonce[12] = {};
  uint8_t tag[16];
  uint8_t header[13] = {23, 3, 3};
  Aes aes;
  bool aes_ready = false;
  if (aead != TlsAead::kChaCha20Poly1305) {
    if (wc_AesInit(&aes, nullptr, INVALID_DEVID) != 0 ||
        wc_AesGcmSetKey(&aes, key, aead == TlsAead::kAes128Gcm ? 16 : 32) != 0) {
      return absl::InternalError("AES-GCM key setup failed");
    }
    aes_ready = true;
  }
  size_t records = std::max<size_t>(1, total_bytes / record_bytes);
  auto start = std::chrono::steady_clock::now();
  int rc = 0;
  for (size_t i = 0; i < records && rc == 0; ++i) {
    std::memcpy(nonce + 4, &i, sizeof(i));
    if (aead == TlsAead::kChaCha20Poly1305) {
      rc = wc_ChaCha20Poly1305_Encrypt(key, nonce, header, sizeof(header), in.data(), record_bytes,
                                       out.data(), tag);
    } else {
      rc = wc_AesGcmEncrypt(&aes, out.data(), in.data(), record_bytes, nonce, sizeof(nonce), tag,
                            sizeof(tag), header, sizeof(header));
    }
  }
  auto elapsed = std::chrono::steady_clock::now() - start;
  if (aes_ready) wc_AesFree(&aes);
  if (rc != 0) return absl::InternalError(absl::StrCat("AEAD seal failed: ", rc));
  double seconds = std::chrono::duration<double>(elapsed).count();
  return static_cast<double>(records * record_bytes) / seconds;
}

}  // namespace snow::net
