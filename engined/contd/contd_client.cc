#include "engined/contd/contd_client.h"

#include <chrono>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace gantry::engined {

absl::Status FromGrpc(const grpc::Status& status, absl::string_view what) {
  if (status.ok()) return absl::OkStatus();
  const auto code = static_cast<absl::StatusCode>(status.error_code());
  // Some failures (a dropped connection, a cancelled call) come without a
  // message: the code then says what happened.
  return absl::Status(code,
                      absl::StrCat(what, ": ",
                                   status.error_message().empty() ? absl::StatusCodeToString(code)
                                                                  : status.error_message()));
}

ContdClient::ContdClient(std::shared_ptr<grpc::Channel> channel)
    : channel_(std::move(channel)),
      containers_(contd::v1::Containers::NewStub(channel_)),
      content_(contd::v1::Content::NewStub(channel_)),
      events_(contd::v1::Events::NewStub(channel_)),
      images_(contd::v1::Images::NewStub(channel_)),
      snapshots_(contd::v1::Snapshots::NewStub(channel_)),
      tasks_(contd::v1::Tasks::NewStub(channel_)) {}

absl::StatusOr<std::unique_ptr<ContdClient>> ContdClient::Connect(const std::string& socket_path,
                                                                  absl::Duration timeout) {
  grpc::ChannelArguments arguments;
  // Image configs and pull progress are small, but Content.Read chunks are not.
  arguments.SetMaxReceiveMessageSize(64 << 20);
  auto channel = grpc::CreateCustomChannel(absl::StrCat("unix://", socket_path),
                                           grpc::InsecureChannelCredentials(), arguments);
  if (!channel->WaitForConnected(absl::ToChronoTime(absl::Now() + timeout))) {
    return absl::UnavailableError(absl::StrCat("contd at ", socket_path, " did not answer within ",
                                               absl::FormatDuration(timeout)));
  }
  return std::unique_ptr<ContdClient>(new ContdClient(std::move(channel)));
}

std::unique_ptr<grpc::ClientContext> ContdClient::Context(absl::Duration deadline) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata("containerd-namespace", kContdNamespace);
  if (deadline != absl::InfiniteDuration()) {
    context->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  }
  return context;
}

absl::StatusOr<std::string> ContdClient::ReadBlob(const std::string& digest) {
  contd::v1::ReadContentRequest request;
  request.set_digest(digest);
  auto context = Context();
  auto reader = content_->Read(context.get(), request);
  std::string data;
  contd::v1::ReadContentResponse chunk;
  while (reader->Read(&chunk)) data += chunk.data();
  if (absl::Status status = FromGrpc(reader->Finish(), digest); !status.ok()) return status;
  return data;
}

}  // namespace gantry::engined
