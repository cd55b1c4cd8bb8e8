// The real contd serves Content and Images over gRPC: a blob written over
// the Write stream (resumed after the client went away) reads back over the
// Read stream, a blob whose bytes do not match is never visible, and image
// records are created, listed, updated and deleted with events published.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include <grpcpp/channel.h>

#include "common/digest.h"
#include "contd/v1/content.grpc.pb.h"
#include "contd/v1/event_types.pb.h"
#include "contd/v1/images.grpc.pb.h"
#include "tests/integration/contd_event_subscriber.h"
#include "tests/integration/contd_test_util.h"
#include "tests/temp_dir.h"

namespace {

using gantry::Digest;
using gantry::contd::v1::Content;
using gantry::contd::v1::Envelope;
using gantry::contd::v1::Image;
using gantry::contd::v1::Images;
using gantry::contd::v1::WriteContentRequest;
using gantry::contd::v1::WriteContentResponse;
using gantry::testing::ContdProcess;
using gantry::testing::InNamespace;
using gantry::testing::Subscriber;
using gantry::testing::TempDir;

// One Write stream; each Send waits for the answer.
class WriteStream {
 public:
  WriteStream(Content::Stub& stub, const std::string& ns)
      : context_(InNamespace(ns)), stream_(stub.Write(context_.get())) {}

  // false when the stream ended (read its status with Finish).
  bool Send(const WriteContentRequest& request, WriteContentResponse* response) {
    return stream_->Write(request) && stream_->Read(response);
  }
  grpc::Status Finish() {
    stream_->WritesDone();
    WriteContentResponse ignored;
    while (stream_->Read(&ignored)) {
    }
    return stream_->Finish();
  }

 private:
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientReaderWriter<WriteContentRequest, WriteContentResponse>> stream_;
};

WriteContentRequest Request(gantry::contd::v1::WriteAction action, const std::string& ref,
                            int64_t offset, const std::string& data) {
  WriteContentRequest request;
  request.set_action(action);
  request.set_ref(ref);
  request.set_offset(offset);
  request.set_data(data);
  return request;
}

std::string ReadAll(Content::Stub& stub, const std::string& ns, const std::string& digest,
                    int64_t offset, int64_t size, grpc::Status* status) {
  gantry::contd::v1::ReadContentRequest request;
  request.set_digest(digest);
  request.set_offset(offset);
  request.set_size(size);
  auto context = InNamespace(ns);
  auto reader = stub.Read(context.get(), request);
  std::string data;
  gantry::contd::v1::ReadContentResponse chunk;
  while (reader->Read(&chunk)) {
    CHECK(chunk.offset() == offset + static_cast<int64_t>(data.size()));
    data += chunk.data();
  }
  *status = reader->Finish();
  return data;
}

void CheckOk(const grpc::Status& status) {
  INFO(status.error_message());
  CHECK(status.ok());
}

}  // namespace

