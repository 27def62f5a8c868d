// The pub/sub side of the Redis clients: one connection, one background
// thread that reconnects (wherever the resolver says: the same server, a
// cluster node, the current Sentinel master), re-subscribes, and keeps the
// connection honest with PINGs.

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/log.h"
#include "core/redis/hiredis_client.h"

namespace cache_alchemy {
namespace redis {
namespace {

// Pause between reconnection attempts.
constexpr int kReconnectDelayMs = 100;
// A connection silent for this long gets a PING; no answer within the
// endpoint's timeout_ms counts as a lost connection.
constexpr int64_t kPingIdleMs = 1000;

int64_t SteadyNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class HiredisSubscription final : public RedisSubscription {
 public:
  HiredisSubscription(EndpointResolver resolve,
                      const std::vector<std::string>& channels,
                      RedisSubscriptionListener* listener)
      : resolve_(std::move(resolve)),
        listener_(listener),
        owner_pid_(getpid()) {
    if (pipe2(wake_, O_NONBLOCK | O_CLOEXEC) != 0) {
      throw std::runtime_error(
          "redis subscriber: cannot make the wake-up pipe");
    }
    channels_.insert(channels.begin(), channels.end());
    thread_ = new std::thread([this] { Run(); });
  }

  ~HiredisSubscription() override {
    if (getpid() != owner_pid_) {
      // A child after fork(): the thread does not exist here and its
      // connection belongs to the parent. Leave both alone.
      return;
    }
    stop_.store(true, std::memory_order_release);
    Wake();
    thread_->join();
    delete thread_;
    close(wake_[0]);
    close(wake_[1]);
  }

  void AddChannel(const std::string& channel) override {
    {
      absl::MutexLock lock(&mu_);
      if (!channels_.insert(channel).second) return;
      pending_.push_back(channel);
    }
    Wake();
  }

 private:
  void Wake() {
    const char byte = 1;
    ssize_t ignored = write(wake_[1], &byte, 1);
    (void)ignored;
  }

  void DrainWake() {
    char buf[64];
    while (read(wake_[0], buf, sizeof(buf)) > 0) {
    }
  }

  bool stopping() const { return stop_.load(std::memory_order_acquire); }

  void Run() {
    bool report_loss = true;
    // Attempts failed (or connections lost) since a server last confirmed
    // a subscription: tells a resolver to try another server.
    int failures = 0;
    while (!stopping()) {
      std::string error;
      redisContext* ctx = nullptr;
      RedisEndpoint endpoint;
      try {
        endpoint = resolve_(failures);
        ctx = OpenRedisContext(endpoint);
      } catch (const std::exception& e) {
        error = e.what();
      }
      if (ctx != nullptr) {
        error = Serve(ctx, endpoint, &report_loss);
        redisFree(ctx);
      }
      // A connection that had subscribed and was lost is the first
      // failure; an attempt that never got there one more.
      failures = report_loss ? 1 : failures + 1;
      if (stopping()) break;
      if (report_loss) {
        internal::Log(
            LogLevel::kWarning,
            absl::StrCat("pub/sub subscription lost: ", error,
                         "; reconnecting every ", kReconnectDelayMs, " ms"));
        lost_ = true;
        listener_->OnDisconnected(error);
        report_loss = false;
      }
      pollfd wake = {wake_[0], POLLIN, 0};
      poll(&wake, 1, kReconnectDelayMs);
      DrainWake();
    }
  }

  // Writes one command completely. False on a broken connection.
  static bool Send(redisContext* ctx, const std::vector<std::string>& cmd) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : cmd) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    if (redisAppendCommandArgv(ctx, static_cast<int>(argv.size()), argv.data(),
                               lens.data()) != REDIS_OK) {
      return false;
    }
    int done = 0;
    while (!done) {
      if (redisBufferWrite(ctx, &done) != REDIS_OK) return false;
    }
    return true;
  }

  static bool SendSubscribe(redisContext* ctx,
                            const std::vector<std::string>& channels) {
    if (channels.empty()) return true;
    std::vector<std::string> cmd = {"SUBSCRIBE"};
    cmd.insert(cmd.end(), channels.begin(), channels.end());
    return Send(ctx, cmd);
  }

