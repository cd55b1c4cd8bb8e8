// Threads a daemon starts for work that ends on its own (waiting for a
// process, a delayed restart): each Spawn joins those already finished, so a
// long-running daemon does not pile up finished threads, and JoinAll waits
// for the rest at shutdown.
#pragma once

#include <atomic>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <thread>

namespace gantry {

class ThreadGroup {
 public:
  ThreadGroup() = default;
  ThreadGroup(const ThreadGroup&) = delete;
  ThreadGroup& operator=(const ThreadGroup&) = delete;
  ~ThreadGroup() { JoinAll(); }

  // Runs `fn` on a new thread; false (and nothing runs) after JoinAll began.
  bool Spawn(std::function<void()> fn) {
    std::lock_guard lock(mu_);
    if (closed_) return false;
    for (auto it = workers_.begin(); it != workers_.end();) {
      if (it->done->load()) {
        it->thread.join();
        it = workers_.erase(it);
      } else {
        ++it;
      }
    }
    auto done = std::make_shared<std::atomic<bool>>(false);
    workers_.push_back(Worker{std::thread([fn = std::move(fn), done] {
                                fn();
                                done->store(true);
                              }),
                              done});
    return true;
  }

  // Refuses new threads and joins every one.
  void JoinAll() {
    std::list<Worker> workers;
    {
      std::lock_guard lock(mu_);
      closed_ = true;
      workers.swap(workers_);
    }
    for (Worker& worker : workers) worker.thread.join();
  }

 private:
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::mutex mu_;
  std::list<Worker> workers_;
  bool closed_ = false;
};

}  // namespace gantry
