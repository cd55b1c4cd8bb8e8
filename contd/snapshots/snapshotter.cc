#include "contd/snapshots/snapshotter.h"

namespace gantry::contd::snapshots {

absl::string_view KindName(Kind kind) {
  switch (kind) {
    case Kind::kView:
      return "view";
    case Kind::kActive:
      return "active";
    case Kind::kCommitted:
      return "committed";
  }
  return "unknown";
}

}  // namespace gantry::contd::snapshots
