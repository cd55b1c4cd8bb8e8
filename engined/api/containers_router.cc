#include "engined/api/containers_router.h"

#include <sys/stat.h>

#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/errors.h"
#include "common/json_log.h"
#include "common/log.h"
#include "engined/api/prune_filter.h"

namespace gantry::engined {
namespace {

HttpResponse NoContent() { return HttpResponse::Text(204, ""); }

absl::StatusOr<std::optional<int>> OptionalSeconds(const HttpRequest& request) {
  GANTRY_ASSIGN_OR_RETURN(std::optional<int64_t> t, request.query.GetInt("t"));
  if (!t.has_value()) return std::optional<int>();
  return std::optional<int>(static_cast<int>(*t));
}

// Docker's list filters: id, name, label, status, ancestor, exited.
bool MatchesFilters(const Container& c, const Filters& filters) {
  for (const auto& [name, values] : filters) {
    bool any = false;
    for (const std::string& value : values) {
      if (name == "id") {
        any |= absl::StartsWith(c.id, value);
      } else if (name == "name") {
        any |= c.name.find(std::string(absl::StripPrefix(value, "/"))) != std::string::npos;
      } else if (name == "status") {
        any |= c.state.status == value;
      } else if (name == "exited") {
        int code = 0;
        any |= c.state.status == "exited" && absl::SimpleAtoi(value, &code) &&
               code == c.state.exit_code;
      } else if (name == "ancestor") {
        any |= c.image == value || c.image_id == value ||
               absl::StartsWith(absl::StripPrefix(c.image_id, "sha256:"), value);
      } else if (name == "label") {
        any |= HasLabel(c.config.value("Labels", nlohmann::json::object()), value);
      } else {
        any = true;  // filters we do not know narrow nothing
      }
    }
    if (!any) return false;
  }
  return true;
}

// Sends a container's output to a client: framed, or raw for a terminal.
class OutputWriter {
 public:
  OutputWriter(bool framed, std::function<absl::Status(absl::string_view)> write)
      : framed_(framed), write_(std::move(write)) {}
  absl::Status Send(int stream, absl::string_view data) {
    return write_(framed_ ? StdcopyFrame(stream, data) : std::string(data));
  }

