// HTTP GET with Boost.Beast and a parser of the Prometheus text format.

#include "tools/metrics_scrape.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <charconv>
#include <limits>
#include <optional>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace cache_alchemy {
namespace tools {
namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;

bool IsNameChar(char c, bool first) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':' ||
         (!first && std::isdigit(static_cast<unsigned char>(c)));
}

// Parses one sample line; nullopt when malformed.
std::optional<Sample> ParseSample(std::string_view line) {
  Sample s;
  size_t i = 0;
  while (i < line.size() && IsNameChar(line[i], i == 0)) ++i;
  if (i == 0) return std::nullopt;
  s.name = std::string(line.substr(0, i));
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (i < line.size() && line[i] != '}') {
      const size_t start = i;
      while (i < line.size() && IsNameChar(line[i], i == start) &&
             line[i] != ':') {
        ++i;
      }
      if (i == start || i + 1 >= line.size() || line[i] != '=' ||
          line[i + 1] != '"') {
        return std::nullopt;
      }
      const std::string label(line.substr(start, i - start));
      i += 2;
      std::string value;
      while (i < line.size() && line[i] != '"') {
        if (line[i] == '\\' && i + 1 < line.size()) {
          ++i;
          value.push_back(line[i] == 'n' ? '\n' : line[i]);
        } else {
          value.push_back(line[i]);
        }
        ++i;
      }
      if (i >= line.size()) return std::nullopt;  // unterminated
      ++i;                                        // the closing quote
      s.labels[label] = std::move(value);
      if (i < line.size() && line[i] == ',') ++i;
    }
    if (i >= line.size()) return std::nullopt;
    ++i;  // '}'
  }
  if (i >= line.size() || line[i] != ' ') return std::nullopt;
  std::string_view rest = line.substr(i + 1);
  rest = rest.substr(0, rest.find(' '));  // an optional timestamp follows
  if (rest == "+Inf") {
    s.value = std::numeric_limits<double>::infinity();
  } else if (rest == "-Inf") {
    s.value = -std::numeric_limits<double>::infinity();
  } else if (rest == "NaN") {
    s.value = std::numeric_limits<double>::quiet_NaN();
  } else if (!absl::SimpleAtod(absl::string_view(rest.data(), rest.size()),
                               &s.value)) {
    return std::nullopt;
  }
  return s;
}

struct Url {
  std::string host, port, target;
};

absl::StatusOr<Url> ParseHttpUrl(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return absl::InvalidArgumentError(absl::StrCat(
        "URL '", std::string(url), "': only http:// URLs are supported"));
  }
  std::string_view rest = url.substr(kScheme.size());
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  Url out;
  out.target =
      slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  out.port = "80";
  if (!authority.empty() && authority[0] == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("URL '", std::string(url), "': unclosed '['"));
    }
    out.host = std::string(authority.substr(1, close - 1));
    authority = authority.substr(close + 1);
    if (!authority.empty()) {
      if (authority[0] != ':') {
        return absl::InvalidArgumentError(
            absl::StrCat("URL '", std::string(url), "': bad port"));
      }
      out.port = std::string(authority.substr(1));
    }
  } else {
    const size_t colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      out.port = std::string(authority.substr(colon + 1));
    }
  }
  int port = 0;
  if (out.host.empty() || !absl::SimpleAtoi(out.port, &port) || port <= 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "URL '", std::string(url), "': expected http://host[:port][/path]"));
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<Sample>> ParseExposition(std::string_view text) {
  std::vector<Sample> samples;
  size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view()
                                         : text.substr(end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;
    std::optional<Sample> sample = ParseSample(line);
    if (!sample.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "line ", line_number,
          " is not a Prometheus sample: ", std::string(line.substr(0, 200))));
    }
    samples.push_back(std::move(*sample));
  }
  return samples;
}

absl::StatusOr<std::string> HttpGet(const std::string& url,
                                    absl::Duration timeout) {
  absl::StatusOr<Url> parsed = ParseHttpUrl(url);
  if (!parsed.ok()) return parsed.status();
  net::io_context ioc;
  tcp::resolver resolver(ioc);
  beast::tcp_stream stream(ioc);
  beast::flat_buffer buffer;
  http::request<http::empty_body> request{http::verb::get, parsed->target, 11};
  request.set(http::field::host, parsed->host);
  request.set(http::field::user_agent, "cache_alchemy-cli");
  request.keep_alive(false);
  http::response<http::string_body> response;
  beast::error_code failure;
  std::string step = "resolve";
  auto fail = [&](beast::error_code ec, std::string what) {
    failure = ec;
    step = std::move(what);
  };
  resolver.async_resolve(
      parsed->host, parsed->port,
      [&](beast::error_code ec, tcp::resolver::results_type results) {
        if (ec) return fail(ec, "resolve");
        stream.async_connect(results, [&](beast::error_code ec,
                                          const tcp::endpoint&) {
          if (ec) return fail(ec, "connect");
          http::async_write(stream, request, [&](beast::error_code ec, size_t) {
            if (ec) return fail(ec, "send");
            http::async_read(stream, buffer, response,
                             [&](beast::error_code ec, size_t) {
                               if (ec) return fail(ec, "read");
                               step.clear();  // done
                             });
          });
        });
      });
  ioc.run_for(absl::ToChronoMilliseconds(timeout));
  if (!step.empty()) {
    return absl::UnavailableError(
        absl::StrCat("GET ", url, ": ", step, " failed: ",
                     failure ? failure.message()
                             : absl::StrCat("no answer within ",
                                            absl::FormatDuration(timeout))));
  }
  if (response.result() != http::status::ok) {
    return absl::FailedPreconditionError(
        absl::StrCat("GET ", url, ": HTTP ", response.result_int(), " ",
                     std::string(response.reason())));
  }
  return std::move(response.body());
}

}  // namespace tools
}  // namespace cache_alchemy
