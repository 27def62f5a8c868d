// The /metrics HTTP server: Boost.Beast on one io_context, one thread.

#include "core/metrics_exporter.h"

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/log.h"

namespace cache_alchemy {
namespace metrics {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;

namespace {

// A connection that sends nothing for this long is closed.
constexpr std::chrono::seconds kIdleTimeout{10};
constexpr char kContentType[] = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace

struct HttpExporter::Impl {
  HttpExporterOptions options;
  net::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  int port = 0;
  std::atomic<int64_t> served{0};
  std::thread thread;

  void Accept();
  http::response<http::string_body> Answer(
      const http::request<http::string_body>& request);
};

namespace {

// One client connection: read a request, answer it, repeat while the client
// keeps the connection alive.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpExporter::Impl* exporter)
      : stream_(std::move(socket)), exporter_(exporter) {}

  void Read() {
    request_ = {};
    stream_.expires_after(kIdleTimeout);
    http::async_read(
        stream_, buffer_, request_,
        [self = shared_from_this()](beast::error_code ec, size_t /*bytes*/) {
          self->OnRead(ec);
        });
  }

 private:
  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream) return Close();
    if (ec) return;  // timeout, reset, malformed request: drop it
    response_ = exporter_->Answer(request_);
    exporter_->served.fetch_add(1, std::memory_order_relaxed);
    http::async_write(
        stream_, response_,
        [self = shared_from_this()](beast::error_code ec, size_t /*bytes*/) {
          self->OnWrite(ec);
        });
  }

  void OnWrite(beast::error_code ec) {
    if (ec) return;
    if (!response_.keep_alive()) return Close();
    Read();
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
  HttpExporter::Impl* const exporter_;
};

}  // namespace

void HttpExporter::Impl::Accept() {
  acceptor.async_accept(ioc, [this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted) return;  // stopping
    if (ec) {
      internal::Log(LogLevel::kWarning,
                    absl::StrCat("metrics exporter on port ", port,
                                 ": accept failed: ", ec.message()));
    } else {
      std::make_shared<Session>(std::move(socket), this)->Read();
    }
    Accept();
  });
}

http::response<http::string_body> HttpExporter::Impl::Answer(
    const http::request<http::string_body>& request) {
  http::response<http::string_body> response;
  response.version(request.version());
  response.keep_alive(request.keep_alive());
  response.set(http::field::server, "cache_alchemy");
  std::string_view target(request.target().data(), request.target().size());
  target = target.substr(0, target.find('?'));
  const bool head = request.method() == http::verb::head;
  if (request.method() != http::verb::get && !head) {
    response.result(http::status::method_not_allowed);
    response.set(http::field::allow, "GET, HEAD");
    response.set(http::field::content_type, "text/plain; charset=utf-8");
    response.body() = "only GET and HEAD are served\n";
  } else if (target == options.path) {
    response.result(http::status::ok);
    response.set(http::field::content_type, kContentType);
    try {
      response.body() = PrometheusText(options.collect);
    } catch (const std::exception& e) {
      response.result(http::status::internal_server_error);
      response.set(http::field::content_type, "text/plain; charset=utf-8");
      response.body() =
          absl::StrCat("collecting the metrics failed: ", e.what(), "\n");
    }
  } else if (target == "/") {
    response.result(http::status::ok);
    response.set(http::field::content_type, "text/plain; charset=utf-8");
    response.body() =
        absl::StrCat("cache_alchemy: the metrics are at ", options.path, "\n");
  } else {
    response.result(http::status::not_found);
    response.set(http::field::content_type, "text/plain; charset=utf-8");
    response.body() =
        absl::StrCat("not found; the metrics are at ", options.path, "\n");
  }
  response.prepare_payload();
  if (head) response.body().clear();  // Content-Length stays that of GET
  return response;
}

HttpExporter::HttpExporter(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}

HttpExporter::~HttpExporter() {
  net::post(impl_->ioc, [impl = impl_.get()] {
    beast::error_code ignored;
    impl->acceptor.close(ignored);
    impl->ioc.stop();
  });
  impl_->thread.join();
  // Destroying the io_context (with impl_) destroys the sessions still
  // waiting for a handler, which closes their sockets.
}

int HttpExporter::port() const { return impl_->port; }

const std::string& HttpExporter::address() const {
  return impl_->options.address;
}

std::string HttpExporter::url() const {
  const std::string& a = impl_->options.address;
  const bool v6 = a.find(':') != std::string::npos;
  return absl::StrCat("http://", v6 ? "[" : "", a, v6 ? "]" : "", ":",
                      impl_->port, impl_->options.path);
}

int64_t HttpExporter::requests_served() const {
  return impl_->served.load(std::memory_order_relaxed);
}

std::unique_ptr<HttpExporter> StartHttpExporter(
    int port, const HttpExporterOptions& options) {
  if (port < 0 || port > 65535) {
    throw std::invalid_argument(
        absl::StrCat("metrics exporter: port ", port, " is not in [0, 65535]"));
  }
  if (options.path.empty() || options.path[0] != '/') {
    throw std::invalid_argument(absl::StrCat(
        "metrics exporter: path '", options.path, "' must start with '/'"));
  }
  beast::error_code ec;
  const net::ip::address address = net::ip::make_address(options.address, ec);
  if (ec) {
    throw std::invalid_argument(absl::StrCat(
        "metrics exporter: address '", options.address,
        "' is not an IPv4 or IPv6 literal (e.g. 127.0.0.1, 0.0.0.0, ::1)"));
  }
  auto impl = std::make_unique<HttpExporter::Impl>();
  impl->options = options;
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
  const char* step = "open";
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) {
    step = "set SO_REUSEADDR";
    impl->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  }
  if (!ec) {
    step = "bind";
    impl->acceptor.bind(endpoint, ec);
  }
  if (!ec) {
    step = "listen";
    impl->acceptor.listen(net::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    throw std::runtime_error(absl::StrCat("metrics exporter: cannot listen on ",
                                          options.address, " port ", port, " (",
                                          step, "): ", ec.message()));
  }
  impl->port = impl->acceptor.local_endpoint().port();
  impl->Accept();
  HttpExporter::Impl* raw = impl.get();
  raw->thread = std::thread([raw] { raw->ioc.run(); });
  return std::make_unique<HttpExporter>(std::move(impl));
}

}  // namespace metrics
}  // namespace cache_alchemy
