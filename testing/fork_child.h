// File: testing/fork_child.h
// -----------------------------------------------------------------------------
//
// A forked child process with a pipe each way carrying int64 messages, for
// tests of what one process sees of another's clears:
//
//   ca::testing::Child child([&](ca::testing::Child& parent) {
//     ...                       // in the child
//     parent.Send(1);
//     return parent.Receive() == 2 ? 0 : 1;  // the exit code
//   });
//   ASSERT_EQ(child.Receive(), 1);  // in the parent
//   child.Send(2);
//   EXPECT_EQ(child.Wait(), 0);

#ifndef CACHE_ALCHEMY_TESTING_FORK_CHILD_H_
#define CACHE_ALCHEMY_TESTING_FORK_CHILD_H_

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>

namespace cache_alchemy {
namespace testing {

class Child {
 public:
  // Runs `body(child)` in a new process; its return value is the exit code.
  explicit Child(const std::function<int(Child&)>& body) {
    int down[2], up[2];
    if (pipe(down) != 0 || pipe(up) != 0) std::abort();
    pid_ = fork();
    if (pid_ == 0) {
      close(down[1]);
      close(up[0]);
      in_ = down[0];
      out_ = up[1];
      const int code = body(*this);
      std::fflush(stderr);
      _exit(code);
    }
    close(down[0]);
    close(up[1]);
    in_ = up[0];
    out_ = down[1];
  }
  void Send(int64_t v) {
    if (write(out_, &v, sizeof(v)) != sizeof(v)) std::abort();
  }
  // Blocks up to `timeout_ms`; -1 on timeout or a closed pipe.
  int64_t Receive(int timeout_ms = 10000) {
    pollfd p = {in_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return -1;
    int64_t v = -1;
    if (read(in_, &v, sizeof(v)) != sizeof(v)) return -1;
    return v;
  }
  // The child's exit code (parent only).
  int Wait() {
    close(out_);
    int status = 0;
    waitpid(pid_, &status, 0);
    close(in_);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
  }

 private:
  pid_t pid_ = 0;
  int in_ = -1;
  int out_ = -1;
};

}  // namespace testing
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_TESTING_FORK_CHILD_H_
