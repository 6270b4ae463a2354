#include "snow/net/crypto.h"

#include <sys/random.h>
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/hmac.h>
#include <wolfssl/wolfcrypt/sha.h>

#include <cerrno>

#include "snow/core/status.h"

namespace snow::net {

Sha1Digest Sha1(std::string_view data) {
  Sha1Digest out{};
  (void)wc_ShaHash(reinterpret_cast<const byte*>(data.data()), static_cast<word32>(data.size()),
                   out.data());
  return out;
}

Sha256Digest HmacSha256(std::string_view key, std::string_view data) {
  Sha256Digest out{};
  Hmac hmac;
  // wolfCrypt refuses HMAC keys shorter than 14 bytes in FIPS builds only; Debian's is not one.
  // Every call below can only fail on bad arguments, which these are not.
  int rc = wc_HmacInit(&hmac, nullptr, INVALID_DEVID);
  if (rc == 0) {
    rc = wc_HmacSetKey(&hmac, WC_SHA256, reinterpret_cast<const byte*>(key.data()),
                       static_cast<word32>(key.size()));
  }
  if (rc == 0) {
    rc = wc_HmacUpdate(&hmac, reinterpret_cast<const byte*>(data.data()),
                       static_cast<word32>(data.size()));
  }
  if (rc == 0) rc = wc_HmacFinal(&hmac, out.data());
  wc_HmacFree(&hmac);
  SNOW_CHECK(rc == 0, "wolfCrypt HMAC-SHA256 failed");
  return out;
}

bool ConstantTimeEqual(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  if (a.size() != b.size()) return false;
  volatile uint8_t diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff = diff | (a[i] ^ b[i]);
  return diff == 0;
}

absl::Status RandomBytes(std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = getrandom(out.data() + done, out.size() - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoToStatus(errno, "getrandom");
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace snow::net
