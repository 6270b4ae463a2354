// File: net/http_router.h
//
// HttpRouter: picks the handler for a request by its method and path. A pattern is a path
// whose segments are literal, ":name" (one segment, any text) or, last, "*name" (the rest of
// the path, possibly empty); what they match is in request.params, percent-decoded.
//
//   net::HttpRouter router;
//   router.Get("/", Home)
//       .Get("/rooms/:id", ShowRoom)          // request.Param("id")
//       .Post("/rooms/:id/messages", Post)
//       .Get("/static/*path", files);         // net/http_files.h
//   net::HttpServer::Start(self, address, {}, router.handler());
//
// The first route added that matches the path and the method wins. A path that some route
// matches with another method gets 405 with an Allow header; no match at all, 404. HEAD is
// answered by a GET route when there is no HEAD route (the server drops the body). A ":name"
// segment whose decoded text holds '/' or is "." or ".." does not match (so a parameter never
// names another path). The router is copied into the handler: add every route first.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "snow/net/http.h"
#include "snow/net/http_server.h"

namespace snow::net {

class HttpRouter {
 public:
  HttpRouter& Route(std::string method, std::string_view pattern, HttpHandler handler);
  HttpRouter& Get(std::string_view pattern, HttpHandler h) { return Route("GET", pattern, h); }
  HttpRouter& Post(std::string_view pattern, HttpHandler h) { return Route("POST", pattern, h); }
  HttpRouter& Put(std::string_view pattern, HttpHandler h) { return Route("PUT", pattern, h); }
  HttpRouter& Delete(std::string_view pattern, HttpHandler h) {
    return Route("DELETE", pattern, h);
  }
  HttpRouter& Patch(std::string_view pattern, HttpHandler h) { return Route("PATCH", pattern, h); }

  // The handler for HttpServer: dispatches on the routes added so far.
  HttpHandler handler() const;

  struct Entry {
    std::string method;
    std::vector<std::string> segments;  // literal, ":name" or "*name"
    HttpHandler handler;
  };

 private:
  std::vector<Entry> routes_;
};

// `text` with %XX decoded; nullopt if a '%' is not followed by two hex digits.
std::optional<std::string> PercentDecode(std::string_view text);

}  // namespace snow::net
