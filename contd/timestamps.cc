#include "contd/timestamps.h"

#include <time.h>

namespace gantry::contd {

google::protobuf::Timestamp Now() {
  struct timespec now;
  ::clock_gettime(CLOCK_REALTIME, &now);
  google::protobuf::Timestamp timestamp;
  timestamp.set_seconds(now.tv_sec);
  timestamp.set_nanos(static_cast<int32_t>(now.tv_nsec));
  return timestamp;
}

}  // namespace gantry::contd
