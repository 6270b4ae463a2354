// Node names bound to certificates (NodeOptions::name_in_certificate): a small PKI made with
// net::TlsCertificate, snow-node children holding its certificates, real TLS on loopback.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "snow/test/dist/dist_testing.h"

namespace snow::dist_testing {
namespace {

using ::snow::testing::IsOk;
using ::snow::testing::StatusIs;
using ::testing::HasSubstr;

// "127.0.0.1:<a port free now>": a certificate names its node's port, so it is chosen first.
std::string FreeAddress() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  SNOW_CHECK(bind(fd, reinterpret_cast<sockaddr*>(&address), length) == 0 &&
                 getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0,
             "no free port");
  close(fd);
  return absl::StrCat("127.0.0.1:", ntohs(address.sin_port));
}

void WriteFile(const std::string& path, const std::string& contents) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  SNOW_CHECK(f != nullptr, path);
  std::fwrite(contents.data(), 1, contents.size(), f);
  std::fclose(f);
}

// A CA and certificates it signs, as PEM files in a fresh directory.
class Pki {
 public:
  Pki() {
    char pattern[] = "/tmp/snow-pki-XXXXXX";
    dir_ = mkdtemp(pattern);
    absl::StatusOr<net::TlsCertificate> ca =
        net::TlsCertificate::GenerateSelfSigned({.common_name = "Snow test CA"});
    SNOW_CHECK(ca.ok(), ca.status().ToString());
    ca_ = *ca;
    WriteFile(ca_file(), ca_.certificate_pem);
  }
  ~Pki() { (void)std::system(absl::StrCat("rm -rf '", dir_, "'").c_str()); }

  std::string ca_file() const { return dir_ + "/ca.pem"; }

  // A certificate signed by the CA that names `node` (dist::CertificateName).
  net::TlsCertificate Issue(const std::string& node) const {
    absl::StatusOr<net::TlsCertificate> c = net::TlsCertificate::GenerateSignedBy(
        ca_, {.common_name = node.substr(0, 60), .uri_names = {dist::CertificateName(node)}});
    SNOW_CHECK(c.ok(), c.status().ToString());
    return *c;
  }

  // snow-node flags for a node holding a certificate that names `named`, verifying peers
  // against the CA.
  std::vector<std::string> NodeFlags(const std::string& named, bool bind_names) const {
    const net::TlsCertificate c = Issue(named);
    const std::string stem = absl::StrCat(dir_, "/", files_++);
    WriteFile(stem + ".pem", c.certificate_pem);
    WriteFile(stem + ".key", c.private_key_pem);
    std::vector<std::string> flags = {"--certificate=" + stem + ".pem",
                                      "--private-key=" + stem + ".key", "--ca-file=" + ca_file()};
    if (bind_names) flags.push_back("--name-in-certificate");
    return flags;
  }

  // This process as node `name`, holding a certificate that names `named`.
  dist::NodeOptions TestNode(const std::string& name, const std::string& named) const {
    dist::NodeOptions options = TestNodeOptions();
    options.name = name;
    options.certificate = Issue(named);
    options.verify = net::TlsVerify::kCa;
    options.ca_file = ca_file();
    options.name_in_certificate = true;
    return options;
  }

 private:
  std::string dir_;
  net::TlsCertificate ca_;
  mutable int files_ = 0;
};

Task<absl::Status> ConnectAndEcho(Self self, dist::NodeOptions options, std::string peer) {
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, options));
  SNOW_CO_RETURN_IF_ERROR(co_await dist::Connect(self, peer));
  co_return (co_await EchoNamed(self, peer, 7)).status();
}

