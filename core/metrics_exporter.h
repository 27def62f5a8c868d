// File: core/metrics_exporter.h
// -----------------------------------------------------------------------------
//
// An optional HTTP server that serves this process's cache metrics
// (core/metrics.h) in the Prometheus text format, for a Prometheus server (or
// any scraper) to pull. Off unless started; stops when its handle dies:
//
//   namespace ca = cache_alchemy;
//   // In main(), once: http://127.0.0.1:9464/metrics
//   std::unique_ptr<ca::metrics::HttpExporter> exporter =
//       ca::metrics::StartHttpExporter(9464);
//
//   // Reachable from other hosts, with entry counts of Redis backends too:
//   auto exporter = ca::metrics::StartHttpExporter(
//       9464, {.address = "0.0.0.0",
//              .collect = {.entries = ca::metrics::Entries::kAll}});
//
// One background thread serves every connection (HTTP/1.1, keep-alive):
//   GET or HEAD <path>  200, the text of ca::metrics::PrometheusText(),
//                       Content-Type: text/plain; version=0.0.4; charset=utf-8
//   GET /               200, a line pointing at <path>
//   other paths         404;  other methods  405 (Allow: GET, HEAD)
// A connection idle for 10 s is closed. The server has no authentication and
// no TLS: it binds the loopback address unless told otherwise; put it behind
// your own proxy, or a firewall, before binding a public address.
// Built with Boost.Beast (Debian's Boost headers).

#ifndef CACHE_ALCHEMY_CORE_METRICS_EXPORTER_H_
#define CACHE_ALCHEMY_CORE_METRICS_EXPORTER_H_

#include <memory>
#include <string>

#include "core/metrics.h"

namespace cache_alchemy {
namespace metrics {

struct HttpExporterOptions {
  // The address to listen on: an IPv4 or IPv6 literal. "0.0.0.0" or "::"
  // listens on every interface.
  std::string address = "127.0.0.1";
  // The path that serves the metrics; must start with '/'. A query string in
  // a request is ignored.
  std::string path = "/metrics";
  // What each scrape collects (entries of shared backends cost I/O).
  CollectOptions collect;
};

// A running exporter. Destroying it stops it: it stops listening, closes
// every connection and joins its thread (a scrape being answered finishes
// first).
// Thread safety: the accessors may be called from any thread.
class HttpExporter {
 public:
  // INTERNAL: the server's state; exporters are made by StartHttpExporter.
  struct Impl;
  explicit HttpExporter(std::unique_ptr<Impl> impl);
  // Stops the server (see above). Must not run on the exporter's own thread
  // (it joins it); never throws.
  ~HttpExporter();
  HttpExporter(const HttpExporter&) = delete;
  HttpExporter& operator=(const HttpExporter&) = delete;

  // The port it listens on (the one chosen by the system when started with
  // port 0).
  int port() const;
  // The address it listens on, as given in the options.
  const std::string& address() const;
  // "http://<address>:<port><path>" (IPv6 addresses in brackets).
  std::string url() const;
  // Requests answered so far (any status).
  int64_t requests_served() const;

 private:
  std::unique_ptr<Impl> impl_;
};

// Starts serving the metrics on `port` (0: any free port; see port()).
// Returns once the socket listens, so a scrape may follow at once.
// Throws std::invalid_argument for a port outside [0, 65535], an address
// that is not an IP literal or a path that does not start with '/';
// std::runtime_error naming the address, port and the system's reason when
// it cannot listen (the port is taken, say).
// Thread safety: may be called from any thread; several exporters (on
// different ports) may run at once.
std::unique_ptr<HttpExporter> StartHttpExporter(
    int port, const HttpExporterOptions& options = {});

}  // namespace metrics
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CORE_METRICS_EXPORTER_H_
