#include "contd/server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <vector>

#include <google/protobuf/util/time_util.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/file_util.h"
#include "common/log.h"
#include "common/socket_file.h"
#include "contd/events/topics.h"
#include "contd/introspection/server_uuid.h"
#include "contd/namespaces.h"
#include "contd/timestamps.h"
#include "contd/v1/event_types.pb.h"

namespace gantry::contd {
namespace {

// How long running calls may take to finish once shutdown starts; they are
// cancelled after that. Short, because the long calls (Tasks.Wait,
// Events.Subscribe) never finish on their own and clients reconnect, and
// because gRPC also waits this long for idle client connections to close.
constexpr std::chrono::seconds kShutdownGrace(1);

// Restores the process umask when it goes out of scope.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : previous_(::umask(mask)) {}
  ScopedUmask(const ScopedUmask&) = delete;
  ScopedUmask& operator=(const ScopedUmask&) = delete;
  ~ScopedUmask() { ::umask(previous_); }

 private:
  mode_t previous_;
};

// What Introspection.Plugins reports: the services and what they run on.
std::vector<v1::Plugin> Plugins(const std::string& metadata_path) {
  constexpr char kGrpc[] = "gantry.grpc.v1";
  constexpr char kMetadata[] = "gantry.metadata.v1";
  constexpr char kEvent[] = "gantry.event.v1";
  constexpr char kRuntime[] = "gantry.runtime.v1";
  constexpr char kContent[] = "gantry.content.v1";
  constexpr char kSnapshotter[] = "gantry.snapshotter.v1";
  auto plugin = [](const char* type, const char* id, std::vector<std::string> dependencies) {
    v1::Plugin p;
    p.set_type(type);
    p.set_id(id);
    for (std::string& d : dependencies) p.add_dependencies(std::move(d));
    return p;
  };
  std::vector<v1::Plugin> plugins = {
      plugin(kMetadata, "sqlite", {}),
      plugin(kEvent, "exchange", {}),
      plugin(kRuntime, "shim", {kMetadata, kEvent}),
      plugin(kGrpc, "containers", {kMetadata, kEvent}),
      plugin(kContent, "content", {kMetadata}),
      plugin(kGrpc, "content", {kContent, kEvent}),
      plugin(kGrpc, "images", {kMetadata, kEvent, kContent, kSnapshotter}),
      plugin(kGrpc, "tasks", {kRuntime}),
      plugin(kGrpc, "events", {kEvent}),
      plugin(kSnapshotter, "overlayfs", {kMetadata}),
      plugin(kSnapshotter, "native", {kMetadata}),
      plugin(kGrpc, "snapshots", {kSnapshotter}),
      plugin("gantry.gc.v1", "scheduler", {kMetadata, kContent, kSnapshotter}),
      plugin(kGrpc, "leases", {kMetadata, "gantry.gc.v1"}),
      plugin(kGrpc, "introspection", {}),
      plugin(kGrpc, "version", {}),
      plugin(kGrpc, "healthcheck", {}),
  };
  (*plugins[0].mutable_exports())["path"] = metadata_path;
  return plugins;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const ServerOptions& options) {
  GANTRY_RETURN_IF_ERROR(Annotate(MakeDirs(options.root, 0700), "--root"));
  GANTRY_RETURN_IF_ERROR(Annotate(MakeDirs(options.state, 0711), "--state"));
  GANTRY_ASSIGN_OR_RETURN(std::string uuid, LoadOrCreateServerUuid(options.root));
  GANTRY_RETURN_IF_ERROR(Annotate(PrepareSocketPath(options.socket_path), "--address"));

  const google::protobuf::Timestamp started_at = Now();

  std::unique_ptr<Server> server(new Server(options.socket_path));
  GANTRY_ASSIGN_OR_RETURN(server->metadata_, metadata::Database::Open(options.root));
  server->containers_ = std::make_unique<metadata::ContainerStore>(*server->metadata_);
  // A deleted lease (a pull's temporary one too) leaves its resources for a
  // collection soon after; the collector exists by the time any is deleted.
  Server* self = server.get();
  server->leases_ =
      std::make_unique<metadata::LeaseStore>(*server->metadata_, [self] { self->gc_->Schedule(); });
  server->version_ = std::make_unique<VersionService>(options.version, options.revision);
  server->introspection_ = std::make_unique<IntrospectionService>(
      std::move(uuid), started_at, Plugins(server->metadata_->path()));
  server->tasks_ = std::make_unique<TaskManager>(
      TaskManagerOptions{options.state, options.shim_binary, options.runtime_binary},
      *server->containers_, server->events_);
  // Before serving, so that the first calls already see the running tasks.
  server->tasks_->Recover();
  server->tasks_service_ = std::make_unique<TasksService>(*server->tasks_);
  TaskManager* tasks = server->tasks_.get();
  server->containers_service_ = std::make_unique<ContainersService>(
      *server->containers_, server->events_,
      [tasks](const std::string& ns, const std::string& id) { return tasks->HasTask(ns, id); },
      [self] { self->gc_->Schedule(); });
  server->events_service_ = std::make_unique<EventsService>(server->events_);
  GANTRY_ASSIGN_OR_RETURN(server->content_,
                          content::ContentStore::Open(options.root, *server->metadata_));
  server->content_service_ =
      std::make_unique<ContentService>(*server->content_, server->events_, *server->leases_);
  server->images_ = std::make_unique<images::ImageStore>(*server->metadata_);
  GANTRY_ASSIGN_OR_RETURN(
      server->overlay_,
      snapshots::OverlaySnapshotter::Open(*server->metadata_,
                                          absl::StrCat(options.root, "/snapshots/overlayfs")));
  GANTRY_ASSIGN_OR_RETURN(server->native_,
                          snapshots::NativeSnapshotter::Open(
                              *server->metadata_, absl::StrCat(options.root, "/snapshots/native")));
  const std::map<std::string, snapshots::Snapshotter*> snapshotters = {
      {"overlayfs", server->overlay_.get()}, {"native", server->native_.get()}};
  server->snapshots_service_ = std::make_unique<SnapshotsService>(
      snapshotters, options.default_snapshotter, *server->leases_);
  server->gc_ =
      std::make_unique<gc::Collector>(*server->metadata_, *server->content_, snapshotters);
  server->leases_service_ = std::make_unique<LeasesService>(*server->leases_, *server->gc_);
  GANTRY_ASSIGN_OR_RETURN(server->registry_, registry::RegistryClient::Create(options.registry));
  server->puller_ = std::make_unique<images::ImagePuller>(
      *server->registry_, *server->content_, *server->images_, snapshotters,
      options.default_snapshotter, server->leases_.get());
  server->pusher_ = std::make_unique<images::ImagePusher>(*server->registry_, *server->content_,
                                                          *server->images_);
  images::ImagePuller* puller = server->puller_.get();
  server->importer_ = std::make_unique<images::ImageImporter>(
      *server->content_, *server->images_,
      [puller](absl::string_view name) { return puller->FindSnapshotter(name); });
  server->exporter_ = std::make_unique<images::ImageExporter>(*server->content_, *server->images_);
  server->images_service_ = std::make_unique<ImagesService>(
      *server->images_, server->events_, *server->puller_, *server->pusher_, *server->importer_,
      *server->exporter_, *server->gc_);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::StrCat("unix:", options.socket_path),
                           grpc::InsecureServerCredentials());
  builder.RegisterService(server->version_.get());
  builder.RegisterService(server->introspection_.get());
  builder.RegisterService(server->containers_service_.get());
  builder.RegisterService(server->events_service_.get());
  builder.RegisterService(server->tasks_service_.get());
  builder.RegisterService(server->content_service_.get());
  builder.RegisterService(server->images_service_.get());
  builder.RegisterService(server->snapshots_service_.get());
  builder.RegisterService(server->leases_service_.get());
  {
    // The socket is created by bind(2) inside BuildAndStart; the umask makes
    // it 0660 from the first instant instead of after a chmod.
    ScopedUmask socket_umask(0117);
    server->grpc_server_ = builder.BuildAndStart();
  }
  if (server->grpc_server_ == nullptr) {
    return absl::UnavailableError(absl::StrCat("--address: cannot serve gRPC on unix:",
                                               options.socket_path, " (see the gRPC error above)"));
  }

