#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/errors.h"
#include "ocirun/cli/commands.h"

namespace ocirun::cli {
namespace {

// runc prints JSON with two-space indentation.
void PrintJson(const nlohmann::json& j) { std::printf("%s\n", j.dump(2).c_str()); }

absl::StatusOr<int> PrintList(const GlobalOptions& global, const std::string& format, bool quiet) {
  auto entries = ListContainers(global);
  if (quiet) {
    for (const auto& e : entries) std::printf("%s\n", e.state.id.c_str());
    return 0;
  }
  if (format == "json") {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : entries) {
      out.push_back(StateJson(e.state, e.status));
      // Like the table (and runc), the list names the owner that state leaves empty.
      if (e.state.owner.empty()) out.back()["owner"] = "root";
    }
    std::printf("%s\n", out.dump().c_str());
    return 0;
  }
  if (format != "table")
    return absl::InvalidArgumentError(absl::StrCat("--format: invalid format \"", format, "\""));
  // Columns padded like Go's tabwriter (min width 12, padding 1), as runc does.
  std::vector<std::vector<std::string>> rows = {
      {"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"}};
  for (const auto& e : entries)
    rows.push_back({e.state.id, std::to_string(e.status == Status::kStopped ? 0 : e.state.pid),
                    StatusName(e.status), e.state.bundle, e.state.created,
                    e.state.owner.empty() ? "root" : e.state.owner});
  std::vector<size_t> width(6, 12);
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size() + 1);
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i)
      line += i + 1 == r.size() ? r[i] : r[i] + std::string(width[i] - r[i].size(), ' ');
    std::printf("%s\n", line.c_str());
  }
  return 0;
}

// `ps`: the host's ps output, filtered to the container's processes (runc's way).
absl::StatusOr<int> PrintPs(const GlobalOptions& global, const std::string& id,
                            const std::string& format, std::vector<std::string> ps_args) {
  GANTRY_ASSIGN_OR_RETURN(std::vector<pid_t> pids, ContainerPids(global, id));
  if (format == "json") {
    std::printf("%s\n", nlohmann::json(pids).dump().c_str());
    return 0;
  }
  if (format != "table")
    return absl::InvalidArgumentError(absl::StrCat("--format: invalid format \"", format, "\""));
  if (ps_args.empty()) ps_args = {"-ef"};
  std::string cmd = "ps";
  for (const auto& a : ps_args) absl::StrAppend(&cmd, " '", a, "'");
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return absl::InternalError("ps: could not run ps");
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  if (::pclose(p) != 0) return absl::InvalidArgumentError("ps: ps failed with the given options");
  std::vector<std::string> lines = absl::StrSplit(out, '\n', absl::SkipEmpty());
  if (lines.empty()) return 0;
  std::vector<std::string> header = absl::StrSplit(lines[0], ' ', absl::SkipEmpty());
  size_t pid_col = header.size();
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == "PID") pid_col = i;
  if (pid_col == header.size()) return absl::InvalidArgumentError("ps: no PID column in output");
  std::set<pid_t> wanted(pids.begin(), pids.end());
  std::printf("%s\n", lines[0].c_str());
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> f = absl::StrSplit(lines[i], ' ', absl::SkipEmpty());
    int pid;
    if (pid_col < f.size() && absl::SimpleAtoi(f[pid_col], &pid) && wanted.count(pid))
      std::printf("%s\n", lines[i].c_str());
  }
  return 0;
}

}  // namespace

