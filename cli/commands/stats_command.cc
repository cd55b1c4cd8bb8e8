// gantry stats: docker's live table of CPU, memory, network and block I/O
// and PIDs, one stats stream per container read by its own thread; with
// --no-stream one reading each (the one engined takes a second after a
// first, for CPU %).
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cli/commands/command_context.h"
#include "cli/format/container_stats.h"
#include "cli/format/table.h"
#include "common/errors.h"

namespace gantry::cli {
namespace {

using nlohmann::json;

struct StatsFlags {
  std::vector<std::string> containers;
  bool all = false;
  bool no_stream = false;
  bool no_trunc = false;
  std::string format;
};

// The entries shown, each filled by its reader thread (which keeps the
// board alive, for a stream outlives the command's loop).
class StatsBoard : public std::enable_shared_from_this<StatsBoard> {
 public:
  // Starts reading `container`'s stats unless it is being read already.
  void Watch(EngineClient& client, const std::string& container, bool stream) {
    std::lock_guard lock(mu_);
    for (const auto& entry : entries_) {
      if (entry->container == container) return;
    }
    auto entry = std::make_shared<Slot>();
    entry->container = container;
    entries_.push_back(entry);
    std::thread([self = shared_from_this(), &client, entry, stream] {
      self->Read(client, entry, stream);
    }).detach();
  }
  // Drops the containers not in `present` (gone from the list).
  void Keep(const std::vector<std::string>& present) {
    std::lock_guard lock(mu_);
    std::erase_if(entries_, [&](const std::shared_ptr<Slot>& entry) {
      return std::find(present.begin(), present.end(), entry->container) == present.end();
    });
  }
  // Waits for every reader (each ends after its one reading, or when its
  // stream ends).
  void WaitAllEnded() {
    std::unique_lock lock(mu_);
    ended_.wait(lock, [this] { return AllEndedLocked(); });
  }
  std::vector<StatsEntry> Snapshot() {
    std::lock_guard lock(mu_);
    std::vector<StatsEntry> shown;
    for (const auto& entry : entries_) shown.push_back(*entry);
    return shown;
  }
  // The first error a reader met.
  absl::Status error() {
    std::lock_guard lock(mu_);
    return error_;
  }
  bool AllEnded() {
    std::lock_guard lock(mu_);
    return AllEndedLocked();
  }

 private:
  struct Slot : StatsEntry {
    bool ended = false;
  };

  bool AllEndedLocked() const {
    for (const auto& entry : entries_) {
      if (!entry->ended) return false;
    }
    return true;
  }

  void Read(EngineClient& client, const std::shared_ptr<Slot>& entry, bool stream) {
    absl::StatusOr<std::unique_ptr<ResponseStream>> opened = client.Open(
        "GET",
        absl::StrCat("/containers/", entry->container, "/stats?stream=", stream ? "1" : "0"));
    absl::Status status = opened.status();
    if (opened.ok()) {
      status = (*opened)->ReadJsonLines([&](const json& stats) {
        std::lock_guard lock(mu_);
        UpdateStatsEntry(*entry, stats);
        return absl::OkStatus();
      });
    }
    std::lock_guard lock(mu_);
    entry->ended = true;
    if (!status.ok()) entry->invalid = true;
    if (!status.ok() && error_.ok()) error_ = status;
    ended_.notify_all();
  }

  std::mutex mu_;
  std::vector<std::shared_ptr<Slot>> entries_;
  std::condition_variable ended_;
  absl::Status error_;
};

// The containers `stats` shows without names: running ones, or all.
absl::StatusOr<std::vector<std::string>> ListedContainers(EngineClient& client, bool all) {
  GANTRY_ASSIGN_OR_RETURN(
      json list, client.CallJson("GET", absl::StrCat("/containers/json?all=", all ? "1" : "0")));
  std::vector<std::string> ids;
  for (const json& c : list) ids.push_back(c.value("Id", "").substr(0, 12));
  return ids;
}

absl::StatusOr<std::string> Render(const StatsFlags& flags,
                                   const std::vector<StatsEntry>& entries) {
  std::vector<json> rows;
  for (const StatsEntry& entry : entries) rows.push_back(StatsRow(entry, flags.no_trunc));
  return FormatList(flags.format, rows, StatsHeaders(), kStatsTable);
}

// docker's refresh: the cursor home, each line followed by erase-to-end,
// then erase below (a shorter table leaves nothing behind).
std::string Repaint(absl::string_view text) {
  std::string out = "\033[H";
  for (absl::string_view line : absl::StrSplit(text, '\n'))
    absl::StrAppend(&out, line, " \033[K\n");
  absl::StrAppend(&out, "\033[J");
  return out;
}

absl::StatusOr<int> Stats(CommandContext& context, const StatsFlags& flags) {
  EngineClient& client = context.client();
  GANTRY_RETURN_IF_ERROR(client.ApiVersion().status());  // negotiated once, before the threads
  const bool listed = flags.containers.empty();
  auto board = std::make_shared<StatsBoard>();
  auto watch_listed = [&]() -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(std::vector<std::string> ids, ListedContainers(client, flags.all));
    for (const std::string& id : ids) board->Watch(client, id, !flags.no_stream);
    board->Keep(ids);
    return absl::OkStatus();
  };
  if (listed) {
    GANTRY_RETURN_IF_ERROR(watch_listed());
  } else {
    for (const std::string& name : flags.containers) board->Watch(client, name, !flags.no_stream);
  }
  if (flags.no_stream) {
    board->WaitAllEnded();
    if (!listed) GANTRY_RETURN_IF_ERROR(board->error());
    GANTRY_ASSIGN_OR_RETURN(std::string text, Render(flags, board->Snapshot()));
    std::cout << text;
    return 0;
  }
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    if (!listed) {
      if (absl::Status error = board->error(); !error.ok()) return error;
    } else {
      GANTRY_RETURN_IF_ERROR(watch_listed());
    }
    GANTRY_ASSIGN_OR_RETURN(std::string text, Render(flags, board->Snapshot()));
    std::cout << Repaint(text) << std::flush;
    // Named containers that all stopped: nothing more will come.
    if (!listed && board->AllEnded()) return 0;
  }
}

}  // namespace

void AddStatsCommand(CLI::App& app, CommandContext& context) {
  auto flags = std::make_shared<StatsFlags>();
  CLI::App* stats = app.add_subcommand(
      "stats", "Display a live stream of container(s) resource usage statistics");
  stats->add_option("containers", flags->containers, "CONTAINER [CONTAINER...]");
  stats->add_flag("-a,--all", flags->all, "Show all containers (default shows just running)");
  stats->add_flag("--no-stream", flags->no_stream,
                  "Disable streaming stats and only pull the first result");
  stats->add_flag("--no-trunc", flags->no_trunc, "Do not truncate output");
  stats->add_option("--format", flags->format, "Format output using a custom template");
  context.OnRun(stats, [&context, flags] { return Stats(context, *flags); });
}

}  // namespace gantry::cli
