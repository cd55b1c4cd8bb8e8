// The contd side of tests/bench/pull_vs_dockerd.sh: one Images.Pull with
// unpack from a running contd, timed, then Images.Delete with sync so that
// the next run pulls everything again.
//
// usage: contd_pull_bench SOCKET REFERENCE
// Prints one line: "pull_ms=<Pull call to its last message> extract_ms=<sum
// over layers of the time from their "extracting" event to their "done">
// layers=<layers extracted>".
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <string>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include "absl/strings/str_cat.h"
#include "contd/v1/images.grpc.pb.h"

namespace {

namespace v1 = gantry::contd::v1;
using Clock = std::chrono::steady_clock;

[[noreturn]] void Die(const std::string& why) {
  std::cerr << "contd_pull_bench: " << why << "\n";
  std::exit(1);
}

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata("containerd-namespace", "bench");
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(10));
  return context;
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) Die("usage: contd_pull_bench SOCKET REFERENCE");
  auto channel =
      grpc::CreateChannel(absl::StrCat("unix:", argv[1]), grpc::InsecureChannelCredentials());
  if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10))) {
    Die(absl::StrCat(argv[1], ": contd does not answer"));
  }
  auto images = v1::Images::NewStub(channel);

  v1::PullImageRequest pull;
  pull.set_reference(argv[2]);
  pull.set_unpack(true);
  auto context = Context();
  const auto begin = Clock::now();
  auto stream = images->Pull(context.get(), pull);
  std::map<std::string, Clock::time_point> extracting;  // by layer digest
  Clock::duration extract{};
  int layers = 0;
  std::string name;
  v1::PullImageProgress event;
  while (stream->Read(&event)) {
    if (event.status() == "extracting") {
      extracting[event.digest()] = Clock::now();
    } else if (event.status() == "done" && extracting.count(event.digest())) {
      extract += Clock::now() - extracting[event.digest()];
      ++layers;
    }
    if (event.has_image()) name = event.image().name();
  }
  const grpc::Status pulled = stream->Finish();
  const double pull_ms = Ms(Clock::now() - begin);
  if (!pulled.ok()) Die(absl::StrCat("Images.Pull ", argv[2], ": ", pulled.error_message()));
  if (name.empty()) Die(absl::StrCat("Images.Pull ", argv[2], ": no image in the last message"));

  v1::DeleteImageRequest remove;
  remove.set_name(name);
  remove.set_sync(true);
  google::protobuf::Empty empty;
  const grpc::Status removed = images->Delete(Context().get(), remove, &empty);
  if (!removed.ok()) Die(absl::StrCat("Images.Delete ", name, ": ", removed.error_message()));

  std::printf("pull_ms=%.1f extract_ms=%.1f layers=%d\n", pull_ms, Ms(extract), layers);
  return 0;
}