TEST_CASE("content: Write stream with resume, Read stream, Info/List/Delete over gRPC",
          "[contd][content]") {
  TempDir dir("contd-content-test");
  ContdProcess contd(dir.path());
  auto stub = Content::NewStub(contd.Connect());

  // 3 MiB of varied bytes, so Read needs several chunks.
  std::string blob;
  for (int i = 0; blob.size() < (3u << 20); ++i) blob += std::to_string(i) + ",";
  const std::string digest = Digest::FromBytes(blob).str();
  const int64_t size = static_cast<int64_t>(blob.size());

  {
    WriteStream first(*stub, "default");
    WriteContentRequest stat = Request(gantry::contd::v1::WRITE_ACTION_STAT, "pull-1", 0, "");
    stat.set_total(size);
    stat.set_expected(digest);
    WriteContentResponse response;
    REQUIRE(first.Send(stat, &response));
    CHECK(response.offset() == 0);
    CHECK(response.total() == size);
    REQUIRE(first.Send(
        Request(gantry::contd::v1::WRITE_ACTION_WRITE, "", 0, blob.substr(0, 1 << 20)), &response));
    CHECK(response.offset() == 1 << 20);

    // A second stream on the same ref is refused while this one holds it.
    WriteStream second(*stub, "default");
    WriteContentResponse refused;
    CHECK_FALSE(
        second.Send(Request(gantry::contd::v1::WRITE_ACTION_STAT, "pull-1", 0, ""), &refused));
    grpc::Status locked = second.Finish();
    CHECK(locked.error_code() == grpc::StatusCode::UNAVAILABLE);
    CHECK_THAT(locked.error_message(), Catch::Contains("ref locked"));
    CheckOk(first.Finish());  // the client goes away mid-blob
  }

  gantry::contd::v1::ContentStatusRequest status_request;
  status_request.set_ref("pull-1");
  gantry::contd::v1::ContentStatusResponse status;
  CheckOk(stub->Status(InNamespace("default").get(), status_request, &status));
  CHECK(status.status().offset() == 1 << 20);
  CHECK(status.status().expected() == digest);

  {
    WriteStream resumed(*stub, "default");
    WriteContentResponse response;
    REQUIRE(
        resumed.Send(Request(gantry::contd::v1::WRITE_ACTION_STAT, "pull-1", 0, ""), &response));
    REQUIRE(response.offset() == 1 << 20);
    // A write that skips ahead is refused...
    WriteContentResponse skipped;
    WriteStream skipping(*stub, "other");
    CHECK_FALSE(
        skipping.Send(Request(gantry::contd::v1::WRITE_ACTION_WRITE, "x", 5, "data"), &skipped));
    CHECK(skipping.Finish().error_code() == grpc::StatusCode::OUT_OF_RANGE);
    // ... the rest at the right offset, committed with labels.
    WriteContentRequest commit =
        Request(gantry::contd::v1::WRITE_ACTION_COMMIT, "", 1 << 20, blob.substr(1 << 20));
    commit.set_total(size);
    commit.set_expected(digest);
    (*commit.mutable_labels())["gantry.test/kind"] = "layer";
    REQUIRE(resumed.Send(commit, &response));
    CHECK(response.digest() == digest);
    CHECK(response.offset() == size);
    CheckOk(resumed.Finish());
  }

  grpc::Status read_status;
  CHECK(ReadAll(*stub, "default", digest, 0, 0, &read_status) == blob);
  CheckOk(read_status);
  CHECK(ReadAll(*stub, "default", digest, 1000, 2 << 20, &read_status) ==
        blob.substr(1000, 2 << 20));
  ReadAll(*stub, "other", digest, 0, 0, &read_status);
  CHECK(read_status.error_code() == grpc::StatusCode::NOT_FOUND);

  gantry::contd::v1::ContentInfoRequest info_request;
  info_request.set_digest(digest);
  gantry::contd::v1::ContentInfoResponse info;
  CheckOk(stub->Info(InNamespace("default").get(), info_request, &info));
  CHECK(info.info().size() == size);
  CHECK(info.info().labels().at("gantry.test/kind") == "layer");

  gantry::contd::v1::ListContentRequest list_request;
  list_request.add_filters("labels.\"gantry.test/kind\"==layer");
  auto list_context = InNamespace("default");
  auto lister = stub->List(list_context.get(), list_request);
  gantry::contd::v1::ListContentResponse listed;
  std::vector<std::string> digests;
  while (lister->Read(&listed)) {
    for (const auto& i : listed.info()) digests.push_back(i.digest());
  }
  CheckOk(lister->Finish());
  CHECK(digests == std::vector<std::string>{digest});

  Subscriber subscriber(contd.Connect(), {"topic==/content/delete"});

  gantry::contd::v1::DeleteContentRequest delete_request;
  delete_request.set_digest(digest);
  google::protobuf::Empty empty;
  CheckOk(stub->Delete(InNamespace("default").get(), delete_request, &empty));
  gantry::contd::v1::ContentDelete delete_event;
  REQUIRE(subscriber.Next().event().UnpackTo(&delete_event));
  CHECK(delete_event.digest() == digest);
  subscriber.Cancel();
  CHECK(stub->Info(InNamespace("default").get(), info_request, &info).error_code() ==
        grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("content: a blob whose bytes do not match is never visible over gRPC",
          "[contd][content]") {
  TempDir dir("contd-content-bad-test");
  ContdProcess contd(dir.path());
  auto stub = Content::NewStub(contd.Connect());
  const std::string claimed = Digest::FromBytes("genuine").str();

  WriteStream stream(*stub, "default");
  WriteContentRequest commit =
      Request(gantry::contd::v1::WRITE_ACTION_COMMIT, "bad", 0, "tampered");
  commit.set_expected(claimed);
  WriteContentResponse response;
  CHECK_FALSE(stream.Send(commit, &response));
  grpc::Status refused = stream.Finish();
  CHECK(refused.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK_THAT(refused.error_message(), Catch::Contains("expected " + claimed));

  gantry::contd::v1::ContentInfoRequest info_request;
  info_request.set_digest(claimed);
  gantry::contd::v1::ContentInfoResponse info;
  CHECK(stub->Info(InNamespace("default").get(), info_request, &info).error_code() ==
        grpc::StatusCode::NOT_FOUND);
  gantry::contd::v1::ListContentStatusesRequest statuses_request;
  gantry::contd::v1::ListContentStatusesResponse statuses;
  CheckOk(stub->ListStatuses(InNamespace("default").get(), statuses_request, &statuses));
  CHECK(statuses.statuses().empty());
}

TEST_CASE("images: CRUD over gRPC publishes /images events", "[contd][images]") {
  TempDir dir("contd-images-test");
  ContdProcess contd(dir.path());
  auto channel = contd.Connect();
  auto images = Images::NewStub(channel);
  Subscriber subscriber(channel, {"topic~=/images/"});

  Image image;
  image.set_name("docker.io/library/busybox:latest");
  image.mutable_target()->set_media_type("application/vnd.oci.image.index.v1+json");
  image.mutable_target()->set_digest("sha256:" + std::string(64, 'e'));
  image.mutable_target()->set_size(9000);
  (*image.mutable_labels())["tier"] = "base";

  gantry::contd::v1::CreateImageRequest create;
  *create.mutable_image() = image;
  gantry::contd::v1::CreateImageResponse created;
  CheckOk(images->Create(InNamespace("ci").get(), create, &created));
  CHECK(created.image().created_at().seconds() > 0);
  CHECK(images->Create(InNamespace("ci").get(), create, &created).error_code() ==
        grpc::StatusCode::ALREADY_EXISTS);

  gantry::contd::v1::ListImagesRequest list;
  list.add_filters("labels.tier==base");
  gantry::contd::v1::ListImagesResponse listed;
  CheckOk(images->List(InNamespace("ci").get(), list, &listed));
  REQUIRE(listed.images_size() == 1);
  CHECK(listed.images(0).target().size() == 9000);
  CheckOk(images->List(InNamespace("default").get(), list, &listed));
  CHECK(listed.images_size() == 0);

  gantry::contd::v1::UpdateImageRequest update;
  *update.mutable_image() = image;
  (*update.mutable_image()->mutable_labels())["tier"] = "app";
  update.mutable_update_mask()->add_paths("labels.tier");
  gantry::contd::v1::UpdateImageResponse updated;
  CheckOk(images->Update(InNamespace("ci").get(), update, &updated));
  CHECK(updated.image().labels().at("tier") == "app");

  gantry::contd::v1::GetImageRequest get;
  get.set_name(image.name());
  gantry::contd::v1::GetImageResponse got;
  CheckOk(images->Get(InNamespace("ci").get(), get, &got));
  CHECK(got.image().labels().at("tier") == "app");

  gantry::contd::v1::DeleteImageRequest remove;
  remove.set_name(image.name());
  google::protobuf::Empty empty;
  CheckOk(images->Delete(InNamespace("ci").get(), remove, &empty));
  CHECK(images->Get(InNamespace("ci").get(), get, &got).error_code() ==
        grpc::StatusCode::NOT_FOUND);

  Envelope envelope = subscriber.Next();
  CHECK(envelope.topic() == "/images/create");
  CHECK(envelope.namespace_() == "ci");
  gantry::contd::v1::ImageCreate create_event;
  REQUIRE(envelope.event().UnpackTo(&create_event));
  CHECK(create_event.name() == image.name());
  CHECK(create_event.labels().at("tier") == "base");
  envelope = subscriber.Next();
  CHECK(envelope.topic() == "/images/update");
  gantry::contd::v1::ImageUpdate update_event;
  REQUIRE(envelope.event().UnpackTo(&update_event));
  CHECK(update_event.labels().at("tier") == "app");
  CHECK(subscriber.Next().topic() == "/images/delete");
  subscriber.Cancel();
}
