#include "snow/net/http_files.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "snow/core/io.h"
#include "snow/core/status.h"
#include "snow/net/http_router.h"

namespace snow::net {
namespace {

struct Folder {
  int fd = -1;
  FileServerOptions options;
  ~Folder() {
    if (fd >= 0) ::close(fd);
  }
};

// An open file that closes itself.
struct OpenFile {
  int fd = -1;
  ~OpenFile() {
    if (fd >= 0) ::close(fd);
  }
};

// openat2 beneath `dir`: -errno on failure (EXDEV: the path would leave the folder).
int OpenBeneath(int dir, const std::string& path, int flags) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  const long fd = ::syscall(SYS_openat2, dir, path.c_str(), &how, sizeof how);
  return fd < 0 ? -errno : static_cast<int>(fd);
}

std::string HttpDate(std::time_t t) {
  std::tm utc;
  gmtime_r(&t, &utc);
  char text[64];
  const size_t n = std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &utc);
  return std::string(text, n);
}

HttpResponse Refusal(int status, absl::string_view why) {
  return HttpResponse::Text(status, absl::StrCat(why, "\n"));
}

// The file's path relative to the folder: the route's last parameter, else the request path;
// "." for the folder itself.
absl::StatusOr<std::string> RelativePath(const HttpRequest& request) {
  std::string path;
  if (!request.params.empty()) {
    path = request.params.back().value;
  } else {
    std::optional<std::string> decoded = PercentDecode(request.path);
    if (!decoded) return absl::InvalidArgumentError("bad percent-encoding in the path");
    path = std::move(*decoded);
  }
  if (path.find('\0') != std::string::npos) return absl::InvalidArgumentError("a NUL in the path");
  const size_t first = path.find_first_not_of('/');
  if (first == std::string::npos) return std::string(".");
  return path.substr(first);
}

// Reads `into.size()` bytes at `offset` through the shard's io_uring (fewer at the end of the
// file): how many.
Task<absl::StatusOr<size_t>> ReadAt(int fd, uint64_t offset, std::span<char> into) {
  size_t done = 0;
  while (done < into.size()) {
    const uint32_t chunk =
        static_cast<uint32_t>(std::min<size_t>(into.size() - done, size_t{1} << 20));
    const int n = co_await Io({.op = IoOp::kRead,
                               .fd = fd,
                               .buffer = into.data() + done,
                               .length = chunk,
                               .offset = static_cast<int64_t>(offset + done)});
    if (n < 0) co_return ErrnoToStatus(-n, "read");
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  co_return done;
}

// A large file's body: `size` bytes, 256 KiB at a time. A file that shrank meanwhile fails
// (the declared length cannot be met; the server closes the connection).
Task<absl::Status> SendFile(std::shared_ptr<OpenFile> file, uint64_t size, HttpBodyWriter& body) {
  std::vector<char> piece(256 * 1024);
  for (uint64_t offset = 0; offset < size;) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(piece.size(), size - offset));
    absl::StatusOr<size_t> read = co_await ReadAt(file->fd, offset, std::span(piece.data(), want));
    if (!read.ok()) co_return read.status();
    if (*read == 0) co_return absl::DataLossError("the file shrank while it was sent");
    absl::Status written = co_await body.Write(std::string_view(piece.data(), *read));
    if (!written.ok()) co_return written;
    offset += *read;
  }
  co_return absl::OkStatus();
}

