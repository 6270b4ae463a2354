// File: net/http_files.h
//
// ServeFiles: a handler (for HttpServer or an HttpRouter route) that answers with the files
// under one folder, and never with anything outside it.
//
//   SNOW_ASSIGN_OR_RETURN(net::HttpHandler files, net::ServeFiles("/srv/www"));
//   router.Get("/static/*path", files);   // GET /static/css/site.css -> /srv/www/css/site.css
//
// The file is the route's last parameter (percent-decoded), or the whole request path when the
// handler serves without a router. A folder is answered with its index file. Each answer has
// Content-Type (from the extension), ETag and Last-Modified, and a request whose If-None-Match
// names the ETag (or whose If-Modified-Since is the Last-Modified date) gets 304 without a
// body. The file is opened beneath the folder by the kernel (openat2 with RESOLVE_BENEATH): a
// path that would leave it, through "..", an encoded "%2e%2e", an absolute path or a symbolic
// link pointing out, gets 403; a link that stays inside is followed. Missing: 404. A file up to
// stream_above_bytes is read whole and sent in one write; a larger one is streamed, 256 KiB at a
// time, under its Content-Length, so its size costs no memory. HEAD reads nothing. Files are
// read through the shard's io_uring, so a slow disk does not stall the shard's other actors.
#pragma once

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "snow/net/http_server.h"

namespace snow::net {

struct FileServerOptions {
  std::string index = "index.html";
  size_t stream_above_bytes = 256 * 1024;
};

// kNotFound (or the errno's status) if `folder` is not a folder that can be opened.
absl::StatusOr<HttpHandler> ServeFiles(std::string folder, FileServerOptions options = {});

// The Content-Type for a file name, by its extension ("application/octet-stream" if unknown).
std::string_view ContentTypeOf(std::string_view file_name);

}  // namespace snow::net
