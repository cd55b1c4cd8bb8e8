// The daemon's event stream (GET /events): what engined did, in Docker's
// event shape, kept for a while so `docker events --since` can replay it,
// and fanned out to the clients following it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/time/time.h"

namespace gantry::engined {

class EventHub {
 public:
  // Records an event of `type` ("container", "image") about `id`, with the
  // actor's attributes (name, image, exitCode ...).
  void Publish(const std::string& type, const std::string& action, const std::string& id,
               std::map<std::string, std::string> attributes);

  // Calls `send` for each event with since <= time (<= until) already kept,
  // then for new ones as they come, until `until` passes, `send` returns
  // false, or Close(). Blocks.
  void Follow(absl::Time since, std::optional<absl::Time> until,
              const std::function<bool(const nlohmann::json&)>& send);

  // Ends every Follow (engined is stopping).
  void Close();

 private:
  static constexpr size_t kKept = 1024;  // dockerd keeps 256; a little more costs nothing

  std::mutex mu_;
  std::condition_variable published_;
  std::deque<nlohmann::json> events_;
  uint64_t published_count_ = 0;
  bool closed_ = false;
};

}  // namespace gantry::engined
