// The daemon API messages survive the wire: what engined serializes is what
// contd and the shim parse, field for field.
#include <catch2/catch.hpp>

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/message_differencer.h>

#include "contd/v1/containers.pb.h"
#include "contd/v1/tasks.pb.h"
#include "shim/v1/shim.pb.h"

namespace {

using google::protobuf::util::MessageDifferencer;

template <typename Message>
Message Roundtrip(const Message& sent) {
  std::string wire;
  REQUIRE(sent.SerializeToString(&wire));
  Message received;
  REQUIRE(received.ParseFromString(wire));
  return received;
}

}  // namespace

TEST_CASE("a Container keeps every field across serialization", "[proto]") {
  gantry::contd::v1::Container sent;
  sent.set_id("web");
  (*sent.mutable_labels())["com.example.tier"] = "frontend";
  sent.set_image("docker.io/library/busybox:latest");
  sent.mutable_runtime()->set_name("io.gantry.ocirun.v1");
  google::protobuf::Struct runtime_options;
  (*runtime_options.mutable_fields())["binary"].set_string_value("/usr/bin/ocirun");
  sent.mutable_runtime()->mutable_options()->PackFrom(runtime_options);
  google::protobuf::Struct spec;
  (*spec.mutable_fields())["ociVersion"].set_string_value("1.0.2");
  sent.mutable_spec()->PackFrom(spec);
  sent.set_snapshotter("overlayfs");
  sent.set_snapshot_key("web-rootfs");
  sent.mutable_created_at()->set_seconds(1700000000);
  sent.mutable_updated_at()->set_seconds(1700000001);
  (*sent.mutable_extensions())["engined.config"].PackFrom(spec);

  gantry::contd::v1::Container received = Roundtrip(sent);

  CHECK(MessageDifferencer::Equals(sent, received));
  CHECK(received.id() == "web");
  CHECK(received.labels().at("com.example.tier") == "frontend");
  CHECK(received.runtime().name() == "io.gantry.ocirun.v1");
  google::protobuf::Struct received_spec;
  REQUIRE(received.spec().UnpackTo(&received_spec));
  CHECK(received_spec.fields().at("ociVersion").string_value() == "1.0.2");
  CHECK(received.snapshot_key() == "web-rootfs");
  CHECK(received.created_at().seconds() == 1700000000);
  CHECK(received.extensions().count("engined.config") == 1);
}

TEST_CASE("a task create request keeps its rootfs mounts and stdio", "[proto]") {
  gantry::contd::v1::CreateTaskRequest sent;
  sent.set_container_id("web");
  gantry::contd::v1::Mount* rootfs = sent.add_rootfs();
  rootfs->set_type("overlay");
  rootfs->set_source("overlay");
  rootfs->add_options("lowerdir=/var/lib/gantry/contd/snapshots/1/fs");
  rootfs->add_options("upperdir=/var/lib/gantry/contd/snapshots/2/fs");
  rootfs->add_options("workdir=/var/lib/gantry/contd/snapshots/2/work");
  sent.set_stdin("/run/gantry/contd/fifo/web-stdin");
  sent.set_stdout("/run/gantry/contd/fifo/web-stdout");
  sent.set_stderr("/run/gantry/contd/fifo/web-stderr");
  sent.set_terminal(true);
  sent.set_runtime_path("/usr/bin/ocirun");

  gantry::contd::v1::CreateTaskRequest received = Roundtrip(sent);

  CHECK(MessageDifferencer::Equals(sent, received));
  REQUIRE(received.rootfs_size() == 1);
  CHECK(received.rootfs(0).type() == "overlay");
  CHECK(received.rootfs(0).options_size() == 3);
  CHECK(received.rootfs(0).options(1) == "upperdir=/var/lib/gantry/contd/snapshots/2/fs");
  CHECK(received.stdout() == "/run/gantry/contd/fifo/web-stdout");
  CHECK(received.terminal());
  CHECK_FALSE(received.has_checkpoint());
}

TEST_CASE("the shim's create request carries contd's Mount type", "[proto]") {
  gantry::shim::v1::CreateTaskRequest sent;
  sent.set_id("web");
  sent.set_bundle("/run/gantry/contd/default/web");
  sent.add_rootfs()->set_type("overlay");

  gantry::shim::v1::CreateTaskRequest received = Roundtrip(sent);

  CHECK(received.bundle() == "/run/gantry/contd/default/web");
  REQUIRE(received.rootfs_size() == 1);
  CHECK(received.rootfs(0).type() == "overlay");
}