 private:
  bool framed_;
  std::function<absl::Status(absl::string_view)> write_;
};

}  // namespace

void ContainersRouter::AddRoutes(Router& router) {
  auto simple = [](auto fn) {
    return [fn](const HttpRequest& request) -> absl::StatusOr<HttpResponse> {
      GANTRY_RETURN_IF_ERROR(fn(request));
      return NoContent();
    };
  };
  router.Add("POST", "/containers/create", [this](const HttpRequest& r) { return Create(r); });
  router.Add("GET", "/containers/json", [this](const HttpRequest& r) { return List(r); });
  router.Add("GET", "/containers/{id}/json",
             [this](const HttpRequest& r) -> absl::StatusOr<HttpResponse> {
               GANTRY_ASSIGN_OR_RETURN(Container c, containers_.Get(r.Param("id")));
               return HttpResponse::Json(200, c.Inspect());
             });
  router.Add("POST", "/containers/{id}/start",
             [this](const HttpRequest& r) -> absl::StatusOr<HttpResponse> {
               GANTRY_ASSIGN_OR_RETURN(bool started, containers_.Start(r.Param("id")));
               return started ? NoContent() : HttpResponse::Text(304, "");
             });
  router.Add("POST", "/containers/{id}/stop",
             [this](const HttpRequest& r) -> absl::StatusOr<HttpResponse> {
               GANTRY_ASSIGN_OR_RETURN(std::optional<int> timeout, OptionalSeconds(r));
               GANTRY_ASSIGN_OR_RETURN(
                   bool stopped,
                   containers_.Stop(r.Param("id"), timeout, r.query.Get("signal").value_or("")));
               return stopped ? NoContent() : HttpResponse::Text(304, "");
             });
  router.Add("POST", "/containers/{id}/restart",
             simple([this](const HttpRequest& r) -> absl::Status {
               GANTRY_ASSIGN_OR_RETURN(std::optional<int> timeout, OptionalSeconds(r));
               return containers_.Restart(r.Param("id"), timeout);
             }));
  router.Add("POST", "/containers/{id}/kill", simple([this](const HttpRequest& r) {
               return containers_.Kill(r.Param("id"), r.query.Get("signal").value_or(""));
             }));
  router.Add("POST", "/containers/{id}/pause",
             simple([this](const HttpRequest& r) { return containers_.Pause(r.Param("id")); }));
  router.Add("POST", "/containers/{id}/unpause",
             simple([this](const HttpRequest& r) { return containers_.Unpause(r.Param("id")); }));
  router.Add("DELETE", "/containers/{id}", simple([this](const HttpRequest& r) {
               return containers_.Remove(r.Param("id"), r.query.GetBool("force"),
                                         r.query.GetBool("v"));
             }));
  router.Add("POST", "/containers/{id}/rename", simple([this](const HttpRequest& r) {
               return containers_.Rename(r.Param("id"), r.query.Get("name").value_or(""));
             }));
  router.Add("POST", "/containers/{id}/resize",
             simple([this](const HttpRequest& r) -> absl::Status {
               GANTRY_ASSIGN_OR_RETURN(std::optional<int64_t> h, r.query.GetInt("h"));
               GANTRY_ASSIGN_OR_RETURN(std::optional<int64_t> w, r.query.GetInt("w"));
               return containers_.Resize(r.Param("id"), static_cast<uint32_t>(h.value_or(0)),
                                         static_cast<uint32_t>(w.value_or(0)));
             }));
  router.Add("POST", "/containers/{id}/wait", [this](const HttpRequest& r) { return Wait(r); });
  router.Add("POST", "/containers/{id}/attach", [this](const HttpRequest& r) { return Attach(r); });
  router.Add("GET", "/containers/{id}/logs", [this](const HttpRequest& r) { return Logs(r); });
  router.Add("GET", "/containers/{id}/top", [this](const HttpRequest& r) { return Top(r); });
  router.Add("GET", "/containers/{id}/stats", [this](const HttpRequest& r) { return Stats(r); });
  router.Add("GET", "/containers/{id}/archive",
             [this](const HttpRequest& r) { return GetArchive(r); });
  router.Add("HEAD", "/containers/{id}/archive",
             [this](const HttpRequest& r) { return GetArchive(r); });
  router.Add("PUT", "/containers/{id}/archive",
             [this](const HttpRequest& r) { return PutArchive(r); });
}

absl::StatusOr<HttpResponse> ContainersRouter::Create(const HttpRequest& request) {
  GANTRY_ASSIGN_OR_RETURN(nlohmann::json body, DecodeJsonBody(request));
  if (!body.is_object()) return absl::InvalidArgumentError("config: expected an object");
  nlohmann::json host_config = body.value("HostConfig", nlohmann::json::object());
  nlohmann::json networking_config = body.value("NetworkingConfig", nlohmann::json::object());
  body.erase("HostConfig");
  body.erase("NetworkingConfig");
  GANTRY_ASSIGN_OR_RETURN(
      std::string id, containers_.Create(request.query.Get("name").value_or(""), std::move(body),
                                         std::move(host_config), std::move(networking_config)));
  return HttpResponse::Json(201, {{"Id", id}, {"Warnings", nlohmann::json::array()}});
}

absl::StatusOr<HttpResponse> ContainersRouter::List(const HttpRequest& request) {
  GANTRY_ASSIGN_OR_RETURN(Filters filters, request.query.GetFilters());
  GANTRY_ASSIGN_OR_RETURN(std::optional<int64_t> limit, request.query.GetInt("limit"));
  const bool all = request.query.GetBool("all") || (limit.has_value() && *limit > 0);
  nlohmann::json list = nlohmann::json::array();
  for (const Container& c : containers_.List()) {
    if (!all && !c.state.Running()) continue;
    if (!MatchesFilters(c, filters)) continue;
    if (limit.has_value() && *limit > 0 && static_cast<int64_t>(list.size()) >= *limit) break;
    list.push_back(c.Summary());
  }
  return HttpResponse::Json(200, list);
}

absl::StatusOr<HttpResponse> ContainersRouter::Wait(const HttpRequest& request) {
  const std::string condition = request.query.Get("condition").value_or("not-running");
  WaitCondition wait;
  if (condition == "not-running" || condition.empty()) {
    wait = WaitCondition::kNotRunning;
  } else if (condition == "next-exit") {
    wait = WaitCondition::kNextExit;
  } else if (condition == "removed") {
    wait = WaitCondition::kRemoved;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("invalid condition: \"", condition, "\""));
  }
  GANTRY_ASSIGN_OR_RETURN(Container c, containers_.Get(request.Param("id")));
  HttpResponse response;
  response.SetHeader("Content-Type", "application/json");
  // The header goes out at once (the client starts the container after
  // it); the status follows when the condition holds.
  response.stream = [this, id = c.id, wait](std::unique_ptr<ResponseStream> stream) {
    absl::StatusOr<int> code = containers_.Wait(id, wait);
    nlohmann::json body = {{"StatusCode", code.ok() ? *code : 0}, {"Error", nullptr}};
    if (!code.ok()) body["Error"] = {{"Message", std::string(code.status().message())}};
    (void)stream->WriteJson(body);
  };
  return response;
}