void RegisterQueries(CLI::App& app, Invocation& inv) {
  static std::string state_id;
  auto* state_cmd = app.add_subcommand("state", "output the state of a container");
  state_cmd->add_option("id", state_id, "container id")->required();
  state_cmd->callback([&inv] {
    inv.action = [&inv]() -> absl::StatusOr<int> {
      GANTRY_ASSIGN_OR_RETURN(nlohmann::json state, ContainerStateJson(inv.global, state_id));
      PrintJson(state);
      return 0;
    };
  });

  static std::string list_format = "table";
  static bool quiet = false;
  auto* list_cmd = app.add_subcommand("list", "list containers started with the given root");
  list_cmd->alias("ls");
  list_cmd->add_option("-f,--format", list_format, "table or json")->capture_default_str();
  list_cmd->add_flag("-q,--quiet", quiet, "display only container ids");
  list_cmd->callback(
      [&inv] { inv.action = [&inv] { return PrintList(inv.global, list_format, quiet); }; });

  static std::string ps_id, ps_format = "table";
  static std::vector<std::string> ps_args;
  auto* ps_cmd = app.add_subcommand("ps", "display the processes running inside a container");
  ps_cmd->add_option("-f,--format", ps_format, "table or json")->capture_default_str();
  ps_cmd->add_option("id", ps_id, "container id")->required();
  // Whatever follows the id goes to ps (default -ef) in its order: a
  // positional for it would take "pid,comm" before "-o" in "ps ID -o pid,comm".
  ps_cmd->prefix_command();
  ps_cmd->footer("Arguments after the container id are passed to ps (default: -ef).");
  ps_cmd->callback([&inv, ps_cmd] {
    for (const auto& extra : ps_cmd->remaining()) ps_args.push_back(extra);
    inv.action = [&inv] { return PrintPs(inv.global, ps_id, ps_format, ps_args); };
  });

  static std::string events_id;
  static bool stats_once = false;
  static std::string interval = "5s";
  auto* events_cmd = app.add_subcommand("events", "display container events such as stats");
  events_cmd->add_flag("--stats", stats_once, "display the container's stats once, then exit");
  events_cmd->add_option("--interval", interval, "stats collection interval (e.g. 5s, 500ms)")
      ->capture_default_str();
  events_cmd->add_option("id", events_id, "container id")->required();
  events_cmd->callback([&inv] {
    inv.action = [&inv]() -> absl::StatusOr<int> {
      double seconds = 5;
      std::string v = interval;
      double factor = 1;
      if (absl::EndsWith(v, "ms"))
        factor = 0.001, v.resize(v.size() - 2);
      else if (absl::EndsWith(v, "s"))
        v.resize(v.size() - 1);
      if (!absl::SimpleAtod(v, &seconds) || seconds <= 0)
        return absl::InvalidArgumentError(
            absl::StrCat("--interval: invalid duration \"", interval, "\""));
      seconds *= factor;
      // runc's field order: type, id, data.
      auto emit = [](const nlohmann::ordered_json& event) {
        std::printf("%s\n", event.dump().c_str());
        std::fflush(stdout);
      };
      // OOM kills are polled from the cgroup's counter, checked every 100 ms
      // between two stats events.
      GANTRY_ASSIGN_OR_RETURN(uint64_t oom_kills, ContainerOomKills(inv.global, events_id));
      auto next_stats = std::chrono::steady_clock::now();
      for (;;) {
        if (std::chrono::steady_clock::now() >= next_stats) {
          auto stats = ContainerStats(inv.global, events_id);
          if (!stats.ok()) return stats.status();
          emit({{"type", "stats"}, {"id", events_id}, {"data", *stats}});
          if (stats_once) return 0;
          next_stats += std::chrono::duration_cast<std::chrono::steady_clock::duration>(
              std::chrono::duration<double>(seconds));
        }
        auto kills = ContainerOomKills(inv.global, events_id);
        if (kills.ok() && *kills > oom_kills) {
          oom_kills = *kills;
          emit({{"type", "oom"}, {"id", events_id}});
        }
        // An OOM kill of the init is reported above before the end is.
        GANTRY_ASSIGN_OR_RETURN(nlohmann::json state, ContainerStateJson(inv.global, events_id));
        if (state["status"] == "stopped")
          return absl::FailedPreconditionError(absl::StrCat("container ", events_id, " stopped"));
        std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
            std::chrono::milliseconds(100), next_stats - std::chrono::steady_clock::now()));
      }
    };
  });
}

}  // namespace ocirun::cli