  // Reads `ctx` until it fails or the subscription stops; returns why.
  std::string Serve(redisContext* ctx, const RedisEndpoint& endpoint,
                    bool* report_loss) {
    const std::string where =
        absl::StrCat("redis ", endpoint.Describe(), ": subscriber connection ");
    std::vector<std::string> channels;
    {
      absl::MutexLock lock(&mu_);
      pending_.clear();
      channels.assign(channels_.begin(), channels_.end());
    }
    if (!SendSubscribe(ctx, channels)) {
      return absl::StrCat(where, "SUBSCRIBE failed: ", ctx->errstr);
    }
    int64_t last_rx = SteadyNowMs();
    int64_t ping_sent = -1;
    while (!stopping()) {
      {
        std::vector<std::string> added;
        {
          absl::MutexLock lock(&mu_);
          added.swap(pending_);
        }
        if (!SendSubscribe(ctx, added)) {
          return absl::StrCat(where, "SUBSCRIBE failed: ", ctx->errstr);
        }
      }
      pollfd fds[2] = {{ctx->fd, POLLIN, 0}, {wake_[0], POLLIN, 0}};
      if (poll(fds, 2, 100) < 0 && errno != EINTR) {
        return absl::StrCat(where, "poll failed");
      }
      if (fds[1].revents != 0) DrainWake();
      if (fds[0].revents != 0) {
        if (redisBufferRead(ctx) != REDIS_OK) {
          return absl::StrCat(where, "lost: ", ctx->errstr);
        }
        last_rx = SteadyNowMs();
        ping_sent = -1;
        for (;;) {
          void* raw = nullptr;
          if (redisGetReplyFromReader(ctx, &raw) != REDIS_OK) {
            return absl::StrCat(where, "protocol error: ", ctx->errstr);
          }
          if (raw == nullptr) break;
          auto* reply = static_cast<redisReply*>(raw);
          std::string error = Dispatch(reply, endpoint, report_loss);
          freeReplyObject(reply);
          if (!error.empty()) return absl::StrCat(where, error);
        }
      }
      const int64_t now = SteadyNowMs();
      if (ping_sent < 0 && now - last_rx >= kPingIdleMs) {
        if (!Send(ctx, {"PING"})) {
          return absl::StrCat(where, "lost: ", ctx->errstr);
        }
        ping_sent = now;
      } else if (ping_sent >= 0 && now - ping_sent > endpoint.timeout_ms) {
        return absl::StrCat(where, "did not answer PING within ",
                            endpoint.timeout_ms, " ms");
      }
    }
    return "stopped";
  }

  // Hands one reply to the listener; returns an error text to drop the
  // connection, or "".
  std::string Dispatch(const redisReply* reply, const RedisEndpoint& endpoint,
                       bool* report_loss) {
    if (reply->type == REDIS_REPLY_ERROR) {
      return absl::StrCat("refused: ", std::string(reply->str, reply->len));
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 2 ||
        reply->element[0]->type != REDIS_REPLY_STRING) {
      return "";
    }
    const std::string kind(reply->element[0]->str, reply->element[0]->len);
    const redisReply* channel = reply->element[1];
    if (kind == "message" && reply->elements >= 3 &&
        channel->type == REDIS_REPLY_STRING) {
      const redisReply* payload = reply->element[2];
      listener_->OnMessage(std::string(channel->str, channel->len),
                           payload->type == REDIS_REPLY_STRING
                               ? std::string(payload->str, payload->len)
                               : std::string());
    } else if (kind == "subscribe" && channel->type == REDIS_REPLY_STRING) {
      *report_loss = true;
      if (lost_) {
        lost_ = false;
        internal::Log(LogLevel::kInfo,
                      absl::StrCat("pub/sub subscription regained on ",
                                   endpoint.Describe()));
      }
      listener_->OnSubscribed(std::string(channel->str, channel->len));
    }
    return "";  // "pong" and anything else: keep-alive only
  }

  const EndpointResolver resolve_;
  RedisSubscriptionListener* const listener_;
  const pid_t owner_pid_;
  int wake_[2] = {-1, -1};
  std::atomic<bool> stop_{false};
  std::thread* thread_ = nullptr;
  // A loss was logged and no subscription confirmed since (the subscriber
  // thread's own).
  bool lost_ = false;

  absl::Mutex mu_;
  std::set<std::string> channels_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> pending_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<RedisSubscription> MakeHiredisSubscription(
    EndpointResolver resolve, const std::vector<std::string>& channels,
    RedisSubscriptionListener* listener) {
  return std::make_unique<HiredisSubscription>(std::move(resolve), channels,
                                               listener);
}

std::unique_ptr<RedisSubscription> MakeHiredisSubscription(
    const RedisEndpoint& endpoint, const std::vector<std::string>& channels,
    RedisSubscriptionListener* listener) {
  return MakeHiredisSubscription(
      [endpoint](int /*failures*/) { return endpoint; }, channels, listener);
}

}  // namespace redis
}  // namespace cache_alchemy