Task<HttpResponse> Serve(Self, std::shared_ptr<const Folder> folder, HttpRequest request) {
  if (request.method != "GET" && request.method != "HEAD") {
    co_return Refusal(405, "files are read with GET or HEAD").With("Allow", "GET, HEAD");
  }
  absl::StatusOr<std::string> relative = RelativePath(request);
  if (!relative.ok()) co_return Refusal(400, relative.status().message());
  const std::string path = std::move(*relative);
  OpenFile file{OpenBeneath(folder->fd, path, O_RDONLY)};
  if (file.fd == -EXDEV || file.fd == -ELOOP) co_return Refusal(403, "outside the folder");
  if (file.fd < 0) co_return Refusal(404, "no such file");
  struct stat st;
  if (::fstat(file.fd, &st) != 0) co_return Refusal(404, "no such file");
  std::string name = path;
  if (S_ISDIR(st.st_mode)) {
    OpenFile index{OpenBeneath(file.fd, folder->options.index, O_RDONLY)};
    if (index.fd < 0 || ::fstat(index.fd, &st) != 0) co_return Refusal(404, "no index here");
    std::swap(file.fd, index.fd);
    name = folder->options.index;
  }
  if (!S_ISREG(st.st_mode)) co_return Refusal(404, "not a file");
  const size_t size = static_cast<size_t>(st.st_size);

  const std::string etag = absl::StrFormat("\"%x-%x-%x\"", st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
                                           static_cast<uint64_t>(size));
  const std::string modified = HttpDate(st.st_mtim.tv_sec);
  HttpResponse response;
  response.headers = {{"ETag", etag}, {"Last-Modified", modified}};
  std::optional<std::string_view> none_match = request.Header("If-None-Match");
  std::optional<std::string_view> since = request.Header("If-Modified-Since");
  const bool unchanged =
      none_match ? (*none_match == etag || *none_match == "*") : (since && *since == modified);
  if (unchanged) {
    response.status = 304;
    co_return response;
  }
  response.headers.push_back({"Content-Type", std::string(ContentTypeOf(name))});
  if (request.method == "HEAD" || size > folder->options.stream_above_bytes) {
    // Sent as it is read, a piece at a time: a large file costs one piece of memory. (A HEAD is
    // answered with the same head and the producer never runs: nothing is read.)
    response.headers.push_back({"Content-Length", absl::StrCat(size)});
    auto open = std::make_shared<OpenFile>();
    std::swap(open->fd, file.fd);
    response.streamed_body = [open, size](Self, HttpBodyWriter& body) {
      return SendFile(open, size, body);
    };
    co_return response;
  }
  response.body.resize(size);
  absl::StatusOr<size_t> read = co_await ReadAt(file.fd, 0, response.body);
  if (!read.ok()) co_return Refusal(500, "the file could not be read");
  response.body.resize(*read);  // it may have shrunk meanwhile
  co_return response;
}

}  // namespace

std::string_view ContentTypeOf(std::string_view file_name) {
  const size_t dot = file_name.rfind('.');
  if (dot == std::string_view::npos) return "application/octet-stream";
  const std::string ext = absl::AsciiStrToLower(AbslView(file_name.substr(dot + 1)));
  static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
      {"html", "text/html; charset=utf-8"},
      {"htm", "text/html; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},
      {"js", "text/javascript; charset=utf-8"},
      {"mjs", "text/javascript; charset=utf-8"},
      {"json", "application/json"},
      {"txt", "text/plain; charset=utf-8"},
      {"md", "text/markdown; charset=utf-8"},
      {"svg", "image/svg+xml"},
      {"png", "image/png"},
      {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},
      {"gif", "image/gif"},
      {"webp", "image/webp"},
      {"ico", "image/x-icon"},
      {"wasm", "application/wasm"},
      {"woff2", "font/woff2"},
      {"pdf", "application/pdf"},
      {"mp4", "video/mp4"},
      {"xml", "application/xml"},
  };
  for (const auto& [e, type] : kTypes) {
    if (e == ext) return type;
  }
  return "application/octet-stream";
}

absl::StatusOr<HttpHandler> ServeFiles(std::string folder, FileServerOptions options) {
  auto root = std::make_shared<Folder>();
  root->fd = ::open(folder.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root->fd < 0) return ErrnoToStatus(errno, absl::StrCat("open folder ", folder));
  root->options = std::move(options);
  std::shared_ptr<const Folder> shared = std::move(root);
  // Not a coroutine: the lambda hands the folder to Serve, whose frame keeps its own copy.
  return HttpHandler(
      [shared](Self self, HttpRequest request) { return Serve(self, shared, std::move(request)); });
}

}  // namespace snow::net
