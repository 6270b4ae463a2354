#include "snow/net/http_router.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace snow::net {
namespace {

using Routes = std::vector<HttpRouter::Entry>;

std::vector<std::string> Segments(std::string_view path) {
  std::vector<std::string> out;
  for (absl::string_view s : absl::StrSplit(absl::string_view(path.data(), path.size()), '/')) {
    if (!s.empty()) out.emplace_back(s);
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Whether `route` matches `path` (its raw segments); fills `params` if so.
bool Match(const HttpRouter::Entry& route, const std::vector<std::string>& path,
           std::vector<HttpHeader>& params) {
  params.clear();
  size_t i = 0;
  for (const std::string& segment : route.segments) {
    if (segment[0] == '*') {
      std::vector<std::string> rest(path.begin() + static_cast<ptrdiff_t>(std::min(i, path.size())),
                                    path.end());
      std::optional<std::string> decoded = PercentDecode(absl::StrJoin(rest, "/"));
      if (!decoded) return false;
      params.push_back({segment.substr(1), std::move(*decoded)});
      return true;
    }
    if (i >= path.size()) return false;
    if (segment[0] == ':') {
      std::optional<std::string> decoded = PercentDecode(path[i]);
      if (!decoded || decoded->find('/') != std::string::npos || *decoded == "." ||
          *decoded == "..") {
        return false;
      }
      params.push_back({segment.substr(1), std::move(*decoded)});
    } else if (segment != path[i]) {
      return false;
    }
    ++i;
  }
  return i == path.size();
}

Task<HttpResponse> Dispatch(Self self, std::shared_ptr<const Routes> routes, HttpRequest request) {
  const std::vector<std::string> path = Segments(request.path);
  std::vector<HttpHeader> params;
  std::vector<std::string> allowed;
  const HttpRouter::Entry* chosen = nullptr;
  const HttpRouter::Entry* get_for_head = nullptr;
  for (const HttpRouter::Entry& route : *routes) {
    if (!Match(route, path, params)) continue;
    if (route.method == request.method) {
      chosen = &route;
      break;
    }
    if (request.method == "HEAD" && route.method == "GET" && get_for_head == nullptr) {
      get_for_head = &route;
    }
    allowed.push_back(route.method);
  }
  if (chosen == nullptr) chosen = get_for_head;
  if (chosen == nullptr) {
    if (allowed.empty()) co_return HttpResponse::Text(404, "not found\n");
    co_return HttpResponse::Text(405, "method not allowed\n")
        .With("Allow", absl::StrJoin(allowed, ", "));
  }
  Match(*chosen, path, params);  // the params of the route chosen
  request.params = std::move(params);
  co_return co_await chosen->handler(self, std::move(request));
}

}  // namespace

std::optional<std::string> PercentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    const int high = i + 1 < text.size() ? HexValue(text[i + 1]) : -1;
    const int low = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
    if (high < 0 || low < 0) return std::nullopt;
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return out;
}

HttpRouter& HttpRouter::Route(std::string method, std::string_view pattern, HttpHandler handler) {
  routes_.push_back({std::move(method), Segments(pattern), std::move(handler)});
  return *this;
}

HttpHandler HttpRouter::handler() const {
  auto routes = std::make_shared<const Routes>(routes_);
  // Not a coroutine: the lambda only hands the table to Dispatch, whose frame owns a copy.
  return [routes](Self self, HttpRequest request) {
    return Dispatch(self, routes, std::move(request));
  };
}

}  // namespace snow::net
