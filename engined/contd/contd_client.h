// engined's connection to contd: one gRPC channel, a stub per service, and
// every call scoped to engined's namespace, as dockerd scopes its calls to
// containerd's "moby" namespace.
#pragma once

#include <memory>
#include <string>

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "contd/v1/containers.grpc.pb.h"
#include "contd/v1/content.grpc.pb.h"
#include "contd/v1/events.grpc.pb.h"
#include "contd/v1/images.grpc.pb.h"
#include "contd/v1/snapshots.grpc.pb.h"
#include "contd/v1/tasks.grpc.pb.h"

namespace gantry::engined {

inline constexpr char kContdNamespace[] = "gantry";
inline constexpr char kSnapshotter[] = "overlayfs";

// A gRPC status as the absl::Status engined's errors are made of (same
// canonical codes), with `what` in front of the message.
absl::Status FromGrpc(const grpc::Status& status, absl::string_view what);

class ContdClient {
 public:
  // Connects to contd's unix socket, waiting up to `timeout` for it to answer.
  static absl::StatusOr<std::unique_ptr<ContdClient>> Connect(const std::string& socket_path,
                                                              absl::Duration timeout);

  // A context for one call in engined's namespace; calls that wait for a
  // process (Wait, event streams, pulls) pass an infinite deadline.
  static std::unique_ptr<grpc::ClientContext> Context(absl::Duration deadline = absl::Seconds(60));

  contd::v1::Containers::Stub& containers() { return *containers_; }
  contd::v1::Content::Stub& content() { return *content_; }
  contd::v1::Events::Stub& events() { return *events_; }
  contd::v1::Images::Stub& images() { return *images_; }
  contd::v1::Snapshots::Stub& snapshots() { return *snapshots_; }
  contd::v1::Tasks::Stub& tasks() { return *tasks_; }

  // The whole blob (manifests and configs are small).
  absl::StatusOr<std::string> ReadBlob(const std::string& digest);

 private:
  explicit ContdClient(std::shared_ptr<grpc::Channel> channel);

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<contd::v1::Containers::Stub> containers_;
  std::unique_ptr<contd::v1::Content::Stub> content_;
  std::unique_ptr<contd::v1::Events::Stub> events_;
  std::unique_ptr<contd::v1::Images::Stub> images_;
  std::unique_ptr<contd::v1::Snapshots::Stub> snapshots_;
  std::unique_ptr<contd::v1::Tasks::Stub> tasks_;
};

}  // namespace gantry::engined
