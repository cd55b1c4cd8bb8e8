#include "contd/introspection/introspection_service.h"

#include <unistd.h>

#include <chrono>
#include <optional>

#include <google/protobuf/util/time_util.h>

#include "contd/filters.h"
#include "contd/grpc_status.h"

namespace gantry::contd {
namespace {

std::optional<std::string> PluginField(const v1::Plugin& plugin,
                                       const std::vector<std::string>& path) {
  if (path.size() == 1 && path[0] == "type") return plugin.type();
  if (path.size() == 1 && path[0] == "id") return plugin.id();
  if (path.size() == 1 && path[0] == "init_error") return plugin.init_error();
  if (path.size() == 2 && path[0] == "exports") {
    auto it = plugin.exports().find(path[1]);
    if (it != plugin.exports().end()) return it->second;
  }
  return std::nullopt;
}

}  // namespace

grpc::Status IntrospectionService::Plugins(grpc::ServerContext* /*context*/,
                                           const v1::PluginsRequest* request,
                                           v1::PluginsResponse* response) {
  absl::StatusOr<Filter> filter =
      Filter::ParseAny({request->filters().begin(), request->filters().end()});
  if (!filter.ok()) return ToGrpcStatus(filter.status());
  for (const v1::Plugin& plugin : plugins_) {
    if (filter->Match([&plugin](const std::vector<std::string>& path) {
          return PluginField(plugin, path);
        })) {
      *response->add_plugins() = plugin;
    }
  }
  return grpc::Status::OK;
}

grpc::Status IntrospectionService::Server(grpc::ServerContext* /*context*/,
                                          const google::protobuf::Empty* /*request*/,
                                          v1::ServerResponse* response) {
  response->set_uuid(uuid_);
  response->set_pid(static_cast<uint64_t>(::getpid()));
  *response->mutable_started_at() = started_at_;
  const auto uptime = std::chrono::steady_clock::now() - started_;
  *response->mutable_uptime() = google::protobuf::util::TimeUtil::NanosecondsToDuration(
      std::chrono::duration_cast<std::chrono::nanoseconds>(uptime).count());
  return grpc::Status::OK;
}

}  // namespace gantry::contd
