#include "contd/timestamps.h"

#include "absl/time/clock.h"
#include "common/proto_time.h"

namespace gantry::contd {

google::protobuf::Timestamp Now() { return TimeToProto(absl::Now()); }

}  // namespace gantry::contd