absl::StatusOr<HttpResponse> ContainersRouter::Attach(const HttpRequest& request) {
  GANTRY_ASSIGN_OR_RETURN(Container c, containers_.Get(request.Param("id")));
  HttpResponse response;
  response.status = 101;
  response.SetHeader("Content-Type", StreamContentType(c.tty(), request));
  AttachSession session{
      .tty = c.tty(),
      .stdin = request.query.GetBool("stdin"),
      .stdout = request.query.GetBool("stdout"),
      .stderr = request.query.GetBool("stderr"),
      .attach =
          [this, id = c.id](ContainerIo::Sink sink, std::function<void()> on_end) {
            return containers_.Attach(id, std::move(sink), std::move(on_end)).status();
          },
      .write_stdin =
          [this, id = c.id](absl::string_view data) { return containers_.WriteStdin(id, data); },
      .stdin_ended = [this, id = c.id] { (void)containers_.StdinEnded(id); },
  };
  response.hijack = [session](std::unique_ptr<Connection> connection) {
    RunAttachSession(std::move(connection), session);
  };
  return response;
}

absl::StatusOr<HttpResponse> ContainersRouter::Logs(const HttpRequest& request) {
  GANTRY_ASSIGN_OR_RETURN(Container c, containers_.Get(request.Param("id")));
  const bool want_stdout = request.query.GetBool("stdout");
  const bool want_stderr = request.query.GetBool("stderr");
  if (!want_stdout && !want_stderr) {
    return absl::InvalidArgumentError("Bad parameters: you must choose at least one stream");
  }
  if (c.log_path.empty()) {
    return absl::InvalidArgumentError("configured logging driver does not support reading");
  }
  JsonLogReadOptions options;
  const nlohmann::json log_opts = c.host_config.value("LogConfig", nlohmann::json::object())
                                      .value("Config", nlohmann::json::object());
  if (std::string files = log_opts.value("max-file", ""); !files.empty()) {
    (void)absl::SimpleAtoi(files, &options.max_file);
  }
  if (std::optional<std::string> tail = request.query.Get("tail"); tail && *tail != "all") {
    size_t count = 0;
    if (!absl::SimpleAtoi(*tail, &count)) {
      return absl::InvalidArgumentError(absl::StrCat("tail: invalid value \"", *tail, "\""));
    }
    options.tail = count;
  }
  for (const char* bound : {"since", "until"}) {
    std::optional<std::string> value = request.query.Get(bound);
    if (!value || value->empty() || *value == "0") continue;
    double seconds = 0;
    if (!absl::SimpleAtod(*value, &seconds)) {
      return absl::InvalidArgumentError(absl::StrCat(bound, ": invalid value \"", *value, "\""));
    }
    const int64_t nanos = static_cast<int64_t>(seconds * 1e9);
    (std::string(bound) == "since" ? options.since_unix_nano : options.until_unix_nano) = nanos;
  }
  const bool timestamps = request.query.GetBool("timestamps");
  const bool follow = request.query.GetBool("follow");
  HttpResponse response;
  response.SetHeader("Content-Type", StreamContentType(c.tty(), request));
  response.stream = [this, c, options, timestamps, follow, want_stdout,
                     want_stderr](std::unique_ptr<ResponseStream> stream) {
    OutputWriter writer(!c.tty(),
                        [&stream](absl::string_view data) { return stream->Write(data); });
    int64_t last_time = 0;
    auto send = [&](const JsonLogRecord& record) -> absl::Status {
      last_time = std::max(last_time, record.time_unix_nano);
      const int number = record.stream == "stderr" ? 2 : 1;
      if ((number == 1 && !want_stdout) || (number == 2 && !want_stderr)) return absl::OkStatus();
      return writer.Send(number,
                         timestamps ? absl::StrCat(record.time, " ", record.log) : record.log);
    };
    struct stat before {};
    const off_t start = ::stat(c.log_path.c_str(), &before) == 0 ? before.st_size : 0;
    absl::StatusOr<std::vector<JsonLogRecord>> records = ReadJsonLog(c.log_path, options);
    if (records.ok()) {
      for (const JsonLogRecord& record : *records) {
        if (!send(record).ok()) return;
      }
    }
    if (!follow) return;
    // Follows the live file from where it stood before the read above;
    // records already sent (by time) are skipped.
    std::ifstream file(c.log_path);
    file.seekg(start);
    std::string line;
    bool final_pass = false;
    for (;;) {
      std::streampos position = file.tellg();
      if (std::getline(file, line) && !file.eof()) {
        nlohmann::json parsed = nlohmann::json::parse(line, nullptr, false);
        if (!parsed.is_object()) continue;
        JsonLogRecord record{parsed.value("stream", "stdout"), parsed.value("time", ""), 0,
                             parsed.value("log", "")};
        absl::StatusOr<int64_t> time = ParseRfc3339Nano(record.time);
        record.time_unix_nano = time.ok() ? *time : 0;
        if (record.time_unix_nano <= last_time) continue;
        if (options.until_unix_nano && record.time_unix_nano > *options.until_unix_nano) return;
        if (!send(record).ok()) return;
        continue;
      }
      // At the end (or a line still being written): wait for more; once
      // the container has stopped, one more pass takes its last lines.
      file.clear();
      file.seekg(position);
      if (final_pass || containers_.ShuttingDown()) return;
      absl::StatusOr<Container> now = containers_.Get(c.id);
      if (!now.ok() || !now->state.Running()) {
        final_pass = true;
        continue;
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
  };
  return response;
}

absl::StatusOr<HttpResponse> ContainersRouter::Stats(const HttpRequest& request) {
  GANTRY_ASSIGN_OR_RETURN(Container c, containers_.Get(request.Param("id")));
  // Docker's default is a stream; stream=false gives one reading with a
  // previous one a second before it (for CPU %), one-shot skips that.
  const bool stream = !request.query.Has("stream") || request.query.GetBool("stream");
  const bool one_shot = request.query.GetBool("one-shot");
  HttpResponse response;
  response.SetHeader("Content-Type", "application/json");
  response.stream = [this, c, stream, one_shot](std::unique_ptr<ResponseStream> out) {
    std::optional<StatsSample> previous;
    if (!stream && !one_shot) {
      if (absl::StatusOr<StatsSample> first = containers_.Stats(c.id); first.ok()) {
        previous = *first;
        absl::SleepFor(absl::Seconds(1));
      }
    }
    for (;;) {
      absl::StatusOr<StatsSample> now = containers_.Stats(c.id);
      if (!now.ok()) {
        // Not running: Docker answers zeros.
        StatsSample zero{.read = absl::Now(),
                         .cpu_stats = nlohmann::json::object(),
                         .memory_stats = nlohmann::json::object(),
                         .pids_stats = nlohmann::json::object()};
        (void)out->WriteJson(DockerStats(c, zero, std::nullopt));
        return;
      }
      if (!out->WriteJson(DockerStats(c, *now, previous)).ok() || !stream ||
          containers_.ShuttingDown()) {
        return;
      }
      previous = *std::move(now);
      absl::SleepFor(absl::Seconds(1));
    }
  };
  return response;
}

absl::StatusOr<HttpResponse> ContainersRouter::GetArchive(const HttpRequest& request) {
  const std::string path = request.query.Get("path").value_or("");
  if (path.empty()) return absl::InvalidArgumentError("path: no path given");
  GANTRY_ASSIGN_OR_RETURN(std::shared_ptr<ContainerFs> fs, containers_.OpenFs(request.Param("id")));
  GANTRY_ASSIGN_OR_RETURN(nlohmann::json stat, fs->Stat(path));
  HttpResponse response;
  response.SetHeader("X-Docker-Container-Path-Stat", absl::Base64Escape(stat.dump()));
  if (request.method == "HEAD") return response;
  response.SetHeader("Content-Type", "application/x-tar");
  response.stream = [fs, path](std::unique_ptr<ResponseStream> out) {
    absl::Status status =
        fs->Archive(path, [&out](absl::string_view data) { return out->Write(data); });
    // The header is out: a failure can only cut the tar short.
    if (!status.ok()) log::Warning("engined: docker cp ", path, ": ", status.message());
  };
  return response;
}

absl::StatusOr<HttpResponse> ContainersRouter::PutArchive(const HttpRequest& request) {
  const std::string path = request.query.Get("path").value_or("");
  if (path.empty()) return absl::InvalidArgumentError("path: no path given");
  GANTRY_ASSIGN_OR_RETURN(std::unique_ptr<ContainerFs> fs, containers_.OpenFs(request.Param("id")));
  GANTRY_RETURN_IF_ERROR(fs->Extract(path, request.body));
  return HttpResponse::Text(200, "");
}

absl::StatusOr<HttpResponse> ContainersRouter::Top(const HttpRequest& request) {
  GANTRY_ASSIGN_OR_RETURN(std::vector<uint32_t> pids, containers_.Pids(request.Param("id")));
  // As dockerd: the host's ps, its rows kept for the container's PIDs.
  const std::string ps_args = request.query.Get("ps_args").value_or("-ef");
  if (ps_args.find_first_of(";|&$`'\"\\<>") != std::string::npos) {
    return absl::InvalidArgumentError("ps_args: unsupported characters");
  }
  FILE* ps = ::popen(absl::StrCat("ps ", ps_args).c_str(), "r");
  if (ps == nullptr) return absl::InternalError("cannot run ps");
  std::string output;
  char buffer[4096];
  size_t n;
  while ((n = ::fread(buffer, 1, sizeof(buffer), ps)) > 0) output.append(buffer, n);
  ::pclose(ps);
  std::vector<std::string> lines = absl::StrSplit(output, '\n', absl::SkipEmpty());
  if (lines.empty()) return absl::InternalError("ps printed nothing");
  std::vector<std::string> titles = absl::StrSplit(lines[0], ' ', absl::SkipEmpty());
  const auto pid_column = std::find(titles.begin(), titles.end(), "PID") - titles.begin();
  if (pid_column == static_cast<long>(titles.size())) {
    return absl::InvalidArgumentError("Couldn't find PID field in ps output");
  }
  nlohmann::json processes = nlohmann::json::array();
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> fields = absl::StrSplit(lines[i], ' ', absl::SkipEmpty());
    if (fields.size() < titles.size()) continue;
    uint32_t pid = 0;
    if (!absl::SimpleAtoi(fields[pid_column], &pid) ||
        std::find(pids.begin(), pids.end(), pid) == pids.end()) {
      continue;
    }
    // The last column (CMD) keeps its spaces.
    std::vector<std::string> row(fields.begin(), fields.begin() + titles.size() - 1);
    std::vector<std::string> rest(fields.begin() + titles.size() - 1, fields.end());
    row.push_back(absl::StrJoin(rest, " "));
    processes.push_back(row);
  }
  return HttpResponse::Json(200, {{"Titles", titles}, {"Processes", processes}});
}

}  // namespace gantry::engined
