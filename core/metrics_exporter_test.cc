// ca::metrics::StartHttpExporter (core/metrics_exporter.h), requested over
// real loopback TCP connections by a Boost.Beast HTTP client. (The operator
// CLI's `stats --from` reads it from another process: //tools:cli_test.)

#include "core/metrics_exporter.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <memory>
#include <stdexcept>
#include <string>

#include "cache_alchemy/cache_alchemy.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ca = cache_alchemy;

namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;
using ::testing::HasSubstr;

constexpr char kMemory[] = "cache_alchemy.backends.memory.MemoryCache";

struct Reply {
  int status = 0;
  std::string content_type, allow, body;
  std::string content_length;
};

// An HTTP/1.1 client on one keep-alive connection.
class Client {
 public:
  explicit Client(int port) : socket_(ioc_) {
    socket_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"),
                                  static_cast<unsigned short>(port)));
  }

  Reply Send(http::verb verb, const std::string& target) {
    http::request<http::string_body> request{verb, target, 11};
    request.set(http::field::host, "127.0.0.1");
    request.keep_alive(true);
    request.prepare_payload();
    http::write(socket_, request);
    http::response_parser<http::string_body> parser;
    parser.skip(verb == http::verb::head);  // no body follows a HEAD reply
    http::read(socket_, buffer_, parser);
    const auto& response = parser.get();
    Reply reply;
    reply.status = response.result_int();
    reply.content_type = std::string(response[http::field::content_type]);
    reply.allow = std::string(response[http::field::allow]);
    reply.content_length = std::string(response[http::field::content_length]);
    reply.body = response.body();
    return reply;
  }

  tcp::socket& socket() { return socket_; }

 private:
  net::io_context ioc_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

TEST(MetricsExporterTest, ServesPrometheusTextOnAKeepAliveConnection) {
  auto f = ca::cache({.backend = kMemory, .name = "exporter.f"},
                     [](int x) { return x + 1; });
  f(1);
  f(1);
  auto exporter = ca::metrics::StartHttpExporter(0);
  ASSERT_GT(exporter->port(), 0);
  EXPECT_EQ(exporter->url(), "http://127.0.0.1:" +
                                 std::to_string(exporter->port()) + "/metrics");
  Client client(exporter->port());
  Reply first = client.Send(http::verb::get, "/metrics");
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_THAT(first.body, HasSubstr("cache_alchemy_gets_total{function="
                                    "\"exporter.f\",backend=\"cache_alchemy."
                                    "backends.memory.MemoryCache\",prefix=\"\","
                                    "result=\"hit\"} 1\n"));
  f(1);  // the next scrape sees it: nothing is cached by the exporter
  Reply second = client.Send(http::verb::get, "/metrics?debug=1");
  EXPECT_EQ(second.status, 200);
  EXPECT_THAT(second.body, HasSubstr("result=\"hit\"} 2\n"));
  EXPECT_EQ(exporter->requests_served(), 2);
}

TEST(MetricsExporterTest, HeadNotFoundAndOtherMethods) {
  auto exporter = ca::metrics::StartHttpExporter(0);
  Client client(exporter->port());
  Reply head = client.Send(http::verb::head, "/metrics");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  EXPECT_GT(std::stoi(head.content_length), 0);
  Reply missing = client.Send(http::verb::get, "/other");
  EXPECT_EQ(missing.status, 404);
  EXPECT_THAT(missing.body, HasSubstr("/metrics"));
  Reply post = client.Send(http::verb::post, "/metrics");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.allow, "GET, HEAD");
  Reply root = client.Send(http::verb::get, "/");
  EXPECT_EQ(root.status, 200);
}

TEST(MetricsExporterTest, CustomPathAndAddress) {
  auto exporter = ca::metrics::StartHttpExporter(
      0, {.address = "127.0.0.1", .path = "/cache-metrics"});
  Client client(exporter->port());
  EXPECT_EQ(client.Send(http::verb::get, "/cache-metrics").status, 200);
  EXPECT_EQ(client.Send(http::verb::get, "/metrics").status, 404);
}

TEST(MetricsExporterTest, AnIdleClientDoesNotBlockOthers) {
  auto exporter = ca::metrics::StartHttpExporter(0);
  Client idle(exporter->port());  // connects, sends nothing
  Client busy(exporter->port());
  EXPECT_EQ(busy.Send(http::verb::get, "/metrics").status, 200);
}

TEST(MetricsExporterTest, StopsWhenTheHandleDies) {
  auto exporter = ca::metrics::StartHttpExporter(0);
  const int port = exporter->port();
  Client open_connection(port);  // closed by the exporter when it stops
  exporter.reset();
  net::io_context ioc;
  tcp::socket socket(ioc);
  beast::error_code ec;
  socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"),
                               static_cast<unsigned short>(port)),
                 ec);
  EXPECT_EQ(ec, net::error::connection_refused) << ec.message();
  char byte;
  open_connection.socket().read_some(net::buffer(&byte, 1), ec);
  EXPECT_TRUE(ec == net::error::eof || ec == net::error::connection_reset)
      << ec.message();
}

TEST(MetricsExporterTest, ATakenPortIsAnErrorNamingIt) {
  auto first = ca::metrics::StartHttpExporter(0);
  try {
    ca::metrics::StartHttpExporter(first->port());
    FAIL() << "expected std::runtime_error";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr(std::to_string(first->port())));
    EXPECT_THAT(e.what(), HasSubstr("in use"));
  }
}

TEST(MetricsExporterTest, BadArgumentsAreRefused) {
  EXPECT_THROW(ca::metrics::StartHttpExporter(-1), std::invalid_argument);
  EXPECT_THROW(ca::metrics::StartHttpExporter(70000), std::invalid_argument);
  EXPECT_THROW(ca::metrics::StartHttpExporter(0, {.address = "localhost"}),
               std::invalid_argument);
  EXPECT_THROW(ca::metrics::StartHttpExporter(0, {.path = "metrics"}),
               std::invalid_argument);
}

}  // namespace