  struct stat st;
  if (::stat(options.socket_path.c_str(), &st) != 0) {
    return LastErrno(absl::StrCat("stat ", options.socket_path));
  }
  server->gc_->Start();
  server->socket_dev_ = st.st_dev;
  server->socket_ino_ = st.st_ino;
  GANTRY_RETURN_IF_ERROR(Annotate(RestrictSocket(options.socket_path, options.group), "--address"));

  v1::ContdStart start;
  start.set_version(options.version);
  start.set_pid(static_cast<uint32_t>(::getpid()));
  GANTRY_RETURN_IF_ERROR(server->events_.Publish(kDefaultNamespace, topics::kContdStart, start));
  return server;
}

Server::~Server() { Shutdown(); }

void Server::Shutdown() {
  if (grpc_server_ == nullptr) return;
  // Subscribe streams never end on their own; ending them first lets the
  // grace period serve the calls that do.
  events_.Close();
  grpc_server_->Shutdown(std::chrono::system_clock::now() + kShutdownGrace);
  grpc_server_->Wait();
  grpc_server_.reset();

  struct stat st;
  if (::stat(socket_path_.c_str(), &st) == 0 && st.st_dev == socket_dev_ &&
      st.st_ino == socket_ino_ && ::unlink(socket_path_.c_str()) != 0) {
    log::Warning(LastErrno(absl::StrCat("remove socket ", socket_path_)).message());
  }
}

}  // namespace gantry::contd
