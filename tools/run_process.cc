// Runs a program with pipes (and optionally a pseudo-terminal) for tests.

#include "tools/run_process.h"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <stdexcept>

#include "absl/strings/str_cat.h"

extern char** environ;

namespace cache_alchemy {
namespace tools {

ProcessResult RunProcess(const std::string& program,
                         const std::vector<std::string>& args,
                         const ProcessOptions& options) {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    env[entry.substr(0, entry.find('='))] = entry;
  }
  for (const std::string& change : options.env) {
    const size_t eq = change.find('=');
    if (eq == std::string::npos) {
      env.erase(change);
    } else {
      env[change.substr(0, eq)] = change;
    }
  }
  std::vector<std::string> env_strings;
  for (auto& [name, entry] : env) env_strings.push_back(entry);
  std::vector<char*> envp, argv;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string argv0 = program;
  std::vector<std::string> arg_copies = args;
  argv.push_back(argv0.data());
  for (auto& a : arg_copies) argv.push_back(a.data());
  argv.push_back(nullptr);

  int in_pipe[2], out_pipe[2], err_pipe[2];
  int child_in = -1, parent_in = -1;
  if (options.stdin_is_terminal) {
    int master = -1, slave = -1;
    if (openpty(&master, &slave, nullptr, nullptr, nullptr) != 0) {
      throw std::runtime_error(absl::StrCat("openpty: ", strerror(errno)));
    }
    parent_in = master, child_in = slave;
  } else {
    if (pipe2(in_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    parent_in = in_pipe[1], child_in = in_pipe[0];
  }
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe");
  }
  const pid_t pid = fork();
  if (pid < 0)
    throw std::runtime_error(absl::StrCat("fork: ", strerror(errno)));
  if (pid == 0) {
    if (options.stdin_is_terminal) {
      setsid();
      ioctl(child_in, TIOCSCTTY, 0);
    }
    dup2(child_in, 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    execve(program.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  close(child_in);
  close(out_pipe[1]);
  close(err_pipe[1]);
  // The input is small: write it whole, then close (a terminal gets EOF
  // only from its line discipline, so the text should end with a newline).
  size_t written = 0;
  while (written < options.stdin_text.size()) {
    const ssize_t n = write(parent_in, options.stdin_text.data() + written,
                            options.stdin_text.size() - written);
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  if (!options.stdin_is_terminal) close(parent_in);

  ProcessResult result;
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(options.timeout_ms);
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  bool timed_out = false;
  while (open_fds > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    if (poll(fds, 2, static_cast<int>(left.count())) < 0 && errno != EINTR) {
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      const ssize_t n = read(fds[i].fd, buf, sizeof(buf));
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  if (timed_out) kill(pid, SIGKILL);
  for (auto& fd : fds) {
    if (fd.fd >= 0) close(fd.fd);
  }
  if (options.stdin_is_terminal) close(parent_in);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = !timed_out && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace tools
}  // namespace cache_alchemy
