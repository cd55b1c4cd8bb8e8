// contd's gRPC server: the proto/contd/v1 services, gRPC health and server
// reflection, on a unix socket that only root (and --group) can reach.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>

#include <grpcpp/server.h>

#include "absl/status/statusor.h"
#include "contd/containers/containers_service.h"
#include "contd/content/content_service.h"
#include "contd/content/content_store.h"
#include "contd/events/events_service.h"
#include "contd/events/exchange.h"
#include "contd/gc/collector.h"
#include "contd/images/image_store.h"
#include "contd/images/images_service.h"
#include "contd/images/puller.h"
#include "contd/images/pusher.h"
#include "contd/introspection/introspection_service.h"
#include "contd/leases/leases_service.h"
#include "contd/metadata/container_store.h"
#include "contd/metadata/database.h"
#include "contd/metadata/lease_store.h"
#include "contd/registry/registry_client.h"
#include "contd/snapshots/native_snapshotter.h"
#include "contd/snapshots/overlay_snapshotter.h"
#include "contd/snapshots/snapshots_service.h"
#include "contd/tasks/task_manager.h"
#include "contd/tasks/tasks_service.h"
#include "contd/version/version_service.h"

namespace gantry::contd {

struct ServerOptions {
  // Persistent data (metadata, content, snapshots).
  std::string root;
  // Runtime data that does not survive a reboot (shim sockets, bundles).
  std::string state;
  // Path of the unix socket to serve on.
  std::string socket_path;
  // Group allowed to connect besides root; root only when unset.
  std::optional<gid_t> group;
  std::string version;
  std::string revision;
  // contd-shim, and the default OCI runtime the shims run.
  std::string shim_binary;
  std::string runtime_binary;
  // Snapshotter used when a request names none ("overlayfs" or "native").
  std::string default_snapshotter = "overlayfs";
  // Registries: certs.d directory, insecure registries, docker-style
  // config.json with credentials.
  registry::RegistryClientOptions registry;
};

class Server {
 public:
  // Creates root and state, binds the socket and starts serving.
  static absl::StatusOr<std::unique_ptr<Server>> Start(const ServerOptions& options);

  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server();

  // Stops accepting calls, ends event subscriptions, gives running calls a
  // grace period, then cancels them and removes the socket. Idempotent.
  void Shutdown();

  // What the services share; thread-safe, and valid as long as the Server.
  metadata::Database& metadata() { return *metadata_; }
  metadata::ContainerStore& containers() { return *containers_; }
  EventExchange& events() { return events_; }
  content::ContentStore& content() { return *content_; }
  images::ImageStore& images() { return *images_; }
  images::ImagePuller& puller() { return *puller_; }
  snapshots::Snapshotter& overlay_snapshotter() { return *overlay_; }
  snapshots::Snapshotter& native_snapshotter() { return *native_; }
  metadata::LeaseStore& leases() { return *leases_; }
  gc::Collector& collector() { return *gc_; }

 private:
  explicit Server(std::string socket_path) : socket_path_(std::move(socket_path)) {}

  std::string socket_path_;
  // Identity of the socket file we bound, so Shutdown never removes one
  // that a newer server has put in its place.
  dev_t socket_dev_ = 0;
  ino_t socket_ino_ = 0;
  // Declared before the services that use them, so destroyed after them.
  std::unique_ptr<metadata::Database> metadata_;
  std::unique_ptr<metadata::ContainerStore> containers_;
  std::unique_ptr<metadata::LeaseStore> leases_;
  EventExchange events_;
  std::unique_ptr<snapshots::OverlaySnapshotter> overlay_;
  std::unique_ptr<snapshots::NativeSnapshotter> native_;
  std::unique_ptr<VersionService> version_;
  std::unique_ptr<IntrospectionService> introspection_;
  std::unique_ptr<ContainersService> containers_service_;
  std::unique_ptr<EventsService> events_service_;
  std::unique_ptr<TaskManager> tasks_;
  std::unique_ptr<TasksService> tasks_service_;
  std::unique_ptr<content::ContentStore> content_;
  std::unique_ptr<ContentService> content_service_;
  std::unique_ptr<images::ImageStore> images_;
  std::unique_ptr<registry::RegistryClient> registry_;
  std::unique_ptr<images::ImagePuller> puller_;
  std::unique_ptr<images::ImagePusher> pusher_;
  std::unique_ptr<images::ImageImporter> importer_;
  std::unique_ptr<images::ImageExporter> exporter_;
  std::unique_ptr<ImagesService> images_service_;
  std::unique_ptr<SnapshotsService> snapshots_service_;
  // After the stores it sweeps, so its thread stops before they go.
  std::unique_ptr<gc::Collector> gc_;
  std::unique_ptr<LeasesService> leases_service_;
  std::unique_ptr<grpc::Server> grpc_server_;
};

}  // namespace gantry::contd
