// The current time as a protobuf Timestamp, to the nanosecond.
// (Protobuf's own TimeUtil::GetCurrentTime() has whole seconds only, which
// would give events and records published within a second equal times.)
#pragma once

#include <google/protobuf/timestamp.pb.h>

namespace gantry::contd {

google::protobuf::Timestamp Now();

}  // namespace gantry::contd
