#include "engined/api/exec_router.h"

#include "common/errors.h"
#include "engined/api/attach_session.h"

namespace gantry::engined {

void ExecRouter::AddRoutes(Router& router) {
  router.Add("POST", "/containers/{id}/exec",
             [this](const HttpRequest& r) -> absl::StatusOr<HttpResponse> {
               GANTRY_ASSIGN_OR_RETURN(nlohmann::json config, DecodeJsonBody(r));
               GANTRY_ASSIGN_OR_RETURN(std::string id, execs_.Create(r.Param("id"), config));
               return HttpResponse::Json(201, {{"Id", id}});
             });
  router.Add("POST", "/exec/{id}/start", [this](const HttpRequest& r) { return Start(r); });
  router.Add(
      "POST", "/exec/{id}/resize", [this](const HttpRequest& r) -> absl::StatusOr<HttpResponse> {
        GANTRY_ASSIGN_OR_RETURN(std::optional<int64_t> h, r.query.GetInt("h"));
        GANTRY_ASSIGN_OR_RETURN(std::optional<int64_t> w, r.query.GetInt("w"));
        GANTRY_RETURN_IF_ERROR(execs_.Resize(r.Param("id"), static_cast<uint32_t>(h.value_or(0)),
                                             static_cast<uint32_t>(w.value_or(0))));
        return HttpResponse::Text(200, "");
      });
  router.Add("GET", "/exec/{id}/json",
             [this](const HttpRequest& r) -> absl::StatusOr<HttpResponse> {
               GANTRY_ASSIGN_OR_RETURN(nlohmann::json inspect, execs_.Inspect(r.Param("id")));
               return HttpResponse::Json(200, inspect);
             });
}

absl::StatusOr<HttpResponse> ExecRouter::Start(const HttpRequest& request) {
  GANTRY_ASSIGN_OR_RETURN(nlohmann::json body, DecodeJsonBody(request));
  const std::string id = request.Param("id");
  GANTRY_ASSIGN_OR_RETURN(nlohmann::json exec, execs_.Inspect(id));
  if (body.value("Detach", false)) {
    GANTRY_RETURN_IF_ERROR(execs_.Start(id, nullptr, nullptr));
    return HttpResponse::Text(200, "");
  }
  const bool tty = exec["ProcessConfig"].value("tty", false);
  HttpResponse response;
  response.status = request.Header("Upgrade").has_value() ? 101 : 200;
  response.SetHeader("Content-Type", StreamContentType(tty, request));
  AttachSession session{
      .tty = tty,
      .stdin = exec.value("OpenStdin", false),
      .stdout = exec.value("OpenStdout", true),
      .stderr = exec.value("OpenStderr", true),
      .attach =
          [this, id](ContainerIo::Sink sink, std::function<void()> on_end) {
            return execs_.Start(id, std::move(sink), std::move(on_end));
          },
      .write_stdin = [this, id](absl::string_view data) { return execs_.WriteStdin(id, data); },
      .stdin_ended = [this, id] { (void)execs_.StdinEnded(id); },
  };
  response.hijack = [session](std::unique_ptr<Connection> connection) {
    RunAttachSession(std::move(connection), session);
  };
  return response;
}

}  // namespace gantry::engined
