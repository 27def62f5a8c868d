#include "testing/memcached_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "gtest/gtest.h"

namespace cache_alchemy {
namespace testing {
namespace {

// Sends `request` to 127.0.0.1:`port` and returns the first reply bytes, or
// "" when nothing listens there.
std::string Ask(int port, const std::string& request) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string reply;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      write(fd, request.data(), request.size()) ==
          static_cast<ssize_t>(request.size())) {
    char buf[256];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n > 0) reply.assign(buf, n);
  }
  close(fd);
  return reply;
}

TEST(MemcachedServerTest, ServesOnLoopbackUntilStopped) {
  auto server = MemcachedServer::Start();
  ASSERT_TRUE(server->running());
  EXPECT_EQ(server->address(), "127.0.0.1:" + std::to_string(server->port()));
  EXPECT_EQ(Ask(server->port(), "version\r\n").rfind("VERSION ", 0), 0u);
  server->Stop();
  EXPECT_FALSE(server->running());
  EXPECT_EQ(Ask(server->port(), "version\r\n"), "");
  server->Stop();  // idempotent
}

TEST(MemcachedServerTest, TwoServersGetDifferentPorts) {
  auto a = MemcachedServer::Start();
  auto b = MemcachedServer::Start();
  EXPECT_NE(a->port(), b->port());
}

}  // namespace
}  // namespace testing
}  // namespace cache_alchemy