// Both sides bind names: the test node and `a` each prove their names with their certificates.
// A node holding the cookie and a certificate from the same CA, but for another name, claims
// b's name and is refused; without the option, the same impostor would be accepted.
TEST(DistCertificateTest, APeerMustHoldACertificateForTheNameItClaims) {
  Pki pki;
  const std::string a_name = "a@" + FreeAddress();
  NodeProcess a =
      StartChild({.name = a_name, .read_logs = true, .extra_args = pki.NodeFlags(a_name, true)});
  const std::string t_name = "t@" + FreeAddress();
  EXPECT_THAT(RunAsNode(ConnectAndEcho, pki.TestNode(t_name, t_name), a_name), IsOk());

  // The impostor: named b, certified as m.
  const std::string b_name = "b@" + FreeAddress();
  const std::string m_name = "m@" + FreeAddress();
  NodeProcess impostor =
      StartChild({.name = b_name, .connect = {a_name}, .extra_args = pki.NodeFlags(m_name, false)});
  absl::StatusOr<std::string> failed = impostor.WaitForLine("connect-failed", kReplyTimeout);
  ASSERT_THAT(failed, IsOk());
  EXPECT_THAT(*failed, HasSubstr("the certificate does not name you"));
  // `a` says why, and never said b was up.
  for (;;) {
    absl::StatusOr<std::string> line = a.ReadLine(kReplyTimeout);
    ASSERT_THAT(line, IsOk());
    ASSERT_THAT(*line, ::testing::Not(HasSubstr("nodeup " + b_name)));
    if (absl::StrContains(*line, "does not name " + dist::CertificateName(b_name))) break;
  }
  EXPECT_TRUE(Alive(a));

  // Control: a node that does not bind names lets the same impostor in.
  const std::string open_name = "o@" + FreeAddress();
  NodeProcess open = StartChild({.name = open_name, .extra_args = pki.NodeFlags(open_name, false)});
  const std::string b2_name = "b@" + FreeAddress();
  NodeProcess impostor2 = StartChild(
      {.name = b2_name, .connect = {open_name}, .extra_args = pki.NodeFlags(m_name, false)});
  EXPECT_THAT(impostor2.WaitForLine("nodeup " + open_name, kReplyTimeout), IsOk());
}

Task<absl::Status> DialsAnImpostor(Self self, dist::NodeOptions options, std::string peer) {
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, options));
  absl::Status connected = co_await dist::Connect(self, peer);
  EXPECT_THAT(connected, StatusIs(absl::StatusCode::kPermissionDenied,
                                  "does not name " + dist::CertificateName(peer)));
  EXPECT_TRUE(dist::Nodes(self).empty());
  co_return absl::OkStatus();
}

// The dialling side checks too: a listener whose certificate names another node is refused.
TEST(DistCertificateTest, TheDiallerRefusesAListenerCertifiedForAnotherName) {
  Pki pki;
  const std::string a_name = "a@" + FreeAddress();
  NodeProcess a = StartChild(
      {.name = a_name, .extra_args = pki.NodeFlags("m@" + FreeAddress(), /*bind_names=*/false)});
  const std::string t_name = "t@" + FreeAddress();
  EXPECT_THAT(RunAsNode(DialsAnImpostor, pki.TestNode(t_name, t_name), a_name), IsOk());
  EXPECT_TRUE(Alive(a));
}

Task<absl::Status> StartWith(Self self, dist::NodeOptions options) {
  co_return dist::Start(self, options);
}

// A node that binds names must itself hold a certificate for its name, with CA verification.
TEST(DistCertificateTest, StartRefusesANodeWhoseOwnCertificateDoesNotNameIt) {
  Pki pki;
  const std::string name = "t@" + FreeAddress();
  EXPECT_THAT(RunAsNode(StartWith, pki.TestNode(name, "m@127.0.0.1:1")),
              StatusIs(absl::StatusCode::kInvalidArgument, "does not name snow://" + name));
  dist::NodeOptions pinned = pki.TestNode(name, name);
  pinned.verify = net::TlsVerify::kNone;
  EXPECT_THAT(RunAsNode(StartWith, pinned),
              StatusIs(absl::StatusCode::kInvalidArgument, "verify = kCa"));
}

}  // namespace
}  // namespace snow::dist_testing
