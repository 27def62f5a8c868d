// Starts and stops a private memcached on a free loopback port.

#include "testing/memcached_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"

namespace cache_alchemy {
namespace testing {
namespace {

sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

// A port the kernel just handed out on 127.0.0.1 (free at that moment).
int PickFreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr = Loopback(0);
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    throw std::runtime_error(
        absl::StrCat("cannot bind 127.0.0.1:0: ", std::strerror(errno)));
  }
  close(fd);
  return ntohs(addr.sin_port);
}

bool Accepts(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr = Loopback(port);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

}  // namespace

std::unique_ptr<MemcachedServer> MemcachedServer::Start(
    const std::string& binary) {
  if (access(binary.c_str(), X_OK) != 0) {
    throw std::runtime_error(
        absl::StrCat(binary,
                     " is not an executable (install Debian's memcached: run "
                     "./setup.sh)"));
  }
  std::string last_error;
  for (int attempt = 0; attempt < 5; ++attempt) {
    const int port = PickFreePort();
    const std::string port_arg = std::to_string(port);
    std::vector<const char*> argv = {
        binary.c_str(), "-l", "127.0.0.1", "-p", port_arg.c_str(), "-U", "0",
        "-m",           "64", "-t",        "2"};
    // memcached refuses to run as root unless told which user to be.
    if (geteuid() == 0) {
      argv.push_back("-u");
      argv.push_back("root");
    }
    argv.push_back(nullptr);
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork() failed");
    if (pid == 0) {
      // Die with the test process, even if it crashes.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(1);
      execv(binary.c_str(), const_cast<char* const*>(argv.data()));
      _exit(127);
    }
    std::unique_ptr<MemcachedServer> server(new MemcachedServer(pid, port));
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
      if (Accepts(port)) return server;
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        server->pid_ = 0;  // exited (port taken meanwhile?): try another
        last_error =
            absl::StrCat("exited with status ", status, " on port ", port);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (server->running()) last_error = "did not accept connections in 5 s";
  }
  throw std::runtime_error(
      absl::StrCat("cannot start ", binary, ": ", last_error));
}

MemcachedServer::~MemcachedServer() { Stop(); }

std::string MemcachedServer::address() const {
  return absl::StrCat("127.0.0.1:", port_);
}

void MemcachedServer::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = 0;
}

}  // namespace testing
}  // namespace cache_alchemy
