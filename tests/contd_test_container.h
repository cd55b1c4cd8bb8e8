// A valid container record for contd tests: busybox image, ocirun runtime,
// a small spec, an overlayfs snapshot and the label tier=frontend.
#pragma once

#include <string>

#include <google/protobuf/struct.pb.h>

#include "contd/v1/containers.pb.h"

namespace gantry::testing {

inline contd::v1::Container MakeContainer(const std::string& id) {
  contd::v1::Container c;
  c.set_id(id);
  c.set_image("docker.io/library/busybox:latest");
  c.mutable_runtime()->set_name("io.gantry.ocirun.v1");
  google::protobuf::Struct spec;
  (*spec.mutable_fields())["ociVersion"].set_string_value("1.0.2");
  c.mutable_spec()->PackFrom(spec);
  c.set_snapshotter("overlayfs");
  c.set_snapshot_key(id + "-snapshot");
  (*c.mutable_labels())["tier"] = "frontend";
  return c;
}

}  // namespace gantry::testing
